package io.basalt.perf;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoType;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import org.HdrHistogram.Histogram;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

/**
 * One bdevperf job: a bdev driven from one reactor with {@code queueDepth} I/Os always in flight,
 * over the I/O-sized units {@code [iosBase, iosBase + sizeInIos)} of the bdev.
 *
 * <p>The data path allocates nothing: the job is the completion callback and each
 * {@link PerfTask} (buffers preallocated at open) is the callback argument; latencies go into a
 * preallocated HdrHistogram. Threading: everything after construction runs on {@link #reactor}.
 */
final class PerfJob implements IoCallback, BdevEventHandler {
    /** Latencies above this are recorded as this (the histogram's range). */
    static final long MAX_LATENCY_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    final Bdev bdev;
    final Reactor reactor;
    private final PerfOptions options;
    final long iosBase;
    final long sizeInIos;
    final int queueDepth;
    private final int ioBlocks;
    private final int ioSize;
    private final int readPercent;
    private final IoType fixedType;
    private final boolean random;
    private final boolean verify;

    private BdevDesc desc;
    private IoChannel ch;
    private PerfTask[] tasks;
    private long rng;
    private long nextSeq;
    private long writeSeq;
    /** Verify: bit per unit of the range, set while an I/O on it is in flight. */
    private final long[] outstanding;

    private int active;
    private boolean draining;
    private boolean closed;
    private boolean measuring;
    private Runnable onFinished;

    final Histogram latency = new Histogram(MAX_LATENCY_NANOS, 3);
    long completed;
    long failed;
    long miscompares;
    long measureStart;
    long measureEnd;
    /** The first thing that went wrong, or null. */
    String failure;

    PerfJob(Bdev bdev, Reactor reactor, PerfOptions options, long iosBase, long sizeInIos, long seed) {
        this.bdev = bdev;
        this.reactor = reactor;
        this.options = options;
        this.iosBase = iosBase;
        this.sizeInIos = sizeInIos;
        this.ioSize = options.ioSize();
        this.ioBlocks = options.ioSize() / bdev.blockSize();
        this.readPercent = options.effectiveReadPercent();
        this.fixedType = options.workload().type();
        this.random = options.workload().random();
        this.verify = options.workload() == Workload.VERIFY;
        // Verify keeps one I/O per unit in flight, so it cannot have more in flight than units.
        this.queueDepth = verify ? (int) Math.min(options.queueDepth(), sizeInIos) : options.queueDepth();
        this.outstanding = verify ? new long[(int) ((sizeInIos + 63) >>> 6)] : null;
        this.rng = seed == 0 ? 1 : seed;
    }

    String name() {
        return bdev.name();
    }

    // ------------------------------------------------------------------ setup and teardown

    /** Opens the bdev, takes the channel and the buffers. On the job's reactor; undoes itself on failure. */
    void open(BdevLayer layer) {
        reactor.assertInReactor();
        desc = layer.open(bdev.name(), options.workload().writes(), this, "perf job");
        try {
            ch = desc.getIoChannel();
            tasks = new PerfTask[queueDepth];
            for (int i = 0; i < queueDepth; i++) {
                DmaBuffer b = buffer(layer);
                DmaBuffer r = verify ? buffer(layer) : null;
                tasks[i] = new PerfTask(this, b, r);
            }
        } catch (RuntimeException e) {
            close(layer);
            throw e;
        }
    }

    private DmaBuffer buffer(BdevLayer layer) {
        DmaBuffer b = layer.buffers().get(ioSize);
        if (b == null) {
            throw new BasaltException(Errno.ENOMEM, "buffer pool exhausted: " + queueDepth + " x " + ioSize
                    + " bytes for job " + name() + " (raise --iobuf-mb or lower -q/-o)");
        }
        return b;
    }

    /** Gives back the buffers, the channel and the descriptor. Idempotent. */
    void close(BdevLayer layer) {
        if (closed) {
            return;
        }
        closed = true;
        if (tasks != null) {
            for (PerfTask t : tasks) {
                if (t != null) {
                    layer.buffers().put(t.buf);
                    if (t.readBuf != null) {
                        layer.buffers().put(t.readBuf);
                    }
                }
            }
        }
        if (ch != null) {
            desc.putIoChannel(ch);
        }
        desc.close();
    }

    /** Starts the I/O; {@code finished} runs on this reactor once the job drained and closed. */
    void start(BdevLayer layer, Runnable finished) {
        onFinished = () -> {
            close(layer);
            finished.run();
        };
        for (PerfTask t : tasks) {
            active++;
            prepare(t);
            issue(t);
        }
    }

    void beginMeasure(long now) {
        if (draining) {
            return;
        }
        completed = 0;
        latency.reset();
        measureStart = now;
        measuring = true;
    }

    void endMeasure(long now) {
        if (measuring) {
            measuring = false;
            measureEnd = now;
        }
    }

    /** Stops submitting; the job finishes when its I/O in flight has completed. */
    void drain() {
        if (draining) {
            return;
        }
        draining = true;
        endMeasure(System.nanoTime());
        if (active == 0 && onFinished != null) {
            onFinished.run();
        }
    }

    @Override
    public void onEvent(BdevEvent event, Bdev b, BdevDesc d) {
        if (event == BdevEvent.REMOVE) {
            fail("bdev " + b.name() + " was removed during the run");
            drain();
        }
    }

    // ------------------------------------------------------------------ data path

    private void prepare(PerfTask t) {
        long index;
        if (random) {
            index = Math.unsignedMultiplyHigh(nextRandom(), sizeInIos);
        } else {
            index = nextSequential();
            if (verify) {
                while (isOutstanding(index)) {
                    index = nextSequential();
                }
                setOutstanding(index, true);
            }
        }
        t.ioIndex = index;
        t.offsetBlocks = (iosBase + index) * ioBlocks;
        t.readBack = false;
        if (fixedType != null) {
            t.type = fixedType;
        } else {
            boolean read = (int) ((nextRandom() >>> 1) % 100) < readPercent;
            t.type = read ? IoType.READ : IoType.WRITE;
        }
        if (verify) {
            fillUnique(t);
        }
    }

    /** Submits the task's I/O; after -ENOMEM waits for the channel and comes back here. */
    void issue(PerfTask t) {
        MemorySegment buf = t.buf.segment();
        int rc = switch (t.type) {
            case READ -> desc.read(ch, t.readBack ? t.readBuf.segment() : buf, 0, t.offsetBlocks, ioBlocks, this, t);
            case WRITE -> desc.write(ch, buf, 0, t.offsetBlocks, ioBlocks, this, t);
            case UNMAP -> desc.unmap(ch, t.offsetBlocks, ioBlocks, this, t);
            case WRITE_ZEROES -> desc.writeZeroes(ch, t.offsetBlocks, ioBlocks, this, t);
            case FLUSH -> desc.flush(ch, t.offsetBlocks, ioBlocks, this, t);
            default -> throw new IllegalStateException("perf does not issue " + t.type);
        };
        if (rc == -Errno.ENOMEM) {
            ch.waitForIo(t);
        }
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object arg) {
        PerfTask t = (PerfTask) arg;
        boolean ok = success;
        if (verify && ok) {
            if (!t.readBack) {
                t.readBack = true;
                t.type = IoType.READ;
                issue(t);
                return;
            }
            long at = MemorySegment.mismatch(t.buf.segment(), 0, ioSize, t.readBuf.segment(), 0, ioSize);
            if (at != -1) {
                ok = false;
                miscompares++;
                fail("data mismatch on " + name() + " at block " + (t.offsetBlocks + at / bdev.blockSize())
                        + " (byte " + at + " of the " + ioSize + "-byte I/O at block " + t.offsetBlocks + ")");
            }
        } else if (!ok) {
            fail(t.type.json() + " of " + ioBlocks + " blocks at " + t.offsetBlocks + " on " + name() + " failed: "
                    + io.status() + (io.errno() != 0 ? " (" + Errno.text(io.errno()) + ")" : ""));
        }
        if (verify) {
            setOutstanding(t.ioIndex, false);
        }
        if (!ok) {
            failed++;
            if (!options.continueOnFailure()) {
                drain();
            }
        } else if (measuring) {
            completed++;
            latency.recordValue(Math.min(io.latencyNanos(), MAX_LATENCY_NANOS));
        }
        if (draining) {
            if (--active == 0) {
                onFinished.run();
            }
            return;
        }
        prepare(t);
        issue(t);
    }

    private void fail(String what) {
        if (failure == null) {
            failure = what;
        }
    }

    // ------------------------------------------------------------------ offsets and data

    /** xorshift64*: fast, allocation-free, good enough to spread offsets. */
    private long nextRandom() {
        long x = rng;
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        rng = x;
        return x * 0x2545F4914F6CDD1DL;
    }

    private long nextSequential() {
        long i = nextSeq;
        if (++nextSeq == sizeInIos) {
            nextSeq = 0;
        }
        return i;
    }

    private boolean isOutstanding(long i) {
        return (outstanding[(int) (i >>> 6)] & (1L << i)) != 0;
    }

    private void setOutstanding(long i, boolean on) {
        if (on) {
            outstanding[(int) (i >>> 6)] |= 1L << i;
        } else {
            outstanding[(int) (i >>> 6)] &= ~(1L << i);
        }
    }

    /** Data no other write of this run has: a write number and the byte's place on the bdev. */
    private void fillUnique(PerfTask t) {
        long seq = ++writeSeq * GOLDEN;
        long base = t.offsetBlocks * bdev.blockSize();
        MemorySegment s = t.buf.segment();
        for (long i = 0; i < ioSize; i += 8) {
            s.set(ValueLayout.JAVA_LONG, i, seq ^ (base + i));
        }
    }
}
