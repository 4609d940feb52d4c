package io.basalt.blob;

import java.lang.foreign.MemorySegment;

/**
 * One I/O on a blob: a reusable request object, so that the data path allocates nothing per I/O
 * (a bdev module embeds one in its per-I/O context). Fill it with {@link #set} and give it to
 * {@link BlobChannel#submit}; it belongs to the blobstore until its callback runs.
 */
public final class BlobIo implements DeviceCallback {
    /** What the I/O does. WRITE_ZEROES (also used for unmap) makes the range read as zeroes. */
    public enum Op {
        READ, WRITE, WRITE_ZEROES, FLUSH
    }

    Blob blob;
    Op op;
    MemorySegment buf;
    long bufOffset;
    long offset;
    long length;
    BlobIoCallback cb;
    Object arg;

    BlobChannel ch;
    int pending;
    int errno;

    /**
     * @param offset byte offset in the blob, a multiple of the store's block size
     * @param length bytes, a multiple of the block size (0 for FLUSH)
     */
    public BlobIo set(Blob blob, Op op, MemorySegment buf, long bufOffset, long offset, long length,
                      BlobIoCallback cb, Object arg) {
        this.blob = blob;
        this.op = op;
        this.buf = buf;
        this.bufOffset = bufOffset;
        this.offset = offset;
        this.length = length;
        this.cb = cb;
        this.arg = arg;
        return this;
    }

    public Blob blob() {
        return blob;
    }

    public Op op() {
        return op;
    }

    public Object arg() {
        return arg;
    }

    @Override
    public void ioDone(int errno, Object arg) {
        ch.exit((Integer) arg);
        ch.pieceDone(this, errno);
    }

    /** Drops references to the caller's buffer and blob once the I/O is over. */
    void clear() {
        buf = null;
        cb = null;
        arg = null;
        blob = null;
        ch = null;
    }
}
