package io.basalt.bdev.raid;

import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.Errno;

import java.util.Arrays;

/**
 * raid1: every member holds every block.
 * <ul>
 * <li>A read goes to the member in service with the fewest blocks of reads outstanding on this
 *     channel (SPDK's read_blocks_outstanding). A read that fails with a media error is tried on
 *     another member; once one succeeds, the good data is written back to the members that failed
 *     the read, before the read completes (a member whose write-back fails is failed).
 * <li>A write (and unmap, write zeroes) goes to every member in service, and to the rebuild
 *     target for the part below the rebuild's progress. It succeeds when one member took it; a
 *     member that fails it is failed and leaves the array. A failure on the rebuild target does
 *     not fail the I/O: the rebuild copies that range again.
 * </ul>
 */
final class Raid1 extends LevelModule {
    private static final int READ = 1;
    private static final int WRITE_BACK = 2;
    private static final int WRITE = 3;

    Raid1(int n, int blockSize) {
        super(RaidLevel.RAID1, n, 0, blockSize);
    }

    @Override
    long size(long[] dataSizes) {
        long min = Long.MAX_VALUE;
        for (long s : dataSizes) {
            min = Math.min(min, s);
        }
        if (min <= 0) {
            throw tooSmall("members have no room for data");
        }
        Arrays.fill(dataSizes, min);
        return min;
    }

    @Override
    boolean supportsNullPayload() {
        return true;
    }

    @Override
    void submit(RaidIo io) {
        if (io.type() == IoType.READ) {
            Arrays.fill(io.tried, false);
            Arrays.fill(io.readFailed, false);
            io.phase = READ;
            int slot = pick(io);
            if (slot < 0) {
                io.fail(Errno.ENODEV);
                return;
            }
            readFrom(io, slot);
        } else {
            io.phase = WRITE;
            writeLoop(io);
        }
    }

    @Override
    void proceed(RaidIo io) {
        switch (io.phase) {
            case READ -> readFrom(io, io.readSlot);
            case WRITE_BACK -> writeBackLoop(io);
            default -> writeLoop(io);
        }
    }

    /** The untried member in service with the fewest read blocks outstanding here, or -1. */
    private int pick(RaidIo io) {
        RaidChannel ch = io.ch;
        int best = -1;
        for (int i = 0; i < n; i++) {
            if (ch.usable(i) && !io.tried[i] && (best < 0 || ch.readBlocks[i] < ch.readBlocks[best])) {
                best = i;
            }
        }
        return best;
    }

    private void readFrom(RaidIo io, int slot) {
        RaidChannel ch = io.ch;
        io.readSlot = slot;
        io.tried[slot] = true;
        Member m = ch.members[slot];
        if (!child(io, m, ch.chans[slot], IoType.READ, io.buffer(), io.bufferOffset(), m.dataOffset + io.offsetBlocks(),
                io.numBlocks())) {
            return;
        }
        ch.readBlocks[slot] += io.numBlocks();
        io.submitted = true;
    }

    private void writeBackLoop(RaidIo io) {
        RaidChannel ch = io.ch;
        for (; io.slotCursor < n; io.slotCursor++) {
            int i = io.slotCursor;
            if (io.readFailed[i] && ch.usable(i)) {
                Member m = ch.members[i];
                if (!child(io, m, ch.chans[i], IoType.WRITE, io.buffer(), io.bufferOffset(),
                        m.dataOffset + io.offsetBlocks(), io.numBlocks())) {
                    return;
                }
            }
        }
        io.submitted = true;
        maybeFinish(io);
    }

    private void writeLoop(RaidIo io) {
        RaidChannel ch = io.ch;
        IoType type = io.type();
        boolean data = type == IoType.WRITE;
        for (; io.slotCursor < n; io.slotCursor++) {
            int i = io.slotCursor;
            if (ch.usable(i)) {
                Member m = ch.members[i];
                if (!child(io, m, ch.chans[i], type, data ? io.buffer() : null, io.bufferOffset(),
                        m.dataOffset + io.offsetBlocks(), io.numBlocks())) {
                    return;
                }
            }
        }
        if (io.slotCursor == n) {
            Member t = ch.liveTarget();
            long below = Math.min(io.end(), ch.processOffset) - io.offsetBlocks();
            if (t != null && below > 0) {
                if (!child(io, t, ch.targetCh, type, data ? io.buffer() : null, io.bufferOffset(),
                        t.dataOffset + io.offsetBlocks(), below)) {
                    return;
                }
            }
            io.slotCursor++;
        }
        io.submitted = true;
        finishWrite(io);
    }

    @Override
    void childDone(RaidIo io, BdevIo child, boolean ok) {
        switch (io.phase) {
            case READ -> readDone(io, child, ok);
            case WRITE_BACK -> {
                if (!ok) {
                    Member m = memberOf(io, child);
                    if (m != null) {
                        writeFailed(io, m, io.offsetBlocks());
                    }
                }
                maybeFinish(io);
            }
            default -> {
                Member m = memberOf(io, child);
                if (m != null && m == io.ch.target) {
                    if (!ok) {
                        writeFailed(io, m, io.offsetBlocks());
                    }
                } else if (ok) {
                    io.okCount++;
                } else {
                    io.recordFailure(child);
                    if (m != null && isMediaError(child)) {
                        writeFailed(io, m, io.offsetBlocks());
                    }
                }
                finishWrite(io);
            }
        }
    }

    private void readDone(RaidIo io, BdevIo child, boolean ok) {
        RaidChannel ch = io.ch;
        int slot = io.readSlot;
        ch.readBlocks[slot] -= io.numBlocks();
        if (ok) {
            for (boolean f : io.readFailed) {
                if (f) {
                    io.phase = WRITE_BACK;
                    io.slotCursor = 0;
                    io.submitted = false;
                    writeBackLoop(io);
                    return;
                }
            }
            maybeFinish(io);
            return;
        }
        if (isMediaError(child)) {
            io.readFailed[slot] = true;
            int next = pick(io);
            if (next >= 0) {
                io.submitted = false;
                readFrom(io, next);
                return;
            }
        }
        io.recordFailure(child);
        maybeFinish(io);
    }

    private static void finishWrite(RaidIo io) {
        if (!io.submitted || io.pending > 0) {
            return;
        }
        if (io.okCount > 0) {
            io.complete(IoStatus.SUCCESS);
        } else if (io.failStatus == null) {
            io.fail(Errno.ENODEV);
        } else {
            io.finish();
        }
    }

    static boolean isMediaError(BdevIo child) {
        IoStatus s = child.status();
        return s == IoStatus.FAILED || s == IoStatus.NVME_ERROR;
    }
}
