package io.basalt.bdev.nvme;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.BdevLayer;
import io.basalt.nvme.ConnectData;
import io.basalt.nvme.Features;
import io.basalt.nvme.IdentifyController;
import io.basalt.nvme.IdentifyNamespace;
import io.basalt.nvme.LogPages;
import io.basalt.nvme.NamespaceIds;
import io.basalt.nvme.NamespaceList;
import io.basalt.nvme.Opcodes;
import io.basalt.nvme.Properties;
import io.basalt.nvme.Sqe;
import io.basalt.nvme.Status;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A remote NVMe/TCP controller attached as {@link #name}: its admin queue (on the application
 * reactor), one I/O queue per reactor, and one {@link NvmeBdev} per namespace.
 *
 * <p>Reset and reconnect (the S4 rules): when a connection breaks, or on a reset, every queue is
 * closed and I/O waits in the reactors' {@link IoPath} queues; the controller reconnects at once
 * and then every reconnect_delay_sec; fast_io_fail_timeout_sec after the loss began, queued and
 * new I/O fails; ctrlr_loss_timeout_sec after it (never for -1; at the first failed reconnect for
 * 0) the controller is deleted and its bdevs unregistered, so their users are told through
 * hot-remove. After each reconnect every namespace is identified again before I/O resumes: the
 * same identity (NGUID / EUI-64 / UUID) is the same bdev, an absent namespace keeps its bdev with
 * its I/O waiting, a different identity is a new bdev and the old one goes.
 *
 * <p>Namespace Attribute Changed events (an AER) make it read the Changed Namespace List and scan
 * again. Keep Alive goes every half keep-alive timeout; one left unanswered counts as a loss.
 *
 * <p>Threading: state belongs to the application reactor; I/O paths to their reactors.
 */
final class NvmeCtrlr implements HostQpair.Listener {
    private static final System.Logger LOG = System.getLogger(NvmeCtrlr.class.getName());
    static final int ADMIN_DEPTH = 32;
    /** System property: the bound on one connect attempt (admin queue to namespace scan), in ms. */
    static final String SETUP_TIMEOUT_PROPERTY = "basalt.nvme.setupTimeoutMs";
    static final long DEFAULT_SETUP_TIMEOUT_MS = 10_000;
    static final int IO_DEPTH = 128;

    enum State {
        CONNECTING("connecting"), ENABLED("enabled"), RESETTING("resetting"), RECONNECT_DELAYED("reconnect_is_delayed"),
        DELETING("deleting"), DELETED("deleted");

        final String json;

        State(String json) {
            this.json = json;
        }
    }

    /** What bdev_nvme_attach_controller asked for. */
    record Options(String adrfam, String traddr, int port, String subnqn, String hostnqn, UUID hostId, boolean hdgst,
                   boolean ddgst, int ctrlrLossTimeoutSec, int reconnectDelaySec, int fastIoFailTimeoutSec,
                   long keepAliveMs) {
    }

    private record NsInfo(IdentifyNamespace ns, NamespaceIds ids) {
    }

    private record Result(int status, int dw0, int dw1) {
    }

    final String name;
    final Options opts;
    private final NvmeModule module;
    private final BdevLayer layer;
    private final ReactorGroup reactors;
    private final Reactor app;
    private final Executor onApp;
    private final IoPath[] paths;
    private final HostQpair[] io;
    private HostQpair admin;
    private volatile IdentifyController idctrl;
    private volatile State state = State.CONNECTING;
    private int cntlid;
    private int maxTransfer = 128 * 1024;
    private final Map<Integer, NvmeBdev> bdevs = new TreeMap<>();
    private final Map<NvmeBdev, ScheduledFuture<?>> absentTimers = new HashMap<>();
    private long lossStart;
    private ScheduledFuture<?> reconnectTimer;
    private ScheduledFuture<?> fastFailTimer;
    private ScheduledFuture<?> keepAliveTimer;
    private boolean keepAliveOutstanding;
    private boolean scanning;
    private boolean rescanWanted;
    private CompletableFuture<Void> resetDone;
    private CompletableFuture<Void> deleted;
    private int connectGeneration;

    NvmeCtrlr(NvmeModule module, String name, Options opts) {
        this.module = module;
        this.layer = module.layer();
        this.reactors = layer.reactors();
        this.app = reactors.app();
        this.onApp = app::send;
        this.name = name;
        this.opts = opts;
        this.paths = new IoPath[reactors.size()];
        for (int i = 0; i < paths.length; i++) {
            paths[i] = new IoPath(this, reactors.get(i));
        }
        this.io = new HostQpair[reactors.size()];
    }

    IoPath path(Reactor r) {
        return paths[r.id()];
    }

    IdentifyController identity() {
        return idctrl;
    }

    State state() {
        return state;
    }

    // ------------------------------------------------------------------ attach

    /** Connects, identifies and registers one bdev per active namespace; completes with their names. */
    CompletableFuture<List<String>> attach() {
        app.assertInReactor();
        return connectAll().thenComposeAsync(this::apply, onApp).handleAsync((v, t) -> {
            if (t != null) {
                closeAll();
                List<NvmeBdev> made = new ArrayList<>(bdevs.values());
                bdevs.clear();
                for (NvmeBdev b : made) {
                    layer.unregister(b);
                }
                state = State.DELETED;
                module.forget(this);
                throw t instanceof java.util.concurrent.CompletionException ce && ce.getCause() != null
                        ? (ce.getCause() instanceof RuntimeException re ? re : new BasaltException(Errno.EIO, ce.getCause().toString()))
                        : t instanceof RuntimeException re ? re : new BasaltException(Errno.EIO, t.toString());
            }
            online();
            LOG.log(System.Logger.Level.INFO, "NVMe controller " + name + " attached to " + opts.subnqn() + " at "
                    + opts.traddr() + ":" + opts.port() + " (cntlid " + cntlid + ", " + bdevs.size() + " namespaces)");
            List<String> names = new ArrayList<>();
            for (NvmeBdev b : bdevs.values()) {
                names.add(b.name());
            }
            return names;
        }, onApp);
    }

    private HostQpair.Params params(int qid, int depth, int cntlid, long kato) {
        return new HostQpair.Params(new InetSocketAddress(opts.traddr(), opts.port()), opts.subnqn(), opts.hostnqn(),
                opts.hostId(), opts.hdgst(), opts.ddgst(), qid, depth, cntlid, kato);
    }

    /**
     * Connects everything within a bound: a target that accepts the connection and then stops
     * answering (hung, or a proxy that stopped forwarding) would otherwise hold the attach, or the
     * reconnect, forever, and with it the controller-loss timeout that should end it. At the bound
     * the attempt is abandoned: its queues are closed (their outstanding commands fail, so the
     * abandoned steps end) and a new generation makes late completions close themselves.
     */
    private CompletableFuture<Map<Integer, NsInfo>> connectAll() {
        int gen = ++connectGeneration;
        long bound = setupTimeoutMs();
        CompletableFuture<Map<Integer, NsInfo>> result = new CompletableFuture<>();
        ScheduledFuture<?> timer = app.schedule(() -> {
            if (!result.isDone() && gen == connectGeneration) {
                connectGeneration++;
                result.completeExceptionally(new BasaltException(Errno.ETIMEDOUT, "controller " + name + " at "
                        + opts.traddr() + ":" + opts.port() + " did not finish connecting within " + bound + " ms"));
                closeAll();
            }
        }, bound, TimeUnit.MILLISECONDS);
        connectSteps(gen).whenCompleteAsync((v, t) -> {
            timer.cancel(false);
            // After the bound the result is already failed and the attempt's queues closed.
            if (t != null) {
                result.completeExceptionally(t);
            } else {
                result.complete(v);
            }
        }, onApp);
        return result;
    }

    /** The setup bound: basalt.nvme.setupTimeoutMs (10 s), never past the controller-loss deadline (at least 1 s). */
    private long setupTimeoutMs() {
        long ms = Long.getLong(SETUP_TIMEOUT_PROPERTY, DEFAULT_SETUP_TIMEOUT_MS);
        int loss = opts.ctrlrLossTimeoutSec();
        if (lossStart != 0 && loss > 0) {
            long left = TimeUnit.NANOSECONDS.toMillis(lossStart + TimeUnit.SECONDS.toNanos(loss) - System.nanoTime());
            ms = Math.min(ms, Math.max(1000, left));
        }
        return ms;
    }

    /** Admin queue, enable, identify, features, AER, keep alive, I/O queues, namespace scan. */
    private CompletableFuture<Map<Integer, NsInfo>> connectSteps(int gen) {
        return HostQpair.connect(app, params(0, ADMIN_DEPTH, ConnectData.CNTLID_DYNAMIC, opts.keepAliveMs()), this, 8192)
                .thenComposeAsync(a -> {
                    if (gen != connectGeneration || state == State.DELETING) {
                        a.close("superseded");
                        throw new BasaltException(Errno.ECANCELED, "connect superseded");
                    }
                    admin = a;
                    cntlid = a.cntlid;
                    return property(Properties.CAP, true, 0, false);
                }, onApp)
                .thenComposeAsync(cap -> {
                    long c = (cap.dw0() & 0xFFFFFFFFL) | ((long) cap.dw1() << 32);
                    int mqes = Properties.capMqes(c);
                    long timeoutMs = Math.max(500, Properties.capTimeout(c) * 500L);
                    ioDepth = Math.min(IO_DEPTH, mqes + 1);
                    return property(Properties.CC, false, Properties.ccEnable(), true)
                            .thenCompose(v -> waitReady(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs)));
                }, onApp)
                .thenComposeAsync(v -> adminData(Opcodes.ADMIN_IDENTIFY, 0, 1, 0, 4096), onApp)
                .thenComposeAsync(data -> {
                    idctrl = IdentifyController.decode(data);
                    long mdts = idctrl.maxTransferBytes();
                    maxTransfer = (int) Math.min(mdts == 0 ? 1 << 20 : mdts, 1 << 20);
                    int n = reactors.size() - 1;
                    return adminCmd(Opcodes.ADMIN_SET_FEATURES, 0, Features.NUMBER_OF_QUEUES, n | n << 16);
                }, onApp)
                .thenComposeAsync(r -> {
                    int granted = Math.min(r.dw0() & 0xFFFF, r.dw0() >>> 16) + 1;
                    if (r.status() != 0 || granted < reactors.size()) {
                        throw new BasaltException(Errno.EIO, "controller grants " + granted + " I/O queues, " + name
                                + " needs " + reactors.size() + " (one per reactor)");
                    }
                    if ((idctrl.oaes() & IdentifyController.OAES_NS_ATTRIBUTE_NOTICES) != 0) {
                        return adminCmd(Opcodes.ADMIN_SET_FEATURES, 0, Features.ASYNC_EVENT_CONFIGURATION,
                                Features.AEC_NAMESPACE_ATTRIBUTE).thenApply(x -> true);
                    }
                    return CompletableFuture.completedFuture(false);
                }, onApp)
                .thenComposeAsync(aen -> {
                    if (aen) {
                        submitAer(admin);
                    }
                    armKeepAlive(admin);
                    return connectIoQueues(gen);
                }, onApp)
                .thenComposeAsync(v -> {
                    if (gen != connectGeneration) {
                        throw new BasaltException(Errno.ECANCELED, "connect superseded");
                    }
                    return scan();
                }, onApp);
    }

    private int ioDepth = IO_DEPTH;

    private CompletableFuture<Void> connectIoQueues(int gen) {
        List<CompletableFuture<HostQpair>> fs = new ArrayList<>();
        int icd = idctrl.inCapsuleDataBytes();
        for (int i = 0; i < reactors.size(); i++) {
            fs.add(HostQpair.connect(reactors.get(i), params(i + 1, ioDepth, cntlid, 0), this, icd));
        }
        return CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).handleAsync((v, t) -> {
            for (int i = 0; i < fs.size(); i++) {
                HostQpair q = fs.get(i).isCompletedExceptionally() ? null : fs.get(i).getNow(null);
                if (q != null && (t != null || gen != connectGeneration)) {
                    q.reactor.send(() -> q.close("connect failed"));
                } else {
                    io[i] = q;
                }
            }
            if (t != null) {
                throw t instanceof RuntimeException re ? re : new BasaltException(Errno.ECONNREFUSED, t.toString());
            }
            if (gen != connectGeneration) {
                throw new BasaltException(Errno.ECANCELED, "connect superseded");
            }
            return null;
        }, onApp);
    }

    private CompletableFuture<Void> waitReady(long deadline) {
        return property(Properties.CSTS, false, 0, false).thenComposeAsync(r -> {
            if ((r.dw0() & Properties.CSTS_RDY) != 0) {
                return CompletableFuture.completedFuture(null);
            }
            if ((r.dw0() & Properties.CSTS_CFS) != 0 || System.nanoTime() > deadline) {
                throw new BasaltException(Errno.EIO, "controller of " + opts.subnqn() + " did not become ready");
            }
            CompletableFuture<Void> f = new CompletableFuture<>();
            app.schedule(() -> waitReady(deadline).whenComplete((v, t) -> {
                if (t != null) {
                    f.completeExceptionally(t);
                } else {
                    f.complete(null);
                }
            }), 10, TimeUnit.MILLISECONDS);
            return f;
        }, onApp);
    }

    // ------------------------------------------------------------------ admin commands (application reactor)

    private CompletableFuture<Result> submitAdmin(Sqe s, ByteBuffer data, int len, boolean write) {
        CompletableFuture<Result> f = new CompletableFuture<>();
        HostQpair a = admin;
        if (a == null || !a.submit(s, data, 0, len, write, (q, st, cqe, arg) -> f.complete(new Result(st, cqe.dw0, cqe.dw1)),
                null)) {
            f.completeExceptionally(new BasaltException(Errno.ENOTCONN, "admin queue of " + name + " is not available"));
        }
        return f;
    }

    private CompletableFuture<Result> property(int offset, boolean eight, long value, boolean set) {
        Sqe s = new Sqe();
        s.opcode = Opcodes.FABRICS;
        s.nsid = set ? Opcodes.FCTYPE_PROPERTY_SET : Opcodes.FCTYPE_PROPERTY_GET;
        s.cdw10 = eight ? 1 : 0;
        s.cdw11 = offset;
        s.cdw12 = (int) value;
        s.cdw13 = (int) (value >>> 32);
        return submitAdmin(s, null, 0, false).thenApply(r -> {
            if (r.status() != 0) {
                throw new BasaltException(Errno.EIO, "property 0x" + Integer.toHexString(offset) + " of " + name + ": "
                        + (r.status() == HostQpair.STATUS_LOST ? "connection lost" : Status.describe(r.status())));
            }
            return r;
        });
    }

    private CompletableFuture<Result> adminCmd(int opcode, int nsid, int cdw10, int cdw11) {
        Sqe s = new Sqe();
        s.opcode = opcode;
        s.nsid = nsid;
        s.cdw10 = cdw10;
        s.cdw11 = cdw11;
        return submitAdmin(s, null, 0, false).thenApply(r -> {
            if (r.status() == HostQpair.STATUS_LOST) {
                throw new BasaltException(Errno.ECONNRESET, "admin queue of " + name + " lost");
            }
            return r;
        });
    }

    /** An admin command that returns {@code len} bytes; fails on an error status. */
    private CompletableFuture<byte[]> adminData(int opcode, int nsid, int cdw10, int cdw11, int len) {
        return adminData(opcode, nsid, cdw10, cdw11, 0, len);
    }

    private CompletableFuture<byte[]> adminData(int opcode, int nsid, int cdw10, int cdw11, int cdw12, int len) {
        Sqe s = new Sqe();
        s.opcode = opcode;
        s.nsid = nsid;
        s.cdw10 = cdw10;
        s.cdw11 = cdw11;
        s.cdw12 = cdw12;
        byte[] buf = new byte[len];
        return submitAdmin(s, ByteBuffer.wrap(buf), len, false).thenApply(r -> {
            if (r.status() != 0) {
                throw new AdminError(r.status(), "admin command 0x" + Integer.toHexString(opcode) + " of " + name + ": "
                        + (r.status() == HostQpair.STATUS_LOST ? "connection lost" : Status.describe(r.status())));
            }
            return buf;
        });
    }

    /** An admin command that failed with an NVMe status. */
    static final class AdminError extends BasaltException {
        final int status;

        AdminError(int status, String msg) {
            super(Errno.EIO, msg);
            this.status = status;
        }
    }

    // ------------------------------------------------------------------ namespaces

    /** Identifies every active namespace (list, namespace data, identification descriptors). */
    private CompletableFuture<Map<Integer, NsInfo>> scan() {
        return adminData(Opcodes.ADMIN_IDENTIFY, 0, 2, 0, 4096).thenComposeAsync(list -> {
            Map<Integer, NsInfo> out = new LinkedHashMap<>();
            CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
            for (int nsid : NamespaceList.decode(list)) {
                chain = chain.thenComposeAsync(v -> identifyNamespace(nsid), onApp).thenAcceptAsync(info -> {
                    if (info != null) {
                        out.put(nsid, info);
                    }
                }, onApp);
            }
            return chain.thenApply(v -> out);
        }, onApp);
    }

    private CompletableFuture<NsInfo> identifyNamespace(int nsid) {
        return adminData(Opcodes.ADMIN_IDENTIFY, nsid, 0, 0, 4096).thenComposeAsync(data -> {
            IdentifyNamespace ns = IdentifyNamespace.decode(data);
            if (ns == null || ns.blockSize() == 0 || IdentifyNamespace.metadataSize(data) != 0) {
                return CompletableFuture.completedFuture(null);
            }
            return adminData(Opcodes.ADMIN_IDENTIFY, nsid, 3, 0, 4096)
                    .handle((d, t) -> {
                        NamespaceIds fromNs = new NamespaceIds(ns.nguid(), ns.eui64(), null);
                        if (t != null) {
                            return new NsInfo(ns, fromNs);
                        }
                        NamespaceIds ids = NamespaceIds.decodeDescriptors(d);
                        return new NsInfo(ns, ids.hasNguid() || ids.hasEui64() || ids.uuid() != null ? ids : fromNs);
                    });
        }, onApp);
    }

    /**
     * Brings the bdevs in line with a scan: same identity = same bdev (present again, maybe
     * grown); missing = absent (kept, its I/O waits); different identity = the old bdev goes and a
     * new one comes once it is gone.
     */
    private CompletableFuture<Void> apply(Map<Integer, NsInfo> found) {
        app.assertInReactor();
        List<CompletableFuture<Void>> waits = new ArrayList<>();
        java.util.Set<Integer> replaced = new java.util.HashSet<>();
        for (NvmeBdev b : new ArrayList<>(bdevs.values())) {
            NsInfo info = found.get(b.nsid);
            if (info == null) {
                markAbsent(b);
            } else if (info.ids().sameNamespace(b.ids) && info.ns().blockSize() == b.blockSize()) {
                markPresent(b);
                if (info.ns().nsze() > b.numBlocks()) {
                    b.grow(info.ns().nsze());
                }
            } else {
                LOG.log(System.Logger.Level.WARNING, "namespace " + b.nsid + " of " + name + " came back as another"
                        + " namespace (" + info.ids() + " instead of " + b.ids + "): bdev " + b.name() + " goes");
                bdevs.remove(b.nsid);
                replaced.add(b.nsid);
                markAbsent(b);
                waits.add(layer.unregister(b).thenRunAsync(() -> create(b.nsid, info), onApp));
            }
        }
        for (Map.Entry<Integer, NsInfo> e : found.entrySet()) {
            if (!bdevs.containsKey(e.getKey()) && !replaced.contains(e.getKey())) {
                create(e.getKey(), e.getValue());
            }
        }
        return CompletableFuture.allOf(waits.toArray(new CompletableFuture[0]));
    }

    private void create(int nsid, NsInfo info) {
        if (state == State.DELETING || state == State.DELETED || bdevs.containsKey(nsid)) {
            return;
        }
        NvmeBdev b = new NvmeBdev(module, this, nsid, info.ids(), info.ns().blockSize(), info.ns().nsze());
        layer.register(b);
        bdevs.put(nsid, b);
        LOG.log(System.Logger.Level.INFO, "bdev " + b.name() + ": namespace " + nsid + " of " + opts.subnqn() + " ("
                + b.numBlocks() + " x " + b.blockSize() + ", " + info.ids() + ")");
    }

    private void markAbsent(NvmeBdev b) {
        if (!b.active) {
            return;
        }
        b.active = false;
        LOG.log(System.Logger.Level.WARNING, "namespace " + b.nsid + " of " + name + " is absent; I/O to " + b.name()
                + " waits");
        if (opts.fastIoFailTimeoutSec() > 0 && !absentTimers.containsKey(b)) {
            absentTimers.put(b, app.schedule(() -> {
                absentTimers.remove(b);
                if (!b.active) {
                    b.failFast = true;
                    for (IoPath p : paths) {
                        p.reactor.send(() -> p.failQueued(b));
                    }
                }
            }, opts.fastIoFailTimeoutSec(), TimeUnit.SECONDS));
        }
    }

    private void markPresent(NvmeBdev b) {
        ScheduledFuture<?> t = absentTimers.remove(b);
        if (t != null) {
            t.cancel(false);
        }
        b.failFast = false;
        if (!b.active) {
            b.active = true;
            LOG.log(System.Logger.Level.INFO, "namespace " + b.nsid + " of " + name + " is back; I/O to " + b.name()
                    + " resumes");
        }
    }

    /** A command found its namespace gone (from any reactor): mark it absent and look again. */
    void namespaceMissing(NvmeBdev b) {
        app.send(() -> {
            if (state == State.ENABLED && bdevs.get(b.nsid) == b) {
                markAbsent(b);
                rescan();
            }
        });
    }

    private void rescan() {
        if (scanning) {
            rescanWanted = true;
            return;
        }
        scanning = true;
        scan().thenComposeAsync(this::apply, onApp).whenCompleteAsync((v, t) -> {
            scanning = false;
            if (t != null) {
                LOG.log(System.Logger.Level.WARNING, "namespace scan of " + name + " failed: " + t);
            } else if (state == State.ENABLED) {
                for (IoPath p : paths) {
                    p.reactor.send(p::drain);
                }
            }
            if (rescanWanted) {
                rescanWanted = false;
                if (state == State.ENABLED) {
                    rescan();
                }
            }
        }, onApp);
    }

    /** The bdev is going (hot-remove, identity change, shutdown): I/O waiting for it fails, so it can drain. */
    void bdevUnregistering(NvmeBdev b) {
        b.failFast = true;
        b.active = false;
        for (IoPath p : paths) {
            p.reactor.send(() -> p.failQueued(b));
        }
        app.send(() -> {
            bdevs.remove(b.nsid, b);
            ScheduledFuture<?> t = absentTimers.remove(b);
            if (t != null) {
                t.cancel(false);
            }
        });
    }

    // ------------------------------------------------------------------ events and keep alive

    private void submitAer(HostQpair a) {
        Sqe s = new Sqe();
        s.opcode = Opcodes.ADMIN_ASYNC_EVENT_REQUEST;
        a.submit(s, (ByteBuffer) null, 0, 0, false, (q, st, cqe, arg) -> {
            if (st != Status.SUCCESS || q != admin) {
                return;
            }
            int dw0 = cqe.dw0;
            app.send(() -> asyncEvent(q, dw0));
        }, null);
    }

    private void asyncEvent(HostQpair q, int dw0) {
        if (q != admin || state != State.ENABLED) {
            return;
        }
        if (Features.aerType(dw0) == Features.AER_TYPE_NOTICE
                && Features.aerInfo(dw0) == Features.AER_NOTICE_NS_ATTRIBUTE_CHANGED) {
            LOG.log(System.Logger.Level.INFO, name + ": namespace attribute changed");
            adminData(Opcodes.ADMIN_GET_LOG_PAGE, 0xFFFFFFFF, LogPages.cdw10(LogPages.CHANGED_NAMESPACE_LIST, false, 4096),
                    LogPages.cdw11(4096), 4096).whenCompleteAsync((log, t) -> {
                        submitAer(q);
                        rescan();
                    }, onApp);
            return;
        }
        submitAer(q);
    }

    private void armKeepAlive(HostQpair a) {
        if (opts.keepAliveMs() <= 0) {
            return;
        }
        keepAliveOutstanding = false;
        long period = Math.max(100, opts.keepAliveMs() / 2);
        keepAliveTimer = app.schedule(() -> keepAlive(a, period), period, TimeUnit.MILLISECONDS);
    }

    private void keepAlive(HostQpair a, long period) {
        if (a != admin || a.isDown()) {
            return;
        }
        if (keepAliveOutstanding) {
            a.close("keep alive not answered");
            return;
        }
        keepAliveOutstanding = true;
        Sqe s = new Sqe();
        s.opcode = Opcodes.ADMIN_KEEP_ALIVE;
        a.submit(s, (ByteBuffer) null, 0, 0, false, (q, st, cqe, arg) -> keepAliveOutstanding = false, null);
        keepAliveTimer = app.schedule(() -> keepAlive(a, period), period, TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------------ loss, reset, reconnect

    @Override
    public void qpairDown(HostQpair q, String why) {
        paths[q.reactor.id()].down(q);
        app.send(() -> {
            if (q != admin && (q.qid == 0 || io[q.qid - 1] != q)) {
                return;
            }
            if (state == State.ENABLED) {
                LOG.log(System.Logger.Level.WARNING, "NVMe controller " + name + " lost its connection (" + why + ")");
                startReset();
            }
        });
    }

    /** bdev_nvme_reset_controller: -16 while a reset or reconnect runs. */
    CompletableFuture<Void> reset() {
        app.assertInReactor();
        if (state != State.ENABLED) {
            throw new BasaltException(Errno.EBUSY, "controller " + name + " is " + state.json + "; a reset cannot start now");
        }
        resetDone = new CompletableFuture<>();
        CompletableFuture<Void> f = resetDone;
        startReset();
        return f;
    }

    private void startReset() {
        state = State.RESETTING;
        if (lossStart == 0) {
            lossStart = System.nanoTime();
            if (opts.fastIoFailTimeoutSec() > 0) {
                fastFailTimer = app.schedule(this::fastIoFail, opts.fastIoFailTimeoutSec(), TimeUnit.SECONDS);
            }
        }
        closeAll();
        reconnect();
    }

    private void fastIoFail() {
        fastFailTimer = null;
        if (state == State.ENABLED || state == State.DELETED) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "NVMe controller " + name + ": fast_io_fail_timeout_sec ("
                + opts.fastIoFailTimeoutSec() + " s) passed; I/O fails until it reconnects");
        for (IoPath p : paths) {
            p.reactor.send(() -> {
                p.failFast = true;
                p.failQueued(null);
            });
        }
    }

    private void reconnect() {
        reconnectTimer = null;
        if (state == State.DELETING || state == State.DELETED) {
            return;
        }
        state = State.RESETTING;
        connectAll().thenComposeAsync(this::apply, onApp).whenCompleteAsync((v, t) -> {
            if (state == State.DELETING || state == State.DELETED) {
                closeAll();
                return;
            }
            if (t == null) {
                LOG.log(System.Logger.Level.INFO, "NVMe controller " + name + " reconnected (cntlid " + cntlid + ")");
                online();
                return;
            }
            closeAll();
            long lostSec = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - lossStart);
            int loss = opts.ctrlrLossTimeoutSec();
            if (loss == 0 || (loss > 0 && System.nanoTime() - lossStart >= TimeUnit.SECONDS.toNanos(loss))) {
                LOG.log(System.Logger.Level.WARNING, "NVMe controller " + name + " could not reconnect for " + lostSec
                        + " s (ctrlr_loss_timeout_sec " + loss + "): deleting it");
                delete("ctrlr_loss_timeout_sec reached");
                return;
            }
            state = State.RECONNECT_DELAYED;
            long delay = TimeUnit.SECONDS.toNanos(opts.reconnectDelaySec());
            if (loss > 0) {
                delay = Math.min(delay, Math.max(0, lossStart + TimeUnit.SECONDS.toNanos(loss) - System.nanoTime()));
            }
            LOG.log(System.Logger.Level.INFO, "NVMe controller " + name + ": reconnect failed (" + rootMessage(t)
                    + "); next try in " + TimeUnit.NANOSECONDS.toMillis(delay) + " ms");
            reconnectTimer = app.schedule(this::reconnect, delay, TimeUnit.NANOSECONDS);
        }, onApp);
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    private void online() {
        state = State.ENABLED;
        lossStart = 0;
        if (fastFailTimer != null) {
            fastFailTimer.cancel(false);
            fastFailTimer = null;
        }
        int mt = maxTransfer;
        for (int i = 0; i < paths.length; i++) {
            IoPath p = paths[i];
            HostQpair q = io[i];
            p.reactor.send(() -> p.up(q, mt));
        }
        if (resetDone != null) {
            resetDone.complete(null);
            resetDone = null;
        }
    }

    /** Closes every queue (their outstanding commands come back to the paths as lost). */
    private void closeAll() {
        if (keepAliveTimer != null) {
            keepAliveTimer.cancel(false);
            keepAliveTimer = null;
        }
        HostQpair a = admin;
        admin = null;
        if (a != null) {
            a.close("controller " + name + " resets");
        }
        for (int i = 0; i < io.length; i++) {
            HostQpair q = io[i];
            io[i] = null;
            if (q != null) {
                IoPath p = paths[i];
                q.reactor.send(() -> {
                    p.down(q);
                    q.close("controller " + name + " resets");
                });
            }
        }
    }

    /** Deletes the controller: bdevs unregistered (users told), queued I/O failed, connections closed. */
    CompletableFuture<Void> delete(String why) {
        app.assertInReactor();
        if (deleted != null) {
            return deleted;
        }
        deleted = new CompletableFuture<>();
        state = State.DELETING;
        LOG.log(System.Logger.Level.INFO, "deleting NVMe controller " + name + ": " + why);
        connectGeneration++;
        for (ScheduledFuture<?> t : new ScheduledFuture<?>[] {reconnectTimer, fastFailTimer}) {
            if (t != null) {
                t.cancel(false);
            }
        }
        for (ScheduledFuture<?> t : absentTimers.values()) {
            t.cancel(false);
        }
        absentTimers.clear();
        if (resetDone != null) {
            resetDone.completeExceptionally(new BasaltException(Errno.ENODEV, "controller " + name + " deleted: " + why));
            resetDone = null;
        }
        for (IoPath p : paths) {
            p.reactor.send(() -> {
                p.deleted = true;
                p.failQueued(null);
            });
        }
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (NvmeBdev b : new ArrayList<>(bdevs.values())) {
            fs.add(layer.unregister(b));
        }
        CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).whenCompleteAsync((v, t) -> {
            closeAll();
            bdevs.clear();
            state = State.DELETED;
            module.forget(this);
            LOG.log(System.Logger.Level.INFO, "NVMe controller " + name + " deleted");
            deleted.complete(null);
        }, onApp);
        return deleted;
    }

    // ------------------------------------------------------------------ json

    ObjectNode tridJson() {
        ObjectNode t = Json.object();
        t.put("trtype", "TCP");
        t.put("adrfam", opts.adrfam());
        t.put("traddr", opts.traddr());
        t.put("trsvcid", Integer.toString(opts.port()));
        t.put("subnqn", opts.subnqn());
        return t;
    }

    /** The bdev_nvme_get_controllers entry. */
    ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("name", name);
        ObjectNode c = o.putArray("ctrlrs").addObject();
        c.put("state", state.json);
        c.set("trid", tridJson());
        c.put("cntlid", cntlid);
        ObjectNode h = c.putObject("host");
        h.put("nqn", opts.hostnqn());
        h.put("addr", "");
        h.put("svcid", "");
        return o;
    }

    List<String> bdevNames() {
        List<String> out = new ArrayList<>();
        for (NvmeBdev b : bdevs.values()) {
            out.add(b.name());
        }
        return out;
    }

    /** For tests: I/O waiting in the queues of every reactor. */
    CompletableFuture<Integer> queuedIo() {
        int[] n = new int[1];
        return reactors.forEach(r -> n[0] += paths[r.id()].queued()).thenApply(v -> n[0]);
    }

    @Override
    public String toString() {
        return "NVMe controller " + name;
    }
}
