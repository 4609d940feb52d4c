package io.basalt.bdev.lvol;


import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.blob.ClearMethod;
import io.basalt.blob.Crc64;
import io.basalt.testing.QdLoad;
import io.basalt.testing.ReactorFixture;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Benchmarks of lvols (not a test; off by default), each beside the raw malloc bdev in the same
 * run: 4 KiB random writes to fresh clusters of a thin lvol (each one allocates a cluster: zero
 * fill plus a metadata commit), to written clusters, random reads; snapshot latency while a
 * volume takes random writes; checksum throughput. One I/O reactor (1) at queue depth 32, the
 * metadata reactor (0) apart.
 * <pre>
 * mvn -q test -Dtest=LvolBench -Dbasalt.bench.lvol=true [-Dbasalt.bench.cluster=4194304]
 *     [-Dbasalt.bench.seconds=10]
 * </pre>
 */
@EnabledIfSystemProperty(named = "basalt.bench.lvol", matches = "true")
class LvolBench {
    private static final long MIB = 1 << 20;
    private static final int QD = 32;
    private static final int BS = 4096;

    @Test
    void lvolBesideMalloc() throws Exception {
        long cluster = Long.getLong("basalt.bench.cluster", 4 * MIB);
        int seconds = Integer.getInteger("basalt.bench.seconds", 10);
        long volBytes = 1024 * MIB;
        try (LvolKit kit = new LvolKit(2)) {
            ReactorFixture fx = kit.fx;
            kit.malloc("raw", 1024, BS);
            kit.malloc("base", 1024 + 512, BS);
            LvolStore s = fx.onAsync(0, () -> kit.lvol.createStore("base", "lvs", cluster, ClearMethod.NONE, 100));
            System.out.printf("lvol bench: cluster %d KiB, 4 KiB I/O, queue depth %d, I/O on reactor 1, %d s runs%n",
                    cluster >> 10, QD, seconds);

            print("malloc randwrite", run(fx, "raw", true, null, seconds));
            print("malloc randread ", run(fx, "raw", false, null, seconds));

            // Allocating writes: every write goes to a cluster nothing was written to (random order).
            long clusters = volBytes / cluster;
            List<QdLoad> allocating = new ArrayList<>();
            Lvol vol = null;
            for (int pass = 0; pass < 4; pass++) {
                if (vol != null) {
                    Lvol old = vol;
                    kit.md(() -> s.delete(old));
                }
                vol = kit.create(s, "vol", volBytes / MIB, true);
                List<Long> order = new ArrayList<>();
                for (long k = 0; k < clusters; k++) {
                    order.add(k * (cluster / BS) + new SplittableRandom(k).nextLong(cluster / BS));
                }
                Collections.shuffle(order, new java.util.Random(pass));
                allocating.add(run(fx, vol.name(), true, order, 0));
            }
            long commits = fx.on(0, () -> s.blobstore.commits());
            QdLoad all = QdLoad.sum(allocating);
            print("thin lvol randwrite to fresh clusters (" + all.ops + " writes, each allocating)", all);
            System.out.printf("  metadata commits so far: %d (batched allocations share one)%n", commits);
            print("thin lvol randwrite to written clusters", run(fx, vol.name(), true, null, seconds));
            print("thin lvol randread", run(fx, vol.name(), false, null, seconds));

            // Snapshot latency while a 64 MiB volume takes random writes: after each snapshot they copy
            // on write again, so ten snapshots need eleven times its size.
            Lvol big = vol;
            kit.md(() -> s.delete(big));
            Lvol origin = kit.create(s, "small", 64, false);
            CompletableFuture<QdLoad> loadDone = load(fx, origin.name(), true, null, seconds);
            Histogram snaps = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            for (int i = 0; i < 10; i++) {
                Thread.sleep(seconds * 1000L / 12);
                int n = i;
                long t0 = System.nanoTime();
                kit.md(() -> s.snapshot(origin, "snap" + n, Map.of()));
                snaps.recordValue(System.nanoTime() - t0);
            }
            QdLoad during = loadDone.get(60, TimeUnit.SECONDS);
            System.out.printf("snapshot of a 64 MiB lvol under randwrite load: %d snapshots, latency p50 %.2f ms, max %.2f ms;"
                            + " the load meanwhile %s%n", snaps.getTotalCount(), snaps.getValueAtPercentile(50) / 1e6,
                    snaps.getMaxValue() / 1e6, during.line());

            // Checksum throughput of a snapshot whose clusters are all allocated.
            Lvol thick = kit.create(s, "thick", 512, false);
            Lvol snap = kit.snapshot(thick, "thick-snap");
            long t0 = System.nanoTime();
            fx.on(0, () -> {
                s.registerChecksum(snap);
                return null;
            });
            while (true) {
                try {
                    fx.on(0, () -> s.checksum(snap));
                    break;
                } catch (io.basalt.runtime.BasaltException e) {
                    Thread.sleep(1);
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("snapshot checksum: 512 MiB of allocated clusters in %.3f s = %.2f GB/s%n", secs,
                    512 * MIB / secs / 1e9);
            MemorySegment m = Arena.ofAuto().allocate(MIB, 4096);
            Crc64 c = new Crc64();
            long c0 = System.nanoTime();
            for (int i = 0; i < 2048; i++) {
                c.update(m, 0, MIB);
            }
            System.out.printf("CRC-64/NVME alone (1 MiB in cache, 2 GiB): %.2f GB/s%n",
                    2048 * MIB / ((System.nanoTime() - c0) / 1e9) / 1e9);
        }
    }

    private static void print(String what, QdLoad r) {
        System.out.printf("%-45s %s%n", what + ":", r.line());
    }

    /** Random 4 KiB I/O on reactor 1: for {@code seconds}, or once at each offset of {@code order}. */
    private static QdLoad run(ReactorFixture fx, String bdev, boolean write, List<Long> order, int seconds)
            throws Exception {
        if (order == null) {
            // One second of warm-up first, not measured.
            load(fx, bdev, write, null, 1).get();
        }
        return load(fx, bdev, write, order, seconds).get(60, TimeUnit.SECONDS);
    }

    /** Opens {@code bdev} on reactor 1 and runs a load there; the descriptor closes when it ends. */
    private static CompletableFuture<QdLoad> load(ReactorFixture fx, String bdev, boolean write, List<Long> order,
                                                  int seconds) {
        CompletableFuture<QdLoad> f = new CompletableFuture<>();
        fx.reactors.get(1).send(() -> {
            BdevDesc d = fx.bdevs.open(bdev, true, BdevEventHandler.IGNORE);
            new QdLoad(fx.reactors.buffers(), d, write, QD, BS, order, TimeUnit.SECONDS.toNanos(seconds)).start()
                    .whenComplete((r, t) -> {
                        d.close();
                        if (t != null) {
                            f.completeExceptionally(t);
                        } else {
                            f.complete(r);
                        }
                    });
        });
        return f;
    }
}
