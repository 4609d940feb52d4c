package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.bdev.IoStatus;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.testing.BdevClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import static io.basalt.testing.BdevClient.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Examine and self-assembly: arrays with a superblock come back by themselves when their members
 * register, in any order, degraded when a member is missing; stale copies lose to newer ones; a
 * bad superblock is ignored. A "restart" is a new set of reactors over the same files.
 */
class RaidAssemblyTest {
    private static final int BS = 512;
    private static final long FILE = 4L << 20;
    private static final UUID[] U = {
        UUID.fromString("00000000-0000-4000-8000-000000000a00"),
        UUID.fromString("00000000-0000-4000-8000-000000000a01"),
        UUID.fromString("00000000-0000-4000-8000-000000000a02"),
        UUID.fromString("00000000-0000-4000-8000-000000000a03"),
    };
    private static final UUID RAID = UUID.fromString("fffd82df-c882-4fe5-bebc-9e05c01fad00");

    @TempDir
    Path dir;
    private RaidKit k;

    @AfterEach
    void tearDown() {
        if (k != null) {
            k.close();
        }
    }

    private Path file(int i) throws Exception {
        Path p = dir.resolve("m" + i + ".img");
        if (!p.toFile().exists()) {
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(FILE);
            }
        }
        return p;
    }

    /** A fresh target: new reactors and modules, nothing registered. */
    private RaidKit restart() {
        if (k != null) {
            k.close();
        }
        k = new RaidKit(2);
        k.raid.setDegradedStartDelayMillis(300);
        return k;
    }

    private void register(int... members) throws Exception {
        for (int i : members) {
            k.aio(file(i), "a" + i, U[i]);
        }
    }

    private MemorySegment writeAll(String raid, int seed) throws Exception {
        long blocks = k.bdev(raid).numBlocks();
        MemorySegment data = BdevClient.pattern(blocks * BS, seed);
        try (BdevClient c = k.client(0, raid)) {
            assertThat(await(c.write(data, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
        }
        return data;
    }

    private void verify(String raid, MemorySegment data) throws Exception {
        long blocks = k.bdev(raid).numBlocks();
        try (BdevClient c = k.client(1, raid)) {
            MemorySegment back = BdevClient.buffer(blocks * BS);
            assertThat(await(c.read(back, 0, blocks)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(back.mismatch(data)).isEqualTo(-1);
        }
    }

    private void awaitOnline(String raid) throws InterruptedException {
        RaidKit.eventuallyTrue(raid + " online", () -> "online".equals(k.state(raid)));
    }

    @Test
    void anArrayComesBackWhateverTheOrderOfItsMembers() throws Exception {
        restart();
        register(0, 1, 2);
        k.create("r5", RaidLevel.RAID5F, 4, List.of("a0", "a1", "a2"), true, RAID);
        MemorySegment data = writeAll("r5", 1);
        long seq = k.superblock("a0").sb().seqNumber;
        for (int[] order : new int[][] {{2, 0, 1}, {1, 2, 0}}) {
            restart();
            register(order[0], order[1]);
            // Two of three are enough for raid5f, but all three are expected: it waits.
            assertThat(k.state("r5")).isEqualTo("configuring");
            JsonNode info = k.info("r5");
            assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
            assertThat(info.get("num_base_bdevs_operational").asInt()).isEqualTo(3);
            register(order[2]);
            awaitOnline("r5");
            assertThat(k.bdev("r5").uuid()).isEqualTo(RAID);
            verify("r5", data);
            long now = k.superblock("a1").sb().seqNumber;
            assertThat(now).isGreaterThan(seq);
            seq = now;
        }
    }

    @Test
    void aMissingMemberMeansDegradedAndItsStaleCopyIsIgnored() throws Exception {
        restart();
        register(0, 1, 2);
        k.create("mir", RaidLevel.RAID1, 0, List.of("a0", "a1", "a2"), true, RAID);
        writeAll("mir", 1);

        restart();
        register(0, 1);
        awaitOnline("mir");
        JsonNode info = k.info("mir");
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
        assertThat(info.get("base_bdevs_list").get(2).get("name").isNull()).isTrue();
        assertThat(k.superblock("a0").sb().slot(2).state).isEqualTo(Superblock.SlotState.MISSING);
        MemorySegment data = writeAll("mir", 2);

        // a2 still says it is a configured member (an older seq_number): it loses, even first.
        restart();
        register(2, 0, 1);
        awaitOnline("mir");
        assertThat(k.bdev("a2").claimed()).isFalse();
        assertThat(k.info("mir").get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
        verify("mir", data);
        // It can be added back: it carries this array's own superblock.
        k.add("mir", "a2");
        RaidKit.eventuallyTrue("rebuilt", () -> k.info("mir").get("process") == null);
        assertThat(k.info("mir").get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
        assertThat(k.read("a2", 2048, 64)).isEqualTo(k.read("a0", 2048, 64));
    }

    @Test
    void aBadSuperblockIsIgnoredAndTheBdevLeftAlone() throws Exception {
        restart();
        register(0, 1);
        k.create("mir", RaidLevel.RAID1, 0, List.of("a0", "a1"), true, RAID);
        MemorySegment data = writeAll("mir", 3);
        restart();
        k.close();
        k = null;
        try (RandomAccessFile f = new RandomAccessFile(file(1).toFile(), "rw")) {
            f.seek(100);
            int b = f.read();
            f.seek(100);
            f.write(b ^ 0x40);
        }
        restart();
        register(1, 0);
        awaitOnline("mir");
        assertThat(k.bdev("a1").claimed()).isFalse();
        assertThat(k.info("mir").get("num_base_bdevs_discovered").asInt()).isEqualTo(1);
        verify("mir", data);
        assertThat(k.superblock("a1").invalid()).isEqualTo(Superblock.Invalid.BAD_CRC);
    }

    @Test
    void aRestartInTheMiddleOfARebuildRebuildsAgain() throws Exception {
        restart();
        register(0, 1, 2);
        k.create("mir", RaidLevel.RAID1, 0, List.of("a0", "a1"), true, RAID);
        MemorySegment data = writeAll("mir", 4);
        k.remove("a1");
        k.options(8, 1);
        k.add("mir", "a2");
        RaidKit.eventuallyTrue("rebuild under way", () -> {
            JsonNode p = k.info("mir").get("process");
            return p != null && p.get("progress").get("blocks").asLong() > 0;
        });
        Superblock mid = k.superblock("a0").sb();
        assertThat(mid.slot(1).uuid).isEqualTo(U[2]);
        assertThat(mid.slot(1).state).isEqualTo(Superblock.SlotState.SPARE);
        assertThat(k.superblock("a2").sb().slot(1).state).isEqualTo(Superblock.SlotState.SPARE);

        for (int[] order : new int[][] {{2, 1, 0}, {0, 1, 2}}) {
            restart();
            register(order);
            awaitOnline("mir");
            RaidKit.eventuallyTrue("rebuilt again", () -> {
                JsonNode info = k.info("mir");
                return info.get("process") == null && info.get("num_base_bdevs_discovered").asInt() == 2
                        && info.get("base_bdevs_list").get(1).get("is_configured").asBoolean();
            });
            // Rebuilt: the superblock says so (written just after), and a restart has it as a plain member.
            RaidKit.eventuallyTrue("superblock says configured",
                    () -> k.superblock("a0").sb().slot(1).state == Superblock.SlotState.CONFIGURED);
            assertThat(k.bdev("a1").claimed()).isFalse();
            verify("mir", data);
        }
        assertThat(k.read("a2", 2048, 2048)).isEqualTo(k.read("a0", 2048, 2048));
    }

    @Test
    void reCreatingADeletedArrayWithItsUuidBringsItBack() throws Exception {
        restart();
        k.malloc("d0", 8192, BS);
        k.malloc("d1", 8192, BS);
        k.create("mir0", RaidLevel.RAID1, 0, List.of("d0", "d1"), true, RAID);
        MemorySegment data = writeAll("mir0", 5);
        long seq = k.superblock("d0").sb().seqNumber;
        k.delete("mir0", false);
        assertThat(k.bdev("d0").claimed()).isFalse();
        k.create("mir0", RaidLevel.RAID1, 0, List.of("d1", "d0"), true, RAID);
        assertThat(k.state("mir0")).isEqualTo("online");
        verify("mir0", data);
        assertThat(k.superblock("d0").sb().seqNumber).isGreaterThan(seq);
        // Placed by uuid, not by the order given.
        assertThat(k.info("mir0").get("base_bdevs_list").get(0).get("name").asText()).isEqualTo("d0");
        k.delete("mir0", false);
        // Another uuid over this array's members: -17 naming the member and the array.
        assertThatThrownBy(() -> k.create("other", RaidLevel.RAID1, 0, List.of("d0", "d1"), true, null))
                .isInstanceOfSatisfying(BasaltException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.EEXIST);
                    assertThat(e.getMessage()).contains("d0").contains(RAID.toString()).contains("mir0");
                });
        assertThat(k.bdev("d0").claimed()).isFalse();
        assertThat(k.info("other")).isNull();
        // A different level with the same uuid: the superblock says otherwise.
        assertThatThrownBy(() -> k.create("mir0", RaidLevel.RAID0, 4, List.of("d0", "d1"), true, RAID))
                .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        // clear_sb wipes; the same create then starts a new array.
        k.create("mir0", RaidLevel.RAID1, 0, List.of("d0", "d1"), true, RAID);
        k.delete("mir0", true);
        assertThat(k.superblock("d0").invalid()).isEqualTo(Superblock.Invalid.NO_SIGNATURE);
        assertThat(k.superblock("d1").invalid()).isEqualTo(Superblock.Invalid.NO_SIGNATURE);
        k.create("other", RaidLevel.RAID1, 0, List.of("d0", "d1"), true, null);
        assertThat(k.superblock("d0").sb().seqNumber).isEqualTo(1);
    }
}
