package io.basalt.bdev.raid;

import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;
import io.basalt.runtime.ReactorGroup;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * raid5f: n members, n−1 data strips and one parity strip per stripe; stripe s is at member
 * offset s·strip and its parity is on member (n−1) − (s mod n) (SPDK's layout); data chunk j of
 * the stripe is on member j, or j+1 from the parity member on.
 *
 * <p>Reads of a healthy array go straight to the data strips, all pieces in flight together.
 * Everything that depends on the stripe being consistent runs one stripe at a time, holding the
 * stripe's lock ({@link StripeLocks}):
 * <ul>
 * <li>A write of a whole stripe computes the parity from the new data and writes the n strips.
 * <li>A write of part of a stripe (SPDK refuses those; Basalt accepts them) reads the rest of the
 *     stripe over the strip range R it touches, overlays the new data and writes the new data
 *     and the parity recomputed over R. The old parity is read only to reconstruct a chunk that
 *     cannot be read, so a stripe is consistent after any write, even on members that were never
 *     zeroed.
 * <li>A read of a chunk that cannot be read (its member is missing or failed, or is the rebuild
 *     target) is reconstructed: the XOR of the other n−1 strips over the requested range.
 * </ul>
 * A member read that fails with a media error makes the stripe operation start again with that
 * member treated as unreadable; a read reconstructed that way is written back to it (as raid1
 * does). A member that fails a write is failed; the write still succeeds when its stripe has lost
 * at most one member, since parity covers it. The rebuild target is written only below the
 * rebuild's progress.
 */
final class Raid5f extends LevelModule {
    private static final int R_FAST = 1;
    private static final int R_DIRECT = 2;
    private static final int R_RECON = 3;
    private static final int R_WRITE_BACK = 4;
    private static final int W_READ = 5;
    private static final int W_WRITE = 6;

    /** Data chunks per stripe. */
    private final int k;
    /** Raid blocks per stripe. */
    final long stripeBlocks;
    private StripeLocks locks;
    private BufferPool pool;

    Raid5f(int n, long strip, int blockSize) {
        super(RaidLevel.RAID5F, n, strip, blockSize);
        this.k = n - 1;
        this.stripeBlocks = strip * k;
    }

    @Override
    void bind(RaidBdev bdev, ReactorGroup reactors) {
        super.bind(bdev, reactors);
        this.locks = new StripeLocks(reactors);
        this.pool = reactors.buffers();
    }

    StripeLocks locks() {
        return locks;
    }

    @Override
    long size(long[] dataSizes) {
        long min = Long.MAX_VALUE;
        for (long s : dataSizes) {
            min = Math.min(min, s);
        }
        long stripes = min / strip;
        if (stripes == 0) {
            throw tooSmall("members are smaller than one strip of " + strip + " blocks");
        }
        Arrays.fill(dataSizes, stripes * strip);
        return stripes * stripeBlocks;
    }

    @Override
    boolean supportsNullPayload() {
        return false;
    }

    @Override
    int optimalIoBoundary() {
        return (int) Math.min(stripeBlocks, Integer.MAX_VALUE);
    }

    @Override
    long processAlignment() {
        return stripeBlocks;
    }

    // ------------------------------------------------------------------ layout

    int parity(long s) {
        return (int) ((n - 1) - (s % n));
    }

    int slotOfChunk(long s, int j) {
        return j < parity(s) ? j : j + 1;
    }

    int chunkOfSlot(long s, int i) {
        return i < parity(s) ? i : i - 1;
    }

    /** Chunk j of the current operation's stripe holds some of the operation's blocks. */
    private boolean touched(RaidIo io, int j) {
        return Math.max(io.opStart, j * strip) < Math.min(io.opEnd, (j + 1) * strip);
    }

    /** The operation's new data covers chunk j over the whole range R. */
    private boolean covered(RaidIo io, int j) {
        return io.opStart <= j * strip + io.r0 && j * strip + io.r1 <= io.opEnd;
    }

    /**
     * The one slot of the operation that cannot be read (-1 if none; -2 if more than one, which
     * leaves the stripe unreadable).
     */
    private int findBlind(RaidIo io) {
        RaidChannel ch = io.ch;
        int blind = -1;
        for (int i = 0; i < n; i++) {
            if (!ch.usable(i) || i == io.avoid) {
                if (blind >= 0) {
                    return -2;
                }
                blind = i;
            }
        }
        return blind;
    }

    /** Slot i can be written for stripe s: in service, or the rebuild target below its progress. */
    private boolean writable(RaidIo io, int i, long s) {
        RaidChannel ch = io.ch;
        if (ch.usable(i)) {
            return true;
        }
        Member t = ch.liveTarget();
        return t != null && t.slot == i && (s + 1) * stripeBlocks <= ch.processOffset;
    }

    private static Member writeMember(RaidChannel ch, int i) {
        return ch.usable(i) ? ch.members[i] : ch.target;
    }

    private static IoChannel writeChannel(RaidChannel ch, int i) {
        return ch.usable(i) ? ch.chans[i] : ch.targetCh;
    }

    // ------------------------------------------------------------------ entry

    @Override
    void submit(RaidIo io) {
        if (io.type() == IoType.READ && findBlind(io) == -1) {
            io.phase = R_FAST;
            fastRead(io);
        } else if (io.type() == IoType.READ || io.type() == IoType.WRITE) {
            nextStripe(io);
        } else {
            io.fail(Errno.EOPNOTSUPP);
        }
    }

    @Override
    void proceed(RaidIo io) {
        switch (io.phase) {
            case R_FAST -> fastRead(io);
            case R_DIRECT, R_RECON -> stripeReadLoop(io);
            case R_WRITE_BACK -> writeBackLoop(io);
            case W_READ -> writeReadLoop(io);
            default -> writeLoop(io);
        }
    }

    @Override
    void childDone(RaidIo io, BdevIo child, boolean ok) {
        switch (io.phase) {
            case R_FAST -> {
                if (!ok) {
                    readFailed(io, child);
                }
                if (io.submitted && io.pending == 0) {
                    if (io.failStatus == null && io.avoid >= 0) {
                        // A member failed a read: do the I/O again, reconstructing that member's part.
                        io.cursor = io.offsetBlocks();
                        nextStripe(io);
                    } else {
                        io.finish();
                    }
                }
            }
            case R_DIRECT, R_RECON, W_READ -> {
                if (!ok) {
                    readFailed(io, child);
                }
                if (io.submitted && io.pending == 0) {
                    if (io.phase == W_READ) {
                        writeReadDone(io);
                    } else {
                        stripeReadDone(io);
                    }
                }
            }
            case R_WRITE_BACK -> {
                if (!ok) {
                    Member m = memberOf(io, child);
                    if (m != null) {
                        writeFailed(io, m, io.stripe * stripeBlocks);
                    }
                }
                if (io.submitted && io.pending == 0) {
                    stripeDone(io);
                }
            }
            default -> {
                if (!ok) {
                    Member m = memberOf(io, child);
                    if (m != null && m == io.ch.target) {
                        writeFailed(io, m, io.stripe * stripeBlocks);
                    } else if (m != null && Raid1.isMediaError(child)) {
                        writeFailed(io, m, io.stripe * stripeBlocks);
                        io.lostWrites++;
                    } else {
                        io.recordFailure(child);
                    }
                }
                if (io.submitted && io.pending == 0) {
                    writeDone(io);
                }
            }
        }
    }

    /** A member read failed: with a media error and no other unreadable member, retry around it. */
    private void readFailed(RaidIo io, BdevIo child) {
        Member m = memberOf(io, child);
        if (m != null && Raid1.isMediaError(child)) {
            slotUnreadable(io, m.slot);
        } else {
            io.recordFailure(child);
        }
    }

    private static void slotUnreadable(RaidIo io, int slot) {
        if (io.avoid == -1 && io.blind == -1) {
            io.avoid = slot;
        } else if (io.avoid != slot && io.blind != slot) {
            io.recordFailure(IoStatus.FAILED, Errno.EIO);
        }
    }

    /** Starts a phase's submission loop. */
    private static void beginPhase(RaidIo io, int phase) {
        io.phase = phase;
        io.slotCursor = 0;
        io.submitted = false;
    }

    // ------------------------------------------------------------------ healthy reads

    private void fastRead(RaidIo io) {
        RaidChannel ch = io.ch;
        long end = io.end();
        while (io.cursor < end) {
            long lba = io.cursor;
            long s = lba / stripeBlocks;
            long o = lba % stripeBlocks;
            int j = (int) (o / strip);
            long x = o % strip;
            long len = Math.min(end - lba, strip - x);
            int slot = slotOfChunk(s, j);
            if (!ch.usable(slot)) {
                slotUnreadable(io, slot);
            } else {
                Member m = ch.members[slot];
                if (!child(io, m, ch.chans[slot], IoType.READ, io.buffer(), bufOffset(io, lba),
                        m.dataOffset + s * strip + x, len)) {
                    return;
                }
            }
            io.cursor = lba + len;
        }
        io.submitted = true;
        if (io.pending == 0) {
            if (io.failStatus == null && io.avoid >= 0) {
                io.cursor = io.offsetBlocks();
                nextStripe(io);
            } else {
                io.finish();
            }
        }
    }

    // ------------------------------------------------------------------ stripe operations

    /** Plans and starts the operation on the stripe at {@link RaidIo#cursor}, or ends the I/O. */
    private void nextStripe(RaidIo io) {
        long end = io.end();
        if (io.failStatus != null || io.cursor >= end) {
            io.finish();
            return;
        }
        long s = io.cursor / stripeBlocks;
        io.stripe = s;
        io.opStart = io.cursor - s * stripeBlocks;
        io.opEnd = Math.min(end, (s + 1) * stripeBlocks) - s * stripeBlocks;
        io.lostWrites = 0;
        int blind = findBlind(io);
        if (blind == -2) {
            io.recordFailure(IoStatus.FAILED, Errno.EIO);
            io.finish();
            return;
        }
        io.blind = blind;
        if (io.type() == IoType.READ) {
            planRead(io);
        } else {
            planWrite(io);
        }
    }

    private void planRead(RaidIo io) {
        long s = io.stripe;
        int blind = io.blind;
        if (blind < 0 || blind == parity(s) || !touched(io, chunkOfSlot(s, blind))) {
            beginPhase(io, R_DIRECT);
            stripeReadLoop(io);
            return;
        }
        int cb = chunkOfSlot(s, blind);
        io.r0 = Math.max(io.opStart, cb * strip) - cb * strip;
        io.r1 = Math.min(io.opEnd, (cb + 1) * strip) - cb * strip;
        for (int i = 0; i < n; i++) {
            if (i != blind && !takeBuffer(io, i)) {
                return;
            }
        }
        io.phase = R_RECON;
        lockThenRun(io);
    }

    private void planWrite(RaidIo io) {
        long s = io.stripe;
        int p = parity(s);
        int j0 = (int) (io.opStart / strip);
        int j1 = (int) ((io.opEnd - 1) / strip);
        if (j0 == j1) {
            io.r0 = io.opStart - j0 * strip;
            io.r1 = io.opEnd - j0 * strip;
        } else {
            io.r0 = 0;
            io.r1 = strip;
        }
        int blind = io.blind;
        if (!writable(io, p, s)) {
            // No parity to keep: write the data, nothing to read.
            io.reconstruct = false;
            io.phase = W_WRITE;
            lockThenRun(io);
            return;
        }
        int cm = blind >= 0 && blind != p ? chunkOfSlot(s, blind) : -1;
        io.reconstruct = cm >= 0 && !covered(io, cm);
        for (int i = 0; i < n; i++) {
            boolean need = i == p || needsRead(io, i) || (io.reconstruct && i == blind);
            if (need && !takeBuffer(io, i)) {
                return;
            }
        }
        io.phase = W_READ;
        lockThenRun(io);
    }

    /** Whether the write operation reads slot i's old strip over R. */
    private boolean needsRead(RaidIo io, int i) {
        long s = io.stripe;
        if (i == parity(s)) {
            return io.reconstruct;
        }
        if (i == io.blind) {
            return false;
        }
        return io.reconstruct || !covered(io, chunkOfSlot(s, i));
    }

    /**
     * Takes the buffer of slot i (R's size) from the pool. When the pool is dry, gives back what
     * the operation holds and plans the stripe again a little later (no lock is held yet).
     */
    private boolean takeBuffer(RaidIo io, int i) {
        DmaBuffer b = pool.get((int) ((io.r1 - io.r0) * blockSize));
        if (b == null) {
            releaseBuffers(io);
            io.ch.reactor.schedule(() -> nextStripe(io), 1, TimeUnit.MILLISECONDS);
            return false;
        }
        io.bufs[i] = b;
        return true;
    }

    private void releaseBuffers(RaidIo io) {
        for (int i = 0; i < n; i++) {
            if (io.bufs[i] != null) {
                pool.put(io.bufs[i]);
                io.bufs[i] = null;
            }
        }
    }

    private void lockThenRun(RaidIo io) {
        if (locks.acquire(io, io.stripe)) {
            granted(io);
        }
    }

    /** From {@link RaidIo#run}: a lock request on the stripe's owner, or the grant on the I/O's reactor. */
    void lockMessage(RaidIo io) {
        if (io.lockMsg == StripeLocks.REQUEST) {
            locks.onRequest(io);
        } else {
            granted(io);
        }
    }

    private void granted(RaidIo io) {
        int phase = io.phase;
        beginPhase(io, phase);
        switch (phase) {
            case R_RECON -> stripeReadLoop(io);
            case W_READ -> writeReadLoop(io);
            default -> writeLoop(io);
        }
    }

    /** Gives back the stripe's buffers and lock. */
    private void endStripeOp(RaidIo io) {
        releaseBuffers(io);
        if (io.lock != null) {
            locks.release(io);
        }
    }

    /** The stripe is done: on to the next one. */
    private void stripeDone(RaidIo io) {
        endStripeOp(io);
        io.cursor = io.stripe * stripeBlocks + io.opEnd;
        nextStripe(io);
    }

    // ------------------------------------------------------------------ degraded reads

    /**
     * Steps 0..k-1 read the requested part of each readable data chunk straight into the user's
     * buffer; for R_RECON steps k..k+n-1 read every other slot over the blind chunk's range.
     */
    private void stripeReadLoop(RaidIo io) {
        RaidChannel ch = io.ch;
        long s = io.stripe;
        int steps = k + (io.phase == R_RECON ? n : 0);
        for (; io.slotCursor < steps; io.slotCursor++) {
            int st = io.slotCursor;
            if (st < k) {
                long c0 = Math.max(io.opStart, st * strip);
                long c1 = Math.min(io.opEnd, (st + 1) * strip);
                int slot = slotOfChunk(s, st);
                if (c0 >= c1 || slot == io.blind) {
                    continue;
                }
                if (!ch.usable(slot)) {
                    slotUnreadable(io, slot);
                    continue;
                }
                Member m = ch.members[slot];
                if (!child(io, m, ch.chans[slot], IoType.READ, io.buffer(), bufOffset(io, s * stripeBlocks + c0),
                        m.dataOffset + s * strip + (c0 - st * strip), c1 - c0)) {
                    return;
                }
            } else if (st - k != io.blind && !readStrip(io, st - k)) {
                return;
            }
        }
        io.submitted = true;
        if (io.pending == 0) {
            stripeReadDone(io);
        }
    }

    /** Reads slot i's strip over R into its buffer; false when the loop must stop (no free I/O). */
    private boolean readStrip(RaidIo io, int i) {
        RaidChannel ch = io.ch;
        if (!ch.usable(i)) {
            slotUnreadable(io, i);
            return true;
        }
        Member m = ch.members[i];
        return child(io, m, ch.chans[i], IoType.READ, io.bufs[i].segment(), 0,
                m.dataOffset + io.stripe * strip + io.r0, io.r1 - io.r0);
    }

    /**
     * The operation's reads are in. True when they decided its fate: a failure ends the I/O, a
     * member that failed a read makes the stripe be planned again around it.
     */
    private boolean readsEnded(RaidIo io) {
        if (io.failStatus != null) {
            endStripeOp(io);
            io.finish();
            return true;
        }
        if (io.avoid >= 0 && io.avoid != io.blind) {
            endStripeOp(io);
            nextStripe(io);
            return true;
        }
        return false;
    }

    private void stripeReadDone(RaidIo io) {
        if (readsEnded(io)) {
            return;
        }
        if (io.phase == R_RECON) {
            long s = io.stripe;
            int cb = chunkOfSlot(s, io.blind);
            long dst = bufOffset(io, s * stripeBlocks + cb * strip + io.r0);
            long len = (io.r1 - io.r0) * blockSize;
            boolean first = true;
            for (int i = 0; i < n; i++) {
                if (i == io.blind) {
                    continue;
                }
                if (first) {
                    MemorySegment.copy(io.bufs[i].segment(), 0, io.buffer(), dst, len);
                    first = false;
                } else {
                    xor(io.buffer(), dst, io.bufs[i].segment(), 0, len);
                }
            }
            if (io.blind == io.avoid && io.ch.usable(io.blind)) {
                beginPhase(io, R_WRITE_BACK);
                writeBackLoop(io);
                return;
            }
        }
        stripeDone(io);
    }

    /** Writes the data reconstructed for a member that failed a read back to it. */
    private void writeBackLoop(RaidIo io) {
        RaidChannel ch = io.ch;
        if (io.slotCursor == 0) {
            long s = io.stripe;
            int b = io.blind;
            int cb = chunkOfSlot(s, b);
            Member m = ch.members[b];
            if (!child(io, m, ch.chans[b], IoType.WRITE, io.buffer(),
                    bufOffset(io, s * stripeBlocks + cb * strip + io.r0), m.dataOffset + s * strip + io.r0,
                    io.r1 - io.r0)) {
                return;
            }
            io.slotCursor = 1;
        }
        io.submitted = true;
        if (io.pending == 0) {
            stripeDone(io);
        }
    }

    // ------------------------------------------------------------------ writes

    private void writeReadLoop(RaidIo io) {
        for (; io.slotCursor < n; io.slotCursor++) {
            if (needsRead(io, io.slotCursor) && !readStrip(io, io.slotCursor)) {
                return;
            }
        }
        io.submitted = true;
        if (io.pending == 0) {
            writeReadDone(io);
        }
    }

    /** Old data (and parity) are in; computes the stripe's new parity over R and writes. */
    private void writeReadDone(RaidIo io) {
        if (readsEnded(io)) {
            return;
        }
        long s = io.stripe;
        int p = parity(s);
        long len = (io.r1 - io.r0) * blockSize;
        if (io.reconstruct) {
            // The blind chunk's old data = old parity ^ every other old data chunk.
            MemorySegment rec = io.bufs[io.blind].segment();
            MemorySegment.copy(io.bufs[p].segment(), 0, rec, 0, len);
            for (int i = 0; i < n; i++) {
                if (i != p && i != io.blind) {
                    xor(rec, 0, io.bufs[i].segment(), 0, len);
                }
            }
        }
        MemorySegment par = io.bufs[p].segment();
        for (int j = 0; j < k; j++) {
            int i = slotOfChunk(s, j);
            MemorySegment src;
            long srcOff;
            if (covered(io, j)) {
                src = io.buffer();
                srcOff = bufOffset(io, s * stripeBlocks + j * strip + io.r0);
            } else {
                // Old data in the buffer, with the new data laid over the part the write touches.
                src = io.bufs[i].segment();
                srcOff = 0;
                if (touched(io, j)) {
                    long t0 = Math.max(io.opStart, j * strip) - j * strip;
                    long t1 = Math.min(io.opEnd, (j + 1) * strip) - j * strip;
                    MemorySegment.copy(io.buffer(), bufOffset(io, s * stripeBlocks + j * strip + t0), src,
                            (t0 - io.r0) * blockSize, (t1 - t0) * blockSize);
                }
            }
            if (j == 0) {
                MemorySegment.copy(src, srcOff, par, 0, len);
            } else {
                xor(par, 0, src, srcOff, len);
            }
        }
        beginPhase(io, W_WRITE);
        writeLoop(io);
    }

    /** Writes the touched data chunks (from the user's buffer) and the parity over R. */
    private void writeLoop(RaidIo io) {
        RaidChannel ch = io.ch;
        long s = io.stripe;
        int p = parity(s);
        for (; io.slotCursor < n; io.slotCursor++) {
            int i = io.slotCursor;
            if (!writable(io, i, s)) {
                continue;
            }
            Member m = writeMember(ch, i);
            IoChannel mch = writeChannel(ch, i);
            if (i == p) {
                if (io.bufs[p] == null) {
                    continue;
                }
                if (!child(io, m, mch, IoType.WRITE, io.bufs[p].segment(), 0, m.dataOffset + s * strip + io.r0,
                        io.r1 - io.r0)) {
                    return;
                }
            } else {
                int j = chunkOfSlot(s, i);
                if (!touched(io, j)) {
                    continue;
                }
                long t0 = Math.max(io.opStart, j * strip) - j * strip;
                long t1 = Math.min(io.opEnd, (j + 1) * strip) - j * strip;
                if (!child(io, m, mch, IoType.WRITE, io.buffer(), bufOffset(io, s * stripeBlocks + j * strip + t0),
                        m.dataOffset + s * strip + t0, t1 - t0)) {
                    return;
                }
            }
        }
        io.submitted = true;
        if (io.pending == 0) {
            writeDone(io);
        }
    }

    private void writeDone(RaidIo io) {
        int lost = io.lostWrites + (io.blind >= 0 && !writable(io, io.blind, io.stripe) ? 1 : 0);
        if (lost > 1) {
            io.recordFailure(IoStatus.FAILED, Errno.EIO);
        }
        stripeDone(io);
    }

    // ------------------------------------------------------------------ xor

    /** dst[dOff, +len) ^= src[sOff, +len); len is a multiple of 8 (whole blocks). */
    static void xor(MemorySegment dst, long dOff, MemorySegment src, long sOff, long len) {
        for (long i = 0; i < len; i += 8) {
            long v = dst.get(ValueLayout.JAVA_LONG_UNALIGNED, dOff + i) ^ src.get(ValueLayout.JAVA_LONG_UNALIGNED, sOff + i);
            dst.set(ValueLayout.JAVA_LONG_UNALIGNED, dOff + i, v);
        }
    }
}
