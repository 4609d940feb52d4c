package io.basalt.nvmf;

import io.basalt.runtime.ByteBufs;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoCallback;
import io.basalt.nvme.ConnectData;
import io.basalt.nvme.LogPages;
import io.basalt.nvme.Opcodes;
import io.basalt.nvme.Sqe;
import io.basalt.nvme.Status;
import io.basalt.nvme.tcp.Digest;
import io.basalt.nvme.tcp.IcReq;
import io.basalt.nvme.tcp.IcResp;
import io.basalt.nvme.tcp.Pdu;
import io.basalt.nvme.tcp.PduDecoder;
import io.basalt.nvme.tcp.PduException;
import io.basalt.nvme.tcp.PduHeader;
import io.basalt.nvme.tcp.PduWriter;
import io.basalt.nvme.tcp.TermReq;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Reactor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One NVMe/TCP connection: one queue pair (NVMe/TCP 1.0 section 2). It runs the connection
 * set-up (ICReq / ICResp), takes command capsules, pulls write data with R2T and H2CData
 * (honouring MAXH2CDATA), executes commands (fabrics here, admin on the {@link NvmfController},
 * NVM I/O through {@link NvmCommands}), and answers with C2HData (with the SUCCESS flag when the
 * host disabled SQ flow control and the transport allows it) and response capsules.
 *
 * <p>Data path: command slots ({@link Request}) are created once, up to the queue depth; data
 * lives in pooled {@link DmaBuffer}s; bdev completions call this object (no lambda per I/O);
 * PDUs are written into pooled Netty buffers and flushed once per reactor pass. A full buffer
 * pool or a busy bdev channel parks the command and retries it on a short timer.
 *
 * <p>Back-pressure: the host may have at most SQSIZE+1 commands outstanding; one more ends the
 * connection. A protocol violation ends the connection with a C2HTermReq where the transport
 * specification defines one (a data digest mismatch has none: the connection just closes).
 * A vanished connection releases everything once the bdev I/O it started has completed.
 *
 * <p>Threading: every method runs on the connection's reactor (the channel's event loop).
 */
final class TcpQpair extends ChannelInboundHandlerAdapter implements PduDecoder.Handler, IoCallback {
    private static final System.Logger LOG = System.getLogger(TcpQpair.class.getName());
    /** Largest C2HData PDU Basalt sends; longer reads are split. */
    static final int MAX_C2H_DATA = 128 * 1024;
    private static final long RETRY_MICROS = 500;

    final NvmfTarget target;
    final Reactor reactor;
    final TransportOptions opts;
    private final BufferPool pool;
    private final Digest digest = new Digest();
    private ChannelHandlerContext ctx;
    private PduDecoder decoder;
    ListenAddress local;
    String remote = "?";

    // ---- connection set-up
    private boolean icDone;
    boolean hdgst;
    boolean ddgst;
    private int hpda;

    // ---- after Connect
    NvmfController ctrl;
    NvmfSubsystem subsystem;
    /** Queue id: -1 until Connect succeeds, 0 admin, 1.. I/O. */
    int qid = -1;
    private boolean connecting;
    private int depth;
    private boolean sqFlowDisabled;
    private int sqhd;

    // ---- command slots
    private final Request[] slots;
    private final int[] free;
    private int freeCount;
    private int created;
    private int outstanding;
    private Request current;

    // ---- waiting for resources
    private Request waitHead;
    private Request waitTail;
    private boolean retryTimerSet;
    private final Runnable retryTask = this::retryWaiting;

    private boolean flushScheduled;
    private final Runnable flushTask = this::flush;

    // ---- ending
    private boolean closing;
    boolean channelClosed;
    private boolean released;

    // ---- statistics for the SMART log (this reactor only)
    long readCommands;
    long writeCommands;
    long bytesRead;
    long bytesWritten;
    long mediaErrors;
    private final LogPages.ErrorEntry[] errors = new LogPages.ErrorEntry[NvmfController.ERROR_LOG_ENTRIES];
    private int errorNext;

    /** What a qpair contributes to the SMART and error logs. */
    record Snapshot(long bytesRead, long bytesWritten, long readCommands, long writeCommands, long mediaErrors,
                    List<LogPages.ErrorEntry> errors) {
    }

    Snapshot snapshot() {
        List<LogPages.ErrorEntry> e = new ArrayList<>();
        for (LogPages.ErrorEntry x : errors) {
            if (x != null) {
                e.add(x);
            }
        }
        return new Snapshot(bytesRead, bytesWritten, readCommands, writeCommands, mediaErrors, e);
    }

    /** Records a failed command in this qpair's part of the controller's error log (error path only). */
    private void recordError(Request r, int status) {
        long lba = qid > 0 && r.sqe.opcode != Opcodes.IO_FLUSH ? r.sqe.slba() : 0;
        errors[errorNext] = new LogPages.ErrorEntry(ctrl.errorCount.incrementAndGet(), Math.max(qid, 0), r.sqe.cid,
                status, 0xFFFF, lba, r.sqe.nsid);
        errorNext = (errorNext + 1) % errors.length;
    }

    TcpQpair(NvmfTarget target, Reactor reactor) {
        this.target = target;
        this.reactor = reactor;
        this.opts = target.transportOptions();
        this.pool = reactor.group().buffers();
        int max = Math.max(opts.maxQueueDepth(), opts.maxAqDepth());
        this.slots = new Request[max];
        this.free = new int[max];
        this.depth = max;
    }

    boolean isAdmin() {
        return qid == 0;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (ctx.channel().localAddress() instanceof InetSocketAddress l) {
            local = ListenAddress.of(l);
        }
        if (ctx.channel().remoteAddress() != null) {
            remote = ctx.channel().remoteAddress().toString();
        }
    }

    void attachDecoder(PduDecoder decoder) {
        this.decoder = decoder;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        target.group(reactor).add(this);
        ctx.fireChannelActive();
    }

    // ------------------------------------------------------------------ PDUs in

    @Override
    public boolean onHeader(PduHeader h) throws PduException {
        switch (h.type()) {
            case Pdu.CAPSULE_CMD -> {
                return capsuleHeader(h);
            }
            case Pdu.H2C_DATA -> {
                h2cHeader(h);
                return true;
            }
            default -> {
                return true;
            }
        }
    }

    private boolean capsuleHeader(PduHeader h) throws PduException {
        int datal = h.dataLength();
        int limit = opts.inCapsuleLimit(qid <= 0);
        if (datal > limit) {
            throw new PduException(Pdu.FES_DATA_LIMIT_EXCEEDED, limit, "CapsuleCmd with " + datal
                    + " bytes of in-capsule data; the limit is " + limit);
        }
        if (closing) {
            // The connection is ending: commands are no longer taken; skip the data.
            if (datal > 0) {
                throw new PduException(0, 0, "command capsule while the connection closes");
            }
            return true;
        }
        Request r = acquire();
        if (r == null) {
            throw new PduException(Pdu.FES_PDU_SEQUENCE_ERROR, 0, "the host exceeded the queue depth of " + depth);
        }
        r.sqe.decode(h.bytes(), Pdu.CH_SIZE);
        r.state = Request.State.RECEIVING;
        if (datal > 0) {
            DmaBuffer b = pool.get(datal);
            if (b == null) {
                releaseSlot(r);
                armRetry();
                return false;
            }
            r.buf = b;
            r.dataLength = datal;
            r.inCapsule = true;
            h.target(b.nio(), 0);
        }
        current = r;
        return true;
    }

    private void h2cHeader(PduHeader h) throws PduException {
        int cccid = h.u16(8);
        int ttag = h.u16(10);
        int datao = h.u32(12);
        int datal = h.u32(16);
        Request r = ttag < created ? slots[ttag] : null;
        if (r == null || r.state != Request.State.AWAITING_H2C) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 10, "H2CData with unknown transfer tag " + ttag);
        }
        if (r.sqe.cid != cccid) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 8, "H2CData for command " + cccid
                    + " with the transfer tag of command " + r.sqe.cid);
        }
        if (datal != h.dataLength()) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 16, "H2CData DATAL " + datal + " but "
                    + h.dataLength() + " data bytes");
        }
        if (Integer.compareUnsigned(datal, TransportOptions.MAX_H2C_DATA) > 0) {
            throw new PduException(Pdu.FES_DATA_LIMIT_EXCEEDED, TransportOptions.MAX_H2C_DATA, "H2CData of "
                    + Integer.toUnsignedString(datal) + " bytes exceeds MAXH2CDATA");
        }
        if (datao != r.received) {
            throw new PduException(Pdu.FES_DATA_OUT_OF_RANGE, 12, "H2CData at offset "
                    + Integer.toUnsignedString(datao) + ", expected " + r.received);
        }
        if ((long) datao + datal > r.dataLength) {
            throw new PduException(Pdu.FES_DATA_OUT_OF_RANGE, 16, "H2CData beyond the " + r.dataLength
                    + " bytes asked for");
        }
        h.target(r.buf.nio(), datao);
        current = r;
    }

    @Override
    public void onPdu(PduHeader h, boolean dataDigestOk) throws PduException {
        if (!dataDigestOk) {
            // The transport specification has no TermReq status for this: end the connection.
            throw new PduException(0, 0, Pdu.typeName(h.type()) + " data digest mismatch");
        }
        switch (h.type()) {
            case Pdu.IC_REQ -> icReq(IcReq.decode(h.bytes(), 0));
            case Pdu.CAPSULE_CMD -> {
                Request r = current;
                current = null;
                if (r != null) {
                    capsule(r);
                }
            }
            case Pdu.H2C_DATA -> {
                Request r = current;
                current = null;
                r.received += h.dataLength();
                boolean last = h.flag(Pdu.FLAG_LAST_PDU);
                if (r.received == r.dataLength) {
                    r.state = Request.State.EXECUTING;
                    execute(r);
                } else if (last) {
                    throw new PduException(Pdu.FES_PDU_SEQUENCE_ERROR, 0, "H2CData marked last after "
                            + r.received + " of " + r.dataLength + " bytes");
                }
            }
            case Pdu.H2C_TERM_REQ -> {
                TermReq t = TermReq.decode(h.bytes(), 0, decoder.termReqData());
                LOG.log(System.Logger.Level.WARNING, "NVMe/TCP host " + remote + " terminated the connection: "
                        + Pdu.fesName(t.fes()) + " (FEI " + t.fei() + ")");
                closeNow();
            }
            default -> throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 0, "unexpected " + h);
        }
    }

    @Override
    public void onViolation(PduException e, byte[] offendingHeader) {
        LOG.log(System.Logger.Level.WARNING, "NVMe/TCP host " + remote + " broke the protocol (" + e.getMessage()
                + "); closing the connection");
        if (channelClosed) {
            return;
        }
        closing = true;
        if (e.fes() != 0) {
            ByteBuf out = ctx.alloc().buffer(Pdu.TERM_MAX_PLEN);
            new TermReq(false, e.fes(), e.fei(), offendingHeader).encode(out);
            ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
        } else {
            closeNow();
        }
    }

    private void icReq(IcReq req) throws PduException {
        if (req.pfv() != 0) {
            throw new PduException(Pdu.FES_UNSUPPORTED_PARAMETER, 8, "ICReq PFV " + req.pfv());
        }
        if (req.hpda() > IcReq.MAX_PDA) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 10, "ICReq HPDA " + req.hpda());
        }
        hpda = req.hpda();
        hdgst = req.hdgst();
        ddgst = req.ddgst();
        ByteBuf out = ctx.alloc().buffer(Pdu.IC_HLEN);
        new IcResp(0, 0, hdgst, ddgst, TransportOptions.MAX_H2C_DATA).encode(out);
        write(out);
        icDone = true;
        decoder.connected(hdgst, ddgst);
    }

    // ------------------------------------------------------------------ commands

    private Request acquire() {
        if (outstanding >= depth) {
            return null;
        }
        Request r;
        if (freeCount > 0) {
            r = slots[free[--freeCount]];
        } else if (created < slots.length) {
            r = new Request(created);
            slots[created++] = r;
        } else {
            return null;
        }
        outstanding++;
        return r;
    }

    private void releaseSlot(Request r) {
        if (r.buf != null) {
            pool.put(r.buf);
        }
        r.reset();
        free[freeCount++] = r.index;
        outstanding--;
    }

    /** A command capsule arrived whole. */
    private void capsule(Request r) {
        if (qid >= 0) {
            sqhd = sqhd + 1 == depth ? 0 : sqhd + 1;
        }
        Sqe c = r.sqe;
        if (r.inCapsule) {
            if (c.sglId != Sqe.SGL_ID_IN_CAPSULE) {
                finish(r, Status.SGL_DESCRIPTOR_TYPE_INVALID | Status.DNR);
                return;
            }
            if (c.sglAddress != 0) {
                finish(r, Status.SGL_OFFSET_INVALID | Status.DNR);
                return;
            }
            if (Integer.compareUnsigned(c.sglLength, r.dataLength) > 0) {
                finish(r, Status.DATA_SGL_LENGTH_INVALID | Status.DNR);
                return;
            }
            r.dataLength = c.sglLength;
            r.received = r.dataLength;
        }
        if (qid < 0 && !(c.opcode == Opcodes.FABRICS && c.fctype() == Opcodes.FCTYPE_CONNECT)) {
            finish(r, Status.COMMAND_SEQUENCE_ERROR | Status.DNR);
            return;
        }
        int st = validate(r);
        if (st != 0) {
            finish(r, st);
            return;
        }
        if (c.direction() == Opcodes.DIR_HOST_TO_CTRLR && r.dataLength > 0 && !r.inCapsule) {
            requestData(r);
            return;
        }
        r.state = Request.State.EXECUTING;
        execute(r);
    }

    /**
     * Checks a command before any data moves, and sizes its host-to-controller transfer. Returns
     * 0 or the status to complete it with.
     */
    private int validate(Request r) {
        Sqe c = r.sqe;
        if (c.opcode == Opcodes.FABRICS) {
            if (c.fctype() == Opcodes.FCTYPE_CONNECT) {
                if (!r.inCapsule) {
                    int st = transportSgl(c, ConnectData.SIZE);
                    if (st != 0) {
                        return st;
                    }
                    r.dataLength = c.sglLength;
                }
                return r.dataLength == ConnectData.SIZE ? 0 : Status.DATA_SGL_LENGTH_INVALID | Status.DNR;
            }
            return 0;
        }
        if (qid == 0) {
            return ctrl.validateAdmin(r);
        }
        return NvmCommands.validate(this, r);
    }

    /** Checks a Transport SGL Data Block for a transfer of at most {@code max} bytes. */
    static int transportSgl(Sqe c, int max) {
        if (c.sglId != Sqe.SGL_ID_TRANSPORT) {
            return Status.SGL_DESCRIPTOR_TYPE_INVALID | Status.DNR;
        }
        if (c.sglLength == 0 || Integer.compareUnsigned(c.sglLength, max) > 0) {
            return Status.DATA_SGL_LENGTH_INVALID | Status.DNR;
        }
        return 0;
    }

    /** Asks the host for a command's data with one R2T for all of it. */
    private void requestData(Request r) {
        if (r.buf == null) {
            DmaBuffer b = pool.get(r.dataLength);
            if (b == null) {
                r.needsBuffer = true;
                park(r);
                return;
            }
            r.buf = b;
        }
        r.state = Request.State.AWAITING_H2C;
        r.received = 0;
        ByteBuf out = ctx.alloc().buffer(Pdu.R2T_HLEN + Pdu.DIGEST_SIZE);
        PduWriter.r2t(out, r.sqe.cid, r.index, 0, r.dataLength, hdgst, digest);
        write(out);
    }

    private void execute(Request r) {
        Sqe c = r.sqe;
        if (c.opcode == Opcodes.FABRICS) {
            fabrics(r);
        } else if (qid == 0) {
            ctrl.executeAdmin(this, r);
        } else {
            NvmCommands.execute(this, r);
        }
    }

    private void fabrics(Request r) {
        Sqe c = r.sqe;
        switch (c.fctype()) {
            case Opcodes.FCTYPE_CONNECT -> connect(r);
            case Opcodes.FCTYPE_PROPERTY_GET, Opcodes.FCTYPE_PROPERTY_SET -> {
                if (qid != 0) {
                    finish(r, Status.INVALID_OPCODE | Status.DNR);
                } else {
                    ctrl.property(this, r);
                }
            }
            default -> finish(r, Status.INVALID_OPCODE | Status.DNR);
        }
    }

    private void connect(Request r) {
        Sqe c = r.sqe;
        if (qid >= 0 || connecting) {
            finish(r, Status.COMMAND_SEQUENCE_ERROR | Status.DNR);
            return;
        }
        if (c.connectRecfmt() != 0) {
            finish(r, Status.CONNECT_INCOMPATIBLE_FORMAT | Status.DNR);
            return;
        }
        byte[] data = new byte[ConnectData.SIZE];
        r.buf.segment().asByteBuffer().get(0, data);
        for (int off : new int[] {ConnectData.OFFSET_SUBNQN, ConnectData.OFFSET_HOSTNQN}) {
            if (!ConnectData.terminated(data, off)) {
                r.dw0 = ConnectData.invalidParameterDw0(true, off);
                finish(r, Status.CONNECT_INVALID_PARAMETERS | Status.DNR);
                return;
            }
        }
        ConnectData d = ConnectData.decode(data);
        int q = c.connectQid();
        int sqsize = c.connectSqsize();
        int max = q == 0 ? opts.maxAqDepth() : opts.maxQueueDepth();
        if (sqsize == 0 || sqsize + 1 > max) {
            r.dw0 = ConnectData.invalidParameterDw0(false, 44);
            finish(r, Status.CONNECT_INVALID_PARAMETERS | Status.DNR);
            return;
        }
        if (q == 0 && d.cntlid() != ConnectData.CNTLID_DYNAMIC) {
            r.dw0 = ConnectData.invalidParameterDw0(true, ConnectData.OFFSET_CNTLID);
            finish(r, Status.CONNECT_INVALID_PARAMETERS | Status.DNR);
            return;
        }
        connecting = true;
        boolean noSqFlow = (c.connectCattr() & Sqe.CATTR_DISABLE_SQ_FLOW_CONTROL) != 0;
        target.connect(this, d, q, sqsize, c.connectKato()).whenComplete((res, t) -> reactor.send(() -> {
            connecting = false;
            if (t != null) {
                LOG.log(System.Logger.Level.ERROR, "connect of " + remote + " failed", t);
                finish(r, Status.INTERNAL_ERROR);
                return;
            }
            if (res.status() != 0) {
                r.dw0 = res.dw0();
                finish(r, res.status());
                return;
            }
            if (channelClosed) {
                // The host left while the controller was being found: give its queue back.
                qid = q;
                ctrl = res.controller();
                subsystem = ctrl.subsystem;
                finish(r, 0);
                return;
            }
            qid = q;
            depth = sqsize + 1;
            sqFlowDisabled = noSqFlow;
            ctrl = res.controller();
            subsystem = ctrl.subsystem;
            r.dw0 = ctrl.cntlid;
            LOG.log(System.Logger.Level.DEBUG, "qpair " + qid + " of controller " + ctrl.cntlid + " on "
                    + subsystem.nqn + " from " + remote);
            finish(r, 0);
        }));
    }

    // ------------------------------------------------------------------ completion

    /** Ends a command with {@code status}: sends its data (on success) and its response, then frees the slot. */
    void finish(Request r, int status) {
        r.status = status;
        respond(r);
    }

    private void respond(Request r) {
        int st = r.status;
        if (!Status.isSuccess(st) && ctrl != null && r.sqe.opcode != Opcodes.FABRICS) {
            recordError(r, st);
        }
        if (!channelClosed) {
            boolean ok = Status.isSuccess(st);
            boolean success = false;
            if (ok && r.c2hLength > 0) {
                success = opts.c2hSuccess() && sqFlowDisabled;
                sendData(r, success);
            }
            if (!success) {
                ByteBuf out = ctx.alloc().buffer(Pdu.CAPSULE_RESP_HLEN + Pdu.DIGEST_SIZE);
                PduWriter.capsuleResp(out, r.dw0, r.dw1, sqhd, Math.max(qid, 0), r.sqe.cid, st, hdgst, digest);
                write(out);
            }
        }
        releaseSlot(r);
        if (channelClosed) {
            maybeRelease();
        } else if (closing) {
            maybeCloseWhenIdle();
        }
    }

    private void sendData(Request r, boolean success) {
        ByteBuffer src = r.adminData != null ? r.adminData : r.buf.nio();
        int len = r.c2hLength;
        for (int off = 0; off < len; off += MAX_C2H_DATA) {
            int n = Math.min(MAX_C2H_DATA, len - off);
            boolean last = off + n == len;
            int flags = last ? Pdu.FLAG_LAST_PDU | (success ? Pdu.FLAG_SUCCESS : 0) : 0;
            ByteBuf out = ctx.alloc().directBuffer(Pdu.dataOffset(Pdu.DATA_HLEN, hdgst, hpda) + n + Pdu.DIGEST_SIZE);
            PduWriter.dataHeader(out, Pdu.C2H_DATA, flags, r.sqe.cid, 0, off, n, hdgst, ddgst, hpda, digest);
            src.limit(off + n).position(off);
            ByteBufs.write(out, src);
            if (ddgst) {
                src.position(off);
                PduWriter.dataDigest(out, src, digest);
            }
            write(out);
        }
    }

    private void write(ByteBuf out) {
        ctx.write(out, ctx.voidPromise());
        if (!flushScheduled) {
            flushScheduled = true;
            reactor.deferTask(flushTask);
        }
    }

    private void flush() {
        flushScheduled = false;
        if (!channelClosed) {
            ctx.flush();
        }
    }

    // ------------------------------------------------------------------ bdev I/O

    @Override
    public void onComplete(BdevIo io, boolean success, Object arg) {
        NvmCommands.completed(this, (Request) arg, io, success);
    }

    /** Parks a command until buffers or bdev I/O objects are available again. */
    void park(Request r) {
        r.state = Request.State.WAITING;
        r.nextWaiting = null;
        if (waitTail == null) {
            waitHead = r;
        } else {
            waitTail.nextWaiting = r;
        }
        waitTail = r;
        armRetry();
    }

    private void armRetry() {
        if (!retryTimerSet) {
            retryTimerSet = true;
            reactor.schedule(retryTask, RETRY_MICROS, TimeUnit.MICROSECONDS);
        }
    }

    private void retryWaiting() {
        retryTimerSet = false;
        Request r = waitHead;
        waitHead = null;
        waitTail = null;
        while (r != null) {
            Request next = r.nextWaiting;
            r.nextWaiting = null;
            if (channelClosed) {
                releaseSlot(r);
            } else if (r.needsBuffer && r.state == Request.State.WAITING && r.sqe.direction() == Opcodes.DIR_HOST_TO_CTRLR) {
                r.needsBuffer = false;
                requestData(r);
            } else {
                r.state = Request.State.EXECUTING;
                NvmCommands.resume(this, r);
            }
            r = next;
        }
        if (channelClosed) {
            maybeRelease();
        } else if (current == null && !closing) {
            // A capsule header may have waited for a buffer.
            ctx.pipeline().fireChannelRead(Unpooled.EMPTY_BUFFER);
        }
    }

    /** Fails every parked command that targets {@code ns} (it was removed); on this reactor. */
    void namespaceGone(NvmfNamespace ns) {
        Request prev = null;
        for (Request r = waitHead; r != null; ) {
            Request next = r.nextWaiting;
            if (r.ns == ns) {
                if (prev == null) {
                    waitHead = next;
                } else {
                    prev.nextWaiting = next;
                }
                if (waitTail == r) {
                    waitTail = prev;
                }
                r.nextWaiting = null;
                finish(r, Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
            } else {
                prev = r;
            }
            r = next;
        }
    }

    // ------------------------------------------------------------------ ending

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.log(System.Logger.Level.DEBUG, "NVMe/TCP connection " + remote + " failed: " + cause);
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        channelClosed = true;
        closing = true;
        Request r = waitHead;
        waitHead = null;
        waitTail = null;
        while (r != null) {
            Request next = r.nextWaiting;
            releaseSlot(r);
            r = next;
        }
        // Commands waiting for H2C data will never get it.
        for (int i = 0; i < created; i++) {
            Request s = slots[i];
            if (s.state == Request.State.AWAITING_H2C || s.state == Request.State.RECEIVING) {
                releaseSlot(s);
            }
        }
        current = null;
        if (qid == 0 && ctrl != null) {
            ctrl.dropAers();
        }
        maybeRelease();
    }

    /** Ends the connection at once (controller gone, keep-alive timeout, shutdown). */
    void disconnect() {
        closing = true;
        closeNow();
    }

    private void closeNow() {
        closing = true;
        if (!channelClosed) {
            ctx.close();
        }
    }

    private void maybeCloseWhenIdle() {
        if (outstanding == 0 && !channelClosed) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void maybeRelease() {
        if (released || outstanding > 0 || !channelClosed) {
            return;
        }
        released = true;
        target.group(reactor).remove(this);
        if (ctrl != null) {
            ctrl.qpairGone(this);
        }
    }

    @Override
    public String toString() {
        return "qpair " + qid + (ctrl != null ? " of controller " + ctrl.cntlid : "") + " (" + remote + ")";
    }
}
