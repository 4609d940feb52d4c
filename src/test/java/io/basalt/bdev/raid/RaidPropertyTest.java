package io.basalt.bdev.raid;

import io.basalt.bdev.IoStatus;
import io.basalt.testing.BdevClient;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random writes at any offset and of any length, through raid5f and raid1, healthy and with a
 * member lost half-way, always read back what was written; once quiet (after a rebuild onto a
 * fresh member when one was lost), every raid5f stripe's parity is the XOR of its data and
 * every raid1 member holds the same blocks.
 */
class RaidPropertyTest {
    private static final int BS = 512;
    private static final long MEMBER = 256;
    private RaidKit k;
    private int run;

    /** One operation: a write of {@code blocks} at {@code offset} (a read when {@code read}), on a reactor. */
    record Op(long offset, long blocks, boolean read, int reactor, int seed) {
    }

    @BeforeProperty
    void start() {
        k = new RaidKit(2);
    }

    @AfterProperty
    void stop() {
        k.close();
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(
                Arbitraries.longs().between(0, 2 * MEMBER - 1),
                Arbitraries.longs().between(1, 80),
                Arbitraries.integers().between(0, 3).map(x -> x == 0),
                Arbitraries.integers().between(0, 1),
                Arbitraries.integers().between(1, 1 << 20)).as(Op::new);
        return op.list().ofMinSize(1).ofMaxSize(40);
    }

    @Property(tries = 50)
    void raid5fReadsBackWhatWasWritten(@ForAll("ops") List<Op> ops, @ForAll boolean lose,
                                       @ForAll @IntRange(min = 0, max = 2) int victim) throws Exception {
        check(RaidLevel.RAID5F, 3, ops, lose, victim);
    }

    @Property(tries = 50)
    void raid1ReadsBackWhatWasWritten(@ForAll("ops") List<Op> ops, @ForAll boolean lose,
                                      @ForAll @IntRange(min = 0, max = 1) int victim) throws Exception {
        check(RaidLevel.RAID1, 2, ops, lose, victim);
    }

    private void check(RaidLevel level, int n, List<Op> ops, boolean lose, int victim) throws Exception {
        String p = "p" + (run++) + "_";
        List<String> ms = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            k.malloc(p + i, MEMBER, BS);
            ms.add(p + i);
        }
        k.malloc(p + "spare", MEMBER, BS);
        String raid = p + "r";
        k.create(raid, level, level == RaidLevel.RAID1 ? 0 : 4, ms);
        long blocks = k.bdev(raid).numBlocks();
        MemorySegment model = BdevClient.buffer(blocks * BS);
        List<String> members = new ArrayList<>(ms);
        try (BdevClient c0 = k.client(0, raid); BdevClient c1 = k.client(1, raid)) {
            for (int i = 0; i < ops.size(); i++) {
                if (lose && i == ops.size() / 2) {
                    k.remove(members.get(victim));
                }
                Op o = ops.get(i);
                long off = o.offset() % blocks;
                long len = Math.min(o.blocks(), blocks - off);
                BdevClient c = o.reactor() == 0 ? c0 : c1;
                if (o.read()) {
                    readBack(c, model, off, len);
                } else {
                    MemorySegment w = BdevClient.pattern(len * BS, o.seed());
                    assertThat(await(c.write(w, off, len)).status()).as(o.toString()).isEqualTo(IoStatus.SUCCESS);
                    MemorySegment.copy(w, 0, model, off * BS, len * BS);
                }
            }
            readBack(c1, model, 0, blocks);
            if (lose) {
                k.add(raid, p + "spare");
                RaidKit.eventuallyTrue("rebuild", () -> k.info(raid).get("process") == null);
                assertThat(k.info(raid).get("num_base_bdevs_discovered").asInt()).isEqualTo(n);
                members.set(victim, p + "spare");
                readBack(c0, model, 0, blocks);
            }
        }
        if (level == RaidLevel.RAID5F) {
            Raid5fTest.checkLayout(k, members, 8, MEMBER / 8, model.toArray(ValueLayout.JAVA_BYTE));
        } else {
            for (String m : members) {
                assertThat(k.read(m, 0, blocks)).as(m).isEqualTo(model.toArray(ValueLayout.JAVA_BYTE));
            }
        }
        k.delete(raid, false);
        for (int i = 0; i < n; i++) {
            String m = p + i;
            if (k.bdev(m) != null) {
                k.fx.onAsync(0, () -> k.malloc.delete(m));
            }
        }
        k.fx.onAsync(0, () -> k.malloc.delete(p + "spare"));
    }

    private static void readBack(BdevClient c, MemorySegment model, long off, long len) throws Exception {
        MemorySegment b = BdevClient.buffer(len * BS);
        assertThat(await(c.read(b, off, len)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(b.mismatch(model.asSlice(off * BS, len * BS))).as("blocks " + off + "+" + len).isEqualTo(-1);
    }
}
