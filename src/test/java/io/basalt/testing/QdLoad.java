package io.basalt.testing;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.DmaBuffer;
import org.HdrHistogram.Histogram;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A benchmark load for one descriptor on one reactor: keeps {@code qd} reads or writes of
 * {@code ioBytes} in flight, at random offsets until the time is up, or once at each offset of a
 * given list. Latency (submit to completion) in an HdrHistogram. One callback object, no
 * allocation per I/O. Runs on the reactor that calls {@link #start}.
 */
public final class QdLoad implements IoCallback {
    private final BufferPool buffers;
    private final BdevDesc desc;
    private final boolean write;
    private final int qd;
    private final long blocksPerIo;
    private final long slots;
    private final List<Long> offsets;
    private final long durationNanos;
    private final SplittableRandom rnd = new SplittableRandom(7);
    public final Histogram hist = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
    private final CompletableFuture<QdLoad> done = new CompletableFuture<>();
    private DmaBuffer[] bufs;
    private long[] started;
    private IoChannel ch;
    private int next;
    private long start;
    public long ops;
    public long elapsedNanos;
    private int inFlight;
    private boolean stopping;

    /** @param offsets block offsets to write or read once each, or null for random ones for {@code durationNanos} */
    public QdLoad(BufferPool buffers, BdevDesc desc, boolean write, int qd, int ioBytes, List<Long> offsets,
                  long durationNanos) {
        this.buffers = buffers;
        this.desc = desc;
        this.write = write;
        this.qd = qd;
        this.blocksPerIo = ioBytes / desc.bdev().blockSize();
        this.slots = desc.bdev().numBlocks() / blocksPerIo;
        this.offsets = offsets;
        this.durationNanos = durationNanos;
    }

    /** Starts on the calling reactor; completes there when the last I/O is back. */
    public CompletableFuture<QdLoad> start() {
        ch = desc.getIoChannel();
        bufs = new DmaBuffer[qd];
        started = new long[qd];
        for (int i = 0; i < qd; i++) {
            bufs[i] = buffers.get((int) (blocksPerIo * desc.bdev().blockSize()));
            bufs[i].segment().fill((byte) (i + 1));
        }
        start = System.nanoTime();
        for (int i = 0; i < qd && more(); i++) {
            submit(i);
        }
        return done;
    }

    private boolean more() {
        return offsets == null ? !stopping : next < offsets.size();
    }

    private void submit(int slot) {
        long off = offsets == null ? rnd.nextLong(slots) * blocksPerIo : offsets.get(next++);
        started[slot] = System.nanoTime();
        int rc = write ? desc.write(ch, bufs[slot].segment(), 0, off, blocksPerIo, this, slot)
                : desc.read(ch, bufs[slot].segment(), 0, off, blocksPerIo, this, slot);
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
        if (offsets == null && now - start >= durationNanos) {
            stopping = true;
        }
        if (more()) {
            submit(slot);
        } else if (inFlight == 0) {
            elapsedNanos = now - start;
            desc.putIoChannel(ch);
            for (DmaBuffer b : bufs) {
                buffers.put(b);
            }
            done.complete(this);
        }
    }

    /** IOPS and latency percentiles in microseconds, on one line. */
    public String line() {
        double secs = elapsedNanos / 1e9;
        return String.format("%9.0f IOPS  lat mean %8.1f us  p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  max %8.1f us",
                ops / secs, hist.getMean() / 1000, hist.getValueAtPercentile(50) / 1000.0,
                hist.getValueAtPercentile(99) / 1000.0, hist.getValueAtPercentile(99.9) / 1000.0,
                hist.getMaxValue() / 1000.0);
    }

    /** One result line: what was measured, IOPS, bandwidth and latency percentiles. */
    public String report(String what, int ioBytes, int seconds) {
        double secs = elapsedNanos / 1e9;
        return String.format("%s %s bs=%d qd=%d %ds: %.0f IOPS, %.1f MiB/s, lat mean %.1f us, p50 %.1f us,"
                        + " p99 %.1f us, p99.9 %.1f us", what, write ? "randwrite" : "randread", ioBytes, qd, seconds,
                ops / secs, ops * (double) ioBytes / secs / (1 << 20), hist.getMean() / 1000,
                hist.getValueAtPercentile(50) / 1000.0, hist.getValueAtPercentile(99) / 1000.0,
                hist.getValueAtPercentile(99.9) / 1000.0);
    }

    /** Sums several loads (ops, time, latencies), for runs done one after the other. */
    public static QdLoad sum(List<QdLoad> loads) {
        QdLoad first = loads.get(0);
        QdLoad m = new QdLoad(first.buffers, first.desc, first.write, first.qd,
                (int) (first.blocksPerIo * first.desc.bdev().blockSize()), List.of(), 0);
        for (QdLoad l : loads) {
            m.ops += l.ops;
            m.elapsedNanos += l.elapsedNanos;
            m.hist.add(l.hist);
        }
        return m;
    }
}
