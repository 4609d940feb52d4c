package io.basalt.bdev;

import io.basalt.runtime.Deferred;
import io.basalt.runtime.DmaBuffer;

import java.lang.foreign.MemorySegment;

/**
 * One block I/O in flight: SPDK's spdk_bdev_io. Pooled per {@link IoChannel} and reused, so
 * nothing is allocated per I/O. A module that needs per-I/O state of its own overrides
 * {@link Bdev#newIo()} and returns a subclass (the per-I/O context is sized once, as SPDK's
 * get_ctx_size), or uses the driver scratch fields.
 *
 * <p>Request fields are read-only for modules. A module ends an I/O exactly once with
 * {@link #complete}, {@link #fail} or {@link #completeNvme}, on the channel's reactor, at any
 * time, even inside its own submit (the bdev layer then defers the callback, so a submitter
 * that resubmits from its callback never recurses).
 */
public class BdevIo implements Deferred {
    // ---- request
    IoType type;
    long offsetBlocks;
    long numBlocks;
    MemorySegment buf;
    long bufOffset;
    long srcOffsetBlocks;
    boolean fua;

    // ---- result
    IoStatus status = IoStatus.PENDING;
    int errno;
    int nvmeSct;
    int nvmeSc;

    // ---- owner and bookkeeping (bdev layer only)
    IoChannel channel;
    BdevDesc desc;
    IoCallback cb;
    Object cbArg;
    long submitNanos;
    long latencyNanos;
    BdevIo prev;
    BdevIo next;
    /** Link of the nomem or quiesce queue the I/O waits in. */
    BdevIo qnext;
    boolean submitting;
    boolean inFlight;
    DmaBuffer bounce;
    MemorySegment userBuf;
    long userBufOffset;

    /** Free for the module: per-I/O state that needs no subclass. */
    public Object driverCtx;
    /** Free for the module. */
    public long driverLong;
    /** Free for the module. */
    public int driverInt;

    protected BdevIo() {
    }

    public final IoType type() {
        return type;
    }

    public final long offsetBlocks() {
        return offsetBlocks;
    }

    public final long numBlocks() {
        return numBlocks;
    }

    /** Source block of a COPY. */
    public final long srcOffsetBlocks() {
        return srcOffsetBlocks;
    }

    /** Data buffer of READ / WRITE / COMPARE; the data starts at {@link #bufferOffset()}. */
    public final MemorySegment buffer() {
        return buf;
    }

    public final long bufferOffset() {
        return bufOffset;
    }

    /** Bytes the request covers: numBlocks × block size. */
    public final long lengthBytes() {
        return numBlocks * channel.bdev.blockSize();
    }

    /** Byte offset of the request in the bdev. */
    public final long offsetBytes() {
        return offsetBlocks * channel.bdev.blockSize();
    }

    /** Force unit access: the data must be durable when the write completes. */
    public final boolean fua() {
        return fua;
    }

    public final IoStatus status() {
        return status;
    }

    /** errno of a FAILED I/O (0 if the module gave none). */
    public final int errno() {
        return errno;
    }

    public final int nvmeSct() {
        return nvmeSct;
    }

    public final int nvmeSc() {
        return nvmeSc;
    }

    /**
     * Nanoseconds from submission to completion, as the bdev layer measured them for its
     * statistics (SPDK's histogram ticks). Valid in the completion callback.
     */
    public final long latencyNanos() {
        return latencyNanos;
    }

    public final IoChannel channel() {
        return channel;
    }

    public final Bdev bdev() {
        return channel.bdev;
    }

    /** Ends the I/O with {@code s}. Module side; once per I/O; channel reactor only. */
    public final void complete(IoStatus s) {
        if (status != IoStatus.PENDING) {
            throw new IllegalStateException("I/O completed twice (" + status + ", then " + s + ") on " + channel.bdev.name());
        }
        status = s;
        if (submitting) {
            channel.reactor.defer(this);
        } else {
            channel.finish(this);
        }
    }

    /** Ends the I/O as FAILED with an errno (positive). */
    public final void fail(int errno) {
        this.errno = Math.abs(errno);
        complete(IoStatus.FAILED);
    }

    /** Ends the I/O with an explicit NVMe status; sct 0 sc 0 is success. */
    public final void completeNvme(int sct, int sc) {
        this.nvmeSct = sct;
        this.nvmeSc = sc;
        complete(sct == 0 && sc == 0 ? IoStatus.SUCCESS : IoStatus.NVME_ERROR);
    }

    @Override
    public final void runDeferred() {
        channel.finish(this);
    }

    void reset() {
        status = IoStatus.PENDING;
        errno = 0;
        nvmeSct = 0;
        nvmeSc = 0;
        buf = null;
        bufOffset = 0;
        srcOffsetBlocks = 0;
        fua = false;
        cb = null;
        cbArg = null;
        desc = null;
        prev = null;
        next = null;
        qnext = null;
        inFlight = false;
        submitting = false;
        bounce = null;
        userBuf = null;
        driverCtx = null;
        driverLong = 0;
        driverInt = 0;
    }

    @Override
    public String toString() {
        return "BdevIo{" + type + " " + offsetBlocks + "+" + numBlocks + " " + status + "}";
    }
}
