package io.basalt.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Large anonymous memory backed by transparent huge pages where the kernel allows it, for data
 * areas that I/O touches at random (a malloc bdev's blocks): SPDK keeps such memory in hugepages,
 * and with 4 KiB pages every random 4 KiB access to a large area also misses the TLB. The memory
 * is mapped 2 MiB aligned, advised MADV_HUGEPAGE before it is first touched (THP "madvise" mode,
 * Debian's default), then faulted in at once so that reads never see the shared zero page and the
 * first I/O pays no page faults. Where THP is off it is ordinary memory. Zero-filled.
 */
public final class HugeMemory {
    private static final long HUGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    private static final long MAP_FAILED = -1L;

    private static final MethodHandle MMAP = Posix.handle("mmap", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP = Posix.handle("munmap",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle MADVISE = Posix.handle("madvise",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    private HugeMemory() {
    }

    /**
     * {@code size} zeroed bytes, 2 MiB aligned, unmapped when {@code arena} closes. Throws
     * BasaltException(ENOMEM) when the kernel refuses the mapping. Blocks while it faults the
     * memory in (about as long as zeroing it).
     */
    public static MemorySegment allocate(Arena arena, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("size " + size);
        }
        long mapped = Math.addExact(size, HUGE);
        long base;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment st = Posix.callState(call);
            base = (long) MMAP.invokeExact(st, 0L, mapped, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (base == MAP_FAILED) {
                throw new BasaltException(Posix.errno(st) == 0 ? Errno.ENOMEM : Posix.errno(st),
                        "cannot map " + size + " bytes");
            }
            long start = (base + HUGE - 1) & -HUGE;
            // Best effort: EINVAL where THP is off or unknown; the memory works the same.
            int ignored = (int) MADVISE.invokeExact(st, start, size, MADV_HUGEPAGE);
            MemorySegment seg = MemorySegment.ofAddress(start).reinterpret(size, arena, s -> unmap(base, mapped));
            for (long off = 0; off < size; off += 4096) {
                seg.set(ValueLayout.JAVA_BYTE, off, (byte) 0);
            }
            return seg;
        } catch (BasaltException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void unmap(long base, long length) {
        try (Arena call = Arena.ofConfined()) {
            int ignored = (int) MUNMAP.invokeExact(Posix.callState(call), base, length);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
