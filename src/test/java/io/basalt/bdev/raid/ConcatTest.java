package io.basalt.bdev.raid;

import io.basalt.bdev.IoStatus;
import io.basalt.testing.BdevClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;

class ConcatTest {
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
    void membersFollowOneAnotherInWholeStrips() throws Exception {
        k.malloc("c0", 100, BS);
        k.malloc("c1", 250, BS);
        k.malloc("c2", 64, BS);
        k.create("cat", RaidLevel.CONCAT, 8, List.of("c0", "c1", "c2"));
        // 16-block strips: 96 + 240 + 64.
        assertThat(k.bdev("cat").numBlocks()).isEqualTo(96 + 240 + 64);
        assertThat(k.info("cat").get("base_bdevs_list").get(1).get("data_size").asLong()).isEqualTo(240);
        long blocks = k.bdev("cat").numBlocks();
        MemorySegment data = BdevClient.pattern(blocks * BS, 9);
        try (BdevClient c = k.client(1, "cat")) {
            // One write across all three members, then reads at the seams.
            assertThat(await(c.write(data, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            for (long[] r : new long[][] {{90, 12}, {330, 10}, {0, blocks}}) {
                MemorySegment back = BdevClient.buffer(r[1] * BS);
                assertThat(await(c.read(back, r[0], r[1])).status()).isEqualTo(IoStatus.SUCCESS);
                assertThat(back.mismatch(data.asSlice(r[0] * BS, r[1] * BS))).isEqualTo(-1);
            }
        }
        byte[] all = data.toArray(ValueLayout.JAVA_BYTE);
        assertThat(k.read("c1", 0, 240)).isEqualTo(Arrays.copyOfRange(all, 96 * BS, 336 * BS));
        assertThat(k.read("c2", 0, 64)).isEqualTo(Arrays.copyOfRange(all, 336 * BS, 400 * BS));
    }
}
