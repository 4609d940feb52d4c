package io.basalt.bdev;

import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.lang.foreign.MemorySegment;

/**
 * An open handle on a bdev (SPDK's spdk_bdev_desc): the right to submit I/O (write only if opened
 * for write), to take I/O channels, and to receive {@link BdevEvent}s on the reactor where it was
 * opened. The opener must close it once done, and must do so after a REMOVE event.
 *
 * <p>I/O calls return 0 when the I/O was taken (its callback will run on the submitting reactor,
 * also for a request that turns out invalid) or -ENOMEM when the channel has no free I/O object;
 * then wait with {@link IoChannel#waitForIo} and submit again.
 */
public final class BdevDesc {
    final Bdev bdev;
    final boolean write;
    final BdevEventHandler handler;
    final Reactor reactor;
    /** Who opened it, for "in use by" messages (e.g. "NBD export disk0"); null if not said. */
    final String owner;
    volatile boolean closed;

    BdevDesc(Bdev bdev, boolean write, BdevEventHandler handler, Reactor reactor, String owner) {
        this.bdev = bdev;
        this.write = write;
        this.handler = handler;
        this.reactor = reactor;
        this.owner = owner;
    }

    /** Who opened it (as given to {@link BdevLayer#open(String, boolean, BdevEventHandler, String)}), or null. */
    public String owner() {
        return owner;
    }

    public Bdev bdev() {
        return bdev;
    }

    public boolean writable() {
        return write;
    }

    /** The reactor that receives this descriptor's events. */
    public Reactor reactor() {
        return reactor;
    }

    public boolean isClosed() {
        return closed;
    }

    /** The I/O channel of the calling reactor (reactor thread only); give it back with {@link #putIoChannel}. */
    public IoChannel getIoChannel() {
        Reactor r = Reactor.current();
        if (r == null) {
            throw new IllegalStateException("I/O channels exist only on reactor threads");
        }
        if (closed) {
            throw new IllegalStateException("descriptor of " + bdev.name() + " is closed");
        }
        return bdev.getChannel(r);
    }

    /** Returns a channel taken with {@link #getIoChannel}; on its reactor. */
    public void putIoChannel(IoChannel ch) {
        ch.reactor.assertInReactor();
        bdev.putChannel(ch);
    }

    /** Closes the descriptor; releases its claim. Any thread. Idempotent. */
    public void close() {
        bdev.layer.close(this);
    }

    // ------------------------------------------------------------------ I/O

    private BdevIo prepare(IoChannel ch, IoType type, long offsetBlocks, long numBlocks, IoCallback cb, Object arg) {
        if (ch.bdev != bdev) {
            throw new IllegalArgumentException("channel of " + ch.bdev.name() + " used for " + bdev.name());
        }
        BdevIo io = ch.alloc();
        if (io == null) {
            return null;
        }
        io.type = type;
        io.offsetBlocks = offsetBlocks;
        io.numBlocks = numBlocks;
        io.cb = cb;
        io.cbArg = arg;
        io.desc = this;
        return io;
    }

    public int read(IoChannel ch, MemorySegment buf, long bufOffset, long offsetBlocks, long numBlocks,
                    IoCallback cb, Object arg) {
        BdevIo io = prepare(ch, IoType.READ, offsetBlocks, numBlocks, cb, arg);
        if (io == null) {
            return -Errno.ENOMEM;
        }
        io.buf = buf;
        io.bufOffset = bufOffset;
        ch.submit(io);
        return 0;
    }

    public int write(IoChannel ch, MemorySegment buf, long bufOffset, long offsetBlocks, long numBlocks,
                     IoCallback cb, Object arg) {
        return write(ch, buf, bufOffset, offsetBlocks, numBlocks, false, cb, arg);
    }

    /** A write; with {@code fua} the data is durable when it completes. */
    public int write(IoChannel ch, MemorySegment buf, long bufOffset, long offsetBlocks, long numBlocks,
                     boolean fua, IoCallback cb, Object arg) {
        BdevIo io = prepare(ch, IoType.WRITE, offsetBlocks, numBlocks, cb, arg);
        if (io == null) {
            return -Errno.ENOMEM;
        }
        io.buf = buf;
        io.bufOffset = bufOffset;
        io.fua = fua;
        ch.submit(io);
        return 0;
    }

    public int compare(IoChannel ch, MemorySegment buf, long bufOffset, long offsetBlocks, long numBlocks,
                       IoCallback cb, Object arg) {
        BdevIo io = prepare(ch, IoType.COMPARE, offsetBlocks, numBlocks, cb, arg);
        if (io == null) {
            return -Errno.ENOMEM;
        }
        io.buf = buf;
        io.bufOffset = bufOffset;
        ch.submit(io);
        return 0;
    }

    public int writeZeroes(IoChannel ch, long offsetBlocks, long numBlocks, IoCallback cb, Object arg) {
        BdevIo io = prepare(ch, IoType.WRITE_ZEROES, offsetBlocks, numBlocks, cb, arg);
        if (io == null) {
            return -Errno.ENOMEM;
        }
        ch.submit(io);
        return 0;
    }

    public int unmap(IoChannel ch, long offsetBlocks, long numBlocks, IoCallback cb, Object arg) {
        BdevIo io = prepare(ch, IoType.UNMAP, offsetBlocks, numBlocks, cb, arg);
        if (io == null) {
            return -Errno.ENOMEM;
        }
        ch.submit(io);
        return 0;
    }

    /** Makes completed writes durable. The range is advisory (modules flush everything). */
    public int flush(IoChannel ch, long offsetBlocks, long numBlocks, IoCallback cb, Object arg) {
        BdevIo io = prepare(ch, IoType.FLUSH, offsetBlocks, numBlocks, cb, arg);
        if (io == null) {
            return -Errno.ENOMEM;
        }
        ch.submit(io);
        return 0;
    }

    public int copy(IoChannel ch, long dstOffsetBlocks, long srcOffsetBlocks, long numBlocks, IoCallback cb,
                    Object arg) {
        BdevIo io = prepare(ch, IoType.COPY, dstOffsetBlocks, numBlocks, cb, arg);
        if (io == null) {
            return -Errno.ENOMEM;
        }
        io.srcOffsetBlocks = srcOffsetBlocks;
        ch.submit(io);
        return 0;
    }

    /** Resets the device: I/O waiting for memory on this channel is aborted, then the module resets. */
    public int reset(IoChannel ch, IoCallback cb, Object arg) {
        BdevIo io = prepare(ch, IoType.RESET, 0, 0, cb, arg);
        if (io == null) {
            return -Errno.ENOMEM;
        }
        ch.abortQueued();
        ch.submit(io);
        return 0;
    }

    @Override
    public String toString() {
        return "desc(" + bdev.name() + (write ? ", rw" : ", ro") + ")";
    }
}
