package io.basalt.bdev;

import io.basalt.runtime.BufferPool;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.netty.util.concurrent.ScheduledFuture;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * A bdev's per-reactor I/O channel (SPDK's bdev channel). Holds everything the data path needs
 * without a lock: the I/O object pool, statistics, the list of I/O in flight, the out-of-memory
 * retry queue, the quiesced ranges and the I/O they hold back, and the module's per-channel
 * context ({@link #ctx()}).
 *
 * <p>Threading: every method runs on {@link #reactor()} only.
 */
public final class IoChannel {
    private static final System.Logger LOG = System.getLogger(IoChannel.class.getName());
    /** Most BdevIo objects one channel creates; a submit past it returns -ENOMEM. */
    static final int MAX_IOS = 8192;
    private static final long NOMEM_RETRY_NANOS = TimeUnit.MICROSECONDS.toNanos(500);
    private static final ChannelLock[] NO_LOCKS = new ChannelLock[0];

    final Bdev bdev;
    final Reactor reactor;
    private Object ctx;
    int refs;

    private BdevIo[] free = new BdevIo[64];
    private int freeCount;
    private int created;

    final IoStats stats = new IoStats();

    private BdevIo inflightHead;
    private int inflight;

    private BdevIo nomemHead;
    private BdevIo nomemTail;
    private ScheduledFuture<?> nomemTimer;

    private ChannelLock[] locks = NO_LOCKS;
    private BdevIo lockedHead;
    private BdevIo lockedTail;

    private IoWaiter waitHead;
    private IoWaiter waitTail;

    private boolean destroyRequested;
    boolean destroyed;

    IoChannel(Bdev bdev, Reactor reactor) {
        this.bdev = bdev;
        this.reactor = reactor;
    }

    void setCtx(Object ctx) {
        this.ctx = ctx;
    }

    /** The module's per-channel context, from {@link Bdev#createChannelContext}. */
    public Object ctx() {
        return ctx;
    }

    public Bdev bdev() {
        return bdev;
    }

    public Reactor reactor() {
        return reactor;
    }

    /** I/O submitted on this channel and not yet completed (including those waiting for memory). */
    public int inflight() {
        return inflight;
    }

    /** This channel's counters (live object: read on the channel's reactor). */
    public IoStats stats() {
        return stats;
    }

    // ------------------------------------------------------------------ pool

    BdevIo alloc() {
        if (freeCount > 0) {
            BdevIo io = free[--freeCount];
            free[freeCount] = null;
            return io;
        }
        if (created >= MAX_IOS) {
            return null;
        }
        created++;
        BdevIo io = bdev.newIo();
        io.channel = this;
        return io;
    }

    private void release(BdevIo io) {
        io.reset();
        if (freeCount == free.length) {
            BdevIo[] n = new BdevIo[free.length * 2];
            System.arraycopy(free, 0, n, 0, freeCount);
            free = n;
        }
        free[freeCount++] = io;
    }

    /**
     * Queues {@code w} to be told when a submit that returned -ENOMEM may be tried again.
     * Does nothing if it is already waiting.
     */
    public void waitForIo(IoWaiter w) {
        if (w.queued) {
            return;
        }
        w.queued = true;
        w.next = null;
        if (waitTail == null) {
            waitHead = w;
        } else {
            waitTail.next = w;
        }
        waitTail = w;
        if (freeCount > 0 || created < MAX_IOS) {
            reactor.deferTask(this::notifyWaiters);
        }
    }

    private void notifyWaiters() {
        while (waitHead != null && (freeCount > 0 || created < MAX_IOS)) {
            IoWaiter w = waitHead;
            waitHead = w.next;
            if (waitHead == null) {
                waitTail = null;
            }
            w.next = null;
            w.queued = false;
            try {
                w.ioAvailable();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "I/O waiter failed", t);
            }
        }
    }

    // ------------------------------------------------------------------ submit

    /** Validates and submits a filled-in I/O. Never throws: bad requests complete with an error. */
    void submit(BdevIo io) {
        io.submitNanos = System.nanoTime();
        io.submitting = true;
        try {
            IoStatus bad = validate(io);
            if (bad != null) {
                io.complete(bad);
                return;
            }
            if (locks.length > 0 && lockedBy(io)) {
                appendLocked(io);
                return;
            }
            linkInflight(io);
            dispatch(io);
        } finally {
            io.submitting = false;
        }
    }

    private IoStatus validate(BdevIo io) {
        IoType t = io.type;
        if (!bdev.supports(t)) {
            io.errno = Errno.EOPNOTSUPP;
            return IoStatus.INVALID;
        }
        if (t.mutates() && !io.desc.writable()) {
            io.errno = Errno.EBADF;
            return IoStatus.INVALID;
        }
        long total = bdev.numBlocks();
        long off = io.offsetBlocks;
        long n = io.numBlocks;
        if (t != IoType.FLUSH && t != IoType.RESET && n <= 0) {
            io.errno = Errno.EINVAL;
            return IoStatus.INVALID;
        }
        if (off < 0 || n < 0 || off > total || n > total - off) {
            io.errno = Errno.EINVAL;
            return IoStatus.INVALID;
        }
        if (t == IoType.COPY && (io.srcOffsetBlocks < 0 || io.srcOffsetBlocks > total - n)) {
            io.errno = Errno.EINVAL;
            return IoStatus.INVALID;
        }
        if (t.hasData()) {
            long len = n * bdev.blockSize();
            MemorySegment b = io.buf;
            if (b == null || io.bufOffset < 0 || io.bufOffset > b.byteSize() - len) {
                io.errno = Errno.EFAULT;
                return IoStatus.INVALID;
            }
        }
        return null;
    }

    /** Hands the I/O to the module, bouncing through an aligned buffer when the module needs one. */
    private void dispatch(BdevIo io) {
        boolean outer = io.submitting;
        io.submitting = true;
        try {
            int align = bdev.requiredAlignment();
            // A module that needs alignment hands buffers to the kernel: a heap segment never fits.
            if (align > 1 && io.type.hasData() && io.bounce == null
                    && (!io.buf.isNative() || ((io.buf.address() + io.bufOffset) & (align - 1)) != 0)) {
                if (!startBounce(io)) {
                    return;
                }
            }
            try {
                bdev.submit(this, io);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "bdev " + bdev.name() + ": submit of " + io + " threw", t);
                if (io.status == IoStatus.PENDING) {
                    io.fail(Errno.EIO);
                }
            }
        } finally {
            io.submitting = outer;
        }
    }

    private boolean startBounce(BdevIo io) {
        long len = io.lengthBytes();
        if (len > BufferPool.maxBufferSize()) {
            io.errno = Errno.EINVAL;
            io.complete(IoStatus.INVALID);
            return false;
        }
        DmaBuffer b = bdev.layer.buffers().get((int) len);
        if (b == null) {
            io.complete(IoStatus.NOMEM);
            return false;
        }
        io.bounce = b;
        io.userBuf = io.buf;
        io.userBufOffset = io.bufOffset;
        if (io.type != IoType.READ) {
            MemorySegment.copy(io.buf, io.bufOffset, b.segment(), 0, len);
        }
        io.buf = b.segment();
        io.bufOffset = 0;
        return true;
    }

    private void endBounce(BdevIo io) {
        DmaBuffer b = io.bounce;
        if (io.type == IoType.READ && io.status == IoStatus.SUCCESS) {
            MemorySegment.copy(b.segment(), 0, io.userBuf, io.userBufOffset, io.lengthBytes());
        }
        io.buf = io.userBuf;
        io.bufOffset = io.userBufOffset;
        io.bounce = null;
        io.userBuf = null;
        bdev.layer.buffers().put(b);
    }

    // ------------------------------------------------------------------ completion

    /** Ends an I/O: statistics, quiesce accounting, the user's callback, then retries. */
    void finish(BdevIo io) {
        if (io.status == IoStatus.NOMEM) {
            queueNomem(io);
            return;
        }
        if (io.bounce != null) {
            endBounce(io);
        }
        if (io.inFlight) {
            unlinkInflight(io);
            if (locks.length > 0) {
                drainLocks(io);
            }
        }
        boolean ok = io.status == IoStatus.SUCCESS;
        if (ok) {
            stats.record(io.type, io.numBlocks * bdev.blockSize(), System.nanoTime() - io.submitNanos);
        } else {
            stats.recordError(io.status);
        }
        try {
            io.cb.onComplete(io, ok, io.cbArg);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "completion callback for " + io + " on " + bdev.name() + " threw", t);
        }
        release(io);
        if (nomemHead != null) {
            retryNomem();
        }
        if (waitHead != null) {
            notifyWaiters();
        }
        if (destroyRequested && inflight == 0 && lockedHead == null) {
            bdev.destroyChannel(this);
        }
    }

    private void queueNomem(BdevIo io) {
        stats.nomemRetries++;
        io.status = IoStatus.PENDING;
        io.errno = 0;
        io.qnext = null;
        if (nomemTail == null) {
            nomemHead = io;
        } else {
            nomemTail.qnext = io;
        }
        nomemTail = io;
        // With other I/O in flight, their completions drive the retry; otherwise a timer does.
        if (nomemTimer == null && inflight <= countNomem()) {
            nomemTimer = reactor.schedule(() -> {
                nomemTimer = null;
                retryNomem();
            }, NOMEM_RETRY_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    private int countNomem() {
        int n = 0;
        for (BdevIo i = nomemHead; i != null; i = i.qnext) {
            n++;
        }
        return n;
    }

    private void retryNomem() {
        BdevIo io = nomemHead;
        if (io == null) {
            return;
        }
        nomemHead = io.qnext;
        if (nomemHead == null) {
            nomemTail = null;
        }
        io.qnext = null;
        dispatch(io);
    }

    private void linkInflight(BdevIo io) {
        io.inFlight = true;
        io.prev = null;
        io.next = inflightHead;
        if (inflightHead != null) {
            inflightHead.prev = io;
        }
        inflightHead = io;
        inflight++;
    }

    private void unlinkInflight(BdevIo io) {
        if (io.prev != null) {
            io.prev.next = io.next;
        } else {
            inflightHead = io.next;
        }
        if (io.next != null) {
            io.next.prev = io.prev;
        }
        io.prev = null;
        io.next = null;
        io.inFlight = false;
        inflight--;
    }

    /** Fails every I/O waiting for memory with ABORTED (part of a reset). */
    void abortQueued() {
        BdevIo io = nomemHead;
        nomemHead = null;
        nomemTail = null;
        while (io != null) {
            BdevIo n = io.qnext;
            io.qnext = null;
            // Deferred like any completion inside a submit call: the reset's caller must not be re-entered.
            io.status = IoStatus.ABORTED;
            reactor.defer(io);
            io = n;
        }
    }

    // ------------------------------------------------------------------ quiesce

    private boolean lockedBy(BdevIo io) {
        for (ChannelLock l : locks) {
            if (l.range.overlaps(io.offsetBlocks, ioSpan(io))) {
                return true;
            }
        }
        return false;
    }

    private static long ioSpan(BdevIo io) {
        // A flush or reset covers the whole device: it must wait behind any quiesced range.
        if (io.type == IoType.FLUSH || io.type == IoType.RESET) {
            return Long.MAX_VALUE / 2;
        }
        return io.numBlocks;
    }

    private static long ioStart(BdevIo io) {
        return io.type == IoType.FLUSH || io.type == IoType.RESET ? 0 : io.offsetBlocks;
    }

    private void appendLocked(BdevIo io) {
        io.qnext = null;
        if (lockedTail == null) {
            lockedHead = io;
        } else {
            lockedTail.qnext = io;
        }
        lockedTail = io;
    }

    private void drainLocks(BdevIo io) {
        for (ChannelLock l : locks) {
            if (l.pending > 0 && l.range.overlaps(ioStart(io), ioSpan(io))) {
                if (--l.pending == 0 && l.onDrained != null) {
                    Runnable r = l.onDrained;
                    l.onDrained = null;
                    r.run();
                }
            }
        }
    }

    /** Adds a quiesced range; {@code drained} runs once no I/O overlapping it is in flight here. */
    void addLock(LockedRange r, Runnable drained) {
        for (ChannelLock l : locks) {
            if (l.range == r) {
                if (drained != null) {
                    if (l.pending == 0) {
                        drained.run();
                    } else {
                        l.onDrained = drained;
                    }
                }
                return;
            }
        }
        ChannelLock cl = new ChannelLock(r);
        for (BdevIo io = inflightHead; io != null; io = io.next) {
            if (r.overlaps(ioStart(io), ioSpan(io))) {
                cl.pending++;
            }
        }
        ChannelLock[] n = new ChannelLock[locks.length + 1];
        System.arraycopy(locks, 0, n, 0, locks.length);
        n[locks.length] = cl;
        locks = n;
        if (drained != null) {
            if (cl.pending == 0) {
                drained.run();
            } else {
                cl.onDrained = drained;
            }
        }
    }

    /** Removes a quiesced range and submits the I/O it held back (if no other range holds it). */
    void removeLock(LockedRange r) {
        int idx = -1;
        for (int i = 0; i < locks.length; i++) {
            if (locks[i].range == r) {
                idx = i;
            }
        }
        if (idx < 0) {
            return;
        }
        ChannelLock[] n = new ChannelLock[locks.length - 1];
        System.arraycopy(locks, 0, n, 0, idx);
        System.arraycopy(locks, idx + 1, n, idx, locks.length - idx - 1);
        locks = n.length == 0 ? NO_LOCKS : n;
        BdevIo io = lockedHead;
        lockedHead = null;
        lockedTail = null;
        while (io != null) {
            BdevIo next = io.qnext;
            io.qnext = null;
            if (locks.length > 0 && lockedBy(io)) {
                appendLocked(io);
            } else {
                linkInflight(io);
                dispatch(io);
            }
            io = next;
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /** Called by the bdev when the last reference is put; destroys once nothing is in flight. */
    void requestDestroy() {
        destroyRequested = true;
        if (inflight == 0 && lockedHead == null) {
            bdev.destroyChannel(this);
        }
    }

    void cancelDestroy() {
        destroyRequested = false;
    }

    boolean destroyRequested() {
        return destroyRequested;
    }

    private static final class ChannelLock {
        final LockedRange range;
        int pending;
        Runnable onDrained;

        ChannelLock(LockedRange range) {
            this.range = range;
        }
    }
}
