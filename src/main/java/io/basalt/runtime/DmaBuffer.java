package io.basalt.runtime;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * An off-heap buffer from the {@link BufferPool}: 4 KiB aligned, so O_DIRECT file I/O and
 * io_uring can use it without a bounce copy. The holder returns it with {@link BufferPool#put};
 * after that it must not be touched.
 */
public final class DmaBuffer {
    private final MemorySegment segment;
    private final int sizeClass;
    private ByteBuffer nio;

    DmaBuffer(MemorySegment segment, int sizeClass) {
        this.segment = segment;
        this.sizeClass = sizeClass;
    }

    /** The whole buffer (its capacity is the size class, at least the size asked for). */
    public MemorySegment segment() {
        return segment;
    }

    public long address() {
        return segment.address();
    }

    public int capacity() {
        return (int) segment.byteSize();
    }

    /** A direct ByteBuffer view of the whole buffer, created once per buffer and then reused. */
    public ByteBuffer nio() {
        ByteBuffer b = nio;
        if (b == null) {
            b = segment.asByteBuffer();
            nio = b;
        }
        return b.clear();
    }

    int sizeClass() {
        return sizeClass;
    }
}
