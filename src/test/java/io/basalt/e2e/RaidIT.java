package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.rpc.RpcClient;
import io.basalt.runtime.Json;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Field failures S1 and S2 of SCENARIOS.md through the real {@code basalt tgt} process, driven
 * with rpc.py's command lines ({@code basalt rpc}), with real NBD clients (qemu-io, fio) on the
 * arrays' exports.
 */
class RaidIT {
    private static final String U = "fffd82df-c882-4fe5-bebc-9e05c01fad00";
    /** Member files of the S2 arrays: 32 MiB, of which 31 hold data after the superblock area. */
    private static final int FILE_MIB = 32;
    /** Patterned regions the client writes first: 4 of 8 MiB. */
    private static final int REGIONS = 4;

    private Path dir;
    private final List<TargetProcess> targets = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory(Path.of("/tmp"), "braid");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (TargetProcess t : targets) {
            t.stop();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private TargetProcess start(String name, String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("-m", "2"));
        a.addAll(List.of(args));
        TargetProcess t = TargetProcess.start(name, a.toArray(new String[0]));
        targets.add(t);
        return t;
    }

    // ------------------------------------------------------------------ helpers

    private static String ok(TargetProcess.Cli r) {
        assertThat(r.exitCode()).as("stdout:\n" + r.stdout() + "\nstderr:\n" + r.stderr()).isZero();
        return r.stdout().trim();
    }

    private static void fails(TargetProcess.Cli r, int code, String... mentions) {
        assertThat(r.exitCode()).as(r.stdout()).isEqualTo(1);
        assertThat(r.stderr()).contains("\"code\": " + code);
        for (String m : mentions) {
            assertThat(r.stderr()).contains(m);
        }
    }

    private static TargetProcess.Cli run(String... cmd) throws Exception {
        return TargetProcess.Cli.run(List.of(cmd), null);
    }

    private static JsonNode raid(TargetProcess t, String name) throws Exception {
        for (JsonNode r : t.rpc("bdev_raid_get_bdevs", "{\"category\":\"all\"}")) {
            if (r.get("name").asText().equals(name)) {
                return r;
            }
        }
        return null;
    }

    private static JsonNode bdev(TargetProcess t, String name) throws Exception {
        return t.rpc("bdev_get_bdevs", "{\"name\":\"" + name + "\"}").get(0);
    }

    interface Cond {
        boolean test() throws Exception;
    }

    private static void eventually(String what, Cond c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!c.test()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.sleep(50);
        }
    }

    private Path file(String name, int mib) throws Exception {
        Path p = dir.resolve(name + ".img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength((long) mib << 20);
        }
        return p;
    }

    private void aio(TargetProcess t, String name) throws Exception {
        aio(t, name, FILE_MIB);
    }

    private void aio(TargetProcess t, String name, int mib) throws Exception {
        assertThat(ok(t.cli("bdev_aio_create", file(name, mib).toString(), name, "4096"))).isEqualTo(name);
    }

    private String export(TargetProcess t, String bdev) throws Exception {
        return ok(t.cli("nbd_start_disk", bdev, "unix:" + dir.resolve(bdev + ".sock")));
    }

    /** Region i of 8 MiB gets byte 0x10+i. */
    private static void writePatterns(String uri) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (int i = 0; i < REGIONS; i++) {
            cmd.addAll(List.of("-c", String.format("write -P 0x%x %dM 8M", 0x10 + i, i * 8)));
        }
        cmd.add(uri);
        ok(TargetProcess.Cli.run(cmd, null));
    }

    private static void verifyPatterns(String uri) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (int i = 0; i < REGIONS; i++) {
            cmd.addAll(List.of("-c", String.format("read -P 0x%x %dM 8M", 0x10 + i, i * 8)));
        }
        cmd.add(uri);
        TargetProcess.Cli r = TargetProcess.Cli.run(cmd, null);
        ok(r);
        assertThat(r.stdout()).doesNotContain("Pattern verification failed");
        assertThat(r.stdout().split("read 8388608/8388608 bytes", -1)).hasSize(REGIONS + 1);
    }

    /** fio writing 16 MiB at 32 MiB with crc32c headers, then verifying them (or only verifying). */
    private static TargetProcess.Cli fio(String uri, boolean verifyOnly) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("fio", "--name=client", "--ioengine=nbd", "--uri=" + uri,
                "--rw=randwrite", "--bs=4k", "--iodepth=16", "--offset=32m", "--size=16m", "--verify=crc32c",
                "--verify_fatal=1", "--verify_state_save=0"));
        cmd.add(verifyOnly ? "--verify_only" : "--do_verify=1");
        return TargetProcess.Cli.run(cmd, null);
    }

    private Path saveConfig(TargetProcess t, String name) throws Exception {
        Path p = dir.resolve(name + ".json");
        Files.writeString(p, ok(t.cli("save_config")));
        return p;
    }

    private static List<String> methods(Path config) throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode s : Json.MAPPER.readTree(Files.readString(config)).get("subsystems")) {
            JsonNode c = s.get("config");
            if (c != null) {
                c.forEach(e -> out.add(e.get("method").asText()));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ S1

    @Test
    void s1ReCreatingADeletedRaidWithASuperblock() throws Exception {
        TargetProcess t = start("raid-s1");
        String create = "bdev_raid_create -n mir0 -r raid1 -b drive0 drive1 -s --uuid " + U;
        ok(t.cli("bdev_malloc_create", "-b", "drive0", "512", "4096"));
        ok(t.cli("bdev_malloc_create", "-b", "drive1", "512", "4096"));
        // What rpc.py sends for it.
        JsonNode req = Json.MAPPER.readTree(ok(t.cli("--dry-run", "bdev_raid_create", "-n", "mir0", "-r", "raid1",
                "-b", "drive0 drive1", "-s", "--uuid", U)));
        assertThat(req.get("params")).isEqualTo(Json.MAPPER.readTree("{\"name\":\"mir0\",\"raid_level\":\"raid1\","
                + "\"base_bdevs\":[\"drive0\",\"drive1\"],\"uuid\":\"" + U + "\",\"superblock\":true}"));
        ok(t.cli("bdev_raid_create", "-n", "mir0", "-r", "raid1", "-b", "drive0 drive1", "-s", "--uuid", U));
        assertThat(raid(t, "mir0").get("state").asText()).isEqualTo("online");
        assertThat(bdev(t, "drive0").get("claim_type").asText()).isEqualTo("exclusive_write");
        String uri = export(t, "mir0");
        ok(run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 4M", "-c", "write -P 0xa5 500M 10M", uri));
        ok(t.cli("nbd_stop_disk", uri));

        ok(t.cli("bdev_raid_delete", "mir0"));
        assertThat(raid(t, "mir0")).isNull();
        assertThat(bdev(t, "drive0").get("claimed").asBoolean()).isFalse();
        // The crash of the original system: the same create again. It succeeds, with the data.
        ok(t.cli("bdev_raid_create", "-n", "mir0", "-r", "raid1", "-b", "drive0 drive1", "-s", "--uuid", U));
        JsonNode info = raid(t, "mir0");
        assertThat(info.get("state").asText()).isEqualTo("online");
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
        uri = export(t, "mir0");
        TargetProcess.Cli r = run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 4M", "-c", "read -P 0xa5 500M 10M", uri);
        ok(r);
        assertThat(r.stdout()).doesNotContain("Pattern verification failed").contains("read 10485760/10485760 bytes");
        ok(t.cli("nbd_stop_disk", uri));
        ok(t.cli("bdev_raid_delete", "mir0"));

        // Another array over members of this one: -17, naming the member and the array.
        fails(t.cli("bdev_raid_create", "-n", "other", "-r", "raid1", "-b", "drive0 drive1", "-s"), -17,
                "drive0", U, "mir0");
        fails(t.cli("bdev_raid_create", "-n", "other", "-r", "raid1", "-b", "drive1 drive0", "-s", "--uuid",
                "0b1d7c3a-5d2e-4f60-9a61-2f6a3c0e9b11"), -17, "drive1", U);
        assertThat(raid(t, "other")).isNull();
        assertThat(bdev(t, "drive0").get("claimed").asBoolean()).isFalse();
        assertThat(bdev(t, "drive1").get("claimed").asBoolean()).isFalse();

        // delete with clear_sb wipes the superblocks; the same members then start a new array.
        ok(t.cli("bdev_raid_create", "-n", "mir0", "-r", "raid1", "-b", "drive0 drive1", "-s", "--uuid", U));
        JsonNode del = Json.MAPPER.readTree(ok(t.cli("--dry-run", "bdev_raid_delete", "mir0", "--clear-sb")));
        assertThat(del.get("params").toString()).isEqualTo("{\"name\":\"mir0\",\"clear_sb\":true}");
        ok(t.cli("bdev_raid_delete", "mir0", "--clear-sb"));
        String d0 = export(t, "drive0");
        r = run("qemu-io", "-f", "raw", "-c", "read -P 0 0 64k", d0);
        ok(r);
        assertThat(r.stdout()).doesNotContain("Pattern verification failed");
        ok(t.cli("nbd_stop_disk", d0));
        ok(t.cli("bdev_raid_create", "-n", "fresh", "-r", "raid1", "-b", "drive0 drive1", "-s"));
        assertThat(raid(t, "fresh").get("uuid").asText()).isNotEqualTo(U);
        ok(t.cli("bdev_raid_delete", "fresh", "--clear-sb"));
        ok(t.cli("bdev_raid_create", "-n", "mir0", "-r", "raid1", "-b", "drive0 drive1", "-s", "--uuid", U));
        assertThat(raid(t, "mir0").get("state").asText()).isEqualTo("online");

        // Parameter checks: -32602 for bad params, -19 for absent arrays.
        fails(t.cli("bdev_raid_delete", "nope"), -19);
        fails(t.cli("bdev_raid_get_bdevs", "sideways"), -32602);
        fails(t.cli("bdev_raid_create", "-n", "x", "-r", "raid6", "-b", "a b"), -32602);
        fails(t.cli("bdev_raid_create", "-n", "x", "-r", "raid0", "-b", "a b"), -32602);
        fails(t.cli("bdev_raid_create", "-n", "x", "-r", "raid0", "-z", "3", "-b", "a b"), -32602);
        fails(t.cli("bdev_raid_create", "-n", "x", "-r", "1", "-z", "64", "-b", "a b"), -32602);
        fails(t.cli("bdev_raid_create", "-n", "x".repeat(64), "-r", "RAID1", "-b", "a b"), -32602);
        fails(t.cli("bdev_raid_create", "-n", "x", "-r", "5f", "-z", "64", "-b", "a b"), -32602);
        fails(t.cli("bdev_raid_set_options", "-w", "0"), -32602);
        RpcClient.RpcError e = t.rpcError("bdev_raid_create", "{\"name\":\"x\",\"raid_level\":\"raid1\","
                + "\"base_bdevs\":\"drive0 drive1\"}");
        assertThat(e.code()).isEqualTo(-32602);
        assertThat(t.rpcError("bdev_raid_delete", "{\"name\":\"mir0\",\"clear\":true}").code()).isEqualTo(-32602);

        // save_config: options, and bdev_raid_create only for arrays without a superblock.
        ok(t.cli("bdev_malloc_create", "-b", "s0", "8", "512"));
        ok(t.cli("bdev_malloc_create", "-b", "s1", "8", "512"));
        ok(t.cli("bdev_raid_create", "-n", "plain", "-r", "0", "-z", "4", "-b", "s0 s1"));
        ok(t.cli("bdev_raid_set_options", "-w", "512", "-b", "40"));
        Path cfg = saveConfig(t, "s1");
        List<String> ms = methods(cfg);
        assertThat(ms).containsSubsequence("bdev_raid_set_options", "bdev_malloc_create", "bdev_raid_create",
                "bdev_wait_for_examine");
        assertThat(ms.stream().filter(m -> m.equals("bdev_raid_create"))).hasSize(1);
        assertThat(Files.readString(cfg)).contains("\"process_window_size_kb\": 512").contains("\"plain\"");
    }

    @Test
    void s1ARestartOverFilesAssemblesTheArrayByItselfDegradedIfAMemberIsMissing() throws Exception {
        TargetProcess t = start("raid-s1-files");
        // raid1 keeps one member's data size: 40 MiB files hold the 32 MiB of patterns.
        aio(t, "f0", 40);
        aio(t, "f1", 40);
        ok(t.cli("bdev_raid_create", "-n", "mir1", "-r", "raid1", "-b", "f0 f1", "-s", "--uuid", U));
        String uri = export(t, "mir1");
        writePatterns(uri);
        Path cfg = saveConfig(t, "files");
        assertThat(methods(cfg)).doesNotContain("bdev_raid_create").contains("nbd_start_disk");
        t.kill9();

        // Everything back from the configuration, without any RAID call.
        t = start("raid-s1-files-2", "-c", cfg.toString());
        assertThat(raid(t, "mir1").get("state").asText()).isEqualTo("online");
        assertThat(raid(t, "mir1").get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
        verifyPatterns(uri);
        assertThat(t.stop()).isZero();

        // Without f1: the array waits for it a little, then starts degraded.
        ObjectNode doc = (ObjectNode) Json.MAPPER.readTree(Files.readString(cfg));
        for (JsonNode s : doc.get("subsystems")) {
            ArrayNode c = (ArrayNode) s.get("config");
            for (int i = c.size() - 1; i >= 0; i--) {
                JsonNode e = c.get(i);
                String m = e.get("method").asText();
                if (m.equals("nbd_start_disk")
                        || (m.equals("bdev_aio_create") && e.get("params").get("name").asText().equals("f1"))) {
                    c.remove(i);
                }
            }
        }
        Path without = dir.resolve("without-f1.json");
        Files.writeString(without, Json.MAPPER.writeValueAsString(doc));
        TargetProcess t3 = start("raid-s1-files-3", "-c", without.toString());
        eventually("mir1 online", () -> raid(t3, "mir1") != null && raid(t3, "mir1").get("state").asText().equals("online"));
        JsonNode info = raid(t3, "mir1");
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(1);
        assertThat(info.get("base_bdevs_list").get(1).get("name").isNull()).isTrue();
        verifyPatterns(export(t3, "mir1"));
    }

    // ------------------------------------------------------------------ S2

    /** aio members a0..a2 in a raid5f with a superblock, exported, patterns written, a1 failed. */
    private String degradedRaid5f(TargetProcess t) throws Exception {
        for (String m : List.of("a0", "a1", "a2")) {
            aio(t, m);
        }
        ok(t.cli("bdev_raid_create", "-n", "r5", "-r", "raid5f", "-z", "64", "-b", "a0 a1 a2", "-s"));
        JsonNode info = raid(t, "r5");
        assertThat(info.get("state").asText()).isEqualTo("online");
        assertThat(bdev(t, "r5").get("num_blocks").asLong()).isEqualTo(2L * (FILE_MIB - 1) * 256);
        String uri = export(t, "r5");
        writePatterns(uri);
        // The failure: the member's device goes away.
        ok(t.cli("bdev_aio_delete", "a1"));
        eventually("r5 degraded", () -> raid(t, "r5").get("num_base_bdevs_discovered").asInt() == 2);
        assertThat(raid(t, "r5").get("state").asText()).isEqualTo("online");
        verifyPatterns(uri);
        return uri;
    }

    @Test
    void s2RaidRebuildOverFilesUnderClientIo() throws Exception {
        TargetProcess t = start("raid-s2");
        String uri = degradedRaid5f(t);
        // Slow enough (10 MiB/s over 62 MiB) that the client's I/O overlaps the rebuild.
        ok(t.cli("bdev_raid_set_options", "-w", "256", "-b", "10"));
        aio(t, "a3");
        ok(t.cli("bdev_raid_add_base_bdev", "r5", "a3"));
        JsonNode p = raid(t, "r5").get("process");
        assertThat(p.get("type").asText()).isEqualTo("rebuild");
        assertThat(p.get("target").asText()).isEqualTo("a3");
        fails(t.cli("bdev_raid_add_base_bdev", "r5", "a0"), -1);
        // fio writes (and verifies) its region again and again for as long as the rebuild runs.
        int runs = 0;
        while (raid(t, "r5").get("process") != null) {
            TargetProcess.Cli f = fio(uri, false);
            ok(f);
            assertThat(f.stdout()).contains("client: (groupid=0");
            runs++;
        }
        assertThat(runs).as("fio runs started during the rebuild").isPositive();
        JsonNode info = raid(t, "r5");
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
        assertThat(info.has("process_error")).isFalse();
        assertThat(info.get("base_bdevs_list").get(1).get("name").asText()).isEqualTo("a3");
        verifyPatterns(uri);
        ok(fio(uri, true));

        // And after a restart (kill -9, configuration replayed): the array and the client's data.
        Path cfg = saveConfig(t, "s2");
        t.kill9();
        TargetProcess t2 = start("raid-s2-2", "-c", cfg.toString());
        assertThat(raid(t2, "r5").get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
        verifyPatterns(uri);
        ok(fio(uri, true));
    }

    @Test
    void s2ErrorsOnTheNewMemberAreRetriedAndAPermanentOneRollsBack() throws Exception {
        TargetProcess t = start("raid-s2-errors");
        String uri = degradedRaid5f(t);
        // Transient: the new member fails its first three writes.
        aio(t, "a3");
        ok(t.cli("bdev_error_create", "a3"));
        ok(t.cli("bdev_error_inject_error", "EE_a3", "write", "failure", "-n", "3"));
        ok(t.cli("bdev_raid_add_base_bdev", "r5", "EE_a3"));
        eventually("rebuild done", () -> raid(t, "r5").get("process") == null);
        JsonNode info = raid(t, "r5");
        assertThat(info.has("process_error")).isFalse();
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
        assertThat(t.log()).contains("rebuild onto EE_a3").contains("retrying in 10 ms (attempt 1 of 6)")
                .contains("(attempt 3 of 6)").doesNotContain("(attempt 4 of 6)");
        verifyPatterns(uri);

        // Permanent: the next new member fails every write. The rebuild stops cleanly.
        ok(t.cli("bdev_raid_remove_base_bdev", "EE_a3"));
        aio(t, "a4");
        ok(t.cli("bdev_error_create", "a4"));
        ok(t.cli("bdev_error_inject_error", "EE_a4", "write", "failure", "-n", "1000000"));
        ok(t.cli("bdev_raid_add_base_bdev", "r5", "EE_a4"));
        eventually("rebuild stopped", () -> raid(t, "r5").get("process") == null);
        info = raid(t, "r5");
        assertThat(info.get("state").asText()).isEqualTo("online");
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(2);
        JsonNode err = info.get("process_error");
        assertThat(err.get("type").asText()).isEqualTo("rebuild");
        assertThat(err.get("target").asText()).isEqualTo("EE_a4");
        assertThat(err.get("code").asInt()).isEqualTo(-5);
        assertThat(err.get("message").asText()).startsWith("Input/output error").contains("EE_a4");
        assertThat(bdev(t, "EE_a4").get("claimed").asBoolean()).isFalse();
        verifyPatterns(uri);
        // The fault is gone: the same device is added again and the rebuild completes.
        ok(t.cli("bdev_error_inject_error", "EE_a4", "clear", "failure"));
        ok(t.cli("bdev_raid_add_base_bdev", "r5", "EE_a4"));
        eventually("rebuild done", () -> raid(t, "r5").get("process") == null);
        info = raid(t, "r5");
        assertThat(info.has("process_error")).isFalse();
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
        verifyPatterns(uri);
    }

    @Test
    void s2AKillDuringTheRebuildThenARestartRebuildsAgainToCompletion() throws Exception {
        TargetProcess t = start("raid-s2-kill");
        String uri = degradedRaid5f(t);
        ok(t.cli("bdev_raid_set_options", "-w", "64", "-b", "2"));
        aio(t, "a3");
        ok(t.cli("bdev_raid_add_base_bdev", "r5", "a3"));
        eventually("rebuild under way", () -> {
            JsonNode p = raid(t, "r5").get("process");
            return p != null && p.get("progress").get("blocks").asLong() > 0;
        });
        Path cfg = saveConfig(t, "kill");
        t.kill9();

        TargetProcess t2 = start("raid-s2-kill-2", "-c", cfg.toString());
        JsonNode info = raid(t2, "r5");
        assertThat(info.get("state").asText()).isEqualTo("online");
        // a3 was being rebuilt: its superblock says so, and the rebuild starts again by itself.
        eventually("rebuild restarted", () -> {
            JsonNode p = raid(t2, "r5").get("process");
            return p != null && p.get("target").asText().equals("a3");
        });
        ok(t2.cli("bdev_raid_set_options", "-b", "0"));
        eventually("rebuild done", () -> raid(t2, "r5").get("process") == null);
        info = raid(t2, "r5");
        assertThat(info.get("num_base_bdevs_discovered").asInt()).isEqualTo(3);
        assertThat(info.has("process_error")).isFalse();
        verifyPatterns(uri);
        // a3 now holds real data: lose a0 and read everything through it.
        ok(t2.cli("bdev_raid_remove_base_bdev", "a0"));
        verifyPatterns(uri);
    }
}
