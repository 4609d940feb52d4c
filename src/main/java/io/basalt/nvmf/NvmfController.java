package io.basalt.nvmf;

import io.basalt.nvme.Features;
import io.basalt.nvme.IdentifyController;
import io.basalt.nvme.LogPages;
import io.basalt.nvme.NamespaceList;
import io.basalt.nvme.Opcodes;
import io.basalt.nvme.Properties;
import io.basalt.nvme.Sqe;
import io.basalt.nvme.Status;
import io.basalt.runtime.Reactor;
import io.netty.util.concurrent.ScheduledFuture;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An NVMe controller of a subsystem (dynamic controller model, NVMe over Fabrics 1.1 section
 * 3.2): created by an admin queue Connect with CNTLID FFFFh, joined by I/O queue Connects with its
 * CNTLID. It owns the properties (CC/CSTS with the enable, reset and shutdown sequences), the
 * features (number of queues, asynchronous event configuration, keep-alive timer), the admin
 * command set, up to four outstanding Asynchronous Event Requests, the Changed Namespace List and
 * the error log, and frees itself when the keep-alive timer expires.
 *
 * <p>Threading: all state belongs to {@link #reactor}, the admin qpair's reactor. Namespace
 * changes arrive from the application reactor as messages ({@link #namespaceChanged}); I/O qpairs
 * on other reactors talk to it only with messages.
 *
 * <p>Lifecycle: ACTIVE → DESTROYING (every qpair is told to disconnect) → gone once the admin and
 * every I/O qpair released their commands; then the subsystem forgets it.
 */
final class NvmfController {
    private static final System.Logger LOG = System.getLogger(NvmfController.class.getName());
    static final int AER_LIMIT = 4;
    static final int ERROR_LOG_ENTRIES = 64;
    /** Admin commands with data the host sends are limited to this many bytes. */
    private static final int ADMIN_DATA_MAX = 8192;

    final NvmfTarget target;
    final NvmfSubsystem subsystem;
    final int cntlid;
    final String hostnqn;
    final UUID hostId;
    final Reactor reactor;
    private final TransportOptions opts;
    private final long createdNanos = System.nanoTime();

    private TcpQpair admin;
    private final TcpQpair[] io;
    private int ioCount;

    private int cc;
    private int csts;
    private int aec;
    private long katoMs;
    private long lastKeepAlive = System.nanoTime();
    private ScheduledFuture<?> keepAliveTimer;

    private final Request[] aers = new Request[AER_LIMIT];
    private int aerCount;
    private boolean nsNoticePending;
    private boolean nsNoticeMasked;
    private final TreeSet<Integer> changed = new TreeSet<>();
    private boolean changedOverflow;

    /** Error log sequence numbers, shared by the qpairs that record entries (any reactor). */
    final java.util.concurrent.atomic.AtomicLong errorCount = new java.util.concurrent.atomic.AtomicLong();

    private boolean destroying;
    private final CompletableFuture<Void> gone = new CompletableFuture<>();

    NvmfController(NvmfTarget target, NvmfSubsystem subsystem, int cntlid, String hostnqn, UUID hostId, Reactor reactor,
                   long katoMs) {
        this.target = target;
        this.subsystem = subsystem;
        this.cntlid = cntlid;
        this.hostnqn = hostnqn;
        this.hostId = hostId;
        this.reactor = reactor;
        this.opts = target.transportOptions();
        this.io = new TcpQpair[opts.maxIoQpairsPerCtrlr() + 1];
        this.katoMs = katoMs;
    }

    /** Completes when the controller and all its qpairs are gone. */
    CompletableFuture<Void> goneFuture() {
        return gone;
    }

    // ------------------------------------------------------------------ qpairs

    /** The admin qpair connected (controller reactor). */
    void adminConnected(TcpQpair q) {
        reactor.assertInReactor();
        admin = q;
        armKeepAlive();
    }

    /** An I/O qpair asks to join; returns 0 or the Connect status. Controller reactor. */
    int addIoQpair(TcpQpair q, int qid) {
        reactor.assertInReactor();
        if (destroying) {
            return Status.CONNECT_CONTROLLER_BUSY;
        }
        if (subsystem.discovery) {
            return Status.CONNECT_INVALID_PARAMETERS | Status.DNR;
        }
        if ((csts & Properties.CSTS_RDY) == 0) {
            return Status.COMMAND_SEQUENCE_ERROR | Status.DNR;
        }
        if (qid >= io.length) {
            return Status.CONNECT_INVALID_PARAMETERS | Status.DNR;
        }
        if (io[qid] != null) {
            return Status.CONNECT_INVALID_PARAMETERS | Status.DNR;
        }
        io[qid] = q;
        ioCount++;
        return 0;
    }

    /** A qpair released everything (called on the qpair's reactor). */
    void qpairGone(TcpQpair q) {
        reactor.send(() -> {
            if (q == admin) {
                admin = null;
                destroy("its admin queue closed");
            } else if (q.qid > 0 && q.qid < io.length && io[q.qid] == q) {
                io[q.qid] = null;
                ioCount--;
            }
            maybeGone();
        });
    }

    /** Disconnects every qpair and frees the controller once they are released. Controller reactor. */
    void destroy(String why) {
        reactor.assertInReactor();
        if (!destroying) {
            destroying = true;
            LOG.log(System.Logger.Level.INFO, "controller " + cntlid + " of " + subsystem.nqn + " (host " + hostnqn
                    + ") ends: " + why);
            if (keepAliveTimer != null) {
                keepAliveTimer.cancel(false);
            }
            if (admin != null) {
                admin.disconnect();
            }
            for (TcpQpair q : io) {
                if (q != null) {
                    q.reactor.send(q::disconnect);
                }
            }
        }
        maybeGone();
    }

    private void maybeGone() {
        if (destroying && admin == null && ioCount == 0 && !gone.isDone()) {
            target.controllerGone(this);
            gone.complete(null);
        }
    }

    // ------------------------------------------------------------------ keep alive

    private void armKeepAlive() {
        if (keepAliveTimer != null) {
            keepAliveTimer.cancel(false);
            keepAliveTimer = null;
        }
        if (katoMs > 0) {
            lastKeepAlive = System.nanoTime();
            keepAliveTimer = reactor.schedule(this::checkKeepAlive, katoMs, TimeUnit.MILLISECONDS);
        }
    }

    private void checkKeepAlive() {
        keepAliveTimer = null;
        if (destroying || katoMs == 0) {
            return;
        }
        long idle = System.nanoTime() - lastKeepAlive;
        long kato = TimeUnit.MILLISECONDS.toNanos(katoMs);
        if (idle >= kato) {
            destroy("no keep alive for " + TimeUnit.NANOSECONDS.toMillis(idle) + " ms (KATO " + katoMs + " ms)");
            return;
        }
        keepAliveTimer = reactor.schedule(this::checkKeepAlive, kato - idle, TimeUnit.NANOSECONDS);
    }

    // ------------------------------------------------------------------ properties

    void property(TcpQpair q, Request r) {
        Sqe c = r.sqe;
        int off = c.propertyOffset();
        int size = Properties.size(off);
        int want = c.propertySize() == 1 ? 8 : c.propertySize() == 0 ? 4 : -1;
        if (size == 0 || size != want) {
            q.finish(r, Status.INVALID_FIELD | Status.DNR);
            return;
        }
        if (c.fctype() == Opcodes.FCTYPE_PROPERTY_GET) {
            long v = switch (off) {
                case Properties.CAP -> Properties.cap(opts.maxQueueDepth() - 1, 15);
                case Properties.VS -> Properties.VERSION_1_3;
                case Properties.CC -> cc & 0xFFFFFFFFL;
                default -> csts & 0xFFFFFFFFL;
            };
            r.dw0 = (int) v;
            r.dw1 = (int) (v >>> 32);
            q.finish(r, Status.SUCCESS);
            return;
        }
        if (off != Properties.CC) {
            q.finish(r, Status.INVALID_FIELD | Status.DNR);
            return;
        }
        setCc((int) c.propertyValue());
        q.finish(r, Status.SUCCESS);
    }

    private void setCc(int value) {
        int old = cc;
        cc = value;
        boolean wasOn = Properties.ccEnabled(old);
        boolean on = Properties.ccEnabled(value);
        if (on && !wasOn) {
            if (Properties.ccIosqes(value) != 6 || Properties.ccIocqes(value) != 4) {
                // Entry sizes other than 64/16 bytes cannot work: report a controller fatal status.
                csts |= Properties.CSTS_CFS;
                return;
            }
            csts = (csts & ~(0x3 << 2)) | Properties.CSTS_RDY;
        } else if (!on && wasOn) {
            // Controller reset: the I/O queues go, the admin queue stays (fabrics).
            for (TcpQpair q : io) {
                if (q != null) {
                    q.reactor.send(q::disconnect);
                }
            }
            csts &= ~(Properties.CSTS_RDY | Properties.CSTS_CFS);
            aec = 0;
        }
        if (Properties.ccShutdown(value) != 0 && Properties.ccShutdown(old) == 0) {
            // Every acknowledged write is already in its bdev: shutdown processing is complete at once.
            csts = (csts & ~(0x3 << 2)) | Properties.SHST_COMPLETE << 2;
        } else if (Properties.ccShutdown(value) == 0) {
            csts &= ~(0x3 << 2);
        }
    }

    // ------------------------------------------------------------------ admin commands

    /** Checks an admin command before data moves. */
    int validateAdmin(Request r) {
        if ((csts & Properties.CSTS_RDY) == 0) {
            return Status.COMMAND_SEQUENCE_ERROR | Status.DNR;
        }
        Sqe c = r.sqe;
        if (c.direction() == Opcodes.DIR_HOST_TO_CTRLR && !r.inCapsule && c.sglLength != 0) {
            int st = TcpQpair.transportSgl(c, ADMIN_DATA_MAX);
            if (st != 0) {
                return st;
            }
            r.dataLength = c.sglLength;
        }
        return 0;
    }

    void executeAdmin(TcpQpair q, Request r) {
        Sqe c = r.sqe;
        switch (c.opcode) {
            case Opcodes.ADMIN_IDENTIFY -> identify(q, r);
            case Opcodes.ADMIN_GET_LOG_PAGE -> getLogPage(q, r);
            case Opcodes.ADMIN_SET_FEATURES -> setFeatures(q, r);
            case Opcodes.ADMIN_GET_FEATURES -> getFeatures(q, r);
            case Opcodes.ADMIN_ASYNC_EVENT_REQUEST -> asyncEventRequest(q, r);
            case Opcodes.ADMIN_KEEP_ALIVE -> {
                lastKeepAlive = System.nanoTime();
                q.finish(r, Status.SUCCESS);
            }
            case Opcodes.ADMIN_ABORT -> {
                // DW0 bit 0 set: the command was not aborted (Basalt does not abort commands in flight).
                r.dw0 = 1;
                q.finish(r, Status.SUCCESS);
            }
            default -> q.finish(r, Status.INVALID_OPCODE | Status.DNR);
        }
    }

    /** Sends {@code data} (up to the SGL's length) as the command's controller-to-host data. */
    private static void reply(TcpQpair q, Request r, byte[] data) {
        Sqe c = r.sqe;
        int st = TcpQpair.transportSgl(c, Integer.MAX_VALUE);
        if (st != 0) {
            q.finish(r, st);
            return;
        }
        int n = (int) Math.min(data.length, c.sglLength & 0xFFFFFFFFL);
        r.adminData = ByteBuffer.wrap(data);
        r.c2hLength = n;
        q.finish(r, Status.SUCCESS);
    }

    private void identify(TcpQpair q, Request r) {
        Sqe c = r.sqe;
        int cns = c.cdw10 & 0xFF;
        int csi = c.cdw11 >>> 24;
        int nn = subsystem.maxNamespaces;
        if (subsystem.discovery && cns != 0x01) {
            q.finish(r, Status.INVALID_FIELD | Status.DNR);
            return;
        }
        switch (cns) {
            case 0x00 -> {
                if (c.nsid == 0 || Integer.compareUnsigned(c.nsid, nn) > 0) {
                    q.finish(r, Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
                    return;
                }
                NvmfNamespace ns = subsystem.namespace(c.nsid);
                // An inactive NSID identifies as zeroes (NVMe 1.4 section 6.1.5).
                reply(q, r, ns == null ? new byte[4096] : ns.identify().encode());
            }
            case 0x01 -> reply(q, r, identifyController().encode());
            case 0x02 -> {
                if (Integer.compareUnsigned(c.nsid, 0xFFFFFFFE) >= 0) {
                    q.finish(r, Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
                    return;
                }
                reply(q, r, NamespaceList.encode(subsystem.activeNsids(), c.nsid));
            }
            case 0x03 -> {
                NvmfNamespace ns = subsystem.namespace(c.nsid);
                if (ns == null) {
                    q.finish(r, Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
                    return;
                }
                reply(q, r, ns.ids.encodeDescriptors());
            }
            case 0x05 -> {
                // I/O command set specific namespace data for the NVM command set: no extended formats.
                if (csi != 0 || subsystem.namespace(c.nsid) == null) {
                    q.finish(r, (csi != 0 ? Status.INVALID_FIELD : Status.INVALID_NAMESPACE_OR_FORMAT) | Status.DNR);
                    return;
                }
                reply(q, r, new byte[4096]);
            }
            case 0x06 -> {
                // NVM command set specific controller data: zero limits mean "not reported".
                if (csi != 0) {
                    q.finish(r, Status.INVALID_FIELD | Status.DNR);
                    return;
                }
                reply(q, r, new byte[4096]);
            }
            default -> q.finish(r, Status.INVALID_FIELD | Status.DNR);
        }
    }

    IdentifyController identifyController() {
        boolean disc = subsystem.discovery;
        return new IdentifyController(0, 0, subsystem.serialNumber, subsystem.modelNumber, NvmfTarget.firmwareRevision(),
                6, 0, disc ? 0 : IdentifyController.CMIC_MULTI_PORT_MULTI_CTRL, opts.mdts(), cntlid,
                Properties.VERSION_1_3, disc ? 0 : IdentifyController.OAES_NS_ATTRIBUTE_NOTICES, 0,
                disc ? IdentifyController.CNTRLTYPE_DISCOVERY : IdentifyController.CNTRLTYPE_IO,
                0, 3, AER_LIMIT - 1, 0x3, IdentifyController.LPA_EXTENDED_DATA, ERROR_LOG_ENTRIES - 1, 0, opts.kas(),
                0x66, 0x44, opts.maxQueueDepth(), disc ? 0 : subsystem.maxNamespaces,
                disc ? 0 : IdentifyController.ONCS_COMPARE | IdentifyController.ONCS_DSM
                        | IdentifyController.ONCS_WRITE_ZEROES,
                0, disc ? 0 : IdentifyController.VWC_PRESENT_NO_BROADCAST, 1, IdentifyController.SGLS_FABRICS, 0,
                subsystem.nqn, (Sqe.SIZE + opts.inCapsuleDataSize()) / 16, 1, 0, 0, 1, 0);
    }

    private void getLogPage(TcpQpair q, Request r) {
        Sqe c = r.sqe;
        int lid = LogPages.lid(c.cdw10);
        long len = LogPages.lengthBytes(c.cdw10, c.cdw11);
        long off = LogPages.offset(c.cdw12, c.cdw13);
        int st = TcpQpair.transportSgl(c, Integer.MAX_VALUE);
        if (st != 0) {
            q.finish(r, st);
            return;
        }
        if ((c.sglLength & 0xFFFFFFFFL) < len) {
            q.finish(r, Status.DATA_SGL_LENGTH_INVALID | Status.DNR);
            return;
        }
        if ((off & 3) != 0 || len > 1 << 24) {
            q.finish(r, Status.INVALID_FIELD | Status.DNR);
            return;
        }
        boolean disc = subsystem.discovery;
        switch (lid) {
            case LogPages.ERROR_INFORMATION -> snapshots().whenComplete((snaps, t) -> reactor.send(() -> {
                if (t != null) {
                    q.finish(r, Status.INTERNAL_ERROR);
                } else {
                    sendLog(q, r, errorLog(snaps), off, len);
                }
            }));
            case LogPages.SMART_HEALTH -> {
                if (disc || (c.nsid != 0 && c.nsid != 0xFFFFFFFF)) {
                    q.finish(r, Status.INVALID_FIELD | Status.DNR);
                    return;
                }
                snapshots().whenComplete((snaps, t) -> reactor.send(() -> {
                    if (t != null) {
                        q.finish(r, Status.INTERNAL_ERROR);
                    } else {
                        sendLog(q, r, smartLog(snaps), off, len);
                    }
                }));
            }
            case LogPages.CHANGED_NAMESPACE_LIST -> {
                if (disc) {
                    q.finish(r, Status.INVALID_LOG_PAGE | Status.DNR);
                    return;
                }
                int[] ids = changed.stream().mapToInt(Integer::intValue).toArray();
                byte[] data = LogPages.changedNamespaces(ids, changedOverflow);
                if (!LogPages.rae(c.cdw10)) {
                    changed.clear();
                    changedOverflow = false;
                    nsNoticeMasked = false;
                    nsNoticePending = false;
                }
                sendLog(q, r, data, off, len);
            }
            case LogPages.DISCOVERY -> {
                if (!disc) {
                    q.finish(r, Status.INVALID_LOG_PAGE | Status.DNR);
                    return;
                }
                target.discoveryLog(hostnqn).whenComplete((data, t) -> reactor.send(() -> {
                    if (t != null) {
                        q.finish(r, Status.INTERNAL_ERROR);
                    } else {
                        sendLog(q, r, data, off, len);
                    }
                }));
            }
            default -> q.finish(r, Status.INVALID_LOG_PAGE | Status.DNR);
        }
    }

    /** Sends bytes [off, off+len) of a log; past its end the host reads zeroes; an offset past it is invalid. */
    private static void sendLog(TcpQpair q, Request r, byte[] log, long off, long len) {
        if (off > log.length) {
            q.finish(r, Status.INVALID_FIELD | Status.DNR);
            return;
        }
        byte[] out = new byte[(int) len];
        System.arraycopy(log, (int) off, out, 0, (int) Math.min(len, log.length - off));
        r.adminData = ByteBuffer.wrap(out);
        r.c2hLength = out.length;
        q.finish(r, Status.SUCCESS);
    }

    /** The newest error entries of all qpairs, newest first. */
    private static byte[] errorLog(List<TcpQpair.Snapshot> snaps) {
        List<LogPages.ErrorEntry> all = new ArrayList<>();
        for (TcpQpair.Snapshot s : snaps) {
            all.addAll(s.errors());
        }
        all.sort((a, b) -> Long.compare(b.errorCount(), a.errorCount()));
        byte[] a = new byte[ERROR_LOG_ENTRIES * LogPages.ERROR_ENTRY_SIZE];
        for (int k = 0; k < Math.min(all.size(), ERROR_LOG_ENTRIES); k++) {
            all.get(k).encodeInto(a, k * LogPages.ERROR_ENTRY_SIZE);
        }
        return a;
    }

    /** Counters and error entries of every qpair, each read on its own reactor (after the work queued there). */
    private CompletableFuture<List<TcpQpair.Snapshot>> snapshots() {
        List<CompletableFuture<TcpQpair.Snapshot>> parts = new ArrayList<>();
        List<TcpQpair> all = new ArrayList<>();
        if (admin != null) {
            all.add(admin);
        }
        for (TcpQpair q : io) {
            if (q != null) {
                all.add(q);
            }
        }
        for (TcpQpair q : all) {
            parts.add(q.reactor.call(q::snapshot));
        }
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0]))
                .thenApply(v -> parts.stream().map(CompletableFuture::join).toList());
    }

    private byte[] smartLog(List<TcpQpair.Snapshot> snaps) {
        long[] sum = new long[5];
        for (TcpQpair.Snapshot s : snaps) {
            sum[0] += s.bytesRead();
            sum[1] += s.bytesWritten();
            sum[2] += s.readCommands();
            sum[3] += s.writeCommands();
            sum[4] += s.mediaErrors();
        }
        long hours = TimeUnit.NANOSECONDS.toHours(System.nanoTime() - target.startNanos());
        return LogPages.smart(sum[0], sum[1], sum[2], sum[3], hours, sum[4], errorCount.get());
    }

    private void setFeatures(TcpQpair q, Request r) {
        Sqe c = r.sqe;
        if (Features.save(c.cdw10)) {
            q.finish(r, Status.FEATURE_NOT_SAVEABLE | Status.DNR);
            return;
        }
        switch (Features.fid(c.cdw10)) {
            case Features.NUMBER_OF_QUEUES -> {
                if (subsystem.discovery) {
                    q.finish(r, Status.INVALID_FIELD | Status.DNR);
                    return;
                }
                if ((c.cdw11 & 0xFFFF) == 0xFFFF || (c.cdw11 >>> 16) == 0xFFFF) {
                    q.finish(r, Status.INVALID_FIELD | Status.DNR);
                    return;
                }
                if (ioCount > 0) {
                    q.finish(r, Status.COMMAND_SEQUENCE_ERROR | Status.DNR);
                    return;
                }
                r.dw0 = numberOfQueues();
                q.finish(r, Status.SUCCESS);
            }
            case Features.ASYNC_EVENT_CONFIGURATION -> {
                aec = c.cdw11 & (subsystem.discovery ? 0 : Features.AEC_NAMESPACE_ATTRIBUTE);
                q.finish(r, Status.SUCCESS);
                deliverEvents();
            }
            case Features.KEEP_ALIVE_TIMER -> {
                katoMs = target.effectiveKato(c.cdw11 & 0xFFFFFFFFL);
                armKeepAlive();
                q.finish(r, Status.SUCCESS);
            }
            case Features.VOLATILE_WRITE_CACHE -> {
                if (subsystem.discovery) {
                    q.finish(r, Status.INVALID_FIELD | Status.DNR);
                    return;
                }
                q.finish(r, (c.cdw11 & 1) == 1 ? Status.SUCCESS : Status.FEATURE_NOT_CHANGEABLE | Status.DNR);
            }
            default -> q.finish(r, Status.INVALID_FIELD | Status.DNR);
        }
    }

    private int numberOfQueues() {
        int n = opts.maxIoQpairsPerCtrlr() - 1;
        return n | n << 16;
    }

    private void getFeatures(TcpQpair q, Request r) {
        Sqe c = r.sqe;
        int fid = Features.fid(c.cdw10);
        boolean caps = Features.select(c.cdw10) == 3;
        switch (fid) {
            case Features.NUMBER_OF_QUEUES -> r.dw0 = caps ? 0 : numberOfQueues();
            case Features.ASYNC_EVENT_CONFIGURATION -> r.dw0 = caps ? 0x4 : Features.select(c.cdw10) == 1 ? 0 : aec;
            case Features.KEEP_ALIVE_TIMER -> r.dw0 = caps ? 0x4 : (int) katoMs;
            case Features.VOLATILE_WRITE_CACHE -> {
                if (subsystem.discovery) {
                    q.finish(r, Status.INVALID_FIELD | Status.DNR);
                    return;
                }
                r.dw0 = caps ? 0 : 1;
            }
            default -> {
                q.finish(r, Status.INVALID_FIELD | Status.DNR);
                return;
            }
        }
        q.finish(r, Status.SUCCESS);
    }

    // ------------------------------------------------------------------ asynchronous events

    private void asyncEventRequest(TcpQpair q, Request r) {
        if (aerCount == AER_LIMIT) {
            q.finish(r, Status.ASYNC_EVENT_LIMIT_EXCEEDED);
            return;
        }
        aers[aerCount++] = r;
        deliverEvents();
    }

    /** A namespace was added, removed or resized (from the application reactor). */
    void namespaceChanged(int nsid) {
        reactor.assertInReactor();
        if (!changedOverflow) {
            changed.add(nsid);
            if (changed.size() > LogPages.CHANGED_NS_MAX) {
                changedOverflow = true;
                changed.clear();
            }
        }
        nsNoticePending = true;
        deliverEvents();
    }

    /** Completes an outstanding AER with a pending, enabled, unmasked event. */
    private void deliverEvents() {
        if (aerCount == 0 || admin == null || destroying) {
            return;
        }
        if (nsNoticePending && !nsNoticeMasked && (aec & Features.AEC_NAMESPACE_ATTRIBUTE) != 0) {
            Request r = aers[--aerCount];
            aers[aerCount] = null;
            nsNoticePending = false;
            // Masked until the host reads the Changed Namespace List (NVMe 1.4 section 5.2).
            nsNoticeMasked = true;
            r.dw0 = Features.aerDw0(Features.AER_TYPE_NOTICE, Features.AER_NOTICE_NS_ATTRIBUTE_CHANGED,
                    LogPages.CHANGED_NAMESPACE_LIST);
            admin.finish(r, Status.SUCCESS);
        }
    }

    /** The admin connection closed: outstanding AERs will never be answered; free their slots. */
    void dropAers() {
        while (aerCount > 0) {
            Request r = aers[--aerCount];
            aers[aerCount] = null;
            admin.finish(r, Status.ABORTED_SQ_DELETION);
        }
    }

    int outstandingAers() {
        return aerCount;
    }

    // ------------------------------------------------------------------ description

    /** nvmf_subsystem_get_controllers-style summary; on the controller reactor. */
    String describe() {
        return "cntlid " + cntlid + " host " + hostnqn + ", " + ioCount + " I/O queues";
    }

    int ioQueueCount() {
        return ioCount;
    }

    @Override
    public String toString() {
        return "controller " + cntlid + " of " + subsystem.nqn;
    }
}
