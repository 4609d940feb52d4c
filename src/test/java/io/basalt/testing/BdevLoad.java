package io.basalt.testing;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.runtime.DmaBuffer;
import org.HdrHistogram.Histogram;

import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A fixed-queue-depth random read or write load on one open bdev from one reactor, for the
 * benchmarks (off by default): keeps {@code qd} I/Os in flight for a time, records each latency;
 * one callback object, no allocation per I/O. {@link #start} runs on the reactor.
 */
public final class BdevLoad implements IoCallback {
    final ReactorFixture fx;
    final BdevDesc desc;
    final boolean write;
    final int qd;
    final long blocksPerIo;
    final long slots;
    final long durationNanos;
    final SplittableRandom rnd = new SplittableRandom(7);
    public final Histogram hist = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    final CompletableFuture<BdevLoad> done = new CompletableFuture<>();
    DmaBuffer[] bufs;
    long[] started;
    IoChannel ch;
    long start;
    public long ops;
    public long elapsedNanos;
    int inFlight;
    boolean stopping;

    public BdevLoad(ReactorFixture fx, BdevDesc desc, boolean write, int qd, int bs, long durationNanos) {
        this.fx = fx;
        this.desc = desc;
        this.write = write;
        this.qd = qd;
        this.blocksPerIo = bs / desc.bdev().blockSize();
        this.slots = desc.bdev().numBlocks() / blocksPerIo;
        this.durationNanos = durationNanos;
    }

    public CompletableFuture<BdevLoad> start() {
        ch = desc.getIoChannel();
        bufs = new DmaBuffer[qd];
        started = new long[qd];
        for (int i = 0; i < qd; i++) {
            bufs[i] = fx.reactors.buffers().get((int) (blocksPerIo * desc.bdev().blockSize()));
            bufs[i].segment().fill((byte) i);
        }
        start = System.nanoTime();
        for (int i = 0; i < qd; i++) {
            submit(i);
        }
        return done;
    }

    private void submit(int slot) {
        long off = rnd.nextLong(slots) * blocksPerIo;
        started[slot] = System.nanoTime();
        Integer arg = slot;
        int rc = write ? desc.write(ch, bufs[slot].segment(), 0, off, blocksPerIo, this, arg)
                : desc.read(ch, bufs[slot].segment(), 0, off, blocksPerIo, this, arg);
        if (rc != 0) {
            throw new IllegalStateException("submit " + rc);
        }
        inFlight++;
    }

    @Override
    public void onComplete(BdevIo io, boolean ok, Object arg) {
        int slot = (Integer) arg;
        long now = System.nanoTime();
        inFlight--;
        if (!ok) {
            done.completeExceptionally(new IllegalStateException("I/O failed: " + io));
            return;
        }
        ops++;
        hist.recordValue(Math.min(now - started[slot], hist.getHighestTrackableValue()));
        if (now - start >= durationNanos) {
            stopping = true;
        }
        if (!stopping) {
            submit(slot);
        } else if (inFlight == 0) {
            elapsedNanos = now - start;
            desc.putIoChannel(ch);
            for (DmaBuffer buf : bufs) {
                fx.reactors.buffers().put(buf);
            }
            done.complete(this);
        }
    }

    /** One result line: IOPS, bandwidth and latency percentiles. */
    public String report(String what, int bs, int seconds) {
        double secs = elapsedNanos / 1e9;
        return String.format("%s %s bs=%d qd=%d %ds: %.0f IOPS, %.1f MiB/s, lat mean %.1f us, p50 %.1f us,"
                        + " p99 %.1f us, p99.9 %.1f us", what, write ? "randwrite" : "randread", bs, qd, seconds,
                ops / secs, ops * (double) bs / secs / (1 << 20), hist.getMean() / 1000,
                hist.getValueAtPercentile(50) / 1000.0, hist.getValueAtPercentile(99) / 1000.0,
                hist.getValueAtPercentile(99.9) / 1000.0);
    }
}
