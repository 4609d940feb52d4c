package io.basalt.bdev.aio;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An opened, examined backing file or block device, ready to become an {@link AioBdev}: what
 * {@link #open} found out, and the geometry and fallocate modes it chose. Made on the module's
 * control thread (everything here may block); the fd belongs to the bdev made from it, or is
 * closed by whoever fails to make one.
 *
 * @param direct          opened with O_DIRECT
 * @param bufferedReason  why not, when not
 * @param memAlign        buffer alignment the I/O needs (1 when buffered)
 * @param logicalBlock    the smallest block the file or device takes (the detected block size)
 * @param unmapMode       fallocate mode for UNMAP, 0 if not offered
 * @param zeroesMode      fallocate mode for WRITE_ZEROES, 0 if not offered
 */
record AioFile(String path, int fd, boolean blockDevice, boolean direct, String bufferedReason, long sizeBytes,
               int logicalBlock, int physicalBlock, int memAlign, int unmapMode, int zeroesMode) {
    private static final System.Logger LOG = System.getLogger(AioFile.class.getName());
    private static final int S_IFDIR = 0040000;
    private static final long PROBE_GAP = 1L << 20;
    private static final long PROBE_LENGTH = 64 * 1024;
    static final int PUNCH = AioSyscalls.FALLOC_FL_PUNCH_HOLE | AioSyscalls.FALLOC_FL_KEEP_SIZE;
    static final int ZERO_RANGE = AioSyscalls.FALLOC_FL_ZERO_RANGE | AioSyscalls.FALLOC_FL_KEEP_SIZE;

    /**
     * Opens {@code path} (O_DIRECT when the file system takes it, else buffered with the reason
     * kept), checks that it is a regular file or a block device, locks a regular file against a
     * second opener (shared when read-only), measures it, and with {@code fallocate} probes which
     * fallocate modes really work. On failure nothing stays open.
     */
    static AioFile open(AioSyscalls sys, String path, boolean readonly, boolean fallocate) {
        int flags = (readonly ? AioSyscalls.O_RDONLY : AioSyscalls.O_RDWR) | AioSyscalls.O_CLOEXEC;
        String reason = null;
        int fd;
        try {
            fd = sys.open(path, flags | AioSyscalls.O_DIRECT);
        } catch (BasaltException e) {
            if (e.errno() != Errno.EINVAL) {
                throw e;
            }
            fd = sys.open(path, flags);
            reason = "the file system refused O_DIRECT (open: EINVAL)";
        }
        try {
            AioSyscalls.Statx st = sys.statx(fd);
            if ((st.mode() & AioSyscalls.S_IFMT) == S_IFDIR) {
                throw new BasaltException(Errno.EISDIR, path + " is a directory");
            }
            if (!st.isRegularFile() && !st.isBlockDevice()) {
                throw new BasaltException(Errno.EINVAL, path + " is neither a regular file nor a block device");
            }
            if (reason == null && st.dioAlignKnown() && st.dioOffsetAlign() == 0) {
                // open took the flag, but the kernel says direct I/O will not work on this file.
                int buffered = sys.open(path, flags);
                closeQuietly(sys, fd);
                fd = buffered;
                reason = "statx reports no direct I/O support for this file";
            }
            boolean direct = reason == null;
            if (st.isRegularFile()) {
                int op = (readonly ? AioSyscalls.LOCK_SH : AioSyscalls.LOCK_EX) | AioSyscalls.LOCK_NB;
                if (!sys.flock(fd, op)) {
                    throw new BasaltException(Errno.EBUSY, path + " is in use by another bdev or process (flock)");
                }
            }
            AioFile f = st.isBlockDevice() ? blockDevice(sys, path, fd, st, direct, reason, readonly, fallocate)
                    : regularFile(sys, path, fd, st, direct, reason, readonly, fallocate);
            if (!direct) {
                LOG.log(System.Logger.Level.WARNING, path + ": buffered I/O through the page cache, because " + reason);
            }
            return f;
        } catch (RuntimeException e) {
            closeQuietly(sys, fd);
            throw e;
        }
    }

    private static AioFile regularFile(AioSyscalls sys, String path, int fd, AioSyscalls.Statx st, boolean direct,
                                       String reason, boolean readonly, boolean fallocate) {
        int block = direct && st.dioAlignKnown() ? Math.max(512, st.dioOffsetAlign()) : 512;
        int memAlign = !direct ? 1 : st.dioAlignKnown() && st.dioMemAlign() > 0 ? st.dioMemAlign() : block;
        int unmap = 0;
        int zeroes = 0;
        if (fallocate && !readonly) {
            // Probe past the end of the file, where there is no data to lose. KEEP_SIZE keeps the
            // size; zero-range may allocate blocks out there (ext4 does, and ignores a punch past
            // the end), and truncating to the same size frees them. The file is ours: flocked.
            long at = (st.size() + PROBE_GAP - 1) / PROBE_GAP * PROBE_GAP + PROBE_GAP;
            boolean punch = sys.fallocate(fd, PUNCH, at, PROBE_LENGTH) == 0;
            boolean zeroRange = sys.fallocate(fd, ZERO_RANGE, at, PROBE_LENGTH) == 0;
            if (zeroRange) {
                int rc = sys.ftruncate(fd, st.size());
                if (rc < 0) {
                    LOG.log(System.Logger.Level.WARNING, path + ": ftruncate after the zero-range probe failed: "
                            + Errno.text(rc) + "; up to " + PROBE_LENGTH + " bytes may stay allocated past its end");
                }
            }
            if (!punch && !zeroRange) {
                throw new BasaltException(Errno.EOPNOTSUPP, "fallocate: the file system of " + path
                        + " can neither punch holes nor zero ranges");
            }
            unmap = punch ? PUNCH : 0;
            // A punched hole reads as zeroes, so it serves WRITE_ZEROES where zero-range is missing (tmpfs).
            zeroes = zeroRange ? ZERO_RANGE : PUNCH;
        }
        return new AioFile(path, fd, false, direct, reason, st.size(), block, block, memAlign, unmap, zeroes);
    }

    private static AioFile blockDevice(AioSyscalls sys, String path, int fd, AioSyscalls.Statx st, boolean direct,
                                       String reason, boolean readonly, boolean fallocate) {
        int logical = sys.logicalBlockSize(fd);
        int physical = Math.max(logical, sys.physicalBlockSize(fd));
        long size = sys.blockDeviceSize(fd);
        int memAlign = !direct ? 1 : st.dioAlignKnown() && st.dioMemAlign() > 0 ? st.dioMemAlign() : logical;
        int unmap = 0;
        int zeroes = 0;
        if (fallocate && !readonly) {
            // Probing would destroy data on a device. The kernel documents the modes instead:
            // zero-range always works (it writes zeroes when the device cannot); punch-hole needs
            // the device's own write-zeroes command (block/fops.c, BLKDEV_ZERO_NOFALLBACK).
            zeroes = ZERO_RANGE;
            unmap = writeZeroesMaxBytes(st) > 0 ? PUNCH : 0;
        }
        return new AioFile(path, fd, true, direct, reason, size, logical, physical, memAlign, unmap, zeroes);
    }

    /** /sys/dev/block/MAJ:MIN/queue/write_zeroes_max_bytes (a partition's queue is its disk's). */
    private static long writeZeroesMaxBytes(AioSyscalls.Statx st) {
        Path dev = Path.of("/sys/dev/block/" + st.rdevMajor() + ":" + st.rdevMinor());
        for (Path p : new Path[] {dev.resolve("queue/write_zeroes_max_bytes"),
                dev.resolve("../queue/write_zeroes_max_bytes")}) {
            try {
                return Long.parseLong(Files.readString(p).trim());
            } catch (IOException | NumberFormatException e) {
                // try the next place
            }
        }
        return 0;
    }

    static void closeQuietly(AioSyscalls sys, int fd) {
        try {
            sys.close(fd);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "close of fd " + fd + " failed: " + e.getMessage());
        }
    }

    /** "punch_hole", "zero_range" or "none", for driver_specific. */
    static String modeName(int mode) {
        return mode == PUNCH ? "punch_hole" : mode == ZERO_RANGE ? "zero_range" : "none";
    }
}
