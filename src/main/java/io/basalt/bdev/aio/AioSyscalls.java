package io.basalt.bdev.aio;

import io.basalt.runtime.BasaltException;

/**
 * The system calls of the aio module, behind one small interface so that a test can make any of
 * them fail once, come back short, or say -EAGAIN ({@link LinuxSyscalls} is the real one).
 *
 * <p>Control calls (open, close, flock, statx, the block-device ioctls) throw
 * {@link BasaltException} with the errno; they run on the module's control thread, never on a
 * reactor. Data calls (pread, pwrite, fdatasync, fallocate, ftruncate) return the result or a
 * negative errno, as an io_uring completion does, and run on the fallback workers (fallocate and
 * ftruncate also at create, to probe). Every method may be called from any thread.
 */
public interface AioSyscalls {
    int O_RDONLY = 0;
    int O_RDWR = 2;
    int O_DIRECT = 040000;
    int O_CLOEXEC = 02000000;

    int S_IFMT = 0170000;
    int S_IFREG = 0100000;
    int S_IFBLK = 0060000;

    int FALLOC_FL_KEEP_SIZE = 0x01;
    int FALLOC_FL_PUNCH_HOLE = 0x02;
    int FALLOC_FL_ZERO_RANGE = 0x10;

    int LOCK_SH = 1;
    int LOCK_EX = 2;
    int LOCK_NB = 4;

    /** open(2); returns the fd. */
    int open(String path, int flags);

    void close(int fd);

    /** flock(2); false when LOCK_NB finds the lock held elsewhere. */
    boolean flock(int fd, int op);

    /** statx(2) of an open file (AT_EMPTY_PATH), asking for the basic fields and STATX_DIOALIGN. */
    Statx statx(int fd);

    /** ioctl BLKGETSIZE64: the size of a block device in bytes. */
    long blockDeviceSize(int fd);

    /** ioctl BLKSSZGET: the logical block size of a block device. */
    int logicalBlockSize(int fd);

    /** ioctl BLKPBSZGET: the physical block size of a block device. */
    int physicalBlockSize(int fd);

    /** pread(2) into native memory at {@code address}; bytes read or -errno. */
    long pread(int fd, long address, long length, long offset);

    /** pwrite(2) from native memory at {@code address}; bytes written or -errno. */
    long pwrite(int fd, long address, long length, long offset);

    /** fdatasync(2); 0 or -errno. */
    int fdatasync(int fd);

    /** fallocate(2); 0 or -errno. */
    int fallocate(int fd, int mode, long offset, long length);

    /** ftruncate(2); 0 or -errno. */
    int ftruncate(int fd, long length);

    /**
     * The fields of {@code struct statx} the module uses (offsets in {@link LinuxSyscalls}).
     *
     * @param dioAlignKnown   the kernel filled in the direct-I/O alignment (STATX_DIOALIGN in stx_mask)
     * @param dioMemAlign     stx_dio_mem_align: buffer alignment for O_DIRECT (0 = no direct I/O)
     * @param dioOffsetAlign  stx_dio_offset_align: file offset and length alignment for O_DIRECT
     * @param blocks          stx_blocks: 512-byte units allocated
     */
    record Statx(int mode, long size, long blocks, int blksize, boolean dioAlignKnown, int dioMemAlign,
                 int dioOffsetAlign, int rdevMajor, int rdevMinor) {
        public boolean isRegularFile() {
            return (mode & S_IFMT) == S_IFREG;
        }

        public boolean isBlockDevice() {
            return (mode & S_IFMT) == S_IFBLK;
        }
    }
}
