package io.basalt.bdev.raid;

import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoWaiter;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

/**
 * The per-I/O state of a raid bdev (SPDK's raid_bdev_io), allocated once per pooled I/O object
 * and reused: children in flight, the first failure, resumable cursors for submission loops that
 * run out of member I/O objects, and the fields the levels need (raid1's read retries, raid5f's
 * stripe operation and its stripe lock).
 *
 * <p>Threading: touched only on the reactor of the I/O's channel, except while it travels as a
 * stripe-lock message ({@link #run}), when the owner reactor of the stripe holds it and its
 * origin does not touch it.
 */
final class RaidIo extends BdevIo implements Runnable {
    final LevelModule level;

    RaidChannel ch;
    /** Children submitted and not yet completed. */
    int pending;
    /** The current submission loop has submitted everything it will. */
    boolean submitted;
    /** First failure of a child that fails the whole I/O. */
    IoStatus failStatus;
    int failErrno;
    /** Raid block where the submission loop continues. */
    long cursor;
    /** Slot where a per-slot loop continues. */
    int slotCursor;
    /** What the level is doing (its own constants). */
    int phase;

    // ---- raid1
    int readSlot;
    final boolean[] tried;
    final boolean[] readFailed;
    int okCount;

    // ---- raid5f stripe operation
    long stripe;
    /** In-stripe raid blocks of the operation: [opStart, opEnd). */
    long opStart;
    long opEnd;
    /** In-strip member range the operation reads, computes and writes parity over. */
    long r0;
    long r1;
    /** The slot that cannot be read in this operation (missing, failed or rebuild target), or -1. */
    int blind;
    /** Slot whose reconstructed data is written back after a read error, or -1. */
    int writeBack;
    /** The write reconstructs the blind chunk's old data from the old parity. */
    boolean reconstruct;
    /** Members of this operation's stripe that failed a write (not counting the rebuild target). */
    int lostWrites;
    /** Per slot buffer of the operation, from the pool (null when unused). */
    final DmaBuffer[] bufs;
    /** The slot to avoid after a read error (treated as unreadable when the I/O restarts), or -1. */
    int avoid;
    /** Stripe lock held or requested. */
    StripeLocks.Lock lock;
    /** Next I/O waiting for the same stripe (on the lock's owner). */
    RaidIo lockNext;
    long lockStripe;
    int lockMsg;
    Reactor origin;

    /** Resumes the submission loop once a member channel has an I/O object again. */
    final IoWaiter waiter = new IoWaiter() {
        @Override
        public void ioAvailable() {
            level.resume(RaidIo.this);
        }
    };

    RaidIo(LevelModule level, int n) {
        this.level = level;
        this.tried = new boolean[n];
        this.readFailed = new boolean[n];
        this.bufs = new DmaBuffer[n];
    }

    /** Fresh state for a new request. */
    void start(RaidChannel ch) {
        this.ch = ch;
        pending = 0;
        submitted = false;
        failStatus = null;
        failErrno = 0;
        cursor = offsetBlocks();
        slotCursor = 0;
        phase = 0;
        okCount = 0;
        blind = -1;
        writeBack = -1;
        avoid = -1;
        lostWrites = 0;
        lock = null;
        origin = ch.reactor;
    }

    /** Records a failed child; the first one decides how the I/O ends. */
    void recordFailure(BdevIo child) {
        if (failStatus == null) {
            IoStatus s = child.status();
            // A member's NVMe status means nothing to the raid's users: it is a media error here.
            failStatus = s == IoStatus.SUCCESS || s == IoStatus.NVME_ERROR ? IoStatus.FAILED : s;
            failErrno = s == IoStatus.FAILED ? child.errno() : 0;
        }
    }

    void recordFailure(IoStatus s, int errno) {
        if (failStatus == null) {
            failStatus = s;
            failErrno = errno;
        }
    }

    /** End of the raid I/O: the recorded failure, or success. */
    void finish() {
        IoStatus s = failStatus;
        if (s == null) {
            complete(IoStatus.SUCCESS);
        } else if (s == IoStatus.FAILED) {
            fail(failErrno == 0 ? Errno.EIO : failErrno);
        } else {
            complete(s);
        }
    }

    long end() {
        return offsetBlocks() + numBlocks();
    }

    /** Stripe-lock message: a request on the stripe's owner, or a grant back on the origin. */
    @Override
    public void run() {
        ((Raid5f) level).lockMessage(this);
    }
}
