package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.bdev.error.ErrorBdev.ErrorType;
import io.basalt.runtime.Errno;
import io.basalt.testing.BdevClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;

class Raid1Test {
    private static final int BS = 512;
    private RaidKit k;

    @BeforeEach
    void setUp() {
        k = new RaidKit(2);
    }

    @AfterEach
    void tearDown() {
        k.close();
    }

    @Test
    void writesGoToEveryMemberAndReadsToTheLeastBusy() throws Exception {
        k.malloc("m0", 1024, BS);
        k.malloc("m1", 900, BS);
        k.create("r1", RaidLevel.RAID1, 0, List.of("m0", "m1"));
        assertThat(k.bdev("r1").numBlocks()).isEqualTo(900);
        assertThat(k.info("r1").get("strip_size_kb").asInt()).isZero();
        MemorySegment data = BdevClient.pattern(256L * BS, 4);
        try (BdevClient c = k.client(1, "r1")) {
            assertThat(await(c.write(data, 100, 256)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(k.read("m0", 100, 256)).isEqualTo(data.toArray(ValueLayout.JAVA_BYTE));
            assertThat(k.read("m1", 100, 256)).isEqualTo(data.toArray(ValueLayout.JAVA_BYTE));
            long r0 = k.stats("m0").numReadOps();
            long r1 = k.stats("m1").numReadOps();
            // Ten reads in flight together: each goes to the member with fewer blocks outstanding.
            List<BdevClient.Op> reads = new ArrayList<>();
            List<MemorySegment> bufs = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                MemorySegment b = BdevClient.buffer(8L * BS);
                bufs.add(b);
                long off = 100 + i * 8;
                reads.add((d, ch, cb) -> d.read(ch, b, 0, off, 8, cb, null));
            }
            for (var f : c.submitAll(reads)) {
                assertThat(await(f).status()).isEqualTo(IoStatus.SUCCESS);
            }
            for (int i = 0; i < 10; i++) {
                assertThat(bufs.get(i).mismatch(data.asSlice(i * 8L * BS, 8L * BS))).isEqualTo(-1);
            }
            assertThat(k.stats("m0").numReadOps() - r0).isEqualTo(5);
            assertThat(k.stats("m1").numReadOps() - r1).isEqualTo(5);
        }
    }

    @Test
    void aFailedReadIsRetriedElsewhereAndTheGoodDataWrittenBack() throws Exception {
        k.mallocs("m", 2, 1024, BS);
        k.error("m0");
        k.create("r1", RaidLevel.RAID1, 0, List.of("EE_m0", "m1"));
        MemorySegment data = BdevClient.pattern(16L * BS, 6);
        try (BdevClient c = k.client(0, "r1")) {
            assertThat(await(c.write(data, 40, 16)).status()).isEqualTo(IoStatus.SUCCESS);
            long writes = k.stats("EE_m0").numWriteOps();
            // A fresh channel sends the first read to slot 0 (both idle): it fails there.
            k.inject("EE_m0", IoType.READ, ErrorType.FAILURE, 1);
            MemorySegment back = BdevClient.buffer(16L * BS);
            assertThat(await(c.read(back, 40, 16)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(back.mismatch(data)).isEqualTo(-1);
            assertThat(k.errors.require("EE_m0").remaining(IoType.READ)).isZero();
            assertThat(k.stats("EE_m0").numWriteOps() - writes).isEqualTo(1);
            // Both members stay.
            assertThat(k.info("r1").get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
        }
    }

    @Test
    void aMemberThatFailsAWriteIsFailedAndTheSuperblockSaysSo() throws Exception {
        k.mallocs("m", 3, 4096, BS);
        k.error("m1");
        k.create("r1", RaidLevel.RAID1, 0, List.of("m0", "EE_m1", "m2"), true, null);
        long dataOffset = 1024 * 1024 / BS;
        assertThat(k.info("r1").get("base_bdevs_list").get(0).get("data_offset").asLong()).isEqualTo(dataOffset);
        Superblock before = k.superblock("m0").sb();
        assertThat(before.slot(1).state).isEqualTo(Superblock.SlotState.CONFIGURED);
        MemorySegment data = BdevClient.pattern(8L * BS, 2);
        try (BdevClient c = k.client(1, "r1")) {
            k.inject("EE_m1", IoType.WRITE, ErrorType.FAILURE, 1);
            assertThat(await(c.write(data, 0, 8)).status()).isEqualTo(IoStatus.SUCCESS);
            RaidKit.eventuallyTrue("EE_m1 out", () -> !k.bdev("EE_m1").claimed());
            JsonNode info = k.info("r1");
            assertThat(info.get("state").asText()).isEqualTo("online");
            assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
            assertThat(info.get("base_bdevs_list").get(1).get("name").isNull()).isTrue();
            assertThat(info.get("base_bdevs_list").get(1).get("is_configured").asBoolean()).isFalse();
            // Reads and writes go on with two.
            assertThat(await(c.write(data, 8, 8)).status()).isEqualTo(IoStatus.SUCCESS);
            MemorySegment back = BdevClient.buffer(8L * BS);
            assertThat(await(c.read(back, 8, 8)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(back.mismatch(data)).isEqualTo(-1);
        }
        RaidKit.eventuallyTrue("superblock updated",
                () -> k.superblock("m0").sb().slot(1).state == Superblock.SlotState.FAILED);
        Superblock after = k.superblock("m2").sb();
        assertThat(after.seqNumber).isGreaterThan(before.seqNumber);
        assertThat(after.slot(1).state).isEqualTo(Superblock.SlotState.FAILED);
        assertThat(after.slot(0).state).isEqualTo(Superblock.SlotState.CONFIGURED);
        assertThat(k.read("m0", dataOffset, 8)).isEqualTo(data.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void writesFailOnlyWhenNoMemberTakesThem() throws Exception {
        k.mallocs("m", 2, 1024, BS);
        k.error("m0");
        k.error("m1");
        k.create("r1", RaidLevel.RAID1, 0, List.of("EE_m0", "EE_m1"));
        try (BdevClient c = k.client(0, "r1")) {
            k.inject("EE_m0", IoType.READ, ErrorType.FAILURE, 1);
            k.inject("EE_m1", IoType.READ, ErrorType.FAILURE, 1);
            BdevClient.Result r = await(c.read(BdevClient.buffer(BS), 0, 1));
            assertThat(r.status()).isEqualTo(IoStatus.FAILED);
            assertThat(r.errno()).isEqualTo(Errno.EIO);
            k.inject("EE_m0", IoType.WRITE, ErrorType.FAILURE, 1);
            k.inject("EE_m1", IoType.WRITE, ErrorType.FAILURE, 1);
            r = await(c.write(BdevClient.pattern(BS, 1), 0, 1));
            assertThat(r.status()).isEqualTo(IoStatus.FAILED);
            io.basalt.testing.ReactorFixture.await(c.removed);
        }
        RaidKit.eventuallyTrue("offline", () -> "offline".equals(k.state("r1")));
    }
}
