package io.basalt.bdev;

/** A block range quiesced with {@link Bdev#quiesceRange}; new I/O overlapping it waits. */
public final class LockedRange {
    final long offset;
    final long length;
    /** Completes when the range is quiesced on every channel. */
    final java.util.concurrent.CompletableFuture<LockedRange> quiesced = new java.util.concurrent.CompletableFuture<>();

    LockedRange(long offset, long length) {
        this.offset = offset;
        this.length = length;
    }

    boolean overlaps(long off, long len) {
        if (len == 0) {
            return false;
        }
        return off < offset + length && offset < off + len;
    }

    public long offset() {
        return offset;
    }

    public long length() {
        return length;
    }

    @Override
    public String toString() {
        return "[" + offset + ", +" + length + ")";
    }
}
