package io.basalt.bdev.lvol;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoType;
import io.basalt.bdev.IoWaiter;
import io.basalt.blob.BlobDevice;
import io.basalt.blob.DeviceCallback;
import io.basalt.blob.DeviceChannel;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.Zero;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * A blobstore's device on a bdev (SPDK's blob_bdev): byte ranges become block I/O on the base
 * descriptor, completions come back on the channel's reactor. A base without WRITE_ZEROES gets
 * zeroes written from the shared zero page; one without UNMAP or FLUSH gets them completed as
 * no-ops (nothing to unmap, no volatile cache). When the base channel is out of I/O objects the
 * request waits in order and is submitted again; the blobstore never sees "try later".
 *
 * <p>Ownership: the descriptor belongs to the lvol store, which opened and claimed the base;
 * each channel holds the base's I/O channel of its reactor until closed.
 */
final class BdevBlobDevice implements BlobDevice {
    private final BdevDesc desc;
    private final Bdev base;

    BdevBlobDevice(BdevDesc desc) {
        this.desc = desc;
        this.base = desc.bdev();
    }

    @Override
    public int blockSize() {
        return base.blockSize();
    }

    @Override
    public long sizeBytes() {
        return base.sizeBytes();
    }

    @Override
    public DeviceChannel openChannel() {
        return new Channel(Reactor.current(), desc.getIoChannel());
    }

    /** One device request; pooled per channel. */
    private static final class Op {
        IoType type;
        MemorySegment buf;
        long bufOffset;
        long offset;
        long length;
        /** Emulated write-zeroes: where the next chunk starts. */
        long next;
        DeviceCallback cb;
        Object arg;
    }

    private final class Channel extends IoWaiter implements DeviceChannel, IoCallback {
        private final Reactor reactor;
        private final IoChannel ch;
        private final ArrayDeque<Op> free = new ArrayDeque<>();
        private final ArrayDeque<Op> waiting = new ArrayDeque<>();
        private final int bs = base.blockSize();
        private final boolean zeroes = base.supports(IoType.WRITE_ZEROES);
        private final boolean unmap = base.supports(IoType.UNMAP);
        private final boolean flush = base.supports(IoType.FLUSH);
        private boolean closed;

        Channel(Reactor reactor, IoChannel ch) {
            this.reactor = reactor;
            this.ch = ch;
        }

        private Op op(IoType type, MemorySegment buf, long bufOffset, long offset, long length, DeviceCallback cb,
                      Object arg) {
            Op o = free.poll();
            if (o == null) {
                o = new Op();
            }
            o.type = type;
            o.buf = buf;
            o.bufOffset = bufOffset;
            o.offset = offset;
            o.length = length;
            o.next = offset;
            o.cb = cb;
            o.arg = arg;
            return o;
        }

        @Override
        public void read(MemorySegment buf, long bufOffset, long devOffset, long length, DeviceCallback cb, Object arg) {
            submit(op(IoType.READ, buf, bufOffset, devOffset, length, cb, arg));
        }

        @Override
        public void write(MemorySegment buf, long bufOffset, long devOffset, long length, DeviceCallback cb,
                          Object arg) {
            submit(op(IoType.WRITE, buf, bufOffset, devOffset, length, cb, arg));
        }

        @Override
        public void writeZeroes(long devOffset, long length, DeviceCallback cb, Object arg) {
            submit(op(IoType.WRITE_ZEROES, null, 0, devOffset, length, cb, arg));
        }

        @Override
        public void unmap(long devOffset, long length, DeviceCallback cb, Object arg) {
            submit(op(IoType.UNMAP, null, 0, devOffset, length, cb, arg));
        }

        @Override
        public void flush(DeviceCallback cb, Object arg) {
            submit(op(IoType.FLUSH, null, 0, 0, 0, cb, arg));
        }

        /** Submits now, or queues behind earlier requests that wait for an I/O object. */
        private void submit(Op o) {
            if (!waiting.isEmpty() || issue(o) == -Errno.ENOMEM) {
                waiting.add(o);
                ch.waitForIo(this);
            }
        }

        /** 0 when taken (or completed as a no-op), -ENOMEM to retry. */
        private int issue(Op o) {
            long b = o.offset / bs;
            long n = o.length / bs;
            return switch (o.type) {
                case READ -> desc.read(ch, o.buf, o.bufOffset, b, n, this, o);
                case WRITE -> desc.write(ch, o.buf, o.bufOffset, b, n, this, o);
                case WRITE_ZEROES -> zeroes ? desc.writeZeroes(ch, b, n, this, o) : zeroChunk(o);
                case UNMAP -> unmap ? desc.unmap(ch, b, n, this, o) : noop(o);
                case FLUSH -> flush ? desc.flush(ch, 0, 0, this, o) : noop(o);
                default -> throw new IllegalStateException(o.type.name());
            };
        }

        private int noop(Op o) {
            reactor.deferTask(() -> done(o, 0));
            return 0;
        }

        /** Writes the next chunk of zeroes from the shared zero page (base without WRITE_ZEROES). */
        private int zeroChunk(Op o) {
            long n = Math.min(o.offset + o.length - o.next, 128 * 1024);
            int rc = desc.write(ch, Zero.segment(), 0, o.next / bs, n / bs, this, o);
            if (rc == 0) {
                o.next += n;
            }
            return rc;
        }

        @Override
        public void ioAvailable() {
            while (!waiting.isEmpty()) {
                if (issue(waiting.peek()) == -Errno.ENOMEM) {
                    ch.waitForIo(this);
                    return;
                }
                waiting.poll();
            }
        }

        @Override
        public void onComplete(BdevIo io, boolean success, Object arg) {
            Op o = (Op) arg;
            int errno = success ? 0 : io.errno() != 0 ? io.errno() : Errno.EIO;
            if (errno == 0 && o.type == IoType.WRITE_ZEROES && !zeroes && o.next < o.offset + o.length) {
                submit(o);
                return;
            }
            done(o, errno);
        }

        private void done(Op o, int errno) {
            DeviceCallback cb = o.cb;
            Object arg = o.arg;
            o.cb = null;
            o.arg = null;
            o.buf = null;
            free.add(o);
            cb.ioDone(errno, arg);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                desc.putIoChannel(ch);
            }
        }
    }
}
