package io.basalt.bdev.raid;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoType;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.ReactorGroup;

import java.lang.foreign.MemorySegment;

/**
 * What a RAID level does (SPDK's raid_bdev_module, one per level: {@link Raid0}, {@link Raid1},
 * {@link Raid5f}, {@link Concat}): the array's size from its members, how a read or a write maps
 * onto member I/O, and which I/O types it can serve. One instance per array; it is the callback
 * of every child I/O it submits, with the parent {@link RaidIo} as argument.
 *
 * <p>Threading: {@link #size} on the application reactor; everything else on the reactor of the
 * I/O's channel. Nothing on the data path allocates: children come from the members' channel
 * pools, per-I/O state lives in the pooled {@link RaidIo}.
 */
abstract class LevelModule implements IoCallback {
    final RaidLevel level;
    final int n;
    /** Strip size in blocks (0 for raid1). */
    final long strip;
    final int blockSize;
    RaidBdev bdev;

    LevelModule(RaidLevel level, int n, long strip, int blockSize) {
        this.level = level;
        this.n = n;
        this.strip = strip;
        this.blockSize = blockSize;
    }

    /** Ties the level to its registered bdev (before any I/O). */
    void bind(RaidBdev bdev, ReactorGroup reactors) {
        this.bdev = bdev;
    }

    static LevelModule create(RaidLevel level, int n, long strip, int blockSize) {
        return switch (level) {
            case RAID0 -> new Raid0(n, strip, blockSize);
            case RAID1 -> new Raid1(n, blockSize);
            case RAID5F -> new Raid5f(n, strip, blockSize);
            case CONCAT -> new Concat(n, strip, blockSize);
        };
    }

    /**
     * The array's block count from the members' data sizes (blocks available from each member's
     * data offset); rounds {@code dataSizes} down in place to what each member contributes. -22
     * when that leaves nothing.
     */
    abstract long size(long[] dataSizes);

    /** Whether the level maps UNMAP and WRITE_ZEROES (READ, WRITE, FLUSH, RESET always). */
    abstract boolean supportsNullPayload();

    /** SPDK's optimal_io_boundary for the raid bdev, in blocks (0 = none). */
    int optimalIoBoundary() {
        return 0;
    }

    /** Rebuild windows are aligned to this many raid blocks. */
    long processAlignment() {
        return 1;
    }

    /** Phase of a FLUSH or RESET sent to every member. */
    static final int BROADCAST = -1;

    /** Starts an I/O the raid bdev has validated; on its channel's reactor. */
    final void start(RaidIo io) {
        IoType t = io.type();
        if (t == IoType.FLUSH || t == IoType.RESET) {
            io.phase = BROADCAST;
            broadcast(io);
        } else {
            submit(io);
        }
    }

    /** Starts a READ, WRITE, UNMAP or WRITE_ZEROES. */
    abstract void submit(RaidIo io);

    /** Continues a submission loop that stopped for want of a member I/O object. */
    abstract void proceed(RaidIo io);

    /** A child of {@code io} finished; {@code child} is valid only during the call. */
    abstract void childDone(RaidIo io, BdevIo child, boolean ok);

    /** A member channel has a free I/O object again for {@code io}. */
    final void resume(RaidIo io) {
        if (io.phase == BROADCAST) {
            broadcast(io);
        } else {
            proceed(io);
        }
    }

    @Override
    public final void onComplete(BdevIo child, boolean success, Object arg) {
        RaidIo io = (RaidIo) arg;
        io.pending--;
        if (io.phase == BROADCAST) {
            broadcastDone(io, child, success);
        } else {
            childDone(io, child, success);
        }
    }

    static BasaltException tooSmall(String what) {
        return new BasaltException(Errno.EINVAL, what);
    }

    // ------------------------------------------------------------------ children

    /**
     * Submits one child of {@code io} to {@code m} through channel {@code mch}: {@code type} over
     * member blocks [lba, lba+blocks), with the parent's buffer at {@code bufOff} for data types.
     * Returns false when the member channel has no free I/O; {@code io} then waits and
     * {@link #proceed} runs later, so the caller returns and the loop continues from its cursor.
     */
    final boolean child(RaidIo io, Member m, IoChannel mch, IoType type, MemorySegment buf, long bufOff, long lba,
                        long blocks) {
        BdevDesc d = m.desc;
        int rc = switch (type) {
            case READ -> d.read(mch, buf, bufOff, lba, blocks, this, io);
            case WRITE -> d.write(mch, buf, bufOff, lba, blocks, io.fua(), this, io);
            case UNMAP -> d.unmap(mch, lba, blocks, this, io);
            case WRITE_ZEROES -> d.writeZeroes(mch, lba, blocks, this, io);
            case FLUSH -> d.flush(mch, 0, 0, this, io);
            case RESET -> d.reset(mch, this, io);
            default -> throw new IllegalArgumentException("raid child of type " + type);
        };
        if (rc == -Errno.ENOMEM) {
            mch.waitForIo(io.waiter);
            return false;
        }
        io.pending++;
        return true;
    }

    /** Byte offset in the parent's buffer of raid block {@code raidLba}. */
    final long bufOffset(RaidIo io, long raidLba) {
        return io.bufferOffset() + (raidLba - io.offsetBlocks()) * blockSize;
    }

    /** Ends the I/O once its loop is done and no child is in flight. */
    static void maybeFinish(RaidIo io) {
        if (io.submitted && io.pending == 0) {
            io.finish();
        }
    }

    /**
     * A write to {@code m} failed: the member leaves the array (the array degrades, or goes
     * offline when too few are left); the rebuild target's failures rewind the rebuild instead.
     */
    final void writeFailed(RaidIo io, Member m, long raidLba) {
        bdev.memberIoFailed(m, io.channel().reactor(), raidLba);
    }

    /** The member of {@code io}'s channel (in service or rebuild target) that ran {@code child}. */
    static Member memberOf(RaidIo io, BdevIo child) {
        RaidChannel ch = io.ch;
        var b = child.bdev();
        for (Member m : ch.members) {
            if (m != null && m.bdev == b) {
                return m;
            }
        }
        Member t = ch.target;
        return t != null && t.bdev == b ? t : null;
    }

    // ------------------------------------------------------------------ flush and reset

    /**
     * FLUSH and RESET go to every member in service and to the rebuild target; the I/O fails if
     * one of them does. Resumable through {@link RaidIo#slotCursor}.
     */
    final void broadcast(RaidIo io) {
        RaidChannel ch = io.ch;
        for (; io.slotCursor <= n; io.slotCursor++) {
            Member m;
            IoChannel mch;
            if (io.slotCursor < n) {
                if (!ch.usable(io.slotCursor)) {
                    continue;
                }
                m = ch.members[io.slotCursor];
                mch = ch.chans[io.slotCursor];
            } else {
                m = ch.liveTarget();
                mch = ch.targetCh;
                if (m == null) {
                    continue;
                }
            }
            if (!child(io, m, mch, io.type(), null, 0, 0, 0)) {
                return;
            }
        }
        io.submitted = true;
        maybeFinish(io);
    }

    /** Completion of a broadcast child. */
    static void broadcastDone(RaidIo io, BdevIo child, boolean ok) {
        if (!ok) {
            io.recordFailure(child);
        }
        maybeFinish(io);
    }
}
