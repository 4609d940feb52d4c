package io.basalt.bdev.aio;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.runtime.DmaBuffer;
import io.basalt.testing.ReactorFixture;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A micro-benchmark of the aio module, off by default: random reads or writes of one block size
 * at a fixed queue depth from one reactor, over an existing file, printing IOPS and latency to
 * compare with {@code fio --ioengine=io_uring --direct=1} on the same file. Run with
 * <pre>
 * mvn -q test -Dtest=AioBench -Dbasalt.bench.file=/tmp/bench.img [-Dbasalt.bench.rw=randwrite]
 *     [-Dbasalt.bench.qd=32] [-Dbasalt.bench.bs=4096] [-Dbasalt.bench.seconds=20]
 * </pre>
 */
@EnabledIfSystemProperty(named = "basalt.bench.file", matches = ".+")
class AioBench {
    @Test
    void randomIo() throws Exception {
        String file = System.getProperty("basalt.bench.file");
        boolean write = System.getProperty("basalt.bench.rw", "randread").equals("randwrite");
        int qd = Integer.getInteger("basalt.bench.qd", 32);
        int bs = Integer.getInteger("basalt.bench.bs", 4096);
        int seconds = Integer.getInteger("basalt.bench.seconds", 20);
        try (ReactorFixture fx = new ReactorFixture(1)) {
            AioModule m = new AioModule(fx.bdevs);
            fx.bdevs.addModule(m);
            AioBdev b = fx.onAsync(0, () -> m.create(new AioModule.Options(file, "bench0", bs, false, false, null)));
            BdevDesc d = fx.on(0, () -> fx.bdevs.open("bench0", true, BdevEventHandler.IGNORE));
            Run warm = fx.onAsync(0, () -> new Run(fx, d, b, write, qd, bs, TimeUnit.SECONDS.toNanos(3)).start());
            Run run = fx.onAsync(0, () -> new Run(fx, d, b, write, qd, bs, TimeUnit.SECONDS.toNanos(seconds)).start());
            double secs = run.elapsedNanos / 1e9;
            System.out.printf("basalt aio %s bs=%d qd=%d %ds: %.0f IOPS, %.1f MiB/s, lat mean %.1f us, p50 %.1f us,"
                            + " p99 %.1f us, p99.9 %.1f us (warm-up %d ops)%n",
                    write ? "randwrite" : "randread", bs, qd, seconds, run.ops / secs, run.ops * (double) bs / secs / (1 << 20),
                    run.hist.getMean() / 1000, run.hist.getValueAtPercentile(50) / 1000.0,
                    run.hist.getValueAtPercentile(99) / 1000.0, run.hist.getValueAtPercentile(99.9) / 1000.0, warm.ops);
            fx.on(0, () -> {
                d.close();
                return null;
            });
        }
    }

    /** Keeps {@code qd} I/Os in flight until the time is up; one callback object, no allocation per I/O. */
    private static final class Run implements IoCallback {
        final ReactorFixture fx;
        final BdevDesc desc;
        final boolean write;
        final int qd;
        final long blocksPerIo;
        final long slots;
        final long durationNanos;
        final SplittableRandom rnd = new SplittableRandom(7);
        final Histogram hist = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        final CompletableFuture<Run> done = new CompletableFuture<>();
        DmaBuffer[] bufs;
        long[] started;
        IoChannel ch;
        long start;
        long ops;
        long elapsedNanos;
        int inFlight;
        boolean stopping;

        Run(ReactorFixture fx, BdevDesc desc, AioBdev b, boolean write, int qd, int bs, long durationNanos) {
            this.fx = fx;
            this.desc = desc;
            this.write = write;
            this.qd = qd;
            this.blocksPerIo = bs / b.blockSize();
            this.slots = b.numBlocks() / blocksPerIo;
            this.durationNanos = durationNanos;
        }

        CompletableFuture<Run> start() {
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
    }
}
