package io.basalt.bdev.aio;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** The real system calls, with switches that make them behave as another file system would. */
final class FaultySyscalls implements AioSyscalls {
    private final AioSyscalls real = LinuxSyscalls.INSTANCE;
    /** open with O_DIRECT fails with EINVAL, as on a file system without direct I/O. */
    volatile boolean refuseDirect;
    /** If > 0, statx reports this direct-I/O alignment (offset and memory). */
    volatile int dioAlign;
    /** Flags of every open. */
    final List<Integer> openFlags = new CopyOnWriteArrayList<>();

    @Override
    public int open(String path, int flags) {
        openFlags.add(flags);
        if (refuseDirect && (flags & O_DIRECT) != 0) {
            throw new BasaltException(Errno.EINVAL, "open " + path);
        }
        return real.open(path, flags);
    }

    @Override
    public void close(int fd) {
        real.close(fd);
    }

    @Override
    public boolean flock(int fd, int op) {
        return real.flock(fd, op);
    }

    @Override
    public Statx statx(int fd) {
        Statx s = real.statx(fd);
        int a = dioAlign;
        if (a > 0) {
            return new Statx(s.mode(), s.size(), s.blocks(), s.blksize(), true, a, a, s.rdevMajor(), s.rdevMinor());
        }
        return s;
    }

    @Override
    public long blockDeviceSize(int fd) {
        return real.blockDeviceSize(fd);
    }

    @Override
    public int logicalBlockSize(int fd) {
        return real.logicalBlockSize(fd);
    }

    @Override
    public int physicalBlockSize(int fd) {
        return real.physicalBlockSize(fd);
    }

    @Override
    public long pread(int fd, long address, long length, long offset) {
        return real.pread(fd, address, length, offset);
    }

    @Override
    public long pwrite(int fd, long address, long length, long offset) {
        return real.pwrite(fd, address, length, offset);
    }

    @Override
    public int fdatasync(int fd) {
        return real.fdatasync(fd);
    }

    @Override
    public int fallocate(int fd, int mode, long offset, long length) {
        return real.fallocate(fd, mode, offset, length);
    }

    @Override
    public int ftruncate(int fd, long length) {
        return real.ftruncate(fd, length);
    }
}
