package io.basalt.bdev.nvme;

import io.basalt.runtime.ByteBufs;
import io.basalt.nvme.ConnectData;
import io.basalt.nvme.Cqe;
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
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.util.ReferenceCountUtil;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.IdentityHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The host side of one NVMe/TCP connection (one queue pair) on one reactor: ICReq / ICResp,
 * Fabrics Connect, then commands whose data goes in the capsule (up to the controller's IOCCSZ),
 * in H2CData PDUs when the controller sends R2T (split at its MAXH2CDATA), and comes back in
 * C2HData PDUs (with or without the SUCCESS flag).
 *
 * <p>Each command takes one of {@link #depth} slots; the CID is the slot index, so the host never
 * exceeds the queue size it connected with. When the connection breaks, every command still
 * outstanding completes with {@link #STATUS_LOST} (its fate on the controller is unknown: the
 * caller retries it), then {@link Listener#qpairDown} runs.
 *
 * <p>Threading: everything on {@link #reactor} (the channel's event loop), except {@link #connect}.
 */
final class HostQpair extends ChannelInboundHandlerAdapter implements PduDecoder.Handler {
    private static final System.Logger LOG = System.getLogger(HostQpair.class.getName());
    /** Completion status of a command whose connection broke before it completed. */
    static final int STATUS_LOST = -1;
    private static final long CONNECT_TIMEOUT_MS = 5000;

    /** Told when the connection is gone; on the qpair's reactor. */
    interface Listener {
        void qpairDown(HostQpair q, String why);
    }

    /** A command completion; on the qpair's reactor. Implemented by long-lived objects (no lambda per I/O). */
    interface Done {
        void done(HostQpair q, int status, Cqe cqe, Object arg);
    }

    /** Connection parameters. */
    record Params(InetSocketAddress address, String subnqn, String hostnqn, java.util.UUID hostId, boolean hdgst,
                  boolean ddgst, int qid, int depth, int cntlid, long katoMs) {
    }

    private static final class Slot {
        final int index;
        final Sqe sqe = new Sqe();
        boolean busy;
        ByteBuffer data;
        int dataOff;
        int length;
        boolean write;
        int received;
        Done done;
        Object arg;

        Slot(int index) {
            this.index = index;
        }
    }

    final Reactor reactor;
    final int qid;
    final int depth;
    private final Params params;
    private final Listener listener;
    private final Slot[] slots;
    private final int[] free;
    private int freeCount;
    private int outstanding;
    private final Digest digest = new Digest();
    private final Cqe cqe = new Cqe();
    private final IdentityHashMap<MemorySegment, ByteBuffer> views = new IdentityHashMap<>();
    private ChannelHandlerContext ctx;
    private PduDecoder decoder;
    private boolean hdgst;
    private boolean ddgst;
    private int maxh2cdata;
    private int cpda;
    /** In-capsule data the controller takes (from IOCCSZ for I/O queues, 8 KiB for the admin queue). */
    int inCapsuleMax;
    private final CompletableFuture<HostQpair> ready = new CompletableFuture<>();
    private Slot current;
    private boolean down;
    private boolean flushScheduled;
    private final Runnable flushTask = this::flush;
    int cntlid;

    private HostQpair(Reactor reactor, Params params, Listener listener, int inCapsuleMax) {
        this.reactor = reactor;
        this.qid = params.qid();
        this.depth = params.depth();
        this.params = params;
        this.listener = listener;
        this.inCapsuleMax = inCapsuleMax;
        this.slots = new Slot[depth];
        this.free = new int[depth];
        for (int i = 0; i < depth; i++) {
            slots[i] = new Slot(i);
            free[freeCount++] = depth - 1 - i;
        }
    }

    /**
     * Opens a connection on {@code reactor} and runs ICReq and Connect. Completes with the qpair
     * once the controller accepted it, or exceptionally (the connection is then closed).
     */
    static CompletableFuture<HostQpair> connect(Reactor reactor, Params p, Listener listener, int inCapsuleMax) {
        HostQpair q = new HostQpair(reactor, p, listener, inCapsuleMax);
        Bootstrap b = new Bootstrap()
                .group(reactor.eventLoop())
                .channel(reactor.group().transport().socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT_MS)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        q.decoder = new PduDecoder(q, false, 64 << 20);
                        ch.pipeline().addLast("nvme-tcp-pdu", q.decoder);
                        ch.pipeline().addLast("nvme-tcp-host", q);
                    }
                });
        b.connect(p.address()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                q.ready.completeExceptionally(new BasaltException(Errno.ECONNREFUSED, "cannot connect to "
                        + p.address() + ": " + f.cause().getMessage()));
            }
        });
        reactor.schedule(() -> {
            if (!q.ready.isDone()) {
                q.ready.completeExceptionally(new BasaltException(Errno.ETIMEDOUT, "connecting queue " + p.qid()
                        + " to " + p.address() + " timed out"));
                if (q.ctx != null) {
                    q.ctx.close();
                }
            }
        }, CONNECT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        return q.ready;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ByteBuf out = ctx.alloc().buffer(Pdu.IC_HLEN);
        new IcReq(0, 0, params.hdgst(), params.ddgst(), 0).encode(out);
        ctx.writeAndFlush(out);
    }

    boolean isDown() {
        return down;
    }

    int outstanding() {
        return outstanding;
    }

    int freeSlots() {
        return freeCount;
    }

    // ------------------------------------------------------------------ submit

    /**
     * Sends a command (reactor only). {@code sqe} is copied; the CID and SGL are filled in here.
     * {@code data} (may be null) is where a read's data goes or a write's comes from, starting at
     * {@code off}, {@code length} bytes. Returns false when no slot is free or the connection is down.
     */
    boolean submit(Sqe sqe, MemorySegment data, long off, int length, boolean write, Done done, Object arg) {
        ByteBuffer view = data == null ? null : view(data);
        return submit(sqe, view, (int) off, length, write, done, arg);
    }

    private ByteBuffer view(MemorySegment seg) {
        ByteBuffer v = views.get(seg);
        if (v == null) {
            // One view per buffer segment, reused for every later command on it.
            if (views.size() > 4096) {
                views.clear();
            }
            v = seg.asByteBuffer();
            views.put(seg, v);
        }
        return v;
    }

    boolean submit(Sqe sqe, ByteBuffer data, int off, int length, boolean write, Done done, Object arg) {
        if (down || freeCount == 0) {
            return false;
        }
        int cid = free[--freeCount];
        Slot s = slots[cid];
        s.busy = true;
        s.sqe.copyFrom(sqe);
        s.sqe.cid = cid;
        s.sqe.flags = (s.sqe.flags & ~0xC0) | Sqe.FLAGS_PSDT_SGL;
        s.data = data;
        s.dataOff = off;
        s.length = length;
        s.write = write;
        s.received = 0;
        s.done = done;
        s.arg = arg;
        outstanding++;
        boolean inCapsule = write && length > 0 && length <= inCapsuleMax;
        s.sqe.sglAddress = 0;
        s.sqe.sglLength = length;
        s.sqe.sglId = inCapsule ? Sqe.SGL_ID_IN_CAPSULE : Sqe.SGL_ID_TRANSPORT;
        ByteBuf out = ctx.alloc().directBuffer(Pdu.CAPSULE_CMD_HLEN + 8 + (inCapsule ? length + 4 : 0));
        ByteBuffer src = null;
        if (inCapsule) {
            src = data.limit(off + length).position(off);
        }
        PduWriter.capsuleCmd(out, s.sqe, src, hdgst, ddgst, cpda, digest);
        write(out);
        return true;
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
        if (!down) {
            ctx.flush();
        }
    }

    // ------------------------------------------------------------------ PDUs in

    @Override
    public boolean onHeader(PduHeader h) throws PduException {
        if (h.type() == Pdu.C2H_DATA) {
            int cid = h.u16(8);
            int datao = h.u32(12);
            int datal = h.u32(16);
            Slot s = cid < depth ? slots[cid] : null;
            if (s == null || !s.busy || s.write || s.data == null) {
                throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 8, "C2HData for command " + cid + " that reads nothing");
            }
            if (datal != h.dataLength() || datao != s.received || (long) datao + datal > s.length) {
                throw new PduException(Pdu.FES_DATA_OUT_OF_RANGE, 12, "C2HData at " + datao + "+" + datal + " of "
                        + s.length + " bytes (expected offset " + s.received + ")");
            }
            h.target(s.data, s.dataOff + datao);
            current = s;
        }
        return true;
    }

    @Override
    public void onPdu(PduHeader h, boolean dataDigestOk) throws PduException {
        if (!dataDigestOk) {
            throw new PduException(0, 0, Pdu.typeName(h.type()) + " data digest mismatch");
        }
        switch (h.type()) {
            case Pdu.IC_RESP -> icResp(IcResp.decode(h.bytes(), 0));
            case Pdu.CAPSULE_RESP -> {
                cqe.decode(h.bytes(), Pdu.CH_SIZE);
                Slot s = cqe.cid < depth ? slots[cqe.cid] : null;
                if (s == null || !s.busy) {
                    throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 20, "response for command " + cqe.cid
                            + " that is not outstanding");
                }
                complete(s, cqe.status);
            }
            case Pdu.C2H_DATA -> {
                Slot s = current;
                current = null;
                s.received += h.dataLength();
                if (h.flag(Pdu.FLAG_SUCCESS)) {
                    if (!h.flag(Pdu.FLAG_LAST_PDU) || s.received != s.length) {
                        throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 1, "C2HData SUCCESS before all data");
                    }
                    cqe.clear();
                    cqe.cid = h.u16(8);
                    complete(s, Status.SUCCESS);
                }
            }
            case Pdu.R2T -> r2t(h);
            case Pdu.C2H_TERM_REQ -> {
                TermReq t = TermReq.decode(h.bytes(), 0, decoder.termReqData());
                close("the controller terminated the connection: " + Pdu.fesName(t.fes()) + " (FEI " + t.fei() + ")");
            }
            default -> throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 0, "unexpected " + Pdu.typeName(h.type()));
        }
    }

    private void r2t(PduHeader h) throws PduException {
        int cid = h.u16(8);
        int ttag = h.u16(10);
        int r2to = h.u32(12);
        int r2tl = h.u32(16);
        Slot s = cid < depth ? slots[cid] : null;
        if (s == null || !s.busy || !s.write) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 8, "R2T for command " + cid + " that writes nothing");
        }
        if (r2tl <= 0 || r2to < 0 || (long) r2to + r2tl > s.length) {
            throw new PduException(Pdu.FES_DATA_OUT_OF_RANGE, 12, "R2T for " + r2to + "+" + r2tl + " of " + s.length);
        }
        for (int off = r2to; off < r2to + r2tl; off += maxh2cdata) {
            int n = Math.min(maxh2cdata, r2to + r2tl - off);
            boolean last = off + n == r2to + r2tl;
            ByteBuf out = ctx.alloc().directBuffer(Pdu.DATA_HLEN + 8 + 128 + n);
            PduWriter.dataHeader(out, Pdu.H2C_DATA, last ? Pdu.FLAG_LAST_PDU : 0, cid, ttag, off, n, hdgst, ddgst, cpda,
                    digest);
            ByteBuffer src = s.data;
            src.limit(s.dataOff + off + n).position(s.dataOff + off);
            ByteBufs.write(out, src);
            if (ddgst) {
                src.position(s.dataOff + off);
                PduWriter.dataDigest(out, src, digest);
            }
            write(out);
        }
    }

    private void icResp(IcResp r) throws PduException {
        if (r.pfv() != 0) {
            throw new PduException(Pdu.FES_UNSUPPORTED_PARAMETER, 8, "ICResp PFV " + r.pfv());
        }
        if (r.maxh2cdata() < Pdu.MIN_MAXH2CDATA || (r.maxh2cdata() & 3) != 0) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 12, "ICResp MAXH2CDATA " + r.maxh2cdata());
        }
        if (r.cpda() > IcReq.MAX_PDA) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 10, "ICResp CPDA " + r.cpda());
        }
        if (r.hdgst() && !params.hdgst() || r.ddgst() && !params.ddgst()) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 11, "ICResp enables digests the host did not ask for");
        }
        hdgst = r.hdgst();
        ddgst = r.ddgst();
        maxh2cdata = r.maxh2cdata();
        cpda = r.cpda();
        decoder.connected(hdgst, ddgst);
        if ((params.hdgst() && !hdgst) || (params.ddgst() && !ddgst)) {
            close("the controller refused the digests asked for");
            return;
        }
        sendConnect();
    }

    private void sendConnect() {
        Sqe c = new Sqe();
        c.opcode = Opcodes.FABRICS;
        c.nsid = Opcodes.FCTYPE_CONNECT;
        c.cdw10 = qid << 16;
        c.cdw11 = depth - 1;
        c.cdw12 = (int) params.katoMs();
        byte[] data = new ConnectData(params.hostId(), params.cntlid(), params.subnqn(), params.hostnqn()).encode();
        int keep = inCapsuleMax;
        // The admin queue takes 8 KiB in-capsule; an I/O queue's limit is known from IOCCSZ.
        inCapsuleMax = Math.max(inCapsuleMax, qid == 0 ? 8192 : 0);
        submit(c, ByteBuffer.wrap(data), 0, data.length, true, (q, status, cq, arg) -> {
            if (status != Status.SUCCESS) {
                String why = status == STATUS_LOST ? "the connection closed" : Status.describe(status);
                ready.completeExceptionally(new BasaltException(status == Status.CONNECT_INVALID_HOST
                        || Status.code(status) == Status.CONNECT_INVALID_HOST ? Errno.EACCES : Errno.ECONNREFUSED,
                        "Connect of queue " + qid + " to " + params.subnqn() + " failed: " + why));
                close("Connect failed");
                return;
            }
            cntlid = cq.dw0 & 0xFFFF;
            ready.complete(this);
        }, null);
        inCapsuleMax = keep;
    }

    private void complete(Slot s, int status) {
        Done d = s.done;
        Object arg = s.arg;
        int cid = s.index;
        s.busy = false;
        s.data = null;
        s.done = null;
        s.arg = null;
        free[freeCount++] = cid;
        outstanding--;
        try {
            d.done(this, status, cqe, arg);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "completion of command " + cid + " on queue " + qid + " failed", t);
        }
    }

    @Override
    public void onViolation(PduException e, byte[] offendingHeader) {
        if (e.fes() != 0 && !down) {
            ByteBuf out = ctx.alloc().buffer(Pdu.TERM_MAX_PLEN);
            new TermReq(true, e.fes(), e.fei(), offendingHeader).encode(out);
            ctx.writeAndFlush(out);
        }
        close("the controller broke the protocol: " + e.getMessage());
    }

    // ------------------------------------------------------------------ ending

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        close("connection error: " + cause.getMessage());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        goneDown("the connection closed");
    }

    /** Closes the connection; outstanding commands complete with {@link #STATUS_LOST}. Reactor only. */
    void close(String why) {
        if (ctx != null && ctx.channel().isOpen()) {
            LOG.log(System.Logger.Level.DEBUG, "closing queue " + qid + " to " + params.address() + ": " + why);
            ctx.close();
        }
        goneDown(why);
    }

    private void goneDown(String why) {
        if (down) {
            return;
        }
        down = true;
        if (!ready.isDone()) {
            ready.completeExceptionally(new BasaltException(Errno.ECONNRESET, "queue " + qid + " to " + params.address()
                    + " failed before it was ready: " + why));
        }
        for (int i = 0; i < depth; i++) {
            Slot s = slots[i];
            if (s.busy) {
                cqe.clear();
                cqe.cid = i;
                complete(s, STATUS_LOST);
            }
        }
        views.clear();
        if (ready.isDone() && !ready.isCompletedExceptionally()) {
            listener.qpairDown(this, why);
        }
    }

    @Override
    public String toString() {
        return "host queue " + qid + " to " + params.address();
    }
}
