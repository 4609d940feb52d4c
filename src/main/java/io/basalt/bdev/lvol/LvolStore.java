package io.basalt.bdev.lvol;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.blob.Blob;
import io.basalt.blob.Blobstore;
import io.basalt.blob.ClearMethod;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A logical volume store (SPDK's lvol store): a {@link Blobstore} on a claimed base bdev, its
 * name (kept in the super blob), and its lvols, each a registered {@link Lvol} bdev. Every
 * operation is an asynchronous state machine on the application reactor, which is also the
 * blobstore's metadata reactor; each ends in one blobstore commit, so a crash leaves it done or
 * not done, and a failure leaves memory and disk as they were.
 *
 * <p>An lvol's name and uuid live in its blob's xattrs "name" and "uuid" (as in SPDK), its clear
 * method in "clear_method"; these names are reserved.
 */
public final class LvolStore {
    private static final System.Logger LOG = System.getLogger(LvolStore.class.getName());
    static final String XATTR_NAME = "name";
    static final String XATTR_UUID = "uuid";
    static final String XATTR_CLEAR = "clear_method";
    static final Set<String> RESERVED = Set.of(XATTR_NAME, XATTR_UUID, XATTR_CLEAR, Blobstore.CHECKSUM_XATTR);
    /**
     * How long a delete waits for an lvol's users to leave before it fails with -EBUSY
     * (system property basalt.lvol.userWaitMs, default 2000).
     */
    static long userWaitMs() {
        return Long.getLong("basalt.lvol.userWaitMs", 2000);
    }
    static final int MAX_NAME = 63;

    final LvolModule module;
    final BdevLayer layer;
    final Blobstore blobstore;
    final Bdev base;
    final BdevDesc baseDesc;
    final UUID uuid;
    final Reactor md;
    final Blob superBlob;
    String name;
    /** The store-wide operation in progress ("delete", "rename", "unload"), or null. */
    String busy;

    /** The internal user a running snapshot checksum registers on its lvol. */
    static final String CHECKSUM_USER = "snapshot checksum";
    private final Map<Long, Lvol> lvols = new LinkedHashMap<>();
    /** Why the last checksum of an lvol did not finish, by blob id. */
    private final Map<Long, String> checksumFailures = new HashMap<>();

    LvolStore(LvolModule module, Blobstore blobstore, BdevDesc baseDesc, Blob superBlob) {
        this.module = module;
        this.layer = module.layer();
        this.blobstore = blobstore;
        this.baseDesc = baseDesc;
        this.base = baseDesc.bdev();
        this.uuid = blobstore.uuid();
        this.md = blobstore.mdReactor();
        this.superBlob = superBlob;
        this.name = superBlob.xattr(XATTR_NAME);
    }

    public String name() {
        return name;
    }

    public UUID uuid() {
        return uuid;
    }

    public Bdev base() {
        return base;
    }

    public Blobstore blobstore() {
        return blobstore;
    }

    public List<Lvol> lvols() {
        return List.copyOf(lvols.values());
    }

    Lvol lvolOf(Blob b) {
        return b == null ? null : lvols.get(b.id());
    }

    /** The lvol named {@code n} in this store, or null. */
    public Lvol lvol(String n) {
        for (Lvol l : lvols.values()) {
            if (l.name.equals(n)) {
                return l;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ registration

    /** Registers a bdev for every lvol blob (at load). */
    void registerAll() {
        for (Blob b : blobstore.blobs()) {
            if (b == superBlob) {
                continue;
            }
            String n = b.xattr(XATTR_NAME);
            String u = b.xattr(XATTR_UUID);
            if (n == null || u == null) {
                LOG.log(System.Logger.Level.ERROR, "lvol store " + name + ": blob " + b.id()
                        + " has no lvol name or uuid; not exported");
                continue;
            }
            try {
                register(b, n, UUID.fromString(u));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "lvol store " + name + ": cannot register lvol " + n + ": "
                        + e.getMessage());
            }
        }
    }

    private Lvol register(Blob b, String n, UUID u) {
        Lvol l = new Lvol(this, b, n, u, clearMethod(b.xattr(XATTR_CLEAR)));
        layer.addAlias(l, l.alias());
        layer.register(l);
        lvols.put(b.id(), l);
        return l;
    }

    static ClearMethod clearMethod(String s) {
        if (s == null) {
            return ClearMethod.UNMAP;
        }
        return ClearMethod.valueOf(s.toUpperCase(Locale.ROOT));
    }

    // ------------------------------------------------------------------ helpers

    private void ready() {
        if (busy != null) {
            throw new BasaltException(Errno.EBUSY, "lvol store " + name + ": " + busy + " in progress");
        }
    }

    private static void idle(Lvol l) {
        if (l.busy != null) {
            throw new BasaltException(Errno.EBUSY, "lvol " + l.alias() + ": " + l.busy + " in progress");
        }
    }

    private void nameFree(String n) {
        if (lvol(n) != null) {
            throw new BasaltException(Errno.EEXIST, "lvol " + name + "/" + n + " already exists");
        }
        if (layer.nameTaken(name + "/" + n)) {
            throw new BasaltException(Errno.EEXIST, "bdev name " + name + "/" + n + " is taken");
        }
    }

    static void checkUserXattrs(Map<String, String> x) {
        for (String k : x.keySet()) {
            if (RESERVED.contains(k)) {
                throw new BasaltException(Errno.EPERM, "xattr '" + k + "' is reserved by the lvol store");
            }
        }
    }

    static <T> CompletableFuture<T> failed(Throwable t) {
        return CompletableFuture.failedFuture(t);
    }

    static Throwable cause(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Runs {@code op} with the lvol's I/O held (SPDK: the origin's I/O is held only for the switch). */
    private <T> CompletableFuture<T> quiesced(Lvol l, Supplier<CompletableFuture<T>> op) {
        if (l == null) {
            return op.get();
        }
        return l.quiesceRange(0, l.numBlocks()).thenCompose(range -> op.get().handle((v, t) -> {
            l.unquiesceRange(range);
            if (t != null) {
                throw new CompletionException(cause(t));
            }
            return v;
        }));
    }

    /**
     * Who keeps the lvols in use (descriptors, claims, internal users other than {@code except}),
     * or null if nobody.
     */
    private String holders(List<Lvol> ls, String except) {
        StringBuilder sb = new StringBuilder();
        for (Lvol l : ls) {
            List<String> who = new ArrayList<>();
            int d = layer.openDescriptors(l);
            if (d > 0) {
                BdevModule c = layer.claimant(l);
                List<String> owners = layer.descriptorOwners(l);
                who.add("open by " + d + " bdev descriptor(s)" + (owners.isEmpty() ? "" : " (" + String.join(", ", owners) + ")")
                        + (c == null ? "" : ", claimed by module " + c.name()));
            }
            l.users.forEach((k, v) -> {
                if (!k.equals(except)) {
                    who.add(k + (v > 1 ? " (x" + v + ")" : ""));
                }
            });
            if (!who.isEmpty()) {
                sb.append(sb.isEmpty() ? "" : "; ").append("lvol ").append(l.alias()).append(" is in use: ")
                        .append(String.join(", ", who));
            }
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    /**
     * Waits (bounded) until nobody but a running snapshot checksum uses the lvols (-EBUSY naming
     * the holders otherwise), then stops the checksums of {@code stop} and waits for them. A
     * delete that fails because the lvol is open therefore leaves a checksum running.
     */
    private CompletableFuture<Void> waitForUsers(List<Lvol> ls, List<Lvol> stop) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        poll(ls, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(userWaitMs()), f);
        return f.thenCompose(v -> {
            CompletableFuture<Void> stops = CompletableFuture.completedFuture(null);
            for (Lvol l : stop) {
                stops = stops.thenCompose(x -> cancelChecksum(l));
            }
            return stops;
        }).thenCompose(v -> {
            // a user that arrived while the checksums stopped (openers are refused; internal ones are not)
            String held = holders(ls, null);
            return held == null ? CompletableFuture.completedFuture(null) : failed(new BasaltException(Errno.EBUSY, held));
        });
    }

    private void poll(List<Lvol> ls, long deadline, CompletableFuture<Void> f) {
        String held = holders(ls, CHECKSUM_USER);
        if (held == null) {
            f.complete(null);
        } else if (System.nanoTime() >= deadline) {
            f.completeExceptionally(new BasaltException(Errno.EBUSY, held));
        } else {
            md.schedule(() -> poll(ls, deadline, f), 10, TimeUnit.MILLISECONDS);
        }
    }

    private CompletableFuture<Void> cancelChecksum(Lvol l) {
        ChecksumTask t = l == null ? null : l.checksum;
        return t == null ? CompletableFuture.completedFuture(null) : t.cancel();
    }

    // ------------------------------------------------------------------ lvols

    /** bdev_lvol_create: a thin or thick lvol of {@code sizeBytes} (rounded up to clusters). */
    public CompletableFuture<Lvol> create(String lvolName, long sizeBytes, boolean thin, ClearMethod clear) {
        long n;
        UUID u = UUID.randomUUID();
        try {
            ready();
            nameFree(lvolName);
            n = (sizeBytes + blobstore.clusterSize() - 1) / blobstore.clusterSize();
            if (n < 1) {
                throw new BasaltException(Errno.EINVAL, "lvol size must be at least one byte");
            }
        } catch (BasaltException e) {
            return failed(e);
        }
        Map<String, String> x = new LinkedHashMap<>();
        x.put(XATTR_NAME, lvolName);
        x.put(XATTR_UUID, u.toString());
        if (clear != null) {
            x.put(XATTR_CLEAR, clear.name().toLowerCase(Locale.ROOT));
        }
        return blobstore.createBlob(n, thin, x).thenCompose(b -> registerOrUndo(b, lvolName, u, null));
    }

    /**
     * Registers the bdev of a new blob; if that fails (its name was taken meanwhile) the blob is
     * deleted again, with {@code heir}'s writes held if the delete merges into it.
     */
    private CompletableFuture<Lvol> registerOrUndo(Blob b, String n, UUID u, Lvol heir) {
        try {
            return CompletableFuture.completedFuture(register(b, n, u));
        } catch (RuntimeException e) {
            return quiesced(heir, () -> blobstore.delete(b, ClearMethod.NONE)).handle((v, t) -> {
                if (t != null) {
                    LOG.log(System.Logger.Level.ERROR, "lvol store " + name + ": undoing blob " + b.id() + " failed: "
                            + cause(t).getMessage());
                }
                throw new CompletionException(e);
            });
        }
    }

    /** bdev_lvol_snapshot: the origin's I/O is held only while the metadata switches. */
    public CompletableFuture<Lvol> snapshot(Lvol origin, String snapName, Map<String, String> xattrs) {
        UUID u = UUID.randomUUID();
        Map<String, String> x = new LinkedHashMap<>(xattrs);
        try {
            ready();
            idle(origin);
            nameFree(snapName);
            checkUserXattrs(xattrs);
            if (origin.blob.readOnly()) {
                throw new BasaltException(Errno.EINVAL, "lvol " + origin.alias() + " is a snapshot; snapshots of "
                        + "snapshots are not supported");
            }
        } catch (BasaltException e) {
            return failed(e);
        }
        x.put(XATTR_NAME, snapName);
        x.put(XATTR_UUID, u.toString());
        origin.busy = "snapshot";
        return quiesced(origin, () -> blobstore.snapshot(origin.blob, x))
                .thenCompose(b -> registerOrUndo(b, snapName, u, origin))
                .whenComplete((v, t) -> origin.busy = null);
    }

    /** bdev_lvol_clone: a thin lvol reading from snapshot {@code snap}. */
    public CompletableFuture<Lvol> clone(Lvol snap, String cloneName) {
        UUID u = UUID.randomUUID();
        try {
            ready();
            nameFree(cloneName);
            if (!snap.blob.readOnly()) {
                throw new BasaltException(Errno.EINVAL, "lvol " + snap.alias() + " is not a snapshot; only snapshots "
                        + "can be cloned");
            }
            idle(snap);
        } catch (BasaltException e) {
            return failed(e);
        }
        snap.addUser("clone creation");
        return blobstore.clone(snap.blob, Map.of(XATTR_NAME, cloneName, XATTR_UUID, u.toString()))
                .thenCompose(b -> registerOrUndo(b, cloneName, u, null))
                .whenComplete((v, t) -> snap.removeUser("clone creation"));
    }

    /**
     * bdev_lvol_delete. A snapshot with more than one clone is refused (-EPERM); with one clone,
     * the clone takes over its clusters (its writes held meanwhile). New openers are refused, a
     * running checksum is stopped, current users get a bounded time to leave; if they do not, the
     * delete fails with -EBUSY naming them and nothing has changed.
     */
    public CompletableFuture<Void> delete(Lvol l) {
        Lvol heir;
        try {
            ready();
            idle(l);
            List<Blob> kids = l.blob.children();
            if (kids.size() > 1) {
                List<String> names = new ArrayList<>();
                for (Blob k : kids) {
                    Lvol kl = lvolOf(k);
                    names.add(kl == null ? "blob " + k.id() : kl.alias());
                }
                throw new BasaltException(Errno.EPERM, "lvol " + l.alias() + " is a snapshot with " + kids.size()
                        + " clones (" + String.join(", ", names) + "); delete or inflate all but one first");
            }
            heir = kids.isEmpty() ? null : lvolOf(kids.get(0));
            if (heir != null) {
                idle(heir);
            }
        } catch (BasaltException e) {
            return failed(e);
        }
        l.busy = "delete";
        l.refuseOpens("lvol " + l.alias() + " is being deleted");
        if (heir != null) {
            heir.busy = "merge of its parent " + l.alias();
        }
        Lvol writableHeir = heir != null && !heir.blob.readOnly() ? heir : null;
        List<Lvol> stop = heir == null ? List.of(l) : List.of(l, heir);
        CompletableFuture<Void> f = waitForUsers(List.of(l), stop)
                .thenCompose(v -> quiesced(writableHeir, () -> blobstore.delete(l.blob, l.clearMethod)));
        return f.handle((v, t) -> {
            if (heir != null) {
                heir.busy = null;
            }
            if (t != null) {
                l.refuseOpens(null);
                l.busy = null;
                throw new CompletionException(cause(t));
            }
            lvols.remove(l.blob.id());
            checksumFailures.remove(l.blob.id());
            return layer.unregister(l);
        }).thenCompose(u -> u);
    }

    /** bdev_lvol_resize. Shrinking needs the lvol closed (its openers would lose blocks). */
    public CompletableFuture<Void> resize(Lvol l, long sizeBytes) {
        long n = (sizeBytes + blobstore.clusterSize() - 1) / blobstore.clusterSize();
        boolean shrink;
        try {
            ready();
            idle(l);
            if (n < 1) {
                throw new BasaltException(Errno.EINVAL, "lvol size must be at least one byte");
            }
            if (l.blob.readOnly()) {
                throw new BasaltException(Errno.EPERM, "lvol " + l.alias() + " is a read-only snapshot; it cannot be "
                        + "resized");
            }
            shrink = n < l.blob.numClusters();
            if (shrink) {
                l.refuseOpens("lvol " + l.alias() + " is being resized");
                int d = layer.openDescriptors(l);
                if (d > 0) {
                    l.refuseOpens(null);
                    throw new BasaltException(Errno.EBUSY, "lvol " + l.alias() + " is open (" + d
                            + " descriptor(s)); it cannot shrink");
                }
            }
        } catch (BasaltException e) {
            return failed(e);
        }
        l.busy = "resize";
        return blobstore.resize(l.blob, n, l.clearMethod).thenRun(l::sizeChanged).whenComplete((v, t) -> {
            l.busy = null;
            if (shrink) {
                l.refuseOpens(null);
            }
        });
    }

    /** bdev_lvol_rename: the new alias is reserved first, so a clash changes nothing. */
    public CompletableFuture<Void> rename(Lvol l, String newName) {
        String alias = name + "/" + newName;
        try {
            ready();
            idle(l);
            if (newName.equals(l.name)) {
                return CompletableFuture.completedFuture(null);
            }
            nameFree(newName);
            layer.addAlias(l, alias);
        } catch (BasaltException e) {
            return failed(e);
        }
        l.busy = "rename";
        String old = l.alias();
        return blobstore.setXattrs(l.blob, Map.of(XATTR_NAME, newName), Set.of()).whenComplete((v, t) -> {
            l.busy = null;
            if (t != null) {
                layer.removeAlias(l, alias);
            } else {
                layer.removeAlias(l, old);
                l.name = newName;
            }
        });
    }

    public CompletableFuture<Void> setXattr(Lvol l, String key, String value) {
        try {
            ready();
            checkUserXattrs(Map.of(key, value));
        } catch (BasaltException e) {
            return failed(e);
        }
        return blobstore.setXattrs(l.blob, Map.of(key, value), Set.of());
    }

    public String getXattr(Lvol l, String key) {
        String v = l.blob.xattr(key);
        if (v == null) {
            throw new BasaltException(Errno.ENOENT, "lvol " + l.alias() + " has no xattr '" + key + "'");
        }
        return v;
    }

    /** bdev_lvol_set_parent: the lvol's I/O is held while its parent changes. */
    public CompletableFuture<Void> setParent(Lvol l, Lvol parent) {
        try {
            ready();
            idle(l);
            if (parent.store != this) {
                throw new BasaltException(Errno.EINVAL, "lvol " + parent.alias() + " is in another lvol store");
            }
        } catch (BasaltException e) {
            return failed(e);
        }
        l.busy = "set_parent";
        return quiesced(l, () -> blobstore.setParent(l.blob, parent.blob)).whenComplete((v, t) -> l.busy = null);
    }

    /** bdev_lvol_detach_parent: unallocated clusters read zeroes afterwards; nothing is copied. */
    public CompletableFuture<Void> detachParent(Lvol l) {
        try {
            ready();
            idle(l);
        } catch (BasaltException e) {
            return failed(e);
        }
        l.busy = "detach_parent";
        return quiesced(l, () -> blobstore.detachParent(l.blob)).whenComplete((v, t) -> l.busy = null);
    }

    /** bdev_lvol_inflate / bdev_lvol_decouple_parent: a copy job; I/O continues meanwhile. */
    public CompletableFuture<Void> copyParent(Lvol l, boolean inflate) {
        String what = inflate ? "inflate" : "decouple";
        try {
            ready();
            idle(l);
        } catch (BasaltException e) {
            return failed(e);
        }
        l.busy = what;
        l.addUser(what);
        return cancelChecksum(l).thenCompose(v -> inflate ? blobstore.inflate(l.blob) : blobstore.decoupleParent(l.blob))
                .whenComplete((v, t) -> {
                    l.removeUser(what);
                    l.busy = null;
                });
    }

    // ------------------------------------------------------------------ snapshot checksums

    /** Starts computing the snapshot's checksum in the background (its result becomes an xattr). */
    public void registerChecksum(Lvol l) {
        ready();
        if (!l.blob.snapshot()) {
            throw new BasaltException(Errno.EINVAL, "lvol " + l.alias() + " is not a snapshot");
        }
        if (l.checksum != null) {
            throw new BasaltException(Errno.EBUSY, "the checksum of " + l.alias() + " is already being computed");
        }
        idle(l);
        ChecksumTask task = new ChecksumTask();
        l.checksum = task;
        l.addUser(CHECKSUM_USER);
        checksumFailures.remove(l.blob.id());
        long generation = l.blob.dataGeneration();
        blobstore.checksum(l.blob, () -> task.cancelled)
                .thenCompose(sum -> blobstore.storeChecksum(l.blob, generation, sum))
                .whenComplete((v, t) -> {
                    l.removeUser(CHECKSUM_USER);
                    l.checksum = null;
                    if (t != null) {
                        String why = task.cancelled ? "it was stopped" : cause(t).getMessage();
                        checksumFailures.put(l.blob.id(), why);
                        if (!task.cancelled) {
                            LOG.log(System.Logger.Level.WARNING, "checksum of " + l.alias() + " failed: " + why);
                        }
                    }
                    task.finished.complete(null);
                });
    }

    /** The stored checksum; -EBUSY while one is computed, -ENOENT if none is stored. */
    public long checksum(Lvol l) {
        if (l.checksum != null) {
            throw new BasaltException(Errno.EBUSY, "the checksum of " + l.alias() + " is being computed");
        }
        String v = l.blob.xattr(Blobstore.CHECKSUM_XATTR);
        if (v == null) {
            String why = checksumFailures.get(l.blob.id());
            throw new BasaltException(Errno.ENOENT, "lvol " + l.alias() + " has no stored checksum"
                    + (why == null ? "" : " (the last computation did not finish: " + why + ")"));
        }
        return Long.parseUnsignedLong(v);
    }

    /** Stops a running computation; completes once it has stopped. -ESRCH if none runs. */
    public CompletableFuture<Void> stopChecksum(Lvol l) {
        if (l.checksum == null) {
            return failed(new BasaltException(Errno.ESRCH, "no checksum computation runs for lvol " + l.alias()));
        }
        return l.checksum.cancel();
    }

    // ------------------------------------------------------------------ the store

    /** bdev_lvol_rename_lvstore: every lvol's alias changes with it; new aliases are reserved first. */
    CompletableFuture<Void> rename(String newName) {
        List<Lvol> all = lvols();
        List<Lvol> added = new ArrayList<>();
        try {
            ready();
            if (newName.equals(name)) {
                return CompletableFuture.completedFuture(null);
            }
            for (Lvol l : all) {
                layer.addAlias(l, newName + "/" + l.name);
                added.add(l);
            }
        } catch (BasaltException e) {
            for (Lvol l : added) {
                layer.removeAlias(l, newName + "/" + l.name);
            }
            return failed(e);
        }
        busy = "rename";
        String oldName = name;
        return blobstore.setXattrs(superBlob, Map.of(XATTR_NAME, newName), Set.of()).whenComplete((v, t) -> {
            busy = null;
            for (Lvol l : all) {
                layer.removeAlias(l, (t == null ? oldName : newName) + "/" + l.name);
            }
            if (t == null) {
                name = newName;
            }
        });
    }

    /** bdev_lvol_grow_lvstore: takes in what the base bdev grew by. */
    CompletableFuture<Long> grow() {
        try {
            ready();
        } catch (BasaltException e) {
            return failed(e);
        }
        return blobstore.grow();
    }

    /**
     * bdev_lvol_delete_lvstore: all or nothing. Every lvol refuses new openers, checksums are
     * stopped, users get a bounded time to leave (else -EBUSY naming them, and all is as before);
     * then the store is erased in one step and the lvols go away.
     */
    CompletableFuture<Void> destroy() {
        List<Lvol> all = lvols();
        try {
            ready();
            for (Lvol l : all) {
                if (l.busy != null && !l.users.containsKey(l.busy)) {
                    idle(l);
                }
            }
        } catch (BasaltException e) {
            return failed(e);
        }
        busy = "delete";
        for (Lvol l : all) {
            l.refuseOpens("lvol store " + name + " is being deleted");
        }
        return waitForUsers(all, all).thenCompose(v -> blobstore.destroy()).handle((v, t) -> {
            if (t != null) {
                busy = null;
                for (Lvol l : all) {
                    l.refuseOpens(null);
                }
                throw new CompletionException(cause(t));
            }
            return drop(all);
        }).thenCompose(x -> x);
    }

    /** Unregisters the lvols (their users are told REMOVE), then releases the base. */
    private CompletableFuture<Void> drop(List<Lvol> all) {
        List<CompletableFuture<Void>> gone = new ArrayList<>();
        for (Lvol l : all) {
            lvols.remove(l.blob.id());
            gone.add(layer.unregister(l));
        }
        return CompletableFuture.allOf(gone.toArray(new CompletableFuture[0])).thenCompose(v -> {
            CompletableFuture<Void> closed = blobstore.closed() ? CompletableFuture.completedFuture(null)
                    : blobstore.close();
            return closed;
        }).thenRun(() -> {
            baseDesc.close();
            module.removeStore(this);
        });
    }

    /**
     * Takes the store offline without touching the disk (its base is going away, or shutdown):
     * checksums stop, the lvols are unregistered (their users get REMOVE), the blobstore closes.
     */
    CompletableFuture<Void> unload() {
        if ("unload".equals(busy)) {
            return CompletableFuture.completedFuture(null);
        }
        busy = "unload";
        List<Lvol> all = lvols();
        CompletableFuture<Void> stops = CompletableFuture.completedFuture(null);
        for (Lvol l : all) {
            l.refuseOpens("lvol store " + name + " is going offline");
            stops = stops.thenCompose(v -> cancelChecksum(l));
        }
        return stops.thenCompose(v -> drop(all));
    }
}
