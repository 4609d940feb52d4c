package io.basalt.blob;

import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Zero;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * A request to give logical cluster {@code k} of a blob a cluster of its own: from a write (or
 * zeroing) that hit an unallocated cluster, or from an inflate/decouple copy. The metadata reactor
 * grants a reserved device cluster; the requester's reactor fills it (a copy of the parent's
 * cluster, or zeroes, with the new data laid over); the metadata reactor commits the mapping;
 * only then is the requester told (so a write is acknowledged only once its mapping is durable).
 *
 * <p>This is the slow path of the first write to a cluster; it allocates a request object and
 * moves a whole cluster, which dwarfs that.
 */
final class AllocRequest implements DeviceCallback {
    /** Result: the cluster was allocated by someone else meanwhile; redo the piece the normal way. */
    static final int REDO = -1;
    private static final long COPY_CHUNK = 1 << 20;
    private static final Integer FILL = 1;
    private static final Integer COPY_READ = 2;
    private static final Integer COPY_WRITE = 3;

    /** Completion of an internal request (inflate, decouple), on the requester's reactor. */
    interface Done {
        void allocDone(AllocRequest r, int result);
    }

    final BlobChannel ch;
    final Blob blob;
    final long k;
    /** The I/O this piece belongs to, or null for an internal copy. */
    final BlobIo io;
    /** Byte position in the blob and length of the piece (n = 0 for an internal copy). */
    final long pos;
    final long n;
    /** The piece is zeroes (WRITE_ZEROES / unmap) instead of data from the I/O's buffer. */
    final boolean zeroData;
    private final Done done;

    long cluster = -1;
    private int parity;
    private int pending;
    private int errno;
    private long src;
    private DmaBuffer buf;
    private long chunkOff;
    private long chunkLen;

    private AllocRequest(BlobChannel ch, Blob blob, long k, BlobIo io, long pos, long n, boolean zeroData, Done done) {
        this.ch = ch;
        this.blob = blob;
        this.k = k;
        this.io = io;
        this.pos = pos;
        this.n = n;
        this.zeroData = zeroData;
        this.done = done;
    }

    static AllocRequest forIo(BlobChannel ch, BlobIo io, long k, long pos, long n, boolean zeroData) {
        return new AllocRequest(ch, io.blob, k, io, pos, n, zeroData, null);
    }

    static AllocRequest internal(BlobChannel ch, Blob blob, long k, Done done) {
        return new AllocRequest(ch, blob, k, null, (long) k * ch.store.clusterSize(), 0, true, done);
    }

    private long within() {
        return pos - k * ch.store.clusterSize();
    }

    private long dataBufOffset() {
        return io.bufOffset + (pos - io.offset);
    }

    /** On the requester's reactor, once {@link #cluster} is granted. */
    void fill() {
        Blobstore s = ch.store;
        long cs = s.clusterSize();
        long base = s.dataOffset() + cluster * cs;
        errno = 0;
        parity = ch.enter();
        src = s.ancestorCluster(blob.view, k);
        if (src < 0) {
            pending = 1;
            long w = within();
            if (n == 0 || zeroData) {
                pending++;
                ch.dev.writeZeroes(base, cs, this, FILL);
            } else {
                if (w > 0) {
                    pending++;
                    ch.dev.writeZeroes(base, w, this, FILL);
                }
                pending++;
                ch.dev.write(io.buf, dataBufOffset(), base + w, n, this, FILL);
                if (w + n < cs) {
                    pending++;
                    ch.dev.writeZeroes(base + w + n, cs - w - n, this, FILL);
                }
            }
            pending--;
            return;
        }
        long chunk = Math.min(cs, COPY_CHUNK);
        buf = s.pool().get((int) chunk);
        if (buf == null) {
            // Out of buffers (the pool is at its limit): try again shortly, counting nowhere meanwhile.
            ch.exit(parity);
            ch.reactor.schedule(this::fill, 1, TimeUnit.MILLISECONDS);
            return;
        }
        chunkOff = 0;
        copyStep();
    }

    private void copyStep() {
        Blobstore s = ch.store;
        long cs = s.clusterSize();
        if (errno != 0 || chunkOff >= cs) {
            s.pool().put(buf);
            buf = null;
            filled();
            return;
        }
        chunkLen = Math.min(buf.capacity(), cs - chunkOff);
        long w = within();
        boolean covered = !zeroData && n > 0 && w <= chunkOff && w + n >= chunkOff + chunkLen;
        if (covered) {
            overlayAndWrite();
        } else {
            ch.dev.read(buf.segment(), 0, s.dataOffset() + src * cs + chunkOff, chunkLen, this, COPY_READ);
        }
    }

    private void overlayAndWrite() {
        Blobstore s = ch.store;
        long w = within();
        long a = Math.max(chunkOff, w);
        long b = Math.min(chunkOff + chunkLen, w + n);
        if (n > 0 && a < b) {
            if (zeroData) {
                Zero.fill(buf.segment(), a - chunkOff, b - a);
            } else {
                MemorySegment.copy(io.buf, dataBufOffset() + (a - w), buf.segment(), a - chunkOff, b - a);
            }
        }
        ch.dev.write(buf.segment(), 0, s.dataOffset() + cluster * s.clusterSize() + chunkOff, chunkLen, this,
                COPY_WRITE);
    }

    @Override
    public void ioDone(int e, Object arg) {
        if (e != 0 && errno == 0) {
            errno = e;
        }
        if (arg == FILL) {
            if (--pending == 0) {
                filled();
            }
        } else if (arg == COPY_READ) {
            if (errno != 0) {
                copyStep();
            } else {
                overlayAndWrite();
            }
        } else {
            chunkOff += chunkLen;
            copyStep();
        }
    }

    private void filled() {
        ch.exit(parity);
        int e = errno;
        ch.store.md.send(() -> ch.store.allocFilled(this, e));
    }

    /** The outcome (0, {@link #REDO} or an errno), on the requester's reactor. */
    void complete(int result) {
        if (io != null) {
            ch.allocDone(this, result);
        } else {
            done.allocDone(this, result);
        }
    }

    /** Sends the outcome to the requester's reactor. Any thread. */
    void reply(int result) {
        ch.reactor.send(() -> complete(result));
    }
}
