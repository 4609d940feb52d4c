package io.basalt.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Zero-fills memory by copying from one shared zero page run: no slice object per call. */
public final class Zero {
    private static final int SIZE = 128 * 1024;
    private static final MemorySegment ZEROES = Arena.global().allocate(SIZE, 4096);

    private Zero() {
    }

    public static void fill(MemorySegment dst, long offset, long length) {
        long done = 0;
        while (done < length) {
            long n = Math.min(SIZE, length - done);
            MemorySegment.copy(ZEROES, 0, dst, offset + done, n);
            done += n;
        }
    }

    /** A read-only segment of zeroes of at least {@code length} bytes (length ≤ 128 KiB). */
    public static MemorySegment segment() {
        return ZEROES;
    }
}
