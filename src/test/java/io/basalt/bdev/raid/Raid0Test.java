package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.testing.BdevClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Raid0Test {
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
    void stripesRoundRobinAndReadsBack() throws Exception {
        // Members of different sizes: each contributes the smallest, in whole strips.
        k.malloc("m0", 1000, BS);
        k.malloc("m1", 1200, BS);
        k.malloc("m2", 1100, BS);
        k.create("r0", RaidLevel.RAID0, 4, List.of("m0", "m1", "m2"));
        long strip = 8;
        long per = 1000 / strip * strip;
        assertThat(k.bdev("r0").numBlocks()).isEqualTo(3 * per);
        assertThat(k.bdev("r0").optimalIoBoundary()).isEqualTo(8);
        JsonNode info = k.info("r0");
        assertThat(info.get("state").asText()).isEqualTo("online");
        assertThat(info.get("raid_level").asText()).isEqualTo("raid0");
        assertThat(info.get("strip_size_kb").asInt()).isEqualTo(4);
        assertThat(info.get("base_bdevs_list").get(1).get("data_size").asLong()).isEqualTo(per);
        assertThat(info.get("base_bdevs_list").get(1).get("data_offset").asLong()).isZero();

        long blocks = k.bdev("r0").numBlocks();
        MemorySegment data = BdevClient.pattern(blocks * BS, 3);
        try (BdevClient c0 = k.client(0, "r0"); BdevClient c1 = k.client(1, "r0")) {
            // Writes of odd sizes across strip boundaries, from both reactors.
            List<CompletableFuture<BdevClient.Result>> fs = new ArrayList<>();
            long off = 0;
            int i = 0;
            while (off < blocks) {
                long n = Math.min(blocks - off, 1 + (i * 7) % 23);
                long o = off;
                BdevClient c = i % 2 == 0 ? c0 : c1;
                fs.add(c.submit((d, ch, cb) -> d.write(ch, data, o * BS, o, n, cb, null)));
                off += n;
                i++;
            }
            for (var f : fs) {
                assertThat(await(f).status()).isEqualTo(IoStatus.SUCCESS);
            }
            MemorySegment back = BdevClient.buffer(blocks * BS);
            assertThat(await(c1.read(back, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(back.mismatch(data)).isEqualTo(-1);
        }
        // Strip k of the array is strip k/3 of member k%3.
        byte[] all = data.toArray(ValueLayout.JAVA_BYTE);
        for (long s = 0; s < blocks / strip; s += 17) {
            int m = (int) (s % 3);
            byte[] onMember = k.read("m" + m, s / 3 * strip, strip);
            byte[] expect = Arrays.copyOfRange(all, (int) (s * strip * BS), (int) ((s + 1) * strip * BS));
            assertThat(onMember).as("strip " + s).isEqualTo(expect);
        }
    }

    @Test
    void unmapFlushResetReachEveryMember() throws Exception {
        k.mallocs("m", 2, 256, BS);
        k.create("r0", RaidLevel.RAID0, 1, List.of("m0", "m1"));
        try (BdevClient c = k.client(0, "r0")) {
            MemorySegment data = BdevClient.pattern(512L * BS, 1);
            assertThat(await(c.write(data, 0, 512)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(await(c.unmap(3, 20)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(await(c.flush()).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(await(c.reset()).status()).isEqualTo(IoStatus.SUCCESS);
            MemorySegment back = BdevClient.buffer(512L * BS);
            assertThat(await(c.read(back, 0, 512)).status()).isEqualTo(IoStatus.SUCCESS);
            for (long b = 0; b < 512; b++) {
                boolean zero = b >= 3 && b < 23;
                byte expect = zero ? 0 : data.get(ValueLayout.JAVA_BYTE, b * BS + 5);
                assertThat(back.get(ValueLayout.JAVA_BYTE, b * BS + 5)).as("block " + b).isEqualTo(expect);
            }
        }
        assertThat(k.bdev("r0").supports(IoType.UNMAP)).isTrue();
        assertThat(k.bdev("r0").supports(IoType.COMPARE)).isFalse();
    }

    @Test
    void losingAMemberTakesItOfflineAndAnIoErrorIsJustAnError() throws Exception {
        k.mallocs("m", 2, 256, BS);
        k.error("m1");
        k.create("r0", RaidLevel.RAID0, 1, List.of("m0", "EE_m1"));
        try (BdevClient c = k.client(0, "r0")) {
            k.inject("EE_m1", IoType.READ, io.basalt.bdev.error.ErrorBdev.ErrorType.FAILURE, 1);
            MemorySegment buf = BdevClient.buffer(4L * BS);
            BdevClient.Result r = await(c.read(buf, 0, 4));
            assertThat(r.status()).isEqualTo(IoStatus.FAILED);
            assertThat(r.errno()).isEqualTo(Errno.EIO);
            assertThat(k.state("r0")).isEqualTo("online");
            // Hot-remove: raid0 cannot do without it.
            k.fx.onAsync(0, () -> k.errors.delete("EE_m1"));
            io.basalt.testing.ReactorFixture.await(c.removed);
        }
        RaidKit.eventuallyTrue("raid offline", () -> "offline".equals(k.state("r0")));
        assertThat(k.bdev("r0")).isNull();
        // m0 stays claimed by the offline array until it is deleted.
        assertThat(k.bdev("m0").claimed()).isTrue();
        k.delete("r0", false);
        assertThat(k.info("r0")).isNull();
        assertThat(k.bdev("m0").claimed()).isFalse();
    }

    @Test
    void createChecksEverythingAndLeavesNothingBehind() throws Exception {
        k.malloc("m0", 256, BS);
        k.malloc("m1", 256, 4096);
        k.malloc("m2", 256, BS);
        assertThatThrownBy(() -> k.create("r0", RaidLevel.RAID0, 1, List.of("m0", "m1")))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        assertThat(k.bdev("m0").claimed()).isFalse();
        assertThat(k.bdev("m1").claimed()).isFalse();
        assertThat(k.info("r0")).isNull();
        // A strip larger than the members.
        assertThatThrownBy(() -> k.create("r0", RaidLevel.RAID0, 256, List.of("m0", "m2")))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        assertThat(k.bdev("m0").claimed()).isFalse();
        k.create("r0", RaidLevel.RAID0, 1, List.of("m0", "m2"));
        // A member of an array is claimed: -1 for a second array, -17 for the same name.
        k.malloc("m3", 256, BS);
        assertThatThrownBy(() -> k.create("r1", RaidLevel.RAID0, 1, List.of("m3", "m2")))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
        assertThat(k.bdev("m3").claimed()).isFalse();
        assertThatThrownBy(() -> k.create("r0", RaidLevel.RAID0, 1, List.of("m3")))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        assertThat(k.bdev("m3").claimed()).isFalse();
    }

    @Test
    void absentMembersAreWaitedForByName() throws Exception {
        k.malloc("m0", 256, BS);
        k.create("r0", RaidLevel.RAID0, 1, List.of("m0", "later"));
        assertThat(k.state("r0")).isEqualTo("configuring");
        JsonNode info = k.info("r0");
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(1);
        assertThat(info.get("base_bdevs_list").get(1).get("name").asText()).isEqualTo("later");
        assertThat(info.get("base_bdevs_list").get(1).get("is_configured").asBoolean()).isFalse();
        k.malloc("later", 256, BS);
        RaidKit.eventuallyTrue("raid online", () -> "online".equals(k.state("r0")));
        assertThat(k.bdev("r0").numBlocks()).isEqualTo(512);
    }
}
