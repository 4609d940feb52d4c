package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.LockedRange;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;
import io.netty.util.concurrent.ScheduledFuture;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * The rebuild of one member of a raid1 or raid5f array (SPDK's raid_bdev_process), window by
 * window, as a state machine on the application reactor:
 * <ol>
 * <li>quiesce the window [offset, offset+window) of the raid bdev: client I/O overlapping it
 *     waits, I/O elsewhere goes on;</li>
 * <li>read it from the members in service (raid1: one copy, trying another member when a read
 *     fails; raid5f: every other member of the stripes, XORed into the target's strips) through
 *     their channels on this reactor;</li>
 * <li>write it to the target; on success move the progress past the window on every channel
 *     (writes below the progress are mirrored to the target, writes above are not) and release
 *     the window;</li>
 * <li>wait as long as process_max_bandwidth_mb_sec asks (a timer, never a sleep) and go on.</li>
 * </ol>
 * A failure (a read, the target's write, a client write mirrored to the target, no buffer) is
 * retried with backoff (10 ms doubling, at most {@value #MAX_ATTEMPTS} tries in a row); then it is
 * permanent: the rebuild stops, the target is released and the array stays degraded, with the
 * error in bdev_raid_get_bdevs. After the last window the target is flushed, then becomes a member
 * in service and the superblock says so.
 *
 * <p>Threading: application reactor only. The window's member I/O runs there too, on the
 * members' application-reactor channels.
 */
final class RaidProcess {
    private static final System.Logger LOG = System.getLogger(RaidProcess.class.getName());
    static final int MAX_ATTEMPTS = 6;
    private static final long BACKOFF_FIRST_MS = 10;
    private static final long BACKOFF_MAX_MS = 640;

    final RaidArray array;
    final RaidBdev bdev;
    final Member target;
    private final LevelModule logic;
    private final Reactor app;
    private final BufferPool pool;
    private final long window;
    private final long numBlocks;
    private final CompletableFuture<Void> finished = new CompletableFuture<>();

    /** Raid blocks below this are rebuilt. */
    private long offset;
    private long rewindTo = Long.MAX_VALUE;
    private int attempts;
    private long pacedUntil;
    private boolean running;
    private boolean ended;
    private ScheduledFuture<?> timer;
    private boolean stopRequested;
    private int stopErrno;
    private String stopWhy;
    private boolean stopPersist;
    /** The target has not got the array's superblock yet (it is written first, with retries). */
    private boolean superblockPending;

    // ---- the window in progress
    private LockedRange locked;
    private long wOff;
    private long wLen;
    private long mOff;
    private long mLen;
    private final DmaBuffer[] bufs;
    private DmaBuffer out;
    private int pending;
    private int cursor;
    private int failErrno;
    private String failWhy;
    private final boolean[] tried;
    private int source;

    RaidProcess(RaidArray array, RaidBdev bdev, Member target, long window) {
        this.array = array;
        this.bdev = bdev;
        this.target = target;
        this.logic = bdev.logic;
        this.app = bdev.layer().reactors().app();
        this.pool = bdev.layer().buffers();
        this.window = window;
        this.numBlocks = bdev.numBlocks();
        this.bufs = new DmaBuffer[logic.n];
        this.tried = new boolean[logic.n];
    }

    /** Raid blocks rebuilt so far. */
    long progress() {
        return offset;
    }

    /** Completes once the process has ended and the array took the target in or let it go. */
    CompletableFuture<Void> finished() {
        return finished;
    }

    void start() {
        app.assertInReactor();
        superblockPending = array.superblock;
        next();
    }

    /**
     * Asks the process to stop: at once between windows, else when the window in progress is
     * done. {@code persist}: the superblock records the target's slot as failed.
     */
    CompletableFuture<Void> stop(int errno, String why, boolean persist) {
        if (ended) {
            return finished;
        }
        if (!stopRequested) {
            stopRequested = true;
            stopErrno = errno;
            stopWhy = why;
            stopPersist = persist;
        }
        if (!running) {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
            end(error(stopErrno, stopWhy), stopPersist);
        }
        return finished;
    }

    /** The process could not even start. */
    void abort(int errno, String why) {
        end(error(errno, why), true);
    }

    /** A client write mirrored to the target failed at raid block {@code lba}: copy from there again. */
    void rewind(long lba) {
        long align = logic.processAlignment();
        rewindTo = Math.min(rewindTo, lba - lba % align);
    }

    // ------------------------------------------------------------------ windows

    private void next() {
        timer = null;
        if (ended) {
            return;
        }
        if (stopRequested) {
            end(error(stopErrno, stopWhy), stopPersist);
            return;
        }
        if (rewindTo < offset) {
            long to = rewindTo;
            rewindTo = Long.MAX_VALUE;
            if (!failed(Errno.EIO, "a write to " + target.name() + " below block " + offset + " failed")) {
                return;
            }
            offset = to;
            running = true;
            bdev.viewProcessOffset = to;
            bdev.syncChannels().whenComplete((v, t) -> {
                running = false;
                retryLater();
            });
            return;
        }
        rewindTo = Long.MAX_VALUE;
        if (superblockPending) {
            writeSuperblock();
            return;
        }
        if (offset >= numBlocks) {
            flushTarget();
            return;
        }
        long now = System.nanoTime();
        if (now < pacedUntil) {
            timer = app.schedule(this::next, pacedUntil - now, TimeUnit.NANOSECONDS);
            return;
        }
        wOff = offset;
        wLen = Math.min(window, numBlocks - offset);
        running = true;
        pace(now);
        bdev.quiesceRange(wOff, wLen).whenComplete((lr, t) -> {
            if (t != null) {
                running = false;
                if (failed(Errno.EIO, "quiesce failed: " + t)) {
                    retryLater();
                }
                return;
            }
            quiesced(lr);
        });
    }

    /**
     * Gives the target the array's superblock, in which its slot is "spare": a target restarted
     * in the middle of the rebuild knows it and starts the rebuild again.
     */
    private void writeSuperblock() {
        running = true;
        SuperblockIo.write(target.desc, target.appCh, pool, array.superblockBytes()).whenComplete((v, t) -> {
            running = false;
            if (t == null) {
                superblockPending = false;
                attempts = 0;
                next();
            } else if (failed(RaidModule.errno(t), RaidModule.detail(t))) {
                retryLater();
            }
        });
    }

    /** Spaces windows so that they stay under process_max_bandwidth_mb_sec. */
    private void pace(long now) {
        long mb = array.module.maxBandwidthMbSec();
        if (mb <= 0) {
            pacedUntil = 0;
            return;
        }
        long bytes = wLen * bdev.blockSize();
        long cost = (long) (bytes * 1e9 / (mb * 1048576.0));
        pacedUntil = Math.max(pacedUntil, now) + cost;
    }

    private void quiesced(LockedRange lr) {
        locked = lr;
        if (stopRequested) {
            windowDone(false);
            return;
        }
        if (logic instanceof Raid5f r5) {
            long s0 = wOff / r5.stripeBlocks;
            long stripes = wLen / r5.stripeBlocks;
            mOff = s0 * logic.strip;
            mLen = stripes * logic.strip;
        } else {
            mOff = wOff;
            mLen = wLen;
        }
        failErrno = 0;
        failWhy = null;
        int bytes = (int) (mLen * bdev.blockSize());
        out = pool.get(bytes);
        if (out == null) {
            fail(Errno.ENOMEM, "no buffer for a window of " + bytes + " bytes");
            windowDone(false);
            return;
        }
        if (logic instanceof Raid5f) {
            for (int i = 0; i < logic.n; i++) {
                if (source(i) != null && (bufs[i] = pool.get(bytes)) == null) {
                    fail(Errno.ENOMEM, "no buffer for a window of " + bytes + " bytes");
                    windowDone(false);
                    return;
                }
            }
            cursor = 0;
            readAll();
        } else {
            Arrays.fill(tried, false);
            readOne();
        }
    }

    /** The member in service in slot i, if it has not failed. */
    private Member source(int i) {
        Member m = array.slots[i].member;
        return m != null && !m.failed() && !m.detaching ? m : null;
    }

    // ---- raid1: one source at a time

    private void readOne() {
        source = -1;
        for (int i = 0; i < logic.n; i++) {
            if (!tried[i] && source(i) != null) {
                source = i;
                break;
            }
        }
        if (source < 0) {
            if (failWhy == null) {
                fail(Errno.ENODEV, "no member left to read from");
            }
            windowDone(false);
            return;
        }
        tried[source] = true;
        Member m = source(source);
        IoCallback cb = (io, ok, arg) -> {
            if (ok) {
                writeTarget();
            } else {
                fail(errnoOf(io), "reading blocks " + mOff + "+" + mLen + " of " + m.name() + " failed");
                readOne();
            }
        };
        submit(m.appCh, () -> m.desc.read(m.appCh, out.segment(), 0, m.dataOffset + mOff, mLen, cb, null));
    }

    // ---- raid5f: every other member, XORed

    private void readAll() {
        int sources = 0;
        for (int i = 0; i < logic.n; i++) {
            if (source(i) != null) {
                sources++;
            }
        }
        if (sources < logic.n - 1) {
            fail(Errno.ENODEV, "only " + sources + " of " + (logic.n - 1) + " members to read from");
            windowDone(false);
            return;
        }
        pending = sources;
        for (int i = 0; i < logic.n; i++) {
            Member m = source(i);
            if (m == null) {
                continue;
            }
            DmaBuffer b = bufs[i];
            IoCallback cb = (io, ok, arg) -> {
                if (!ok) {
                    fail(errnoOf(io), "reading blocks " + mOff + "+" + mLen + " of " + m.name() + " failed");
                }
                if (--pending == 0) {
                    if (failWhy != null) {
                        windowDone(false);
                    } else {
                        xorSources();
                        writeTarget();
                    }
                }
            };
            submit(m.appCh, () -> m.desc.read(m.appCh, b.segment(), 0, m.dataOffset + mOff, mLen, cb, null));
        }
    }

    private void xorSources() {
        long len = mLen * bdev.blockSize();
        MemorySegment dst = out.segment();
        boolean first = true;
        for (DmaBuffer b : bufs) {
            if (b == null) {
                continue;
            }
            if (first) {
                MemorySegment.copy(b.segment(), 0, dst, 0, len);
                first = false;
            } else {
                Raid5f.xor(dst, 0, b.segment(), 0, len);
            }
        }
    }

    // ---- the target

    private void writeTarget() {
        if (target.failed()) {
            fail(Errno.ENODEV, "rebuild target " + target.name() + " failed");
            windowDone(false);
            return;
        }
        IoCallback cb = (io, ok, arg) -> {
            if (!ok) {
                fail(errnoOf(io), "writing blocks " + mOff + "+" + mLen + " to " + target.name() + " failed");
            }
            windowDone(ok);
        };
        submit(target.appCh, () -> target.desc.write(target.appCh, out.segment(), 0, target.dataOffset + mOff, mLen,
                cb, null));
    }

    private void windowDone(boolean ok) {
        releaseBuffers();
        LockedRange lr = locked;
        locked = null;
        if (ok) {
            long done = wOff + wLen;
            bdev.viewProcessOffset = done;
            bdev.syncChannels().thenCompose(v -> bdev.unquiesceRange(lr)).whenComplete((v, t) -> {
                running = false;
                offset = done;
                attempts = 0;
                next();
            });
            return;
        }
        CompletableFuture<Void> released = lr != null ? bdev.unquiesceRange(lr) : CompletableFuture.completedFuture(null);
        released.whenComplete((v, t) -> {
            running = false;
            if (stopRequested) {
                next();
            } else if (failed(failErrno, failWhy)) {
                retryLater();
            }
        });
    }

    /** Every window is copied: makes the target durable before it counts as a member. */
    private void flushTarget() {
        running = true;
        IoCallback cb = (io, ok, arg) -> {
            running = false;
            if (ok && !stopRequested) {
                end(null, true);
            } else if (ok) {
                next();
            } else if (failed(errnoOf(io), "flushing " + target.name() + " failed")) {
                retryLater();
            }
        };
        submit(target.appCh, () -> target.desc.flush(target.appCh, 0, 0, cb, null));
    }

    private void releaseBuffers() {
        for (int i = 0; i < bufs.length; i++) {
            if (bufs[i] != null) {
                pool.put(bufs[i]);
                bufs[i] = null;
            }
        }
        if (out != null) {
            pool.put(out);
            out = null;
        }
    }

    // ------------------------------------------------------------------ failures

    private void fail(int errno, String why) {
        if (failWhy == null) {
            failErrno = errno;
            failWhy = why;
        }
    }

    /** Counts a failed try; false (and the process ended) once they are used up. */
    private boolean failed(int errno, String why) {
        attempts++;
        if (attempts >= MAX_ATTEMPTS) {
            LOG.log(System.Logger.Level.ERROR, "raid bdev " + array.name + ": rebuild onto " + target.name()
                    + " failed " + attempts + " times in a row, giving up: " + why);
            end(error(errno == 0 ? Errno.EIO : errno, why + " (" + attempts + " attempts)"), true);
            return false;
        }
        LOG.log(System.Logger.Level.WARNING, "raid bdev " + array.name + ": rebuild onto " + target.name() + ": " + why
                + "; retrying in " + backoffMillis() + " ms (attempt " + attempts + " of " + MAX_ATTEMPTS + ")");
        return true;
    }

    private long backoffMillis() {
        return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS << Math.max(0, attempts - 1));
    }

    private void retryLater() {
        if (stopRequested) {
            next();
            return;
        }
        timer = app.schedule(this::next, backoffMillis(), TimeUnit.MILLISECONDS);
    }

    private ObjectNode error(int errno, String why) {
        ObjectNode e = Json.object();
        e.put("type", "rebuild");
        e.put("target", target.name());
        e.put("code", -Math.abs(errno));
        e.put("message", Errno.text(errno) + ": " + why);
        return e;
    }

    private void end(ObjectNode error, boolean persist) {
        if (ended) {
            return;
        }
        ended = true;
        releaseBuffers();
        array.processEnded(this, error, persist).whenComplete((v, t) -> {
            if (t != null) {
                LOG.log(System.Logger.Level.ERROR, "raid bdev " + array.name + ": ending the rebuild failed", t);
            }
            finished.complete(null);
        });
    }

    private static int errnoOf(BdevIo io) {
        return io.errno() != 0 ? io.errno() : Errno.EIO;
    }

    private static void submit(IoChannel ch, IntSupplier submit) {
        SuperblockIo.submit(ch, submit);
    }
}
