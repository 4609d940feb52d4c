package io.basalt.bdev.aio;

import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * An aio bdev's per-reactor channel context: its engine, the table of its I/O by tag, and the
 * rules for reading results. The rules are the point of this class (field failure S2 came from
 * getting them wrong):
 * <ul>
 *   <li>a positive result is progress, never an error: a short read or write continues with the
 *       rest of the request until it is all done;</li>
 *   <li>0 bytes for a read means the file ended before the bdev (it shrank under us): EIO;</li>
 *   <li>-EAGAIN, -EINTR and -ENOMEM (and -EBUSY when submitting) are transient: the I/O goes back
 *       to the bdev layer's out-of-memory retry ({@link IoStatus#NOMEM}), never to the caller;</li>
 *   <li>any other negative result fails the I/O with that errno, logged once with the request
 *       (at most ten lines a second per channel; the rest are counted in the next line).</li>
 * </ul>
 *
 * <p>Threading: the channel's reactor only.
 */
final class AioChannel implements AioEngine.Completion {
    private static final System.Logger LOG = System.getLogger(AioChannel.class.getName());
    /** Largest read or write handed to the kernel at once; longer ones continue like short ones. */
    static final long MAX_CHUNK = 1L << 30;
    /** Tags travel in io_uring's 16-bit user data. */
    private static final int MAX_TAGS = 1 << 16;
    private static final long LOG_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int LOGS_PER_WINDOW = 10;

    private final AioBdev bdev;
    private final Reactor reactor;
    private final AioEngine engine;
    private AioIo[] table = new AioIo[64];
    private int tags;
    private int opsInFlight;
    /** RESETs, the first one waiting for I/O in progress when it started (rare: allocation is fine). */
    private final ArrayDeque<AioIo> resets = new ArrayDeque<>();
    private boolean resetActive;
    private int resetWaitsFor;
    private long logWindowStart;
    private int logsInWindow;
    private int suppressed;

    AioChannel(AioBdev bdev, Reactor reactor, AioEngine.Factory engines) {
        this.bdev = bdev;
        this.reactor = reactor;
        this.engine = engine(bdev, reactor, engines, this);
    }

    /** The channel's engine; one that refuses everything if the reactor's ring is shutting down. */
    private static AioEngine engine(AioBdev bdev, Reactor reactor, AioEngine.Factory engines, AioChannel sink) {
        try {
            return engines.create(reactor, sink);
        } catch (RuntimeException e) {
            // Throwing here would leave the bdev layer's channel half made.
            LOG.log(System.Logger.Level.ERROR, "aio bdev " + bdev.name() + ": no " + engines.kind() + " engine on "
                    + reactor + "; its I/O there fails", e);
            return new AioEngine() {
                @Override
                public int submit(int tag, int op, int fd, long offset, long address, long length, int flags) {
                    return -Errno.ENXIO;
                }

                @Override
                public void close() {
                }
            };
        }
    }

    /** Starts an I/O the bdev layer validated. */
    void submit(AioIo io) {
        if (io.tag < 0) {
            addTag(io);
        }
        io.done = 0;
        if (io.type() == IoType.RESET) {
            resets.add(io);
            if (!resetActive) {
                startReset();
            }
            return;
        }
        io.inProgress = true;
        switch (io.type()) {
            case READ, WRITE -> {
                if (!io.buffer().isNative()) {
                    fail(io, Errno.EFAULT, "the buffer is not native memory");
                    return;
                }
                transfer(io);
            }
            case FLUSH -> start(io, AioEngine.FSYNC, 0, 0, 0, AioEngine.FSYNC_DATASYNC);
            case UNMAP -> start(io, AioEngine.FALLOCATE, io.offsetBytes(), 0, io.lengthBytes(), bdev.unmapMode());
            case WRITE_ZEROES -> start(io, AioEngine.FALLOCATE, io.offsetBytes(), 0, io.lengthBytes(),
                    bdev.writeZeroesMode());
            default -> fail(io, Errno.EOPNOTSUPP, "not supported");
        }
    }

    /**
     * File I/O cannot be taken back: a RESET completes once the I/O in progress on this channel
     * when it started has completed. Later I/O does not hold it up, so it cannot starve under
     * load. RESETs run one after the other.
     */
    private void startReset() {
        resetActive = true;
        resetWaitsFor = 0;
        for (int i = 0; i < tags; i++) {
            AioIo io = table[i];
            if (io.inProgress) {
                io.resetWaits = true;
                resetWaitsFor++;
            }
        }
        if (resetWaitsFor == 0) {
            finishReset();
        }
    }

    private void finishReset() {
        AioIo r = resets.poll();
        resetActive = false;
        r.complete(IoStatus.SUCCESS);
        // Its callback may have submitted (and started) another RESET already.
        if (!resetActive && !resets.isEmpty()) {
            startReset();
        }
    }

    private void end(AioIo io, IoStatus status) {
        end(io, status, 0);
    }

    /** Ends an I/O (not a RESET); every completion goes through here. */
    private void end(AioIo io, IoStatus status, int errno) {
        // Nothing of io is touched after it completes: the layer may hand the object out again.
        boolean waited = io.resetWaits;
        io.resetWaits = false;
        io.inProgress = false;
        if (status == IoStatus.FAILED) {
            io.fail(errno);
        } else {
            io.complete(status);
        }
        if (waited && --resetWaitsFor == 0) {
            finishReset();
        }
    }

    private void addTag(AioIo io) {
        if (tags == MAX_TAGS) {
            throw new IllegalStateException("more than " + MAX_TAGS + " I/O objects on one aio channel");
        }
        if (tags == table.length) {
            AioIo[] n = new AioIo[table.length * 2];
            System.arraycopy(table, 0, n, 0, tags);
            table = n;
        }
        io.tag = tags;
        table[tags++] = io;
    }

    /** Submits the rest of a read or write (all of it the first time). */
    private void transfer(AioIo io) {
        long n = Math.min(io.lengthBytes() - io.done, MAX_CHUNK);
        long address = io.buffer().address() + io.bufferOffset() + io.done;
        boolean read = io.type() == IoType.READ;
        int flags = !read && io.fua() ? AioEngine.RWF_DSYNC : 0;
        start(io, read ? AioEngine.READ : AioEngine.WRITE, io.offsetBytes() + io.done, address, n, flags);
    }

    private void start(AioIo io, int op, long offset, long address, long length, int flags) {
        int rc = engine.submit(io.tag, op, bdev.fd(), offset, address, length, flags);
        if (rc == 0) {
            io.opInFlight = true;
            opsInFlight++;
            return;
        }
        int e = -rc;
        if (e == Errno.EAGAIN || e == Errno.EBUSY || e == Errno.ENOMEM || e == Errno.EINTR) {
            end(io, IoStatus.NOMEM);
        } else {
            fail(io, e, "could not be submitted");
        }
    }

    @Override
    public void complete(int tag, int result) {
        AioIo io = tag < tags ? table[tag] : null;
        if (io == null || !io.opInFlight) {
            LOG.log(System.Logger.Level.ERROR, "aio bdev " + bdev.name() + ": result " + result
                    + " for tag " + tag + ", which has no operation in flight; ignored");
            return;
        }
        io.opInFlight = false;
        opsInFlight--;
        finish(io, result);
    }

    private void finish(AioIo io, int result) {
        if (result < 0) {
            int e = -result;
            if (e == Errno.EAGAIN || e == Errno.EINTR || e == Errno.ENOMEM) {
                end(io, IoStatus.NOMEM);
            } else {
                fail(io, e, "failed");
            }
            return;
        }
        IoType t = io.type();
        if (t != IoType.READ && t != IoType.WRITE) {
            end(io, IoStatus.SUCCESS);
            return;
        }
        long asked = Math.min(io.lengthBytes() - io.done, MAX_CHUNK);
        if (result == 0) {
            fail(io, Errno.EIO, t == IoType.READ
                    ? "reached the end of the file after " + io.done + " bytes (is the file shorter than the bdev?)"
                    : "made no progress after " + io.done + " bytes");
            return;
        }
        if (result > asked) {
            fail(io, Errno.EIO, "got " + result + " bytes for " + asked + " asked");
            return;
        }
        io.done += result;
        if (io.done < io.lengthBytes()) {
            transfer(io);
        } else {
            end(io, IoStatus.SUCCESS);
        }
    }

    private void fail(AioIo io, int errno, String what) {
        long now = System.nanoTime();
        if (logsInWindow == 0 || now - logWindowStart >= LOG_WINDOW_NANOS) {
            logWindowStart = now;
            logsInWindow = 0;
        }
        if (logsInWindow < LOGS_PER_WINDOW) {
            logsInWindow++;
            String more = suppressed > 0 ? " (and " + suppressed + " earlier failures on this channel not logged)" : "";
            suppressed = 0;
            LOG.log(System.Logger.Level.ERROR, "aio bdev " + bdev.name() + " (" + bdev.filename() + ") on " + reactor
                    + ": " + io.type() + " of " + io.lengthBytes() + " bytes at offset " + io.offsetBytes() + " "
                    + what + ": errno " + errno + " (" + Errno.text(errno) + ")" + more);
        } else {
            suppressed++;
        }
        end(io, IoStatus.FAILED, errno);
    }

    /** Operations in flight in the engine (for tests and diagnostics). */
    int opsInFlight() {
        return opsInFlight;
    }

    /** Releases the engine; the bdev layer calls this only once no I/O is in flight. */
    void close() {
        if (opsInFlight != 0) {
            LOG.log(System.Logger.Level.ERROR, "aio bdev " + bdev.name() + ": channel closed with " + opsInFlight
                    + " operations in flight");
        }
        engine.close();
    }
}
