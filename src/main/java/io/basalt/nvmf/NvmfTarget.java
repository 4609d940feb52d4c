package io.basalt.nvmf;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.BdevLayer;
import io.basalt.nvme.ConnectData;
import io.basalt.nvme.LogPages;
import io.basalt.nvme.NamespaceIds;
import io.basalt.nvme.Status;
import io.basalt.nvme.Wire;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;
import io.basalt.target.Version;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * The NVMe-oF target: the TCP transport, the subsystems (with the discovery subsystem
 * {@value ConnectData#DISCOVERY_NQN}, always present), their listeners, namespaces and
 * controllers, and the connection of new queue pairs to controllers.
 *
 * <p>Threading: configuration belongs to the application reactor; public methods run there (the
 * RPC handlers do), except {@link #fini}. Queue pairs reach it from their reactors with
 * {@link #connect}, which hops to the application reactor and back.
 */
public final class NvmfTarget {
    private static final System.Logger LOG = System.getLogger(NvmfTarget.class.getName());
    public static final String DEFAULT_MODEL = "Basalt bdev Controller";
    public static final String DEFAULT_SERIAL = "00000000000000000000";

    private final ReactorGroup reactors;
    private final BdevLayer bdevs;
    private final Reactor app;
    private final PollGroup[] groups;
    private final long startNanos = System.nanoTime();
    private volatile TransportOptions transport;
    private final Map<String, NvmfSubsystem> subsystems = new LinkedHashMap<>();
    private final NvmfSubsystem discovery;
    private final Map<ListenAddress, TcpListener> listeners = new HashMap<>();
    private final Map<ListenAddress, CompletableFuture<TcpListener>> binding = new HashMap<>();
    private int nextPortId = 1;
    private long genctr;
    private boolean shutDown;

    public NvmfTarget(ReactorGroup reactors, BdevLayer bdevs) {
        this.reactors = reactors;
        this.bdevs = bdevs;
        this.app = reactors.app();
        this.groups = new PollGroup[reactors.size()];
        for (int i = 0; i < groups.length; i++) {
            groups[i] = new PollGroup();
        }
        this.discovery = new NvmfSubsystem(ConnectData.DISCOVERY_NQN, true, DEFAULT_SERIAL, DEFAULT_MODEL, true, 0, 1,
                0xFFEF);
    }

    static String firmwareRevision() {
        return Version.BASALT;
    }

    long startNanos() {
        return startNanos;
    }

    PollGroup group(Reactor r) {
        return groups[r.id()];
    }

    BufferPool buffers() {
        return reactors.buffers();
    }

    TransportOptions transportOptions() {
        TransportOptions t = transport;
        return t != null ? t : TransportOptions.defaults();
    }

    // ------------------------------------------------------------------ transport

    /** nvmf_create_transport: one TCP transport; -EEXIST if it exists. */
    public void createTransport(TransportOptions opts) {
        app.assertInReactor();
        if (transport != null) {
            throw new BasaltException(Errno.EEXIST, "transport TCP already exists");
        }
        transport = opts;
        LOG.log(System.Logger.Level.INFO, "NVMe/TCP transport created: " + opts);
    }

    public TransportOptions transport() {
        return transport;
    }

    // ------------------------------------------------------------------ subsystems

    public void createSubsystem(String nqn, String serial, String model, boolean allowAnyHost, int maxNamespaces,
                                int minCntlid, int maxCntlid) {
        app.assertInReactor();
        checkUp();
        if (nqn.equals(ConnectData.DISCOVERY_NQN) || subsystems.containsKey(nqn)) {
            throw new BasaltException(Errno.EEXIST, "subsystem " + nqn + " already exists");
        }
        subsystems.put(nqn, new NvmfSubsystem(nqn, false, serial, model, allowAnyHost, maxNamespaces, minCntlid,
                maxCntlid));
        genctr++;
        LOG.log(System.Logger.Level.INFO, "NVMe-oF subsystem " + nqn + " created");
    }

    /** Subsystems in creation order, the discovery subsystem first. */
    public List<Object> subsystemsJson(String nqn) {
        app.assertInReactor();
        List<Object> out = new ArrayList<>();
        if (nqn != null) {
            out.add(find(nqn).toJson());
            return out;
        }
        out.add(discovery.toJson());
        for (NvmfSubsystem s : subsystems.values()) {
            out.add(s.toJson());
        }
        return out;
    }

    private NvmfSubsystem find(String nqn) {
        if (ConnectData.DISCOVERY_NQN.equals(nqn)) {
            return discovery;
        }
        NvmfSubsystem s = subsystems.get(nqn);
        if (s == null || s.state != NvmfSubsystem.State.ACTIVE) {
            throw new BasaltException(Errno.ENODEV, "subsystem " + nqn + " not found");
        }
        return s;
    }

    private NvmfSubsystem findNvm(String nqn) {
        NvmfSubsystem s = find(nqn);
        if (s.discovery) {
            throw new BasaltException(Errno.EINVAL, "the discovery subsystem has no namespaces or hosts");
        }
        return s;
    }

    /** nvmf_delete_subsystem: controllers disconnect, namespaces go, listeners are released. */
    public CompletableFuture<Void> deleteSubsystem(String nqn) {
        app.assertInReactor();
        NvmfSubsystem s = findNvm(nqn);
        s.state = NvmfSubsystem.State.DELETING;
        genctr++;
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (NvmfController c : List.copyOf(s.controllers)) {
            fs.add(c.goneFuture());
            c.reactor.send(() -> c.destroy("subsystem " + nqn + " deleted"));
        }
        return CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).thenComposeAsync(v -> {
            List<CompletableFuture<Void>> ns = new ArrayList<>();
            for (NvmfNamespace n : s.namespaceList()) {
                ns.add(unpublish(s, n, false));
            }
            return CompletableFuture.allOf(ns.toArray(new CompletableFuture[0]));
        }, app::send).thenComposeAsync(v -> {
            List<ListenAddress> ls = List.copyOf(s.listeners);
            s.listeners.clear();
            List<CompletableFuture<Void>> fs2 = new ArrayList<>();
            for (ListenAddress a : ls) {
                fs2.add(releaseListener(a));
            }
            subsystems.remove(nqn, s);
            LOG.log(System.Logger.Level.INFO, "NVMe-oF subsystem " + nqn + " deleted");
            return CompletableFuture.allOf(fs2.toArray(new CompletableFuture[0]));
        }, app::send);
    }

    // ------------------------------------------------------------------ hosts

    public void addHost(String nqn, String host) {
        app.assertInReactor();
        NvmfSubsystem s = findNvm(nqn);
        if (!s.hosts.add(host)) {
            throw new BasaltException(Errno.EEXIST, "host " + host + " is already allowed on " + nqn);
        }
        genctr++;
    }

    /** Removes a host from the allow-list; its controllers are disconnected unless any host is allowed. */
    public void removeHost(String nqn, String host) {
        app.assertInReactor();
        NvmfSubsystem s = findNvm(nqn);
        if (!s.hosts.remove(host)) {
            throw new BasaltException(Errno.ENOENT, "host " + host + " is not allowed on " + nqn);
        }
        genctr++;
        if (!s.allowAnyHost) {
            for (NvmfController c : List.copyOf(s.controllers)) {
                if (c.hostnqn.equals(host)) {
                    c.reactor.send(() -> c.destroy("host " + host + " removed from " + nqn));
                }
            }
        }
    }

    // ------------------------------------------------------------------ listeners

    /** nvmf_subsystem_add_listener: binds the address if no subsystem listens there yet. */
    public CompletableFuture<Void> addListener(String nqn, ListenAddress a) {
        app.assertInReactor();
        if (transport == null) {
            throw new BasaltException(Errno.EINVAL, "no TCP transport: call nvmf_create_transport first");
        }
        NvmfSubsystem s = find(nqn);
        if (s.listeners.contains(a)) {
            throw new BasaltException(Errno.EEXIST, "subsystem " + nqn + " already listens on " + a);
        }
        s.listeners.add(a);
        return listener(a).handleAsync((l, t) -> {
            if (t != null) {
                s.listeners.remove(a);
                releaseListener(a);
                throw t instanceof RuntimeException re ? re : new BasaltException(Errno.EIO, t.toString());
            }
            genctr++;
            LOG.log(System.Logger.Level.INFO, "subsystem " + nqn + " listens on " + a);
            return null;
        }, app::send);
    }

    private CompletableFuture<TcpListener> listener(ListenAddress a) {
        TcpListener l = listeners.get(a);
        if (l != null) {
            return CompletableFuture.completedFuture(l);
        }
        CompletableFuture<TcpListener> f = binding.get(a);
        if (f != null) {
            return f;
        }
        int portId = nextPortId++;
        f = TcpListener.bind(this, reactors, a, portId).whenCompleteAsync((bound, t) -> {
            binding.remove(a);
            if (t == null) {
                listeners.put(a, bound);
                // Everyone may have let go while it was binding.
                releaseListener(a);
            }
        }, app::send);
        binding.put(a, f);
        return f;
    }

    public CompletableFuture<Void> removeListener(String nqn, ListenAddress a) {
        app.assertInReactor();
        NvmfSubsystem s = find(nqn);
        if (!s.listeners.remove(a)) {
            throw new BasaltException(Errno.ENOENT, "subsystem " + nqn + " does not listen on " + a);
        }
        genctr++;
        TcpListener l = listeners.get(a);
        if (l != null) {
            l.closeConnectionsOf(s);
        }
        return releaseListener(a);
    }

    /** Closes the listener of {@code a} when no subsystem names it any more. */
    private CompletableFuture<Void> releaseListener(ListenAddress a) {
        if (discovery.listeners.contains(a)) {
            return CompletableFuture.completedFuture(null);
        }
        for (NvmfSubsystem s : subsystems.values()) {
            if (s.listeners.contains(a)) {
                return CompletableFuture.completedFuture(null);
            }
        }
        TcpListener l = listeners.remove(a);
        return l == null ? CompletableFuture.completedFuture(null) : l.close();
    }

    // ------------------------------------------------------------------ namespaces

    /**
     * nvmf_subsystem_add_ns: opens the bdev and publishes it under {@code nsid} (0 = lowest free).
     * Identifiers default to the bdev's UUID (as UUID and NGUID), so a bdev added again keeps them.
     * The namespace is visible at once; the future (the nsid) completes once every connected
     * controller has it on its Changed Namespace List, so a host that reads the log after the RPC
     * answered sees it.
     */
    public CompletableFuture<Integer> addNamespace(String nqn, String bdevName, int nsid, byte[] nguid, byte[] eui64, UUID uuid) {
        app.assertInReactor();
        NvmfSubsystem s = findNvm(nqn);
        Bdev b = bdevs.require(bdevName);
        if (nsid < 0 || nsid > s.maxNamespaces) {
            throw new BasaltException(Errno.EINVAL, "nsid " + Integer.toUnsignedString(nsid) + " is outside 1.."
                    + s.maxNamespaces + " of " + nqn);
        }
        int id = nsid == 0 ? s.freeNsid() : nsid;
        if (id == 0) {
            throw new BasaltException(Errno.ENOSPC, "subsystem " + nqn + " has no free namespace ID (max_namespaces "
                    + s.maxNamespaces + ")");
        }
        if (s.namespace(id) != null) {
            throw new BasaltException(Errno.EEXIST, "namespace " + id + " of " + nqn + " already exists");
        }
        boolean own = nguid != null || eui64 != null || uuid != null;
        NamespaceIds ids = new NamespaceIds(nguid != null ? nguid : Wire.uuidBytes(b.uuid()),
                eui64 != null ? eui64 : new byte[8], uuid != null ? uuid : b.uuid());
        NvmfNamespace[] holder = new NvmfNamespace[1];
        BdevDesc desc = bdevs.open(bdevName, true, (event, bdev, d) -> onBdevEvent(holder[0], event),
                "NVMe-oF namespace " + id + " of " + nqn);
        NvmfNamespace ns = new NvmfNamespace(id, s, desc, ids, own, reactors.size());
        holder[0] = ns;
        s.publish(id, ns);
        LOG.log(System.Logger.Level.INFO, "namespace " + id + " of " + nqn + " is bdev " + bdevName);
        return notifyControllers(s, id).thenApply(v -> id);
    }

    private void onBdevEvent(NvmfNamespace ns, BdevEvent event) {
        if (ns == null || ns.removed) {
            return;
        }
        if (event == BdevEvent.REMOVE) {
            LOG.log(System.Logger.Level.INFO, "bdev " + ns.bdev().name() + " is being removed: removing " + ns);
            unpublish(ns.subsystem, ns, true);
        } else if (event == BdevEvent.RESIZE) {
            LOG.log(System.Logger.Level.INFO, ns + " resized to " + ns.bdev().numBlocks() + " blocks");
            notifyControllers(ns.subsystem, ns.nsid);
        }
    }

    public CompletableFuture<Void> removeNamespace(String nqn, int nsid) {
        app.assertInReactor();
        NvmfSubsystem s = findNvm(nqn);
        NvmfNamespace ns = s.namespace(nsid);
        if (ns == null) {
            throw new BasaltException(Errno.ENOENT, "subsystem " + nqn + " has no namespace " + Integer.toUnsignedString(nsid));
        }
        return unpublish(s, ns, true);
    }

    /**
     * Takes a namespace away: unpublished at once (new commands see it absent), controllers told,
     * then each reactor lets go of it, then its descriptor closes.
     */
    private CompletableFuture<Void> unpublish(NvmfSubsystem s, NvmfNamespace ns, boolean notify) {
        if (ns.removed) {
            return CompletableFuture.completedFuture(null);
        }
        ns.removed = true;
        s.publish(ns.nsid, null);
        List<NvmfController> told = notify ? List.copyOf(s.controllers) : List.of();
        return reactors.forEach(r -> {
            ns.releaseOn(r);
            groups[r.id()].namespaceGone(ns);
            tellControllersOn(r, told, ns.nsid);
        }).thenRunAsync(() -> {
            ns.desc().close();
            LOG.log(System.Logger.Level.INFO, ns + " removed");
        }, app::send);
    }

    /**
     * Puts {@code nsid} on the changed list of every controller of {@code s}, each on its own
     * reactor; completes (on the calling reactor) once all have it.
     */
    private CompletableFuture<Void> notifyControllers(NvmfSubsystem s, int nsid) {
        List<NvmfController> cs = List.copyOf(s.controllers);
        if (cs.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        return reactors.forEach(r -> tellControllersOn(r, cs, nsid));
    }

    private static void tellControllersOn(Reactor r, List<NvmfController> cs, int nsid) {
        for (NvmfController c : cs) {
            if (c.reactor == r) {
                c.namespaceChanged(nsid);
            }
        }
    }

    // ------------------------------------------------------------------ connect

    /** The outcome of a Connect: status 0 and the controller, or the status and DW0 to answer. */
    record ConnectResult(int status, int dw0, NvmfController controller) {
        static ConnectResult fail(int status, int dw0) {
            return new ConnectResult(status, dw0, null);
        }
    }

    /** A Connect from qpair {@code q} (called on its reactor; completes on any thread). */
    CompletableFuture<ConnectResult> connect(TcpQpair q, ConnectData d, int qid, int sqsize, long kato) {
        return app.callAsync(() -> {
            NvmfSubsystem s = ConnectData.DISCOVERY_NQN.equals(d.subnqn()) ? discovery : subsystems.get(d.subnqn());
            int badNqn = ConnectData.invalidParameterDw0(true, ConnectData.OFFSET_SUBNQN);
            if (s == null || s.state != NvmfSubsystem.State.ACTIVE || shutDown) {
                return CompletableFuture.completedFuture(ConnectResult.fail(Status.CONNECT_INVALID_PARAMETERS
                        | Status.DNR, badNqn));
            }
            if (!s.discovery && !s.listeners.contains(q.local)) {
                return CompletableFuture.completedFuture(ConnectResult.fail(Status.CONNECT_INVALID_PARAMETERS
                        | Status.DNR, badNqn));
            }
            if (!s.hostAllowed(d.hostnqn())) {
                LOG.log(System.Logger.Level.WARNING, "host " + d.hostnqn() + " is not allowed on " + s.nqn);
                return CompletableFuture.completedFuture(ConnectResult.fail(Status.CONNECT_INVALID_HOST | Status.DNR, 0));
            }
            if (qid == 0) {
                int cntlid = s.allocateCntlid();
                if (cntlid < 0) {
                    return CompletableFuture.completedFuture(ConnectResult.fail(Status.CONNECT_CONTROLLER_BUSY, 0));
                }
                NvmfController c = new NvmfController(this, s, cntlid, d.hostnqn(), d.hostId(), q.reactor,
                        effectiveKato(kato));
                s.controllers.add(c);
                return q.reactor.call(() -> {
                    c.adminConnected(q);
                    LOG.log(System.Logger.Level.INFO, "host " + d.hostnqn() + " connected to " + s.nqn
                            + " as controller " + cntlid + " from " + q.remote);
                    return new ConnectResult(0, 0, c);
                });
            }
            NvmfController c = s.controller(d.cntlid());
            if (c == null) {
                return CompletableFuture.completedFuture(ConnectResult.fail(Status.CONNECT_INVALID_PARAMETERS | Status.DNR,
                        ConnectData.invalidParameterDw0(true, ConnectData.OFFSET_CNTLID)));
            }
            if (!c.hostnqn.equals(d.hostnqn())) {
                return CompletableFuture.completedFuture(ConnectResult.fail(Status.CONNECT_INVALID_PARAMETERS | Status.DNR,
                        ConnectData.invalidParameterDw0(true, ConnectData.OFFSET_HOSTNQN)));
            }
            return c.reactor.call(() -> {
                int st = c.addIoQpair(q, qid);
                return st == 0 ? new ConnectResult(0, 0, c) : ConnectResult.fail(st,
                        (st & 0x7FF) == Status.CONNECT_INVALID_PARAMETERS ? ConnectData.invalidParameterDw0(false, 42) : 0);
            });
        });
    }

    /** The keep-alive timeout a controller uses: none for 0, else at least min_kato, rounded up to KAS. */
    long effectiveKato(long kato) {
        if (kato == 0) {
            return 0;
        }
        TransportOptions o = transportOptions();
        long k = Math.max(kato, o.minKato());
        long unit = 100L * Math.max(1, o.kas());
        return (k + unit - 1) / unit * unit;
    }

    /** A controller is gone (from its reactor). */
    void controllerGone(NvmfController c) {
        app.send(() -> c.subsystem.controllers.remove(c));
    }

    // ------------------------------------------------------------------ discovery

    /** The discovery log for {@code hostnqn}: every listener of every subsystem the host may use. */
    CompletableFuture<byte[]> discoveryLog(String hostnqn) {
        return app.call(() -> {
            List<LogPages.DiscoveryEntry> entries = new ArrayList<>();
            TransportOptions o = transportOptions();
            for (NvmfSubsystem s : subsystems.values()) {
                if (s.state != NvmfSubsystem.State.ACTIVE || !s.hostAllowed(hostnqn)) {
                    continue;
                }
                for (ListenAddress a : s.listeners) {
                    TcpListener l = listeners.get(a);
                    entries.add(new LogPages.DiscoveryEntry(LogPages.DiscoveryEntry.TRTYPE_TCP, a.adrfamCode(),
                            LogPages.DiscoveryEntry.SUBTYPE_NVME, LogPages.DiscoveryEntry.TREQ_NOT_REQUIRED_SQFLOW,
                            l != null ? l.portId : 0, 0xFFFF, o.maxAqDepth(), a.trsvcid(), s.nqn, a.traddr()));
                }
            }
            return LogPages.discovery(genctr, entries);
        });
    }

    // ------------------------------------------------------------------ json and config

    public List<NvmfSubsystemView> views() {
        app.assertInReactor();
        List<NvmfSubsystemView> out = new ArrayList<>();
        for (NvmfSubsystem s : subsystems.values()) {
            if (s.state != NvmfSubsystem.State.ACTIVE) {
                continue;
            }
            List<NvmfSubsystemView.Ns> ns = new ArrayList<>();
            for (NvmfNamespace n : s.namespaceList()) {
                ns.add(new NvmfSubsystemView.Ns(n.nsid, n.bdev().name(), n.ids));
            }
            out.add(new NvmfSubsystemView(s.nqn, s.serialNumber, s.modelNumber, s.allowAnyHost, s.maxNamespaces,
                    s.minCntlid, s.maxCntlid, List.copyOf(s.hosts), List.copyOf(s.listeners), ns));
        }
        return out;
    }

    public List<ListenAddress> discoveryListeners() {
        app.assertInReactor();
        return List.copyOf(discovery.listeners);
    }

    /** Controllers of {@code nqn}: cntlid, host NQN and host ID. */
    public ArrayNode controllersJson(String nqn) {
        app.assertInReactor();
        NvmfSubsystem s = find(nqn);
        ArrayNode out = Json.array();
        for (NvmfController c : s.controllers) {
            out.add(Json.object().put("cntlid", c.cntlid).put("hostnqn", c.hostnqn).put("hostid", c.hostId.toString()));
        }
        return out;
    }

    private void checkUp() {
        if (shutDown) {
            throw new BasaltException(Errno.ECANCELED, "the NVMe-oF target is shutting down");
        }
    }

    /** Deletes every subsystem and closes every listener (target shutdown). Any thread. */
    public CompletableFuture<Void> fini() {
        return app.callAsync(() -> {
            shutDown = true;
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (NvmfController c : List.copyOf(discovery.controllers)) {
                fs.add(c.goneFuture());
                c.reactor.send(() -> c.destroy("target shutdown"));
            }
            for (String nqn : List.copyOf(subsystems.keySet())) {
                fs.add(deleteSubsystem(nqn));
            }
            return CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).thenComposeAsync(v -> {
                discovery.listeners.clear();
                List<CompletableFuture<Void>> ls = new ArrayList<>();
                for (TcpListener l : List.copyOf(listeners.values())) {
                    ls.add(l.close());
                }
                listeners.clear();
                return CompletableFuture.allOf(ls.toArray(new CompletableFuture[0]));
            }, app::send);
        });
    }
}
