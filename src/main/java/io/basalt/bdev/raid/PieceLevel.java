package io.basalt.bdev.raid;

import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.Errno;

/**
 * Levels without redundancy ({@link Raid0}, {@link Concat}): every raid block lives on exactly
 * one member, so an I/O is cut into pieces, one child each, all in flight together. A missing or
 * failed member fails the pieces that need it (the array is offline by then anyway); a failed
 * child fails the I/O and nothing else (SPDK does not fail raid0 members on I/O errors either).
 */
abstract class PieceLevel extends LevelModule {
    PieceLevel(RaidLevel level, int n, long strip, int blockSize) {
        super(level, n, strip, blockSize);
    }

    /** Slot holding raid block {@code lba}. */
    abstract int slotOf(long lba);

    /** Where raid block {@code lba} is on its member, relative to the member's data offset. */
    abstract long memberBlock(long lba);

    /** Blocks from {@code lba} that stay contiguous on one member, at most {@code max}. */
    abstract long pieceLength(long lba, long max);

    @Override
    boolean supportsNullPayload() {
        return true;
    }

    @Override
    void submit(RaidIo io) {
        proceed(io);
    }

    @Override
    void proceed(RaidIo io) {
        RaidChannel ch = io.ch;
        IoType type = io.type();
        boolean data = type.hasData();
        long end = io.end();
        while (io.cursor < end) {
            long lba = io.cursor;
            long len = pieceLength(lba, end - lba);
            int slot = slotOf(lba);
            if (!ch.usable(slot)) {
                io.recordFailure(IoStatus.FAILED, Errno.ENODEV);
            } else {
                Member m = ch.members[slot];
                if (!child(io, m, ch.chans[slot], type, data ? io.buffer() : null, data ? bufOffset(io, lba) : 0,
                        m.dataOffset + memberBlock(lba), len)) {
                    return;
                }
            }
            io.cursor = lba + len;
        }
        io.submitted = true;
        maybeFinish(io);
    }

    @Override
    void childDone(RaidIo io, BdevIo child, boolean ok) {
        if (!ok) {
            io.recordFailure(child);
        }
        maybeFinish(io);
    }
}
