package io.basalt.bdev.raid;

import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.bdev.error.ErrorBdev.ErrorType;
import io.basalt.testing.BdevClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;

class Raid5fTest {
    private static final int BS = 512;
    private RaidKit k;

    @AfterEach
    void tearDown() {
        if (k != null) {
            k.close();
        }
    }

    /** Every stripe's n strips XOR to zero, and data chunk j of stripe s is where SPDK puts it. */
    static void checkLayout(RaidKit k, List<String> members, long strip, long stripes, byte[] expectData)
            throws Exception {
        checkLayout(k, members, 0, strip, stripes, expectData);
    }

    /** As above for members whose data starts at block {@code offset}. */
    static void checkLayout(RaidKit k, List<String> members, long offset, long strip, long stripes,
                            byte[] expectData) throws Exception {
        int n = members.size();
        byte[][] m = new byte[n][];
        for (int i = 0; i < n; i++) {
            m[i] = k.read(members.get(i), offset, stripes * strip);
        }
        int sb = (int) (strip * BS);
        for (long s = 0; s < stripes; s++) {
            int p = (int) ((n - 1) - (s % n));
            for (int x = 0; x < sb; x++) {
                int v = 0;
                for (int i = 0; i < n; i++) {
                    v ^= m[i][(int) (s * sb + x)];
                }
                assertThat(v).as("parity of stripe " + s + " byte " + x).isZero();
            }
            if (expectData != null) {
                for (int j = 0; j < n - 1; j++) {
                    int slot = j < p ? j : j + 1;
                    long at = (s * (n - 1) + j) * sb;
                    for (int x = 0; x < sb; x += 97) {
                        assertThat(m[slot][(int) (s * sb + x)]).as("stripe " + s + " chunk " + j)
                                .isEqualTo(expectData[(int) (at + x)]);
                    }
                }
            }
        }
    }

    @Test
    void fullAndPartialStripeWritesKeepEveryStripeConsistent() throws Exception {
        k = new RaidKit(2);
        k.mallocs("m", 4, 512, BS);
        List<String> ms = List.of("m0", "m1", "m2", "m3");
        k.create("r5", RaidLevel.RAID5F, 4, ms);
        long strip = 8;
        long stripes = 512 / strip;
        long blocks = stripes * strip * 3;
        assertThat(k.bdev("r5").numBlocks()).isEqualTo(blocks);
        assertThat(k.bdev("r5").optimalIoBoundary()).isEqualTo(24);
        assertThat(k.bdev("r5").supports(IoType.UNMAP)).isFalse();
        MemorySegment data = BdevClient.pattern(blocks * BS, 11);
        try (BdevClient c0 = k.client(0, "r5"); BdevClient c1 = k.client(1, "r5")) {
            // Odd sizes at odd places: partial stripes, whole stripes, spans of several.
            List<CompletableFuture<BdevClient.Result>> fs = new ArrayList<>();
            long off = 0;
            int i = 0;
            while (off < blocks) {
                long n = Math.min(blocks - off, new long[] {1, 5, 24, 40, 3, 71}[i % 6]);
                long o = off;
                fs.add((i % 2 == 0 ? c0 : c1).submit((d, ch, cb) -> d.write(ch, data, o * BS, o, n, cb, null)));
                off += n;
                i++;
            }
            for (var f : fs) {
                assertThat(await(f).status()).isEqualTo(IoStatus.SUCCESS);
            }
            MemorySegment back = BdevClient.buffer(blocks * BS);
            assertThat(await(c0.read(back, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(back.mismatch(data)).isEqualTo(-1);
        }
        checkLayout(k, ms, strip, stripes, data.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void concurrentPartialWritesOfOneStripeFromEveryReactor() throws Exception {
        k = new RaidKit(4);
        k.mallocs("m", 3, 256, BS);
        List<String> ms = List.of("m0", "m1", "m2");
        k.create("r5", RaidLevel.RAID5F, 8, ms);
        long strip = 16;
        long stripeBlocks = 32;
        long stripes = 256 / strip;
        long blocks = stripes * stripeBlocks;
        byte[] model = new byte[(int) (blocks * BS)];
        Random rnd = new Random(5);
        List<BdevClient> cs = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
            cs.add(k.client(r, "r5"));
        }
        try {
            for (int round = 0; round < 30; round++) {
                // Every reactor writes its own blocks of the same few stripes, all at once.
                List<CompletableFuture<BdevClient.Result>> fs = new ArrayList<>();
                long s = rnd.nextInt((int) stripes);
                for (int r = 0; r < 4; r++) {
                    List<BdevClient.Op> ops = new ArrayList<>();
                    for (int w = 0; w < 4; w++) {
                        long block = s * stripeBlocks + (w * 4 + r) * 2;
                        int seed = round * 100 + r * 10 + w;
                        MemorySegment d = BdevClient.pattern(2L * BS, seed);
                        MemorySegment.copy(d, 0, MemorySegment.ofArray(model), block * BS, 2L * BS);
                        ops.add((desc, ch, cb) -> desc.write(ch, d, 0, block, 2, cb, null));
                    }
                    fs.addAll(cs.get(r).submitAll(ops));
                }
                for (var f : fs) {
                    assertThat(await(f).status()).isEqualTo(IoStatus.SUCCESS);
                }
            }
        } finally {
            cs.forEach(BdevClient::close);
        }
        checkLayout(k, ms, strip, stripes, model);
        assertThat(k.fx.on(0, () -> ((Raid5f) ((RaidBdev) k.bdev("r5")).logic).locks().heldOn(k.fx.app()))).isZero();
    }

    @Test
    void degradedReadsAndWritesReconstruct() throws Exception {
        k = new RaidKit(2);
        k.mallocs("m", 3, 256, BS);
        k.create("r5", RaidLevel.RAID5F, 4, List.of("m0", "m1", "m2"));
        long blocks = k.bdev("r5").numBlocks();
        MemorySegment data = BdevClient.pattern(blocks * BS, 21);
        try (BdevClient c = k.client(1, "r5")) {
            assertThat(await(c.write(data, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            k.remove("m1");
            assertThat(k.info("r5").get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
            assertThat(k.state("r5")).isEqualTo("online");
            MemorySegment back = BdevClient.buffer(blocks * BS);
            assertThat(await(c.read(back, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(back.mismatch(data)).isEqualTo(-1);
            // Partial writes while degraded, over the missing member's chunks and others.
            Random rnd = new Random(3);
            for (int i = 0; i < 60; i++) {
                long off = rnd.nextInt((int) blocks - 40);
                long n = 1 + rnd.nextInt(40);
                MemorySegment w = BdevClient.pattern(n * BS, 100 + i);
                MemorySegment.copy(w, 0, data, off * BS, n * BS);
                assertThat(await(c.write(w, off, n)).status()).isEqualTo(IoStatus.SUCCESS);
            }
            for (long off = 0; off < blocks; off += 13) {
                long n = Math.min(13, blocks - off);
                MemorySegment b = BdevClient.buffer(n * BS);
                assertThat(await(c.read(b, off, n)).status()).isEqualTo(IoStatus.SUCCESS);
                assertThat(b.mismatch(data.asSlice(off * BS, n * BS))).as("blocks " + off).isEqualTo(-1);
            }
            // Losing a second member takes it offline.
            k.remove("m2");
            io.basalt.testing.ReactorFixture.await(c.removed);
        }
        assertThat(k.state("r5")).isEqualTo("offline");
    }

    @Test
    void aReadErrorIsReconstructedAndWrittenBack() throws Exception {
        k = new RaidKit(1);
        k.mallocs("m", 3, 256, BS);
        k.error("m0");
        List<String> ms = List.of("EE_m0", "m1", "m2");
        k.create("r5", RaidLevel.RAID5F, 4, ms);
        long blocks = k.bdev("r5").numBlocks();
        MemorySegment data = BdevClient.pattern(blocks * BS, 8);
        try (BdevClient c = k.client(0, "r5")) {
            assertThat(await(c.write(data, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            long writes = k.stats("EE_m0").numWriteOps();
            k.inject("EE_m0", IoType.READ, ErrorType.FAILURE, 1);
            MemorySegment back = BdevClient.buffer(blocks * BS);
            assertThat(await(c.read(back, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(back.mismatch(data)).isEqualTo(-1);
            assertThat(k.stats("EE_m0").numWriteOps()).isGreaterThan(writes);
            assertThat(k.info("r5").get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
            // A failed partial write on a member fails that member; the data stays readable.
            k.inject("EE_m0", IoType.WRITE, ErrorType.FAILURE, 1);
            MemorySegment w = BdevClient.pattern(30L * BS, 77);
            MemorySegment.copy(w, 0, data, 0, 30L * BS);
            assertThat(await(c.write(w, 0, 30)).status()).isEqualTo(IoStatus.SUCCESS);
            RaidKit.eventuallyTrue("EE_m0 failed", () -> !k.bdev("EE_m0").claimed());
            assertThat(await(c.read(back, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(back.mismatch(data)).isEqualTo(-1);
        }
    }
}
