package io.basalt.perf;

import io.basalt.bdev.malloc.MallocModule;
import io.basalt.runtime.BasaltException;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The perf engine against real bdevs on real reactors (no RPC, no process). */
class PerfTest {
    private static final Duration SHORT = Duration.ofMillis(300);
    private static final Duration WARMUP = Duration.ofMillis(100);

    private static MallocModule malloc(ReactorFixture fx) {
        MallocModule mod = new MallocModule(fx.bdevs);
        fx.bdevs.addModule(mod);
        return mod;
    }

    private static FaultyBdev faulty(ReactorFixture fx, String name, int blockSize, long blocks) throws Exception {
        FaultyBdev b = new FaultyBdev(name, blockSize, blocks);
        fx.on(0, () -> fx.bdevs.register(b));
        return b;
    }

    @Test
    void randreadOnMallocReportsIopsAndNoErrors() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(1)) {
            MallocModule mod = malloc(fx);
            fx.on(0, () -> mod.create("Malloc0", null, 4096, 16384, 4096, 0));
            PerfResult r = Perf.run(fx.bdevs, PerfOptions.of(Workload.RANDREAD, 16, 4096, SHORT).withWarmup(WARMUP));
            PerfResult.Summary t = r.total();
            assertThat(r.failed()).isFalse();
            assertThat(t.completed()).isPositive();
            assertThat(t.failed()).isZero();
            assertThat(t.iops()).isPositive();
            assertThat(t.mibps()).isEqualTo(t.iops() * 4096 / (1024.0 * 1024.0));
            assertThat(t.latency().getTotalCount()).isEqualTo(t.completed());
            assertThat(t.minMicros()).isPositive().isLessThanOrEqualTo(t.latencyMicros(50));
            assertThat(r.perBdev()).extracting(PerfResult.Summary::name).containsExactly("Malloc0");
            assertThat(PerfReport.table(r)).contains("Malloc0").contains("Total");
            assertThat(PerfReport.json(r).get("results").get(0).get("status").asText()).isEqualTo("finished");
            // Everything was given back: the bdev can go at once.
            assertThat(fx.bdevs.openDescriptors(fx.bdevs.require("Malloc0"))).isZero();
            assertThat(fx.bdevs.channelCount(fx.bdevs.require("Malloc0"))).isZero();
        }
    }

    @Test
    void randrwMixesReadsAndWritesAsAsked() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(1)) {
            MallocModule mod = malloc(fx);
            fx.on(0, () -> mod.create("Malloc0", null, 512, 8192, 512, 0));
            PerfResult r = Perf.run(fx.bdevs, PerfOptions.of(Workload.RANDRW, 8, 4096, SHORT).withWarmup(WARMUP)
                    .withReadPercent(70));
            var stats = fx.onAsync(0, () -> fx.bdevs.require("Malloc0").collectStats());
            double reads = stats.numReadOps();
            double share = reads / (reads + stats.numWriteOps());
            assertThat(r.failed()).isFalse();
            assertThat(share).isBetween(0.6, 0.8);
        }
    }

    @Test
    void bdevsAreDealtRoundRobinAndDashCPutsAJobOnEveryReactor() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(2)) {
            MallocModule mod = malloc(fx);
            for (String n : new String[] {"m0", "m1", "m2"}) {
                fx.on(0, () -> mod.create(n, null, 4096, 1024, 4096, 0));
            }
            PerfResult r = Perf.run(fx.bdevs, PerfOptions.of(Workload.RANDREAD, 4, 4096, SHORT).withWarmup(WARMUP));
            assertThat(r.jobs()).extracting(PerfResult.Job::bdev).containsExactly("m0", "m2", "m1");
            assertThat(r.jobs()).extracting(PerfResult.Job::core).containsExactly(0, 0, 1);

            PerfResult c = Perf.run(fx.bdevs, PerfOptions.of(Workload.VERIFY, 4, 4096, SHORT).withWarmup(WARMUP)
                    .withEveryReactor(true).withBdev("m1"));
            assertThat(c.jobs()).hasSize(2).allSatisfy(j -> {
                assertThat(j.bdev()).isEqualTo("m1");
                assertThat(j.completed()).isPositive();
                assertThat(j.miscompares()).isZero();
            });
            assertThat(c.perBdev()).singleElement().satisfies(s -> assertThat(s.coreMask()).isEqualTo(BigInteger.valueOf(3)));
            assertThat(c.failed()).isFalse();
        }
    }

    @Test
    void verifyFindsDataThatChangedUnderIt() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(1)) {
            FaultyBdev b = faulty(fx, "f0", 512, 2048);
            PerfOptions verify = PerfOptions.of(Workload.VERIFY, 4, 4096, SHORT).withWarmup(WARMUP);
            assertThat(Perf.run(fx.bdevs, verify).failed()).as("a faithful device passes").isFalse();

            b.corruptBlock = 1003;
            PerfResult r = Perf.run(fx.bdevs, verify);
            assertThat(r.failed()).isTrue();
            assertThat(r.total().miscompares()).isPositive();
            assertThat(r.total().failures()).singleElement().asString()
                    .contains("data mismatch on f0 at block 1003");
            assertThat(PerfReport.json(r).get("results").get(0).get("status").asText()).isEqualTo("failed");
        }
    }

    @Test
    void aFailedIoStopsTheJobUnlessToldToContinue() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(1)) {
            FaultyBdev b = faulty(fx, "f0", 4096, 256);
            b.failWrites = true;
            PerfOptions o = PerfOptions.of(Workload.RANDWRITE, 8, 4096, SHORT).withWarmup(WARMUP);
            PerfResult stop = Perf.run(fx.bdevs, o);
            assertThat(stop.failed()).isTrue();
            // The first failure drains the job: the other I/Os in flight may fail too, no new ones start.
            assertThat(stop.total().failed()).isBetween(1L, 8L);
            assertThat(stop.total().failures()).singleElement().asString().contains("write of 1 blocks")
                    .contains("Input/output error");

            PerfResult cont = Perf.run(fx.bdevs, o.withContinueOnFailure(true));
            assertThat(cont.total().failed()).isGreaterThan(8);
            assertThat(cont.total().completed()).isZero();
        }
    }

    @Test
    void optionsThatDoNotFitAreRefusedBeforeAnythingStarts() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(1)) {
            MallocModule mod = malloc(fx);
            fx.on(0, () -> mod.create("m0", null, 4096, 64, 4096, 0));
            assertThatThrownBy(() -> Perf.run(fx.bdevs, PerfOptions.of(Workload.RANDRW, 4, 4096, SHORT)))
                    .hasMessageContaining("-M");
            assertThatThrownBy(() -> Perf.run(fx.bdevs, PerfOptions.of(Workload.READ, 4, 4096, SHORT).withReadPercent(50)))
                    .hasMessageContaining("-M is for rw and randrw");
            assertThatThrownBy(() -> Perf.run(fx.bdevs, PerfOptions.of(Workload.READ, 4, 2048, SHORT)))
                    .hasMessageContaining("not a multiple of the block size 4096");
            assertThatThrownBy(() -> Perf.run(fx.bdevs, PerfOptions.of(Workload.READ, 0, 4096, SHORT)))
                    .hasMessageContaining("queue depth");
            assertThatThrownBy(() -> Perf.run(fx.bdevs, PerfOptions.of(Workload.READ, 4, 4096, SHORT).withBdev("nope")))
                    .isInstanceOf(BasaltException.class).hasMessageContaining("nope");
            assertThat(fx.bdevs.openDescriptors(fx.bdevs.require("m0"))).isZero();
        }
    }

    @Test
    void theEnginesDataPathAllocatesNothingPerIo() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(1)) {
            MallocModule mod = malloc(fx);
            fx.on(0, () -> mod.create("Malloc0", null, 4096, 16384, 4096, 0));
            PerfResult r = Perf.run(fx.bdevs, PerfOptions.of(Workload.RANDWRITE, 32, 4096, Duration.ofSeconds(1))
                    .withWarmup(Duration.ofSeconds(2)));
            assertThat(r.allocatedBytes()).isNotNegative();
            // A single object per I/O would be 16 bytes or more.
            assertThat(r.allocatedBytesPerIo()).as("%d bytes over %d I/Os", r.allocatedBytes(), r.total().completed())
                    .isLessThan(0.1);
        }
    }
}
