package io.basalt.bdev.aio;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The real {@link AioSyscalls}: glibc through the Foreign Function &amp; Memory API (the JDK has
 * no O_DIRECT, statx, ioctl, fallocate modes or pread into native memory, and a JNI library would
 * have to be built). Constants and offsets were checked against the kernel UAPI headers
 * (linux/stat.h, linux/fs.h, linux/falloc.h).
 *
 * <p>Data calls keep one errno-capture segment per thread, so the fallback workers allocate
 * nothing per I/O.
 */
public final class LinuxSyscalls implements AioSyscalls {
    /** The one instance (it has no state). */
    public static final LinuxSyscalls INSTANCE = new LinuxSyscalls();

    private static final int AT_EMPTY_PATH = 0x1000;
    private static final int STATX_BASIC_STATS = 0x7ff;
    private static final int STATX_DIOALIGN = 0x2000;
    /** _IOR(0x12, 114, size_t). */
    private static final long BLKGETSIZE64 = 0x80081272L;
    /** _IO(0x12, 104). */
    private static final long BLKSSZGET = 0x1268L;
    /** _IO(0x12, 123). */
    private static final long BLKPBSZGET = 0x127bL;

    /**
     * {@code struct statx} (linux/stat.h), 256 bytes; the fields read here:
     * <pre>
     * 0x00 __u32 stx_mask        0x04 __u32 stx_blksize
     * 0x1c __u16 stx_mode        0x28 __u64 stx_size      0x30 __u64 stx_blocks
     * 0x80 __u32 stx_rdev_major  0x84 __u32 stx_rdev_minor
     * 0x98 __u32 stx_dio_mem_align  0x9c __u32 stx_dio_offset_align
     * </pre>
     */
    private static final int STATX_SIZE = 0x100;
    private static final long STX_MASK = 0x00;
    private static final long STX_BLKSIZE = 0x04;
    private static final long STX_MODE = 0x1c;
    private static final long STX_SIZE = 0x28;
    private static final long STX_BLOCKS = 0x30;
    private static final long STX_RDEV_MAJOR = 0x80;
    private static final long STX_RDEV_MINOR = 0x84;
    private static final long STX_DIO_MEM_ALIGN = 0x98;
    private static final long STX_DIO_OFFSET_ALIGN = 0x9c;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout ADDR = ValueLayout.ADDRESS;

    private static final MethodHandle STATX = Posix.handle("statx",
            FunctionDescriptor.of(INT, INT, ADDR, INT, INT, ADDR));
    private static final MethodHandle IOCTL = Posix.handle("ioctl",
            FunctionDescriptor.of(INT, INT, LONG, ADDR), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle PREAD = Posix.handle("pread",
            FunctionDescriptor.of(LONG, INT, LONG, LONG, LONG));
    private static final MethodHandle PWRITE = Posix.handle("pwrite",
            FunctionDescriptor.of(LONG, INT, LONG, LONG, LONG));
    private static final MethodHandle FDATASYNC = Posix.handle("fdatasync",
            FunctionDescriptor.of(INT, INT));
    private static final MethodHandle FALLOCATE = Posix.handle("fallocate",
            FunctionDescriptor.of(INT, INT, INT, LONG, LONG));
    private static final MethodHandle FTRUNCATE = Posix.handle("ftruncate",
            FunctionDescriptor.of(INT, INT, LONG));

    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Posix.callState(Arena.ofAuto()));

    private LinuxSyscalls() {
    }

    @Override
    public int open(String path, int flags) {
        return Posix.open(path, flags, 0);
    }

    @Override
    public void close(int fd) {
        Posix.close(fd);
    }

    @Override
    public boolean flock(int fd, int op) {
        return Posix.flock(fd, op);
    }

    @Override
    public Statx statx(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = Posix.callState(a);
            MemorySegment buf = a.allocate(STATX_SIZE, 8);
            int rc = (int) STATX.invokeExact(st, fd, a.allocateFrom(""), AT_EMPTY_PATH,
                    STATX_BASIC_STATS | STATX_DIOALIGN, buf);
            if (rc < 0) {
                throw new BasaltException(Posix.errno(st), "statx fd " + fd);
            }
            int mask = buf.get(INT, STX_MASK);
            return new Statx(Short.toUnsignedInt(buf.get(ValueLayout.JAVA_SHORT, STX_MODE)),
                    buf.get(LONG, STX_SIZE), buf.get(LONG, STX_BLOCKS), buf.get(INT, STX_BLKSIZE),
                    (mask & STATX_DIOALIGN) != 0, buf.get(INT, STX_DIO_MEM_ALIGN),
                    buf.get(INT, STX_DIO_OFFSET_ALIGN), buf.get(INT, STX_RDEV_MAJOR), buf.get(INT, STX_RDEV_MINOR));
        } catch (BasaltException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public long blockDeviceSize(int fd) {
        return ioctl(fd, BLKGETSIZE64, "BLKGETSIZE64", LONG.byteSize());
    }

    @Override
    public int logicalBlockSize(int fd) {
        return (int) ioctl(fd, BLKSSZGET, "BLKSSZGET", INT.byteSize());
    }

    @Override
    public int physicalBlockSize(int fd) {
        return (int) ioctl(fd, BLKPBSZGET, "BLKPBSZGET", INT.byteSize());
    }

    private static long ioctl(int fd, long request, String name, long resultSize) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = Posix.callState(a);
            MemorySegment out = a.allocate(8, 8);
            int rc = (int) IOCTL.invokeExact(st, fd, request, out);
            if (rc < 0) {
                throw new BasaltException(Posix.errno(st), "ioctl " + name + " fd " + fd);
            }
            return resultSize == 8 ? out.get(LONG, 0) : Integer.toUnsignedLong(out.get(INT, 0));
        } catch (BasaltException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public long pread(int fd, long address, long length, long offset) {
        MemorySegment st = CALL_STATE.get();
        try {
            long n = (long) PREAD.invokeExact(st, fd, address, length, offset);
            return n < 0 ? -Posix.errno(st) : n;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public long pwrite(int fd, long address, long length, long offset) {
        MemorySegment st = CALL_STATE.get();
        try {
            long n = (long) PWRITE.invokeExact(st, fd, address, length, offset);
            return n < 0 ? -Posix.errno(st) : n;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public int fdatasync(int fd) {
        MemorySegment st = CALL_STATE.get();
        try {
            int rc = (int) FDATASYNC.invokeExact(st, fd);
            return rc < 0 ? -Posix.errno(st) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public int fallocate(int fd, int mode, long offset, long length) {
        MemorySegment st = CALL_STATE.get();
        try {
            int rc = (int) FALLOCATE.invokeExact(st, fd, mode, offset, length);
            return rc < 0 ? -Posix.errno(st) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public int ftruncate(int fd, long length) {
        MemorySegment st = CALL_STATE.get();
        try {
            int rc = (int) FTRUNCATE.invokeExact(st, fd, length);
            return rc < 0 ? -Posix.errno(st) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
