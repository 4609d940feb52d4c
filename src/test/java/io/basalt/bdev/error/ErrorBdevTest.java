package io.basalt.bdev.error;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.IoStats;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.bdev.error.ErrorBdev.ErrorType;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.bdev.nullbdev.NullModule;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.testing.BdevClient;
import io.basalt.testing.BdevClient.Result;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ErrorBdevTest {
    private static final int BS = 512;
    private static final long BLOCKS = 1024;

    private ReactorFixture fx;
    private MallocModule malloc;
    private ErrorModule errors;
    private ErrorBdev ee;

    @BeforeEach
    void setUp() throws Exception {
        fx = new ReactorFixture(2);
        malloc = new MallocModule(fx.bdevs);
        errors = new ErrorModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        fx.bdevs.addModule(errors);
        fx.on(0, () -> malloc.create("m0", null, BS, BLOCKS, BS, 0));
        ee = fx.on(0, () -> errors.create("m0", null));
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private void inject(IoType t, ErrorType e, long num) throws Exception {
        inject(Set.of(t), e, num, 0, 0, 0);
    }

    private void inject(Set<IoType> types, ErrorType e, long num, long qd, long off, int value) throws Exception {
        fx.onAsync(0, () -> ee.inject(types, e, num, qd, off, value));
    }

    private static CompletableFuture<Result> io(BdevClient c, IoType t) {
        return switch (t) {
            case READ -> c.read(BdevClient.buffer(BS), 0, 1);
            case WRITE -> c.write(BdevClient.pattern(BS, 1), 0, 1);
            case UNMAP -> c.unmap(0, 1);
            case FLUSH -> c.flush();
            default -> throw new IllegalArgumentException(t.toString());
        };
    }

    private static IoStatus status(BdevClient c, IoType t) throws Exception {
        return await(io(c, t)).status();
    }

    private static void eventually(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void mirrorsTheBaseAndClaimsIt() throws Exception {
        Bdev m0 = fx.bdevs.require("m0");
        assertThat(ee.name()).isEqualTo("EE_m0");
        assertThat(ee.blockSize()).isEqualTo(BS);
        assertThat(ee.numBlocks()).isEqualTo(BLOCKS);
        assertThat(ee.productName()).isEqualTo("Error Injection Disk");
        for (IoType t : IoType.values()) {
            assertThat(ee.supports(t)).as(t.json()).isEqualTo(m0.supports(t));
        }
        assertThat(fx.bdevs.claimant(m0)).isSameAs(errors);
        assertThat(m0.toJson().get("claim_type").asText()).isEqualTo("exclusive_write");
        assertThat(ee.toJson().get("driver_specific")).isEqualTo(Json.MAPPER.readTree("{\"error_disk\":{\"base_bdev\":\"m0\"}}"));
        assertThatThrownBy(() -> fx.bdevs.open("m0", true, BdevEventHandler.IGNORE))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
        // Readers of the base stay allowed.
        fx.bdevs.open("m0", false, BdevEventHandler.IGNORE).close();
    }

    @Test
    void failedCreatesLeaveEverythingAsItWas() throws Exception {
        assertThatThrownBy(() -> fx.on(0, () -> errors.create("m0", null)))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        assertThatThrownBy(() -> fx.on(0, () -> errors.create("nope", null)))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
        // A uuid that is taken fails at registration: the base must come back unclaimed and closed.
        fx.on(0, () -> malloc.create("m1", null, BS, 64, BS, 0));
        Bdev m1 = fx.bdevs.require("m1");
        assertThatThrownBy(() -> fx.on(0, () -> errors.create("m1", ee.uuid())))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        assertThat(m1.claimed()).isFalse();
        assertThat(fx.bdevs.openDescriptors(m1)).isZero();
        assertThat(fx.bdevs.lookup("EE_m1")).isNull();
        // A base another user has open for writing cannot be claimed: -EPERM, the base as it was.
        var writer = fx.bdevs.open("m1", true, BdevEventHandler.IGNORE);
        assertThatThrownBy(() -> fx.on(0, () -> errors.create("m1", UUID.randomUUID())))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
        assertThat(m1.claimed()).isFalse();
        assertThat(fx.bdevs.openDescriptors(m1)).isEqualTo(1);
        writer.close();
        ErrorBdev stacked = fx.on(0, () -> errors.create("EE_m0", null));
        assertThat(stacked.name()).isEqualTo("EE_EE_m0");
    }

    @ParameterizedTest
    @EnumSource(value = IoType.class, names = {"READ", "WRITE", "UNMAP", "FLUSH"})
    void failureHitsTheNextNumIosOfItsTypeOnly(IoType type) throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true)) {
            inject(type, ErrorType.FAILURE, 2);
            for (IoType other : ErrorBdev.INJECTABLE) {
                if (other != type) {
                    assertThat(status(c, other)).as(other.json()).isEqualTo(IoStatus.SUCCESS);
                }
            }
            Result r = await(io(c, type));
            assertThat(r.status()).isEqualTo(IoStatus.FAILED);
            assertThat(r.errno()).isEqualTo(Errno.EIO);
            assertThat(status(c, type)).isEqualTo(IoStatus.FAILED);
            assertThat(status(c, type)).isEqualTo(IoStatus.SUCCESS);
            assertThat(ee.remaining(type)).isZero();
        }
    }

    @Test
    void failedWriteNeverReachesTheBase() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true);
             BdevClient base = BdevClient.open(fx, 0, "m0", false)) {
            inject(IoType.WRITE, ErrorType.FAILURE, 1);
            assertThat(await(c.write(BdevClient.pattern(BS, 3), 5, 1)).status()).isEqualTo(IoStatus.FAILED);
            MemorySegment got = BdevClient.pattern(BS, 9);
            assertThat(await(base.read(got, 5, 1)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(got.mismatch(BdevClient.buffer(BS))).isEqualTo(-1);
        }
    }

    @Test
    void allGivesEachTypeItsOwnCount() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true)) {
            inject(ErrorBdev.INJECTABLE, ErrorType.FAILURE, 1, 0, 0, 0);
            for (IoType t : List.of(IoType.READ, IoType.WRITE, IoType.UNMAP, IoType.FLUSH)) {
                assertThat(status(c, t)).as(t.json()).isEqualTo(IoStatus.FAILED);
                assertThat(status(c, t)).as(t.json()).isEqualTo(IoStatus.SUCCESS);
            }
            // Types SPDK does not inject into pass through.
            assertThat(await(c.submit((d, ch, cb) -> d.writeZeroes(ch, 0, 4, cb, null))).status())
                    .isEqualTo(IoStatus.SUCCESS);
        }
    }

    @Test
    void numZeroAndClearSwitchInjectionOff() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true)) {
            inject(IoType.READ, ErrorType.FAILURE, 5);
            inject(IoType.WRITE, ErrorType.FAILURE, 5);
            inject(IoType.READ, ErrorType.FAILURE, 0);
            assertThat(status(c, IoType.READ)).isEqualTo(IoStatus.SUCCESS);
            assertThat(status(c, IoType.WRITE)).isEqualTo(IoStatus.FAILED);
            fx.onAsync(0, () -> ee.clear());
            assertThat(status(c, IoType.WRITE)).isEqualTo(IoStatus.SUCCESS);
            assertThat(ee.remaining(IoType.WRITE)).isZero();
        }
    }

    @Test
    void countsAreExactAcrossReactors() throws Exception {
        try (BdevClient c0 = BdevClient.open(fx, 0, "EE_m0", true);
             BdevClient c1 = BdevClient.open(fx, 1, "EE_m0", true)) {
            inject(IoType.READ, ErrorType.FAILURE, 10);
            List<CompletableFuture<Result>> all = new ArrayList<>();
            List<BdevClient.Op> reads = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                long block = i;
                reads.add((d, ch, cb) -> d.read(ch, BdevClient.buffer(BS), 0, block, 1, cb, null));
            }
            all.addAll(c0.submitAll(reads));
            all.addAll(c1.submitAll(reads));
            int failed = 0;
            for (CompletableFuture<Result> f : all) {
                if (await(f).status() == IoStatus.FAILED) {
                    failed++;
                }
            }
            assertThat(failed).isEqualTo(10);
        }
    }

    @Test
    void pendingHoldsUntilClearedThenAborts() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true)) {
            inject(IoType.READ, ErrorType.PENDING, 1);
            CompletableFuture<Result> held = c.read(BdevClient.buffer(BS), 0, 1);
            // The next read is not held, and completes while the first stays in flight.
            assertThat(status(c, IoType.READ)).isEqualTo(IoStatus.SUCCESS);
            assertThat(held).isNotDone();
            // Clearing another type leaves it held; clearing reads releases it.
            inject(IoType.WRITE, ErrorType.PENDING, 0);
            assertThat(held).isNotDone();
            inject(IoType.READ, ErrorType.PENDING, 0);
            assertThat(await(held).status()).isEqualTo(IoStatus.ABORTED);
        }
    }

    @Test
    void pendingIsAbortedByReset() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true);
             BdevClient other = BdevClient.open(fx, 0, "EE_m0", true)) {
            inject(ErrorBdev.INJECTABLE, ErrorType.PENDING, 2, 0, 0, 0);
            CompletableFuture<Result> heldRead = c.read(BdevClient.buffer(BS), 0, 1);
            CompletableFuture<Result> heldWrite = other.write(BdevClient.pattern(BS, 2), 0, 1);
            assertThat(await(c.reset()).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(await(heldRead).status()).isEqualTo(IoStatus.ABORTED);
            assertThat(await(heldWrite).status()).isEqualTo(IoStatus.ABORTED);
        }
    }

    @Test
    void pendingIsAbortedOnDeleteAndNothingLeaks() throws Exception {
        Bdev m0 = fx.bdevs.require("m0");
        BdevClient c = BdevClient.open(fx, 1, "EE_m0", true);
        inject(IoType.WRITE, ErrorType.PENDING, 3);
        List<CompletableFuture<Result>> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(c.write(BdevClient.pattern(BS, i), i, 1));
        }
        assertThat(fx.bdevs.channelCount(ee)).isEqualTo(1);
        assertThat(fx.bdevs.channelCount(m0)).isEqualTo(1);
        fx.onAsync(0, () -> errors.delete("EE_m0"));
        ReactorFixture.await(c.removed);
        for (CompletableFuture<Result> f : held) {
            assertThat(await(f).status()).isEqualTo(IoStatus.ABORTED);
        }
        assertThat(c.events).containsExactly(BdevEvent.REMOVE);
        assertThat(fx.bdevs.lookup("EE_m0")).isNull();
        assertThat(fx.bdevs.channelCount(ee)).isZero();
        assertThat(fx.bdevs.openDescriptors(ee)).isZero();
        assertThat(m0.claimed()).isFalse();
        assertThat(fx.bdevs.openDescriptors(m0)).isZero();
        eventually("base channel put", () -> fx.bdevs.channelCount(m0) == 0);
        // The base is free again: another error bdev can take it.
        fx.on(0, () -> errors.create("m0", null));
    }

    @Test
    void pendingWhileBeingRemovedIsAbortedAtOnce() throws Exception {
        // A user that ignores REMOVE keeps submitting; held I/O must not pile up.
        List<BdevEvent> seen = new CopyOnWriteArrayList<>();
        CompletableFuture<Result> late = new CompletableFuture<>();
        var desc = fx.on(1, () -> fx.bdevs.open("EE_m0", true, (e, b, d) -> seen.add(e)));
        var ch = fx.on(1, desc::getIoChannel);
        inject(IoType.READ, ErrorType.PENDING, 5);
        CompletableFuture<Void> deleted = fx.on(0, () -> errors.delete("EE_m0"));
        fx.on(0, () -> null);
        fx.on(1, () -> desc.read(ch, BdevClient.buffer(BS), 0, 0, 1,
                (io, ok, a) -> late.complete(new Result(io.status(), io.errno(), 0, 0)), null));
        assertThat(await(late).status()).isEqualTo(IoStatus.ABORTED);
        assertThat(deleted).isNotDone();
        fx.on(1, () -> {
            desc.putIoChannel(ch);
            desc.close();
            return null;
        });
        ReactorFixture.await(deleted);
        assertThat(seen).containsExactly(BdevEvent.REMOVE);
    }

    @Test
    void nomemIsRetriedBySubmittersLayerUntilItSucceeds() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true);
             BdevClient base = BdevClient.open(fx, 0, "m0", false)) {
            inject(IoType.WRITE, ErrorType.NOMEM, 3);
            MemorySegment data = BdevClient.pattern(2 * BS, 4);
            assertThat(await(c.write(data, 10, 2)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(ee.remaining(IoType.WRITE)).isZero();
            IoStats st = fx.onAsync(1, ee::collectStats);
            ObjectNode j = Json.object();
            st.toJson(j);
            assertThat(j.get("nomem_retries").asLong()).isEqualTo(3);
            assertThat(j.get("num_write_ops").asLong()).isEqualTo(1);
            MemorySegment got = BdevClient.buffer(2 * BS);
            await(base.read(got, 10, 2));
            assertThat(got.mismatch(data)).isEqualTo(-1);
        }
    }

    @Test
    void corruptDataWriteFlipsOneByteOnTheBaseAndKeepsTheCallersBuffer() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true);
             BdevClient base = BdevClient.open(fx, 0, "m0", false)) {
            inject(Set.of(IoType.WRITE), ErrorType.CORRUPT_DATA, 1, 0, 700, 0x5A);
            MemorySegment data = BdevClient.pattern(2 * BS, 5);
            MemorySegment original = BdevClient.pattern(2 * BS, 5);
            assertThat(await(c.write(data, 20, 2)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(data.mismatch(original)).isEqualTo(-1);
            MemorySegment onBase = BdevClient.buffer(2 * BS);
            await(base.read(onBase, 20, 2));
            assertThat(onBase.mismatch(original)).isEqualTo(700);
            assertThat(onBase.get(ValueLayout.JAVA_BYTE, 700))
                    .isEqualTo((byte) (original.get(ValueLayout.JAVA_BYTE, 700) ^ 0x5A));
            assertThat(onBase.asSlice(701).mismatch(original.asSlice(701))).isEqualTo(-1);
            // The count is spent: the next write is clean.
            await(c.write(data, 20, 2));
            await(base.read(onBase, 20, 2));
            assertThat(onBase.mismatch(original)).isEqualTo(-1);
        }
    }

    @Test
    void corruptDataReadFlipsWhatTheCallerGetsAndLeavesTheBase() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true);
             BdevClient base = BdevClient.open(fx, 0, "m0", false)) {
            MemorySegment data = BdevClient.pattern(BS, 6);
            await(c.write(data, 30, 1));
            inject(Set.of(IoType.READ), ErrorType.CORRUPT_DATA, 2, 0, 3, 0xFF);
            MemorySegment got = BdevClient.buffer(BS);
            assertThat(await(c.read(got, 30, 1)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(got.mismatch(data)).isEqualTo(3);
            assertThat(got.get(ValueLayout.JAVA_BYTE, 3)).isEqualTo((byte) ~data.get(ValueLayout.JAVA_BYTE, 3));
            MemorySegment onBase = BdevClient.buffer(BS);
            await(base.read(onBase, 30, 1));
            assertThat(onBase.mismatch(data)).isEqualTo(-1);
            // An offset past the I/O's data changes nothing but still takes a count.
            inject(Set.of(IoType.READ), ErrorType.CORRUPT_DATA, 1, 0, BS, 0xFF);
            await(c.read(got, 30, 1));
            assertThat(got.mismatch(data)).isEqualTo(-1);
            assertThat(ee.remaining(IoType.READ)).isZero();
        }
    }

    @Test
    void queueDepthGatesInjection() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true)) {
            inject(Set.of(IoType.READ), ErrorType.FAILURE, 1, 2, 0, 0);
            // One at a time, the channel never has 2 in flight: no error, nothing consumed.
            assertThat(status(c, IoType.READ)).isEqualTo(IoStatus.SUCCESS);
            assertThat(status(c, IoType.READ)).isEqualTo(IoStatus.SUCCESS);
            assertThat(ee.remaining(IoType.READ)).isEqualTo(1);
            // Submitted together, the third finds two at the base.
            List<BdevClient.Op> reads = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                reads.add((d, ch, cb) -> d.read(ch, BdevClient.buffer(BS), 0, 0, 1, cb, null));
            }
            List<IoStatus> st = new ArrayList<>();
            for (var f : c.submitAll(reads)) {
                st.add(await(f).status());
            }
            assertThat(st).containsExactly(IoStatus.SUCCESS, IoStatus.SUCCESS, IoStatus.FAILED, IoStatus.SUCCESS);
        }
    }

    @Test
    void passesDataAndEveryTypeThrough() throws Exception {
        try (BdevClient c = BdevClient.open(fx, 1, "EE_m0", true)) {
            MemorySegment data = BdevClient.pattern(4 * BS, 7);
            assertThat(await(c.write(data, 100, 4)).status()).isEqualTo(IoStatus.SUCCESS);
            MemorySegment got = BdevClient.buffer(4 * BS);
            await(c.read(got, 100, 4));
            assertThat(got.mismatch(data)).isEqualTo(-1);
            assertThat(await(c.submit((d, ch, cb) -> d.compare(ch, data, 0, 100, 4, cb, null))).status())
                    .isEqualTo(IoStatus.SUCCESS);
            assertThat(await(c.submit((d, ch, cb) -> d.compare(ch, BdevClient.buffer(4 * BS), 0, 100, 4, cb, null)))
                    .status()).isEqualTo(IoStatus.MISCOMPARE);
            assertThat(await(c.submit((d, ch, cb) -> d.copy(ch, 200, 100, 4, cb, null))).status())
                    .isEqualTo(IoStatus.SUCCESS);
            await(c.read(got, 200, 4));
            assertThat(got.mismatch(data)).isEqualTo(-1);
            assertThat(await(c.submit((d, ch, cb) -> d.writeZeroes(ch, 200, 4, cb, null))).status())
                    .isEqualTo(IoStatus.SUCCESS);
            await(c.read(got, 200, 4));
            assertThat(got.mismatch(BdevClient.buffer(4 * BS))).isEqualTo(-1);
            // Past the end fails in the layer, before any injection.
            assertThat(await(c.read(got, BLOCKS - 1, 2)).status()).isEqualTo(IoStatus.INVALID);
        }
    }

    @Test
    void hotRemoveOfTheBaseRemovesTheErrorBdev() throws Exception {
        BdevClient c = BdevClient.open(fx, 1, "EE_m0", true);
        fx.onAsync(0, () -> malloc.delete("m0"));
        ReactorFixture.await(c.removed);
        assertThat(c.events).containsExactly(BdevEvent.REMOVE);
        assertThat(fx.bdevs.lookup("EE_m0")).isNull();
        assertThat(fx.bdevs.lookup("m0")).isNull();
        assertThat(fx.bdevs.list()).isEmpty();
    }

    @Test
    void followsTheBaseWhenItGrows() throws Exception {
        NullModule nul = new NullModule(fx.bdevs);
        fx.bdevs.addModule(nul);
        fx.on(0, () -> nul.create("n0", null, BS, 100, BS));
        ErrorBdev en = fx.on(0, () -> errors.create("n0", null));
        fx.on(0, () -> {
            nul.resize("n0", 300);
            return null;
        });
        eventually("EE_n0 grows", () -> en.numBlocks() == 300);
    }
}
