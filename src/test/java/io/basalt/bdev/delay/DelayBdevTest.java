package io.basalt.bdev.delay;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.bdev.delay.DelayBdev.LatencyType;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;
import io.basalt.testing.BdevClient;
import io.basalt.testing.BdevClient.Result;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DelayBdevTest {
    private static final int BS = 512;
    private static final long BLOCKS = 2048;
    private static final long MS = 1000;
    private static final long LONG_US = 120_000_000L;

    private ReactorFixture fx;
    private MallocModule malloc;
    private DelayModule delays;

    @BeforeEach
    void setUp() throws Exception {
        fx = new ReactorFixture(2);
        malloc = new MallocModule(fx.bdevs);
        delays = new DelayModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        fx.bdevs.addModule(delays);
        fx.on(0, () -> malloc.create("m0", null, BS, BLOCKS, BS, 0));
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private DelayBdev create(long avgRead, long p99Read, long avgWrite, long p99Write) throws Exception {
        return fx.on(0, () -> delays.create("d0", "m0", null, avgRead, p99Read, avgWrite, p99Write));
    }

    private static void eventually(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.sleep(2);
        }
    }

    private int waitingOn(DelayBdev d, int reactor) {
        try {
            return fx.on(reactor, () -> d.waiting(Reactor.current()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void mirrorsTheBaseClaimsItAndDescribesItself() throws Exception {
        DelayBdev d = create(10, 100, 20, 200);
        Bdev m0 = fx.bdevs.require("m0");
        assertThat(d.blockSize()).isEqualTo(BS);
        assertThat(d.numBlocks()).isEqualTo(BLOCKS);
        assertThat(d.productName()).isEqualTo("delay");
        for (IoType t : IoType.values()) {
            assertThat(d.supports(t)).isEqualTo(m0.supports(t));
        }
        assertThat(fx.bdevs.claimant(m0)).isSameAs(delays);
        var expected = Json.MAPPER.readTree("{\"name\":\"d0\",\"base_bdev_name\":\"m0\",\"uuid\":\"" + d.uuid()
                + "\",\"avg_read_latency\":10,\"p99_read_latency\":100,\"avg_write_latency\":20,\"p99_write_latency\":200}");
        // Compared as text: Jackson's equals tells int nodes from long nodes.
        assertThat(d.toJson().get("driver_specific").get("delay").toString()).isEqualTo(expected.toString());
        assertThat(d.configCall().method()).isEqualTo("bdev_delay_create");
        assertThat(d.configCall().params().toString()).isEqualTo(expected.toString());
        assertThatThrownBy(() -> create(1, 1, 1, 1))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        assertThatThrownBy(() -> fx.on(0, () -> delays.create("d1", "nope", null, 1, 1, 1, 1)))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
        // m0 is claimed by d0: a second delay bdev on it fails and leaves nothing behind.
        assertThatThrownBy(() -> fx.on(0, () -> delays.create("d1", "m0", null, 1, 1, 1, 1)))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
        assertThat(fx.bdevs.lookup("d1")).isNull();
        assertThat(fx.bdevs.openDescriptors(m0)).isEqualTo(1);
    }

    @Test
    void readsAndWritesTakeAtLeastTheirLatency() throws Exception {
        create(30 * MS, 30 * MS, 40 * MS, 40 * MS);
        try (BdevClient c = BdevClient.open(fx, 1, "d0", true)) {
            MemorySegment data = BdevClient.pattern(4 * BS, 1);
            Result w = await(c.write(data, 8, 4));
            assertThat(w.status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(w.nanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(40));
            MemorySegment got = BdevClient.buffer(4 * BS);
            Result r = await(c.read(got, 8, 4));
            assertThat(r.status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(r.nanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30));
            assertThat(got.mismatch(data)).isEqualTo(-1);
            // Other types are not delayed (as SPDK), and pass through.
            assertThat(await(c.unmap(8, 4)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(await(c.flush()).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(await(c.submit((d, ch, cb) -> d.writeZeroes(ch, 0, 4, cb, null))).status())
                    .isEqualTo(IoStatus.SUCCESS);
        }
    }

    @Test
    void updateLatencyTakesEffect() throws Exception {
        DelayBdev d = create(0, 0, 0, 0);
        try (BdevClient c = BdevClient.open(fx, 1, "d0", true)) {
            assertThat(await(c.read(BdevClient.buffer(BS), 0, 1)).status()).isEqualTo(IoStatus.SUCCESS);
            d.setLatency(LatencyType.AVG_READ, 50 * MS);
            d.setLatency(LatencyType.P99_READ, 50 * MS);
            assertThat(d.latency(LatencyType.AVG_READ)).isEqualTo(50 * MS);
            Result r = await(c.read(BdevClient.buffer(BS), 0, 1));
            assertThat(r.nanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(50));
            // Writes kept their own (zero) latency; a lowered latency applies to what follows.
            assertThat(await(c.write(BdevClient.pattern(BS, 2), 0, 1)).status()).isEqualTo(IoStatus.SUCCESS);
            d.setLatency(LatencyType.AVG_READ, 0);
            d.setLatency(LatencyType.P99_READ, 0);
            assertThat(await(c.read(BdevClient.buffer(BS), 0, 1)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(d.toJson().get("driver_specific").get("delay").get("avg_read_latency").asLong()).isZero();
            assertThatThrownBy(() -> d.setLatency(LatencyType.P99_WRITE, -1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void manyInFlightCompleteInOrderOfDueTime() throws Exception {
        create(30 * MS, 30 * MS, 0, 0);
        try (BdevClient c = BdevClient.open(fx, 1, "d0", true)) {
            List<BdevClient.Op> ops = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                long block = i;
                ops.add((d, ch, cb) -> d.read(ch, BdevClient.buffer(BS), 0, block, 1, cb, null));
            }
            for (int i = 0; i < 64; i++) {
                long block = 100 + i;
                ops.add((d, ch, cb) -> d.write(ch, BdevClient.pattern(BS, (int) block), 0, block, 1, cb, null));
            }
            List<Result> res = new ArrayList<>();
            for (CompletableFuture<Result> f : c.submitAll(ops)) {
                res.add(await(f));
            }
            List<Result> reads = res.subList(0, 64);
            List<Result> writes = res.subList(64, 128);
            long lastWrite = writes.stream().mapToLong(Result::seq).max().orElseThrow();
            long firstRead = reads.stream().mapToLong(Result::seq).min().orElseThrow();
            // Submitted later but due sooner, every write completes before any read.
            assertThat(lastWrite).isLessThan(firstRead);
            for (int i = 0; i < 64; i++) {
                assertThat(reads.get(i).status()).isEqualTo(IoStatus.SUCCESS);
                assertThat(reads.get(i).nanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30));
                if (i > 0) {
                    assertThat(reads.get(i).seq()).isGreaterThan(reads.get(i - 1).seq());
                    assertThat(writes.get(i).seq()).isGreaterThan(writes.get(i - 1).seq());
                }
            }
        }
    }

    @Test
    void aboutOneInAHundredGetsTheP99Latency() throws Exception {
        DelayBdev d = create(0, 200 * MS, 0, 0);
        try (BdevClient c = BdevClient.open(fx, 1, "d0", true)) {
            List<BdevClient.Op> ops = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                ops.add((dd, ch, cb) -> dd.read(ch, BdevClient.buffer(BS), 0, 0, 1, cb, null));
            }
            int slow = 0;
            for (CompletableFuture<Result> f : c.submitAll(ops)) {
                Result r = await(f);
                assertThat(r.status()).isEqualTo(IoStatus.SUCCESS);
                if (r.nanos() >= TimeUnit.MILLISECONDS.toNanos(200)) {
                    slow++;
                }
            }
            long picks = fx.on(1, () -> d.p99Picks(Reactor.current()));

            // The dice are seeded per bdev and reactor, so this run is the same every time.
            assertThat(picks).isBetween(1L, 25L);
            assertThat(slow).isGreaterThanOrEqualTo((int) picks);
        }
    }

    @Test
    void resetAbortsWhatWaitsOnEveryChannel() throws Exception {
        DelayBdev d = create(LONG_US, LONG_US, LONG_US, LONG_US);
        try (BdevClient c0 = BdevClient.open(fx, 0, "d0", true);
             BdevClient c1 = BdevClient.open(fx, 1, "d0", true)) {
            CompletableFuture<Result> w = c0.write(BdevClient.pattern(BS, 3), 0, 1);
            CompletableFuture<Result> r = c1.read(BdevClient.buffer(BS), 0, 1);
            eventually("both wait out their delay", () -> waitingOn(d, 0) == 1 && waitingOn(d, 1) == 1);
            assertThat(await(c1.reset()).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(await(w).status()).isEqualTo(IoStatus.ABORTED);
            assertThat(await(r).status()).isEqualTo(IoStatus.ABORTED);
        }
    }

    @Test
    void deleteCompletesWaitingIoAtOnceWithItsResultAndLeaksNothing() throws Exception {
        DelayBdev d = create(LONG_US, LONG_US, LONG_US, LONG_US);
        Bdev m0 = fx.bdevs.require("m0");
        BdevClient c = BdevClient.open(fx, 1, "d0", true);
        MemorySegment data = BdevClient.pattern(BS, 4);
        CompletableFuture<Result> w = c.write(data, 3, 1);
        eventually("the write waits out its delay", () -> waitingOn(d, 1) == 1);
        fx.onAsync(0, () -> delays.delete("d0"));
        assertThat(await(w).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(c.events).containsExactly(BdevEvent.REMOVE);
        assertThat(fx.bdevs.lookup("d0")).isNull();
        assertThat(fx.bdevs.channelCount(d)).isZero();
        assertThat(fx.bdevs.openDescriptors(d)).isZero();
        assertThat(m0.claimed()).isFalse();
        assertThat(fx.bdevs.openDescriptors(m0)).isZero();
        eventually("base channel put", () -> fx.bdevs.channelCount(m0) == 0);
        try (BdevClient base = BdevClient.open(fx, 0, "m0", false)) {
            MemorySegment got = BdevClient.buffer(BS);
            await(base.read(got, 3, 1));
            assertThat(got.mismatch(data)).isEqualTo(-1);
        }
    }

    @Test
    void hotRemoveOfTheBaseRemovesTheDelayBdev() throws Exception {
        create(MS, MS, MS, MS);
        BdevClient c = BdevClient.open(fx, 1, "d0", true);
        assertThat(await(c.read(BdevClient.buffer(BS), 0, 1)).status()).isEqualTo(IoStatus.SUCCESS);
        fx.onAsync(0, () -> malloc.delete("m0"));
        ReactorFixture.await(c.removed);
        assertThat(fx.bdevs.lookup("d0")).isNull();
        assertThat(fx.bdevs.list()).isEmpty();
    }
}
