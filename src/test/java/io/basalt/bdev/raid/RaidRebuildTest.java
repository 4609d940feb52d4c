package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.bdev.error.ErrorBdev.ErrorType;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.testing.BdevClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The rebuild process: windows under client I/O, bandwidth, retries, rollback. */
class RaidRebuildTest {
    private static final int BS = 512;
    /** 4096 blocks, 2048 of which hold data after the 1 MiB superblock area. */
    private static final long MEMBER = 4096;
    private static final long OFF = 2048;
    private RaidKit k;

    @AfterEach
    void tearDown() {
        if (k != null) {
            k.close();
        }
    }

    private static JsonNode process(RaidKit k, String raid) throws Exception {
        return k.info(raid).get("process");
    }

    private void awaitRebuilt(String raid) throws Exception {
        RaidKit.eventuallyTrue("rebuild of " + raid + " finished", () -> process(k, raid) == null);
    }

    /**
     * A new kit with members m0..m{members-1}, array {@code name} of {@code level} (superblock, 4
     * KiB strips) over the first {@code n} of them, every block written; returns what was written.
     */
    private MemorySegment filled(int reactors, int members, RaidLevel level, String name, int n, int seed)
            throws Exception {
        k = new RaidKit(reactors);
        k.mallocs("m", members, MEMBER, BS);
        List<String> bases = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            bases.add("m" + i);
        }
        k.create(name, level, level == RaidLevel.RAID1 ? 0 : 4, bases, true, null);
        long blocks = k.bdev(name).numBlocks();
        MemorySegment model = BdevClient.pattern(blocks * BS, seed);
        try (BdevClient c = k.client(0, name)) {
            assertThat(await(c.write(model, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
        }
        return model;
    }

    /** Random writes and reads of one region from one client, checked against a model, until stopped. */
    private static Thread load(BdevClient c, MemorySegment model, long from, long to, int seed, AtomicBoolean stop,
                               AtomicReference<Throwable> error) {
        return Thread.ofPlatform().start(() -> {
            Random rnd = new Random(seed);
            int i = 0;
            try {
                while (!stop.get()) {
                    long n = 1 + rnd.nextInt(48);
                    long off = from + rnd.nextLong(to - from - n);
                    if (rnd.nextBoolean()) {
                        MemorySegment w = BdevClient.pattern(n * BS, seed * 1000 + i++);
                        BdevClient.Result r = await(c.write(w, off, n));
                        if (r.status() != IoStatus.SUCCESS) {
                            throw new AssertionError("write " + off + "+" + n + ": " + r);
                        }
                        MemorySegment.copy(w, 0, model, off * BS, n * BS);
                    } else {
                        MemorySegment b = BdevClient.buffer(n * BS);
                        BdevClient.Result r = await(c.read(b, off, n));
                        if (r.status() != IoStatus.SUCCESS || b.mismatch(model.asSlice(off * BS, n * BS)) != -1) {
                            throw new AssertionError("read " + off + "+" + n + " did not return what was written: " + r);
                        }
                    }
                }
            } catch (Throwable t) {
                error.compareAndSet(null, t);
            }
        });
    }

    private static void verify(BdevClient c, MemorySegment model, long blocks) throws Exception {
        MemorySegment back = BdevClient.buffer(blocks * BS);
        assertThat(await(c.read(back, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(back.mismatch(model)).isEqualTo(-1);
    }

    @Test
    void raid5fRebuildsWindowByWindowUnderClientIo() throws Exception {
        MemorySegment model = filled(2, 4, RaidLevel.RAID5F, "r5", 3, 1);
        long blocks = k.bdev("r5").numBlocks();
        assertThat(blocks).isEqualTo(2 * OFF);
        try (BdevClient c0 = k.client(0, "r5"); BdevClient c1 = k.client(1, "r5")) {
            k.remove("m2");
            // 16 KiB windows at 2 MiB/s: about a second for the 2 MiB array.
            k.options(16, 2);
            k.add("r5", "m3");
            JsonNode p = process(k, "r5");
            assertThat(p.get("type").asText()).isEqualTo("rebuild");
            assertThat(p.get("target").asText()).isEqualTo("m3");
            assertThat(k.info("r5").get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
            assertThatThrownBy(() -> k.add("r5", "m2"))
                    .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread t0 = load(c0, model, 0, blocks / 2, 7, stop, error);
            Thread t1 = load(c1, model, blocks / 2, blocks, 8, stop, error);
            ConcurrentSkipListSet<Long> seen = new ConcurrentSkipListSet<>();
            RaidKit.eventuallyTrue("rebuild done", () -> {
                JsonNode pr = process(k, "r5");
                if (pr != null) {
                    seen.add(pr.get("progress").get("blocks").asLong());
                    assertThat(pr.get("progress").get("percent").asInt()).isBetween(0, 100);
                }
                return pr == null;
            });
            stop.set(true);
            t0.join();
            t1.join();
            assertThat(error.get()).isNull();
            // Progress was seen moving, window by window (48-block windows: 16 KiB rounded to stripes).
            assertThat(seen.size()).isGreaterThan(2);
            for (long b : seen) {
                assertThat(b % 16).isZero();
            }
            verify(c0, model, blocks);
        }
        JsonNode info = k.info("r5");
        assertThat(info.get("state").asText()).isEqualTo("online");
        assertThat(info.has("process_error")).isFalse();
        assertThat(info.get("base_bdevs_list").get(2).get("name").asText()).isEqualTo("m3");
        assertThat(info.get("base_bdevs_list").get(2).get("is_configured").asBoolean()).isTrue();
        Superblock sb = k.superblock("m3").sb();
        assertThat(sb.slot(2).uuid).isEqualTo(k.bdev("m3").uuid());
        assertThat(sb.slot(2).state).isEqualTo(Superblock.SlotState.CONFIGURED);
        assertThat(k.superblock("m0").sb().seqNumber).isEqualTo(sb.seqNumber);
        Raid5fTest.checkLayout(k, List.of("m0", "m1", "m3"), OFF, 8, blocks / 16, model.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void raid1RebuildCopiesAndMirrorsBelowTheWindow() throws Exception {
        MemorySegment model = filled(2, 3, RaidLevel.RAID1, "r1", 2, 2);
        long blocks = k.bdev("r1").numBlocks();
        try (BdevClient c = k.client(1, "r1")) {
            k.fx.onAsync(0, () -> k.malloc.delete("m1"));
            RaidKit.eventuallyTrue("degraded", () -> k.info("r1").get("num_base_bdevs_discovered").asInt() == 1);
            k.options(8, 1);
            k.add("r1", "m2");
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread t = load(c, model, 0, blocks, 3, stop, error);
            awaitRebuilt("r1");
            stop.set(true);
            t.join();
            assertThat(error.get()).isNull();
            verify(c, model, blocks);
        }
        assertThat(k.read("m2", OFF, blocks)).isEqualTo(model.toArray(ValueLayout.JAVA_BYTE));
        assertThat(k.read("m0", OFF, blocks)).isEqualTo(model.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void transientErrorsOnTheNewMemberAreRetried() throws Exception {
        MemorySegment model = filled(1, 3, RaidLevel.RAID1, "r1", 2, 3);
        long blocks = k.bdev("r1").numBlocks();
        k.remove("m1");
        k.error("m2");
        // The first write to the new member is its superblock: two failures there are retried.
        k.inject("EE_m2", IoType.WRITE, ErrorType.FAILURE, 2);
        k.options(4, 1);
        k.add("r1", "EE_m2");
        RaidKit.eventuallyTrue("windows copied", () -> {
            JsonNode p = process(k, "r1");
            return p != null && p.get("progress").get("blocks").asLong() > 0;
        });
        assertThat(k.errors.require("EE_m2").remaining(IoType.WRITE)).isZero();
        // Then five failures of window writes in a row (the limit is six): retried, then through.
        k.inject("EE_m2", IoType.WRITE, ErrorType.FAILURE, RaidProcess.MAX_ATTEMPTS - 1);
        k.options(1024, 0);
        awaitRebuilt("r1");
        assertThat(k.errors.require("EE_m2").remaining(IoType.WRITE)).isZero();
        JsonNode info = k.info("r1");
        assertThat(info.has("process_error")).isFalse();
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
        assertThat(k.read("m2", OFF, blocks)).isEqualTo(model.toArray(ValueLayout.JAVA_BYTE));
        assertThat(k.superblock("m2").sb().slot(1).state).isEqualTo(Superblock.SlotState.CONFIGURED);
    }

    @Test
    void aPermanentErrorRollsBackCleanlyAndTheRebuildCanStartAgain() throws Exception {
        MemorySegment model = filled(2, 4, RaidLevel.RAID5F, "r5", 3, 4);
        long blocks = k.bdev("r5").numBlocks();
        try (BdevClient c = k.client(1, "r5")) {
            k.remove("m1");
            long seqBefore = k.superblock("m0").sb().seqNumber;
            k.error("m3");
            k.inject("EE_m3", IoType.WRITE, ErrorType.FAILURE, 1000);
            k.add("r5", "EE_m3");
            awaitRebuilt("r5");
            JsonNode info = k.info("r5");
            assertThat(info.get("state").asText()).isEqualTo("online");
            assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
            assertThat(info.get("base_bdevs_list").get(1).get("name").isNull()).isTrue();
            JsonNode err = info.get("process_error");
            assertThat(err.get("type").asText()).isEqualTo("rebuild");
            assertThat(err.get("target").asText()).isEqualTo("EE_m3");
            assertThat(err.get("code").asInt()).isEqualTo(-Errno.EIO);
            assertThat(err.get("message").asText()).contains("EE_m3").contains("6 attempts");
            // The new member is let go; the array serves every block, degraded.
            assertThat(k.bdev("EE_m3").claimed()).isFalse();
            assertThat(1000 - k.errors.require("EE_m3").remaining(IoType.WRITE)).isEqualTo(RaidProcess.MAX_ATTEMPTS);
            verify(c, model, blocks);
            Superblock sb = k.superblock("m0").sb();
            assertThat(sb.seqNumber).isGreaterThan(seqBefore);
            assertThat(sb.slot(1).state).isEqualTo(Superblock.SlotState.FAILED);
            // Once the fault is gone, the same bdev can be added again and the rebuild completes.
            k.fx.onAsync(0, () -> k.errors.require("EE_m3").clear());
            k.add("r5", "EE_m3");
            awaitRebuilt("r5");
            info = k.info("r5");
            assertThat(info.has("process_error")).isFalse();
            assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
            verify(c, model, blocks);
        }
        Raid5fTest.checkLayout(k, List.of("m0", "m3", "m2"), OFF, 8, blocks / 16, model.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void aClientWriteThatFailsOnTheTargetIsCopiedAgain() throws Exception {
        MemorySegment model = filled(1, 3, RaidLevel.RAID1, "r1", 2, 5);
        long blocks = k.bdev("r1").numBlocks();
        try (BdevClient c = k.client(0, "r1")) {
            k.remove("m1");
            k.error("m2");
            k.options(4, 1);
            k.add("r1", "EE_m2");
            RaidKit.eventuallyTrue("half way", () -> {
                JsonNode p = process(k, "r1");
                return p != null && p.get("progress").get("blocks").asLong() > blocks / 2;
            });
            // The next write to the target fails: a client write below the window.
            k.inject("EE_m2", IoType.WRITE, ErrorType.FAILURE, 1);
            MemorySegment w = BdevClient.pattern(8L * BS, 99);
            MemorySegment.copy(w, 0, model, 16L * BS, 8L * BS);
            assertThat(await(c.write(w, 16, 8)).status()).isEqualTo(IoStatus.SUCCESS);
            k.options(1024, 0);
            awaitRebuilt("r1");
            assertThat(k.info("r1").has("process_error")).isFalse();
            assertThat(k.errors.require("EE_m2").remaining(IoType.WRITE)).isZero();
        }
        assertThat(k.read("m2", OFF, blocks)).isEqualTo(model.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void addBaseBdevChecks() throws Exception {
        k = new RaidKit(1);
        k.mallocs("m", 5, MEMBER, BS);
        k.malloc("small", 1024, BS);
        k.create("r1", RaidLevel.RAID1, 0, List.of("m0", "m1"), true, null);
        k.create("other", RaidLevel.RAID1, 0, List.of("m3", "m4"), true, null);
        k.delete("other", false);
        assertThatThrownBy(() -> k.add("r1", "m2"))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        assertThatThrownBy(() -> k.add("nope", "m2"))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
        k.remove("m1");
        assertThatThrownBy(() -> k.remove("m1"))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
        assertThatThrownBy(() -> k.add("r1", "nope"))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
        assertThatThrownBy(() -> k.add("r1", "small"))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        // m3 carries the deleted array's superblock.
        assertThatThrownBy(() -> k.add("r1", "m3"))
                .isInstanceOfSatisfying(BasaltException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.EEXIST);
                    assertThat(e.getMessage()).contains("m3").contains("other");
                });
        assertThat(k.bdev("m3").claimed()).isFalse();
        assertThat(k.bdev("small").claimed()).isFalse();
        // Basalt's overwrite_superblock takes it anyway; m1 (this array's own stale member) is taken too.
        k.fx.onAsync(0, () -> k.raid.addBaseBdev("r1", "m3", true));
        awaitRebuilt("r1");
        assertThat(k.info("r1").get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
        k.remove("m3");
        k.add("r1", "m1");
        awaitRebuilt("r1");
        assertThat(k.info("r1").get("base_bdevs_list").get(1).get("name").asText()).isEqualTo("m1");
    }

    @Test
    void deletingOrLosingTheTargetDuringARebuildStopsItCleanly() throws Exception {
        k = new RaidKit(2);
        k.mallocs("m", 4, MEMBER, BS);
        k.create("r1", RaidLevel.RAID1, 0, List.of("m0", "m1"), true, null);
        k.remove("m1");
        k.options(4, 1);
        k.add("r1", "m2");
        assertThat(process(k, "r1")).isNotNull();
        // The target goes away: rolled back, degraded, the error says why.
        k.fx.onAsync(0, () -> k.malloc.delete("m2"));
        awaitRebuilt("r1");
        JsonNode info = k.info("r1");
        assertThat(info.get("process_error").get("code").asInt()).isEqualTo(-Errno.ENODEV);
        assertThat(info.get("state").asText()).isEqualTo("online");
        k.add("r1", "m3");
        assertThat(process(k, "r1")).isNotNull();
        k.delete("r1", true);
        assertThat(k.info("r1")).isNull();
        for (String m : List.of("m0", "m1", "m3")) {
            assertThat(k.bdev(m).claimed()).as(m).isFalse();
        }
        assertThat(k.superblock("m0").invalid()).isEqualTo(Superblock.Invalid.NO_SIGNATURE);
        assertThat(k.superblock("m3").invalid()).isEqualTo(Superblock.Invalid.NO_SIGNATURE);
    }
}
