package io.basalt.nbd;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevLayer;
import io.basalt.nbd.codec.NbdProtocol;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The NBD server: exports (a bdev under a name) on listeners (a TCP or Unix address), shared by
 * the exports that name the same address. A listener is bound by the first export on it and
 * closed with the last one.
 *
 * <p>Threading: all state belongs to the application reactor; public methods run there (the RPC
 * handlers do), except {@link #fini}, which may be called from any thread.
 */
public final class NbdServer {
    private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());

    /** A listener and the exports that use or are about to use it. */
    static final class ListenerSlot {
        final NbdAddress requested;
        CompletableFuture<NbdListener> bound;
        NbdListener listener;
        /** Exports on it, including those still starting. */
        final List<String> names = new ArrayList<>();

        ListenerSlot(NbdAddress requested) {
            this.requested = requested;
        }

        NbdAddress address() {
            return listener != null ? listener.address() : requested;
        }

        boolean matches(NbdAddress a) {
            if (listener != null) {
                return listener.address().equals(a);
            }
            return requested.equals(a) && (requested.isUnix() || requested.port() != 0);
        }
    }

    /** The protocol's limit for the advertised minimum block size (the bdev block size). */
    private static final int MAX_MINIMUM_BLOCK = 65536;

    private final ReactorGroup reactors;
    private final BdevLayer bdevs;
    private final Reactor app;
    private final Executor onApp;
    private final Executor offReactor = r -> Thread.ofVirtual().name("nbd-bind").start(r);
    private final List<ListenerSlot> slots = new ArrayList<>();
    private final Map<NbdAddress, CompletableFuture<Void>> unbinding = new HashMap<>();
    private final List<NbdExport> exports = new ArrayList<>();
    /** Exports waiting for their listener; a REMOVE meanwhile takes them out of here. */
    private final Set<NbdExport> starting = new HashSet<>();
    /** Exports being stopped, with the future of their stop. */
    private final Map<NbdExport, CompletableFuture<Void>> stopping = new HashMap<>();
    private boolean shutDown;

    public NbdServer(ReactorGroup reactors, BdevLayer bdevs) {
        this.reactors = reactors;
        this.bdevs = bdevs;
        this.app = reactors.app();
        this.onApp = app::send;
    }

    /**
     * Exports {@code bdevName} at {@code device} (see {@link NbdAddress}); completes with the
     * export's URI once its listener is bound. -ENODEV for a missing bdev, -EEXIST for a name
     * already exported there, -EINVAL for a bad device, -EADDRINUSE when the address is taken.
     */
    public CompletableFuture<String> start(String bdevName, String device, boolean readOnly) {
        app.assertInReactor();
        if (shutDown) {
            throw new BasaltException(Errno.ECANCELED, "the NBD server is shutting down");
        }
        NbdAddress.Device d = NbdAddress.parseDevice(device);
        String name = d.exportName() != null ? d.exportName() : bdevName;
        checkName(name);
        int blockSize = bdevs.require(bdevName).blockSize();
        if (blockSize > MAX_MINIMUM_BLOCK) {
            throw new BasaltException(Errno.EINVAL, "bdev " + bdevName + " has " + blockSize + "-byte blocks; NBD's"
                    + " minimum block size is at most " + MAX_MINIMUM_BLOCK);
        }
        ListenerSlot slot = findSlot(d.address());
        if (slot != null && slot.names.contains(name)) {
            throw new BasaltException(Errno.EEXIST, "export " + name + " already exists on " + slot.address().listenString());
        }
        NbdExport e = new NbdExport(this, name, readOnly, app);
        BdevDesc desc = bdevs.open(bdevName, !readOnly, (event, bdev, dsc) -> e.onBdevEvent(event),
                "NBD export " + name + " on " + d.address().listenString());
        e.bind(desc);
        if (slot == null) {
            slot = newSlot(d.address());
        }
        ListenerSlot s = slot;
        s.names.add(name);
        e.place(s);
        starting.add(e);
        return s.bound.handleAsync((l, t) -> {
            boolean removed = !starting.remove(e);
            if (t != null || removed || shutDown) {
                s.names.remove(name);
                release(s);
                desc.close();
                if (t != null) {
                    throw t instanceof RuntimeException re ? re : new BasaltException(Errno.EIO, t.toString());
                }
                if (shutDown) {
                    throw new BasaltException(Errno.ECANCELED, "the NBD server is shutting down");
                }
                throw new BasaltException(Errno.ENODEV, "bdev " + bdevName + " was removed while its export started");
            }
            l.add(e);
            exports.add(e);
            LOG.log(System.Logger.Level.INFO, "NBD export " + e.uri() + " of bdev " + bdevName
                    + (readOnly ? " (read-only)" : ""));
            return e.uri();
        }, onApp);
    }

    /** Stops the export {@code device} names; -ENODEV if none, -EINVAL if the address has several. */
    public CompletableFuture<Void> stop(String device) {
        app.assertInReactor();
        if (device == null) {
            throw new BasaltException(Errno.EINVAL, "nbd_device is required");
        }
        List<NbdExport> found = find(device);
        if (found.isEmpty()) {
            throw new BasaltException(Errno.ENODEV, "no NBD export at " + device);
        }
        if (found.size() > 1) {
            List<String> uris = found.stream().map(NbdExport::uri).toList();
            throw new BasaltException(Errno.EINVAL, found.size() + " exports share " + device + "; name one of " + uris);
        }
        return stopExport(found.get(0), NbdProtocol.ESHUTDOWN);
    }

    /** Exports matching {@code device} (all when null), in the order they were started. */
    public List<NbdExport> list(String device) {
        app.assertInReactor();
        if (device == null) {
            return List.copyOf(exports);
        }
        return find(device);
    }

    private List<NbdExport> find(String device) {
        NbdAddress.Device d = NbdAddress.parseDevice(device);
        List<NbdExport> out = new ArrayList<>();
        for (NbdExport e : exports) {
            if (e.slot().address().equals(d.address()) && (d.exportName() == null || d.exportName().equals(e.name()))) {
                out.add(e);
            }
        }
        return out;
    }

    /** Stops {@code e} (once): queued requests get {@code nbdError}; its listener goes with its last export. */
    CompletableFuture<Void> stopExport(NbdExport e, int nbdError) {
        app.assertInReactor();
        if (starting.remove(e)) {
            // Its listener is not bound yet: start() sees it gone and undoes itself.
            return CompletableFuture.completedFuture(null);
        }
        if (!exports.remove(e)) {
            return stopping.getOrDefault(e, CompletableFuture.completedFuture(null));
        }
        ListenerSlot s = e.slot();
        s.listener.remove(e);
        CompletableFuture<Void> f = e.stop(nbdError).thenComposeAsync(v -> {
            s.names.remove(e.name());
            stopping.remove(e);
            LOG.log(System.Logger.Level.INFO, "NBD export " + e.uri() + " stopped");
            return release(s);
        }, onApp);
        stopping.put(e, f);
        return f;
    }

    private ListenerSlot findSlot(NbdAddress a) {
        for (ListenerSlot s : slots) {
            if (s.matches(a)) {
                return s;
            }
        }
        return null;
    }

    private ListenerSlot newSlot(NbdAddress a) {
        ListenerSlot s = new ListenerSlot(a);
        slots.add(s);
        CompletableFuture<Void> prior = unbinding.getOrDefault(a, CompletableFuture.completedFuture(null));
        s.bound = prior.handleAsync((v, t) -> null, offReactor)
                .thenCompose(v -> NbdListener.bind(reactors, a))
                .whenCompleteAsync((l, t) -> {
                    if (t == null) {
                        s.listener = l;
                    }
                }, onApp);
        return s;
    }

    /** Closes the slot's listener once no export uses it. */
    private CompletableFuture<Void> release(ListenerSlot s) {
        if (!s.names.isEmpty() || !slots.remove(s) || s.listener == null) {
            return CompletableFuture.completedFuture(null);
        }
        NbdAddress a = s.listener.address();
        CompletableFuture<Void> c = s.listener.close();
        unbinding.put(a, c);
        c.whenCompleteAsync((v, t) -> unbinding.remove(a, c), onApp);
        return c;
    }

    private static void checkName(String name) {
        if (name.isEmpty()) {
            throw new BasaltException(Errno.EINVAL, "the export name must not be empty");
        }
        if (name.indexOf('\0') >= 0 || name.getBytes(StandardCharsets.UTF_8).length > NbdProtocol.MAX_STRING) {
            throw new BasaltException(Errno.EINVAL, "export name must have no NUL and at most "
                    + NbdProtocol.MAX_STRING + " bytes");
        }
    }

    /** Stops every export and listener (target shutdown). Any thread. */
    public CompletableFuture<Void> fini() {
        return app.callAsync(() -> {
            shutDown = true;
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (NbdExport e : List.copyOf(exports)) {
                fs.add(stopExport(e, NbdProtocol.ESHUTDOWN));
            }
            fs.addAll(unbinding.values());
            return CompletableFuture.allOf(fs.toArray(new CompletableFuture[0]));
        });
    }
}
