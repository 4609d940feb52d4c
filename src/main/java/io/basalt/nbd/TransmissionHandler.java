package io.basalt.nbd;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoType;
import io.basalt.bdev.IoWaiter;
import io.basalt.nbd.codec.NbdProtocol;
import io.basalt.nbd.codec.NbdRequest;
import io.basalt.nbd.codec.Replies;
import io.basalt.nbd.codec.RequestDecoder;
import io.basalt.nbd.codec.RequestSource;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * One client connection in the transmission phase: executes NBD requests on the export's bdev
 * through this reactor's I/O channel and answers them.
 *
 * <p>Data path: a request object comes from this connection's free list (grown once, then
 * reused), its data lives in pooled {@link io.basalt.runtime.DmaBuffer}s, the bdev I/O reports
 * back to this object (no lambda per I/O), and replies are pooled Netty buffers flushed once per
 * reactor pass. -ENOMEM from the bdev parks the request until {@link IoChannel#waitForIo} says
 * there is room; a full buffer pool parks it on a short timer.
 *
 * <p>Back-pressure: at most {@link #MAX_INFLIGHT} requests are taken from the socket at a time;
 * at that point (or while replies cannot be written out) the socket is not read, and the decoder
 * pauses; completions resume both.
 *
 * <p>Ending: NBD_CMD_DISC, an export stop or a bdev removal stop new requests, let the ones in
 * the bdev finish (queued ones are answered with an error on stop/removal), then close the
 * socket. A vanished client releases everything once its in-flight I/O has completed.
 *
 * <p>Threading: every method runs on the connection's reactor (the channel's event loop).
 */
final class TransmissionHandler extends ChannelInboundHandlerAdapter implements RequestSource, IoCallback {
    private static final System.Logger LOG = System.getLogger(TransmissionHandler.class.getName());
    /** Requests taken from the socket and not yet answered, per connection. */
    static final int MAX_INFLIGHT = 128;
    private static final long BUFFER_RETRY_MICROS = 500;

    private final NbdExport export;
    private final BdevDesc desc;
    private final Bdev bdev;
    private final Reactor reactor;
    private final BufferPool pool;
    private final boolean structured;
    private final int flags;
    private final int blockShift;
    private final long blockMask;
    private IoChannel channel;
    private ChannelHandlerContext ctx;

    private Request[] free = new Request[32];
    private int freeCount;
    /** Requests handed out by {@link #acquire} and not yet recycled (includes one the decoder fills). */
    private int inflight;
    /** Requests being executed (given to {@link #execute}, not yet answered). */
    private int executing;

    private Request waitHead;
    private Request waitTail;
    private final IoWaiter ioWaiter = new IoWaiter() {
        @Override
        public void ioAvailable() {
            retryWaiting();
        }
    };
    private boolean bufferTimerSet;
    private boolean buffersShort;

    private boolean reading = true;
    private boolean decoderStalled;
    private boolean resumeScheduled;
    private final Runnable resumeTask = this::resumeDecoding;
    private boolean flushScheduled;
    private final Runnable flushTask = this::flushReplies;

    /** No new requests are executed (DISC, stop, removal, socket gone). */
    private boolean closing;
    /** Error for queued and new requests once stopping or removed (0 = DISC: finish them). */
    private int failError;
    private boolean closeRequested;
    private boolean channelClosed;
    private boolean released;

    TransmissionHandler(NbdExport export, Reactor reactor, boolean structured) {
        this.export = export;
        this.desc = export.desc();
        this.bdev = desc.bdev();
        this.reactor = reactor;
        this.pool = reactor.group().buffers();
        this.structured = structured;
        this.flags = export.transmissionFlags(structured);
        this.blockShift = Integer.numberOfTrailingZeros(bdev.blockSize());
        this.blockMask = bdev.blockSize() - 1;
    }

    Reactor reactor() {
        return reactor;
    }

    int transmissionFlags() {
        return flags;
    }

    /** Takes this reactor's I/O channel; call once the export accepted the connection. */
    void openChannel() {
        reactor.assertInReactor();
        channel = desc.getIoChannel();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    // ------------------------------------------------------------------ RequestSource (decoder side)

    @Override
    public NbdRequest acquire() {
        if (closing || inflight >= MAX_INFLIGHT) {
            decoderStalled = true;
            pauseReading();
            return null;
        }
        inflight++;
        if (inflight >= MAX_INFLIGHT) {
            pauseReading();
        }
        return freeCount > 0 ? free[--freeCount] : new Request();
    }

    @Override
    public boolean attachPayload(NbdRequest r) {
        if (r.allocateBuffers(pool)) {
            return true;
        }
        decoderStalled = true;
        buffersShort = true;
        pauseReading();
        armBufferTimer();
        return false;
    }

    @Override
    public void discard(NbdRequest r) {
        recycle((Request) r);
    }

    // ------------------------------------------------------------------ inbound

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Request r) {
            executing++;
            execute(r);
        } else if (msg instanceof RequestDecoder.RequestViolation v) {
            LOG.log(System.Logger.Level.WARNING, "NBD client " + ctx.channel().remoteAddress() + " on " + export.uri()
                    + " broke the protocol (" + v.reason() + "); closing the connection");
            ctx.close();
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        updateReading();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.log(System.Logger.Level.DEBUG, "NBD connection on " + export.uri() + " failed: " + cause);
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        channelClosed = true;
        closing = true;
        if (failError == 0) {
            failError = NbdProtocol.ESHUTDOWN;
        }
        failWaiting();
        maybeRelease();
    }

    // ------------------------------------------------------------------ execution

    private void execute(Request r) {
        if (closing) {
            int error = failError == 0 ? NbdProtocol.ESHUTDOWN : failError;
            finish(r, error, reasonOf(error));
            return;
        }
        int f = r.flags();
        long off = r.offset();
        long len = r.length();
        switch (r.type()) {
            case NbdProtocol.CMD_READ -> {
                int allowed = NbdProtocol.CMD_FLAG_FUA | (structured ? NbdProtocol.CMD_FLAG_DF : 0);
                if (!check(r, f, allowed, NbdProtocol.EINVAL)) {
                    return;
                }
                if (len > NbdRequest.MAX_DATA) {
                    finish(r, NbdProtocol.EINVAL, NbdErrors.TOO_LONG);
                    return;
                }
                if (len == 0) {
                    finish(r, 0, null);
                    return;
                }
                r.ops = (int) ((len + NbdRequest.BUFFER_BYTES - 1) / NbdRequest.BUFFER_BYTES);
                if (!r.allocateBuffers(pool)) {
                    r.needsBuffers = true;
                    buffersShort = true;
                    armBufferTimer();
                    park(r);
                    return;
                }
                start(r);
            }
            case NbdProtocol.CMD_WRITE -> {
                if (!writable(r) || !check(r, f, NbdProtocol.CMD_FLAG_FUA, NbdProtocol.ENOSPC)) {
                    return;
                }
                if (len == 0) {
                    finish(r, 0, null);
                    return;
                }
                r.ops = r.bufferCount();
                start(r);
            }
            case NbdProtocol.CMD_FLUSH -> {
                // offset and length are reserved (zero); a flush covers the whole device anyway.
                if ((f & ~NbdProtocol.CMD_FLAG_FUA) != 0) {
                    finish(r, NbdProtocol.EINVAL, NbdErrors.BAD_FLAGS);
                    return;
                }
                if (!bdev.supports(IoType.FLUSH)) {
                    // No flush in the bdev: completed writes are as durable as it makes them.
                    finish(r, 0, null);
                    return;
                }
                r.ops = 1;
                start(r);
            }
            case NbdProtocol.CMD_TRIM, NbdProtocol.CMD_WRITE_ZEROES -> {
                boolean trim = r.type() == NbdProtocol.CMD_TRIM;
                if (!writable(r)) {
                    return;
                }
                if ((flags & (trim ? NbdProtocol.FLAG_SEND_TRIM : NbdProtocol.FLAG_SEND_WRITE_ZEROES)) == 0) {
                    finish(r, NbdProtocol.EINVAL, NbdErrors.UNSUPPORTED);
                    return;
                }
                int allowed = NbdProtocol.CMD_FLAG_FUA | (trim ? 0 : NbdProtocol.CMD_FLAG_NO_HOLE);
                if (!check(r, f, allowed, trim ? NbdProtocol.EINVAL : NbdProtocol.ENOSPC)) {
                    return;
                }
                if (len == 0) {
                    finish(r, 0, null);
                    return;
                }
                r.ops = 1;
                r.flushAfter = (f & NbdProtocol.CMD_FLAG_FUA) != 0 && bdev.supports(IoType.FLUSH);
                start(r);
            }
            case NbdProtocol.CMD_DISC -> {
                executing--;
                recycle(r);
                // Requests already taken are still served (the protocol asks for it); then close.
                closing = true;
                pauseReading();
                maybeCloseChannel();
            }
            default -> finish(r, NbdProtocol.EINVAL, NbdErrors.UNSUPPORTED);
        }
    }

    private boolean writable(Request r) {
        if (export.readOnly()) {
            finish(r, NbdProtocol.EPERM, NbdErrors.READ_ONLY);
            return false;
        }
        return true;
    }

    /** Flags, alignment and range of a ranged command; answers it and returns false if bad. */
    private boolean check(Request r, int f, int allowedFlags, int rangeError) {
        if ((f & ~allowedFlags) != 0) {
            finish(r, NbdProtocol.EINVAL, NbdErrors.BAD_FLAGS);
            return false;
        }
        long off = r.offset();
        long len = r.length();
        if (((off | len) & blockMask) != 0) {
            finish(r, NbdProtocol.EINVAL, NbdErrors.MISALIGNED);
            return false;
        }
        long size = bdev.sizeBytes();
        if (off < 0 || off > size || len > size - off) {
            finish(r, rangeError, NbdErrors.OUT_OF_RANGE);
            return false;
        }
        return true;
    }

    private void start(Request r) {
        if (!submit(r)) {
            park(r);
        }
    }

    /** Submits the request's remaining bdev I/Os; false when the channel ran out of I/O objects. */
    private boolean submit(Request r) {
        while (r.next < r.ops) {
            int rc = submitOne(r, r.next);
            if (rc == -Errno.ENOMEM) {
                channel.waitForIo(ioWaiter);
                return false;
            }
            r.pending++;
            r.next++;
        }
        return true;
    }

    private int submitOne(Request r, int i) {
        long offBlocks = r.offset() >>> blockShift;
        if (r.flushPhase) {
            return desc.flush(channel, 0, bdev.numBlocks(), this, r);
        }
        return switch (r.type()) {
            case NbdProtocol.CMD_READ -> desc.read(channel, r.buffer(i).segment(), 0,
                    offBlocks + ((long) i * NbdRequest.BUFFER_BYTES >>> blockShift), r.bufferBytes(i) >>> blockShift, this, r);
            case NbdProtocol.CMD_WRITE -> desc.write(channel, r.buffer(i).segment(), 0,
                    offBlocks + ((long) i * NbdRequest.BUFFER_BYTES >>> blockShift), r.bufferBytes(i) >>> blockShift,
                    (r.flags() & NbdProtocol.CMD_FLAG_FUA) != 0, this, r);
            case NbdProtocol.CMD_FLUSH -> desc.flush(channel, 0, bdev.numBlocks(), this, r);
            case NbdProtocol.CMD_TRIM -> desc.unmap(channel, offBlocks, r.length() >>> blockShift, this, r);
            case NbdProtocol.CMD_WRITE_ZEROES -> desc.writeZeroes(channel, offBlocks, r.length() >>> blockShift, this, r);
            default -> throw new IllegalStateException("no bdev I/O for " + r);
        };
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object arg) {
        Request r = (Request) arg;
        if (!success && r.error == 0) {
            r.error = NbdErrors.fromBdev(io);
        }
        r.pending--;
        if (r.pending > 0 || r.next < r.ops) {
            return;
        }
        if (r.error == 0 && r.flushAfter) {
            r.flushAfter = false;
            r.flushPhase = true;
            r.next = 0;
            r.ops = 1;
            start(r);
            return;
        }
        finish(r, r.error, null);
    }

    // ------------------------------------------------------------------ waiting for resources

    private void park(Request r) {
        if (failError != 0) {
            abandon(r, failError);
            return;
        }
        r.qnext = null;
        if (waitTail == null) {
            waitHead = r;
        } else {
            waitTail.qnext = r;
        }
        waitTail = r;
    }

    private Request unparkHead() {
        Request r = waitHead;
        waitHead = r.qnext;
        if (waitHead == null) {
            waitTail = null;
        }
        r.qnext = null;
        return r;
    }

    /** Submits parked requests in order until one has to wait again. */
    private void retryWaiting() {
        while (waitHead != null && !channelClosed) {
            Request r = waitHead;
            if (r.needsBuffers) {
                if (!r.allocateBuffers(pool)) {
                    buffersShort = true;
                    armBufferTimer();
                    return;
                }
                r.needsBuffers = false;
            }
            if (!submit(r)) {
                return;
            }
            unparkHead();
        }
    }

    private void armBufferTimer() {
        if (bufferTimerSet) {
            return;
        }
        bufferTimerSet = true;
        reactor.schedule(() -> {
            bufferTimerSet = false;
            buffersShort = false;
            retryWaiting();
            updateReading();
        }, BUFFER_RETRY_MICROS, TimeUnit.MICROSECONDS);
    }

    /** Ends every parked request with {@link #failError}. */
    private void failWaiting() {
        while (waitHead != null) {
            abandon(unparkHead(), failError);
        }
    }

    /** Submits nothing more for {@code r}; it is answered with {@code error} once its I/O in flight is done. */
    private void abandon(Request r, int error) {
        if (r.error == 0) {
            r.error = error;
        }
        r.ops = r.next;
        r.needsBuffers = false;
        if (r.pending == 0) {
            finish(r, r.error, r.error == error ? reasonOf(error) : null);
        }
    }

    private static byte[] reasonOf(int error) {
        return error == NbdProtocol.ESHUTDOWN ? NbdErrors.SHUTDOWN : NbdErrors.REMOVED;
    }

    // ------------------------------------------------------------------ replies

    /** Answers {@code r} (unless the socket is gone) and recycles it. */
    private void finish(Request r, int error, byte[] reason) {
        if (!channelClosed) {
            writeReply(r, error, reason);
        }
        executing--;
        recycle(r);
    }

    private void writeReply(Request r, int error, byte[] reason) {
        long handle = r.handle();
        ByteBuf out;
        if (r.type() == NbdProtocol.CMD_READ && error == 0) {
            int len = (int) r.length();
            if (structured) {
                if (len == 0) {
                    out = ctx.alloc().directBuffer(NbdProtocol.STRUCTURED_REPLY_HEADER);
                    Replies.structuredDone(out, handle);
                } else {
                    out = ctx.alloc().directBuffer(NbdProtocol.STRUCTURED_REPLY_HEADER + 8 + len);
                    Replies.offsetData(out, handle, r.offset(), len);
                    r.writeData(out, len);
                }
            } else {
                out = ctx.alloc().directBuffer(NbdProtocol.SIMPLE_REPLY_HEADER + len);
                Replies.simple(out, 0, handle);
                r.writeData(out, len);
            }
        } else if (error != 0 && structured) {
            byte[] msg = reason != null ? reason : NbdErrors.text(error);
            out = ctx.alloc().directBuffer(NbdProtocol.STRUCTURED_REPLY_HEADER + 6 + msg.length);
            Replies.structuredError(out, handle, error, msg);
        } else {
            out = ctx.alloc().directBuffer(NbdProtocol.SIMPLE_REPLY_HEADER);
            Replies.simple(out, error, handle);
        }
        ctx.write(out, ctx.voidPromise());
        if (!flushScheduled) {
            flushScheduled = true;
            reactor.deferTask(flushTask);
        }
    }

    private void flushReplies() {
        flushScheduled = false;
        if (!channelClosed) {
            ctx.flush();
        }
    }

    private void recycle(Request r) {
        r.releaseBuffers(pool);
        r.clear();
        if (freeCount == free.length) {
            free = Arrays.copyOf(free, free.length * 2);
        }
        free[freeCount++] = r;
        inflight--;
        if (channelClosed) {
            maybeRelease();
        } else if (closing) {
            maybeCloseChannel();
        } else {
            updateReading();
        }
    }

    // ------------------------------------------------------------------ reading control

    private void pauseReading() {
        if (reading) {
            reading = false;
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void updateReading() {
        if (closing || channelClosed || inflight >= MAX_INFLIGHT || buffersShort || !ctx.channel().isWritable()) {
            pauseReading();
            return;
        }
        if (!reading) {
            reading = true;
            ctx.channel().config().setAutoRead(true);
        }
        if (decoderStalled && !resumeScheduled) {
            // Outside the current call stack: the decoder must not be re-entered from its own output.
            resumeScheduled = true;
            reactor.deferTask(resumeTask);
        }
    }

    private void resumeDecoding() {
        resumeScheduled = false;
        if (decoderStalled && !closing && !channelClosed) {
            decoderStalled = false;
            ctx.pipeline().fireChannelRead(Unpooled.EMPTY_BUFFER);
        }
    }

    // ------------------------------------------------------------------ ending

    /** Export stop or bdev removal: no new requests, queued ones fail, then the socket closes. */
    void shutdown(int error) {
        if (released || failError != 0) {
            return;
        }
        closing = true;
        failError = error;
        if (!channelClosed) {
            pauseReading();
        }
        failWaiting();
        maybeCloseChannel();
    }

    /** The export's stop timed out: cut the connection now; I/O in flight releases later. */
    void abort() {
        closing = true;
        if (!channelClosed) {
            ctx.close();
        }
    }

    private void maybeCloseChannel() {
        if (executing > 0 || closeRequested || channelClosed) {
            return;
        }
        closeRequested = true;
        // Close after the last replies are on the wire.
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    private void maybeRelease() {
        if (released || inflight > 0 || !channelClosed) {
            return;
        }
        released = true;
        if (channel != null) {
            desc.putIoChannel(channel);
            channel = null;
        }
        export.detach(this);
    }

    /** A pooled request with its execution state. */
    static final class Request extends NbdRequest {
        /** Bdev I/Os this request needs (buffers for READ/WRITE, else 1). */
        int ops;
        /** Index of the next bdev I/O to submit. */
        int next;
        /** Bdev I/Os submitted and not completed. */
        int pending;
        /** First NBD error seen (0 = none). */
        int error;
        boolean needsBuffers;
        /** TRIM / WRITE_ZEROES with FUA: a flush follows before the reply. */
        boolean flushAfter;
        boolean flushPhase;
        Request qnext;

        void clear() {
            ops = 0;
            next = 0;
            pending = 0;
            error = 0;
            needsBuffers = false;
            flushAfter = false;
            flushPhase = false;
            qnext = null;
        }
    }
}
