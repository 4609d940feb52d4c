package io.basalt.bdev;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The generic block device layer: the registry of bdevs by name, alias and uuid; registration with
 * examine; open descriptors and claims; unregistration that tells every opener and waits for them;
 * resize events.
 *
 * <p>Threading: the registry is guarded by this object's monitor, held only for short,
 * non-blocking bookkeeping, so that descriptors can be opened from any reactor. Asynchronous
 * steps (examine, destruct) run on the application reactor. The data path never takes the lock.
 */
public final class BdevLayer {
    private static final System.Logger LOG = System.getLogger(BdevLayer.class.getName());

    private final ReactorGroup reactors;
    private final List<BdevModule> modules = new CopyOnWriteArrayList<>();
    /** Names, aliases and uuid strings to bdevs. */
    private final Map<String, Bdev> names = new HashMap<>();
    /** In registration order. */
    private final List<Bdev> bdevs = new ArrayList<>();
    private final List<CompletableFuture<Void>> examining = new ArrayList<>();

    public BdevLayer(ReactorGroup reactors) {
        this.reactors = reactors;
    }

    public ReactorGroup reactors() {
        return reactors;
    }

    public BufferPool buffers() {
        return reactors.buffers();
    }

    /** Adds a module; modules examine new bdevs in the order they were added. */
    public void addModule(BdevModule m) {
        modules.add(m);
    }

    public List<BdevModule> modules() {
        return List.copyOf(modules);
    }

    /** A module by name, or null. */
    @SuppressWarnings("unchecked")
    public <M extends BdevModule> M module(Class<M> type) {
        for (BdevModule m : modules) {
            if (type.isInstance(m)) {
                return (M) m;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ registry

    /** The bdev with this name, alias or uuid; null if there is none or it is being removed. */
    public synchronized Bdev lookup(String name) {
        Bdev b = names.get(name);
        return b == null || b.state == BdevState.REMOVING ? null : b;
    }

    /** Like {@link #lookup} but throws -ENODEV naming the bdev. */
    public Bdev require(String name) {
        Bdev b = lookup(name);
        if (b == null) {
            throw new BasaltException(Errno.ENODEV, "bdev " + name + " not found");
        }
        return b;
    }

    /** All bdevs that are not being removed, in registration order. */
    public synchronized List<Bdev> list() {
        List<Bdev> out = new ArrayList<>();
        for (Bdev b : bdevs) {
            if (b.state != BdevState.REMOVING) {
                out.add(b);
            }
        }
        return out;
    }

    /** True if {@code name} is taken by a bdev (name, alias or uuid), including one being removed. */
    public synchronized boolean nameTaken(String name) {
        return names.containsKey(name);
    }

    /**
     * Registers a bdev and starts the modules' examine of it. Throws -EEXIST if its name, an alias
     * or its uuid is taken. The returned future completes when examine is done.
     */
    public CompletableFuture<Void> register(Bdev b) {
        String uuidKey = b.uuid().toString();
        synchronized (this) {
            if (b.state != BdevState.NEW) {
                throw new BasaltException(Errno.EINVAL, "bdev " + b.name() + " registered twice");
            }
            checkFree(b.name(), "bdev name");
            for (String a : b.aliases) {
                checkFree(a, "alias");
            }
            if (names.containsKey(uuidKey)) {
                throw new BasaltException(Errno.EEXIST, "bdev uuid " + uuidKey + " already exists (bdev "
                        + names.get(uuidKey).name() + ")");
            }
            b.layer = this;
            b.channels = new IoChannel[reactors.size()];
            b.retiredStats = new IoStats[reactors.size()];
            for (int i = 0; i < reactors.size(); i++) {
                b.retiredStats[i] = new IoStats();
            }
            b.state = BdevState.EXAMINING;
            names.put(b.name(), b);
            for (String a : b.aliases) {
                names.put(a, b);
            }
            names.put(uuidKey, b);
            bdevs.add(b);
            examining.add(b.examined);
        }
        LOG.log(System.Logger.Level.INFO, "registered bdev " + b.name() + " (" + b.module().name() + ", "
                + b.numBlocks() + " x " + b.blockSize() + ")");
        reactors.app().send(() -> examineStep(b, 0));
        return b.examined;
    }

    private void checkFree(String name, String what) {
        Bdev other = names.get(name);
        if (other != null) {
            throw new BasaltException(Errno.EEXIST, what + " " + name + " already exists"
                    + (other.name().equals(name) ? "" : " (bdev " + other.name() + ")"));
        }
    }

    private void examineStep(Bdev b, int i) {
        List<BdevModule> ms = modules;
        if (i >= ms.size()) {
            synchronized (this) {
                if (b.state == BdevState.EXAMINING) {
                    b.state = BdevState.READY;
                }
                examining.remove(b.examined);
            }
            b.examined.complete(null);
            return;
        }
        BdevModule m = ms.get(i);
        boolean[] once = new boolean[1];
        Runnable next = () -> {
            synchronized (once) {
                if (once[0]) {
                    LOG.log(System.Logger.Level.ERROR, "module " + m.name() + " finished examine of " + b.name() + " twice");
                    return;
                }
                once[0] = true;
            }
            reactors.app().send(() -> examineStep(b, i + 1));
        };
        try {
            m.examine(b, next);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "module " + m.name() + " failed examining " + b.name(), t);
            next.run();
        }
    }

    /** Completes when every examine in progress has finished (bdev_wait_for_examine). */
    public CompletableFuture<Void> waitForExamine() {
        List<CompletableFuture<Void>> pending;
        synchronized (this) {
            pending = new ArrayList<>(examining);
        }
        return CompletableFuture.allOf(pending.toArray(new CompletableFuture[0]));
    }

    /** Adds an alias; -EEXIST if any bdev already has that name, alias or uuid. */
    public synchronized void addAlias(Bdev b, String alias) {
        if (b.state == BdevState.NEW) {
            checkFree(alias, "alias");
            if (!b.aliases.contains(alias)) {
                b.aliases.add(alias);
            }
            return;
        }
        if (b.state == BdevState.REMOVING) {
            throw new BasaltException(Errno.ENODEV, "bdev " + b.name() + " is being removed");
        }
        checkFree(alias, "alias");
        b.aliases.add(alias);
        names.put(alias, b);
    }

    public synchronized void removeAlias(Bdev b, String alias) {
        if (b.aliases.remove(alias) && names.get(alias) == b) {
            names.remove(alias);
        }
    }

    // ------------------------------------------------------------------ open, close, claim

    /**
     * Opens a bdev. Events go to {@code handler} on the calling reactor (the application reactor
     * when the caller is not a reactor). -ENODEV if absent or being removed; -EBUSY if the module
     * refuses new openers for now ({@link Bdev#openRefusal}); -EPERM if opened for write while a
     * module claim forbids other writers.
     */
    public BdevDesc open(String name, boolean write, BdevEventHandler handler) {
        return open(name, write, handler, null);
    }

    /**
     * As {@link #open(String, boolean, BdevEventHandler)}, naming the opener ({@code owner}, e.g.
     * "NBD export disk0"): a delete refused because the bdev is in use says who holds it.
     */
    public BdevDesc open(String name, boolean write, BdevEventHandler handler, String owner) {
        Reactor r = Reactor.current() != null ? Reactor.current() : reactors.app();
        synchronized (this) {
            Bdev b = names.get(name);
            if (b == null || b.state == BdevState.REMOVING) {
                throw new BasaltException(Errno.ENODEV, "bdev " + name + " not found");
            }
            String refused = b.openRefusal(write);
            if (refused != null) {
                throw new BasaltException(Errno.EBUSY, refused);
            }
            if (write && b.claimType != null && b.claimType != ClaimType.READ_MANY_WRITE_SHARED) {
                throw new BasaltException(Errno.EPERM, "bdev " + b.name() + " is claimed (" + b.claimType.json()
                        + ") by module " + b.claimModule.name() + "; cannot open it for writing");
            }
            BdevDesc d = new BdevDesc(b, write, handler, r, owner);
            b.descs.add(d);
            return d;
        }
    }

    void close(BdevDesc d) {
        Bdev b = d.bdev;
        synchronized (this) {
            if (d.closed) {
                return;
            }
            d.closed = true;
            b.descs.remove(d);
            if (b.claimDescs.remove(d) && b.claimDescs.isEmpty()) {
                b.claimType = null;
                b.claimModule = null;
            }
        }
        maybeDestruct(b);
    }

    /**
     * Claims the bdev of {@code d} for {@code module} (SPDK's spdk_bdev_module_claim_bdev_desc).
     * -EPERM if another claim exists or another writer is open where the type forbids one.
     */
    public synchronized void claim(BdevDesc d, ClaimType type, BdevModule module) {
        Bdev b = d.bdev;
        if (d.closed) {
            throw new BasaltException(Errno.EBADF, "descriptor of " + b.name() + " is closed");
        }
        if (b.claimType != null) {
            if (type == ClaimType.READ_MANY_WRITE_SHARED && b.claimType == type && b.claimModule == module) {
                if (!b.claimDescs.contains(d)) {
                    b.claimDescs.add(d);
                }
                return;
            }
            throw new BasaltException(Errno.EPERM, "bdev " + b.name() + " is already claimed (" + b.claimType.json()
                    + ") by module " + b.claimModule.name());
        }
        boolean claimerWrites = type != ClaimType.READ_MANY_WRITE_NONE;
        if (claimerWrites && !d.write) {
            throw new BasaltException(Errno.EINVAL, type.json() + " claim needs a descriptor open for write");
        }
        if (!claimerWrites && d.write) {
            throw new BasaltException(Errno.EINVAL, type.json() + " claim needs a read-only descriptor");
        }
        if (type != ClaimType.READ_MANY_WRITE_SHARED) {
            for (BdevDesc o : b.descs) {
                if (o != d && o.write) {
                    throw new BasaltException(Errno.EPERM, "bdev " + b.name() + " is open for writing by another user");
                }
            }
        }
        b.claimType = type;
        b.claimModule = module;
        b.claimDescs.add(d);
    }

    /** Releases the claim held through {@code d} (also done by closing it). */
    public synchronized void releaseClaim(BdevDesc d) {
        Bdev b = d.bdev;
        if (b.claimDescs.remove(d) && b.claimDescs.isEmpty()) {
            b.claimType = null;
            b.claimModule = null;
        }
    }

    /** The module holding a claim on {@code b}, or null. */
    public synchronized BdevModule claimant(Bdev b) {
        return b.claimModule;
    }

    // ------------------------------------------------------------------ resize

    synchronized void resize(Bdev b, long newNumBlocks) {
        if (newNumBlocks <= 0) {
            throw new BasaltException(Errno.EINVAL, "bdev " + b.name() + " cannot shrink to " + newNumBlocks + " blocks");
        }
        if (newNumBlocks < b.numBlocks()) {
            for (BdevDesc d : b.descs) {
                if (!b.claimDescs.contains(d)) {
                    throw new BasaltException(Errno.EBUSY, "bdev " + b.name() + " is open; it cannot shrink");
                }
            }
        }
        b.setNumBlocks(newNumBlocks);
        for (BdevDesc d : List.copyOf(b.descs)) {
            d.reactor.send(() -> {
                if (!d.closed) {
                    d.handler.onEvent(BdevEvent.RESIZE, b, d);
                }
            });
        }
    }

    // ------------------------------------------------------------------ unregister

    /**
     * Starts removal: new opens fail, every open descriptor gets REMOVE, and once all are closed
     * and all channels are gone the module destructs the bdev. The future completes then.
     */
    public CompletableFuture<Void> unregister(Bdev b) {
        List<BdevDesc> tell;
        synchronized (this) {
            if (b.state == BdevState.REMOVING || b.state == BdevState.REMOVED) {
                return b.unregistered;
            }
            if (b.state == BdevState.NEW) {
                throw new BasaltException(Errno.ENODEV, "bdev " + b.name() + " is not registered");
            }
            b.state = BdevState.REMOVING;
            b.unregistered = new CompletableFuture<>();
            // Queued under the lock: any destruct (sent only once REMOVING is seen) runs after it.
            reactors.app().send(() -> {
                try {
                    b.unregistering();
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.ERROR, "unregistering hook of " + b.name() + " failed", t);
                }
            });
            tell = List.copyOf(b.descs);
        }
        LOG.log(System.Logger.Level.INFO, "removing bdev " + b.name() + " (" + tell.size() + " open descriptors)");
        for (BdevDesc d : tell) {
            d.reactor.send(() -> {
                if (!d.closed) {
                    try {
                        d.handler.onEvent(BdevEvent.REMOVE, b, d);
                    } catch (Throwable t) {
                        LOG.log(System.Logger.Level.ERROR, "remove event handler of " + d + " failed", t);
                    }
                }
            });
        }
        maybeDestruct(b);
        return b.unregistered;
    }

    /** Unregisters by name; -ENODEV if absent. */
    public CompletableFuture<Void> unregister(String name) {
        return unregister(require(name));
    }

    void maybeDestruct(Bdev b) {
        synchronized (this) {
            if (b.state != BdevState.REMOVING || b.destructStarted || !b.descs.isEmpty() || b.channelCount > 0) {
                return;
            }
            b.destructStarted = true;
        }
        reactors.app().send(() -> {
            Runnable done = () -> reactors.app().send(() -> finishRemoval(b));
            try {
                b.destruct(done);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "destruct of " + b.name() + " failed", t);
                done.run();
            }
        });
    }

    private void finishRemoval(Bdev b) {
        synchronized (this) {
            names.values().removeIf(x -> x == b);
            bdevs.remove(b);
            b.state = BdevState.REMOVED;
            examining.remove(b.examined);
        }
        b.examined.complete(null);
        LOG.log(System.Logger.Level.INFO, "bdev " + b.name() + " removed");
        b.unregistered.complete(null);
    }

    // ------------------------------------------------------------------ shutdown

    /**
     * Removes every bdev, top of each stack first (bdevs nobody claimed go before their bases),
     * then finishes the modules in reverse order.
     */
    public CompletableFuture<Void> fini() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        reactors.app().send(() -> finiRound(done));
        return done;
    }

    private void finiRound(CompletableFuture<Void> done) {
        List<Bdev> round = new ArrayList<>();
        List<Bdev> all;
        synchronized (this) {
            all = new ArrayList<>(bdevs);
            for (Bdev b : all) {
                if (b.claimType == null) {
                    round.add(b);
                }
            }
            if (round.isEmpty() && !all.isEmpty()) {
                round.add(all.get(all.size() - 1));
            }
        }
        if (all.isEmpty()) {
            finiModules(modules().size() - 1, done);
            return;
        }
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (Bdev b : round) {
            fs.add(unregister(b));
        }
        CompletableFuture.allOf(fs.toArray(new CompletableFuture[0]))
                .whenComplete((v, t) -> reactors.app().send(() -> finiRound(done)));
    }

    private void finiModules(int i, CompletableFuture<Void> done) {
        if (i < 0) {
            done.complete(null);
            return;
        }
        BdevModule m = modules().get(i);
        try {
            m.fini(() -> reactors.app().send(() -> finiModules(i - 1, done)));
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "fini of module " + m.name() + " failed", t);
            finiModules(i - 1, done);
        }
    }

    /** Channel count and open descriptors, for tests and diagnostics. */
    public synchronized int openDescriptors(Bdev b) {
        return b.descs.size();
    }

    /** The owners named by the bdev's open descriptors (unnamed ones left out), in opening order. */
    public synchronized java.util.List<String> descriptorOwners(Bdev b) {
        java.util.List<String> who = new java.util.ArrayList<>();
        for (BdevDesc d : b.descs) {
            if (d.owner != null) {
                who.add(d.owner);
            }
        }
        return who;
    }

    public synchronized int channelCount(Bdev b) {
        return b.channelCount;
    }
}
