package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.Json;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The NBD export against real clients from Debian packages (qemu-io, nbdinfo, nbdcopy, fio's nbd
 * engine), over TCP and over a Unix socket, for every bdev kind in {@link Backend}.
 */
class NbdClientsIT {
    /** The bdev kinds the export is tested on; a new kind is one more constant. */
    enum Backend {
        MALLOC {
            @Override
            void create(TargetProcess t, String name, int mib, Path dir) throws Exception {
                t.rpc("bdev_malloc_create", "{\"name\":\"" + name + "\",\"num_blocks\":" + (mib * 256)
                        + ",\"block_size\":4096}");
            }
        },
        AIO {
            @Override
            void create(TargetProcess t, String name, int mib, Path dir) throws Exception {
                Path file = dir.resolve(name + ".img");
                try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
                    raf.setLength((long) mib << 20);
                }
                t.rpc("bdev_aio_create", "{\"name\":\"" + name + "\",\"filename\":\"" + file
                        + "\",\"block_size\":4096,\"fallocate\":true}");
            }
        };

        abstract void create(TargetProcess t, String name, int mib, Path dir) throws Exception;
    }

    enum Wire { TCP, UNIX }

    private static final int MIB = 32;
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static TargetProcess target;
    private static Path dir;

    @BeforeAll
    static void startTarget() throws Exception {
        dir = Files.createTempDirectory(Path.of("/tmp"), "bnbd");
        target = TargetProcess.start("nbd-clients", "-m", "2");
    }

    @AfterAll
    static void stopTarget() throws Exception {
        if (target != null) {
            assertThat(target.stop()).isZero();
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.values()) {
            for (Wire w : Wire.values()) {
                out.add(Arguments.of(b, w));
            }
        }
        return out.stream();
    }

    /** Creates a bdev of {@code backend} and exports it; returns the export's URI. */
    private static String export(Backend backend, Wire wire) throws Exception {
        String name = backend.name().toLowerCase() + SEQ.incrementAndGet();
        backend.create(target, name, MIB, dir);
        String device = wire == Wire.TCP ? "127.0.0.1:0" : "unix:" + dir.resolve(name + ".sock");
        var r = target.cli("nbd_start_disk", name, device);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        return r.stdout().trim();
    }

    private static TargetProcess.Cli run(String... cmd) throws Exception {
        return TargetProcess.Cli.run(List.of(cmd), null);
    }

    private static void ok(TargetProcess.Cli r) {
        assertThat(r.exitCode()).as("stdout:\n" + r.stdout() + "\nstderr:\n" + r.stderr()).isZero();
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("cases")
    void qemuIoWritesAPatternAndReadsItBack(Backend backend, Wire wire) throws Exception {
        String uri = export(backend, wire);
        var w = run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", uri);
        ok(w);
        // A second connection reads what the first one wrote.
        var r = run("qemu-io", "-f", "raw", "-c", "read -P 0xab 0 1M", "-c", "read -P 0 1M 1M", uri);
        ok(r);
        assertThat(r.stdout()).contains("read 1048576/1048576 bytes at offset 0");
        var bad = run("qemu-io", "-f", "raw", "-c", "read -P 0xcd 0 1M", uri);
        assertThat(bad.stdout()).contains("Pattern verification failed");
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("cases")
    void nbdinfoListsTheExport(Backend backend, Wire wire) throws Exception {
        String uri = export(backend, wire);
        String name = target.rpc("nbd_get_disks", "{\"nbd_device\":\"" + uri + "\"}").get(0).get("bdev_name").asText();
        var list = run("nbdinfo", "--list", "--json", uri);
        ok(list);
        JsonNode exports = Json.MAPPER.readTree(list.stdout()).get("exports");
        List<String> names = new ArrayList<>();
        exports.forEach(e -> names.add(e.get("export-name").asText()));
        assertThat(names).contains(name);
        var info = run("nbdinfo", "--json", uri);
        ok(info);
        JsonNode e = Json.MAPPER.readTree(info.stdout()).get("exports").get(0);
        assertThat(e.get("export-size").asLong()).isEqualTo(MIB << 20);
        assertThat(e.get("block_size_minimum").asInt()).isEqualTo(4096);
        assertThat(e.get("can_multi_conn").asBoolean()).isTrue();
        assertThat(e.get("can_flush").asBoolean()).isTrue();
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("cases")
    void nbdcopyCopiesTheWholeDeviceAndTheCopyComparesEqual(Backend backend, Wire wire) throws Exception {
        String uri = export(backend, wire);
        byte[] content = new byte[MIB << 20];
        new Random(42).nextBytes(content);
        Path src = dir.resolve("src-" + SEQ.incrementAndGet() + ".img");
        Path copy = dir.resolve("copy-" + SEQ.incrementAndGet() + ".img");
        Files.write(src, content);
        ok(run("nbdcopy", "--flush", src.toString(), uri));
        ok(run("nbdcopy", uri, copy.toString()));
        assertThat(Files.mismatch(src, copy)).isEqualTo(-1);
        Files.delete(src);
        Files.delete(copy);
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("cases")
    void fioNbdEngineVerifiesCrc32c(Backend backend, Wire wire) throws Exception {
        String uri = export(backend, wire);
        var r = run("fio", "--name=verify", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=4k",
                "--iodepth=32", "--size=" + MIB + "m", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
                "--verify_state_save=0",
                "--output-format=json");
        ok(r);
        JsonNode job = Json.MAPPER.readTree(r.stdout().substring(r.stdout().indexOf('{'))).get("jobs").get(0);
        assertThat(job.get("error").asInt()).isZero();
        assertThat(job.get("write").get("io_bytes").asLong()).isEqualTo((long) MIB << 20);
        assertThat(job.get("read").get("io_bytes").asLong()).isEqualTo((long) MIB << 20);
    }

    @Test
    void hotRemoveFailsTheClientsIoAndTheTargetLivesOn() throws Exception {
        String uri = export(Backend.MALLOC, Wire.TCP);
        String bdev = target.rpc("nbd_get_disks", "{\"nbd_device\":\"" + uri + "\"}").get(0).get("bdev_name").asText();
        ProcessBuilder pb = new ProcessBuilder("fio", "--name=load", "--ioengine=nbd", "--uri=" + uri, "--rw=randrw",
                "--bs=4k", "--iodepth=32", "--size=" + MIB + "m", "--time_based", "--runtime=60", "--output-format=json")
                .redirectErrorStream(true);
        Process fio = pb.start();
        try {
            while (target.rpc("bdev_get_iostat", "{\"name\":\"" + bdev + "\"}").get("bdevs").get(0)
                    .get("num_read_ops").asLong() < 1000) {
                assertThat(fio.isAlive()).as("fio runs").isTrue();
                Thread.sleep(100);
            }
            target.rpc("bdev_malloc_delete", "{\"name\":\"" + bdev + "\"}");
            assertThat(fio.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            String out = new String(fio.getInputStream().readAllBytes());
            assertThat(fio.exitValue()).as(out).isNotZero();
        } finally {
            fio.destroyForcibly();
        }
        assertThat(target.rpcError("nbd_get_disks", "{\"nbd_device\":\"" + uri + "\"}").code()).isEqualTo(-19);
        assertThat(target.rpc("spdk_get_version", (String) null).get("version").asText()).startsWith("SPDK");
        // The address is free again for a new export.
        String again = export(Backend.MALLOC, Wire.TCP);
        ok(run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 64k", "-c", "read -P 0x5a 0 64k", again));
    }

    @Test
    void errorsInjectedThroughAnErrorBdevReachTheClientAndTheTargetLivesOn() throws Exception {
        target.rpc("bdev_malloc_create", "{\"name\":\"eb\",\"num_blocks\":2048,\"block_size\":4096}");
        ok(target.cli("bdev_error_create", "eb"));
        var s = target.cli("nbd_start_disk", "EE_eb", "127.0.0.1:0");
        ok(s);
        String uri = s.stdout().trim();
        ok(run("qemu-io", "-f", "raw", "-c", "write -P 0x77 0 64k", uri));

        ok(target.cli("bdev_error_inject_error", "EE_eb", "read", "failure", "-n", "1"));
        var read = run("qemu-io", "-f", "raw", "-c", "read -P 0x77 0 64k", uri);
        assertThat(read.stdout() + read.stderr()).contains("read failed: Input/output error");
        ok(target.cli("bdev_error_inject_error", "EE_eb", "write", "failure", "-n", "1"));
        var write = run("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 4k", uri);
        assertThat(write.stdout() + write.stderr()).contains("write failed: Input/output error");

        // The injected errors are spent: the data is intact and the export serves on.
        var again = run("qemu-io", "-f", "raw", "-c", "read -P 0x77 0 64k", uri);
        ok(again);
        assertThat(again.stdout()).doesNotContain("failed");
        assertThat(target.rpc("spdk_get_version", (String) null).get("version").asText()).startsWith("SPDK");
        ok(target.cli("nbd_stop_disk", uri));
        ok(target.cli("bdev_error_delete", "EE_eb"));
    }

    @Test
    void dataWrittenAndFlushedToAnAioBdevSurvivesKill9() throws Exception {
        Path saved = dir.resolve("aio-saved.json");
        String uri;
        byte[] before;
        TargetProcess t = TargetProcess.start("nbd-aio-kill1");
        try {
            Backend.AIO.create(t, "durable", MIB, dir);
            uri = t.cli("nbd_start_disk", "durable", "unix:" + dir.resolve("durable.sock")).stdout().trim();
            Files.writeString(saved, t.cli("save_config").stdout());
            // Plain writes then a FLUSH, and a FUA write: both must be on disk when acknowledged.
            ok(run("qemu-io", "-f", "raw", "-c", "write -P 0x5e 0 4M", "-c", "flush", "-c", "write -f -P 0x6f 4M 1M",
                    uri));
            before = Files.readAllBytes(dir.resolve("durable.img"));
        } finally {
            t.kill9();
        }
        assertThat(before[0]).isEqualTo((byte) 0x5e);
        try (TargetProcess t2 = TargetProcess.start("nbd-aio-kill2", "-c", saved.toString())) {
            assertThat(t2.rpc("nbd_get_disks", (String) null).get(0).get("nbd_device").asText()).isEqualTo(uri);
            var r = run("qemu-io", "-f", "raw", "-c", "read -P 0x5e 0 4M", "-c", "read -P 0x6f 4M 1M",
                    "-c", "read -P 0 5M 1M", uri);
            ok(r);
            assertThat(r.stdout()).doesNotContain("verification failed");
        }
    }

    @Test
    void stopAnswersTheRequestsInFlightBeforeItCloses() throws Exception {
        target.rpc("bdev_malloc_create", "{\"name\":\"sd\",\"num_blocks\":1024,\"block_size\":4096}");
        ok(target.cli("bdev_delay_create", "-b", "sd", "-d", "slowsd", "-r", "1000000", "-t", "1000000", "-w", "1000000",
                "-n", "1000000"));
        String uri = target.cli("nbd_start_disk", "slowsd", "127.0.0.1:0").stdout().trim();
        // Examine reads the new bdevs (raid looks for a superblock, lvol for a blobstore): count from after it.
        target.rpc("bdev_wait_for_examine", (String) null);
        long before = target.rpc("bdev_get_iostat", "{\"name\":\"sd\"}").get("bdevs").get(0).get("num_read_ops").asLong();
        Process reader = new ProcessBuilder("qemu-io", "-f", "raw", "-c", "read -P 0 0 64k", uri)
                .redirectErrorStream(true).start();
        try {
            // Stop once the read is in the delay bdev; it must still be answered, then the socket closes.
            while (target.rpc("bdev_get_iostat", "{\"name\":\"sd\"}").get("bdevs").get(0).get("num_read_ops").asLong() == before
                    && target.rpc("nbd_get_disks", (String) null).size() > 0 && reader.isAlive()) {
                Thread.sleep(20);
            }
            ok(target.cli("nbd_stop_disk", uri));
            assertThat(reader.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            String out = new String(reader.getInputStream().readAllBytes());
            assertThat(reader.exitValue()).as(out).isZero();
            assertThat(out).contains("read 65536/65536 bytes at offset 0");
        } finally {
            reader.destroyForcibly();
        }
        ok(target.cli("bdev_delay_delete", "slowsd"));
    }

    @Test
    void rpcNamingAndErrors() throws Exception {
        target.rpc("bdev_malloc_create", "{\"name\":\"named\",\"num_blocks\":256,\"block_size\":512}");
        String sock = dir.resolve("shared.sock").toString();
        var a = target.cli("nbd_start_disk", "named", "unix:" + sock);
        ok(a);
        assertThat(a.stdout().trim()).isEqualTo("nbd+unix:///named?socket=" + sock);
        var b = target.cli("nbd_start_disk", "-r", "named", "nbd+unix:///ro?socket=" + sock);
        ok(b);
        var disks = Json.MAPPER.readTree(target.cli("nbd_get_disks", "-n", "unix:" + sock).stdout());
        assertThat(disks).hasSize(2);
        assertThat(disks.get(0).get("bdev_name").asText()).isEqualTo("named");
        var ro = run("nbdinfo", "--json", b.stdout().trim());
        ok(ro);
        assertThat(Json.MAPPER.readTree(ro.stdout()).get("exports").get(0).get("is_read_only").asBoolean()).isTrue();

        assertThat(target.rpcError("nbd_stop_disk", "{\"nbd_device\":\"unix:" + sock + "\"}").code()).isEqualTo(-22);
        assertThat(target.rpcError("nbd_start_disk", "{\"bdev_name\":\"named\",\"nbd_device\":\"/dev/nbd0\"}")
                .getMessage()).contains("no kernel NBD devices");
        assertThat(target.rpcError("nbd_start_disk", "{\"bdev_name\":\"absent\"}").code()).isEqualTo(-19);
        assertThat(target.rpcError("nbd_start_disk", "{\"bdev_name\":\"named\",\"nbd_device\":\"unix:" + sock
                + "\"}").code()).isEqualTo(-17);
        assertThat(target.rpcError("nbd_start_disk", "{\"bdev_name\":\"named\",\"bogus\":1}").code()).isEqualTo(-32602);
        ok(target.cli("nbd_stop_disk", b.stdout().trim()));
        ok(target.cli("nbd_stop_disk", "unix:" + sock));
        assertThat(Files.exists(Path.of(sock))).isFalse();
        assertThat(target.rpcError("nbd_stop_disk", "{\"nbd_device\":\"unix:" + sock + "\"}").code()).isEqualTo(-19);
    }

    @Test
    void exportsComeBackFromSaveConfig() throws Exception {
        Path saved = dir.resolve("saved.json");
        String sock = dir.resolve("cfg.sock").toString();
        List<String> uris = new ArrayList<>();
        try (TargetProcess t = TargetProcess.start("nbd-config1")) {
            t.rpc("bdev_malloc_create", "{\"name\":\"c0\",\"num_blocks\":1024,\"block_size\":4096}");
            uris.add(t.cli("nbd_start_disk", "c0", "127.0.0.1:0").stdout().trim());
            uris.add(t.cli("nbd_start_disk", "-r", "c0", "unix:" + sock).stdout().trim());
            var save = t.cli("save_config");
            ok(save);
            Files.writeString(saved, save.stdout());
        }
        try (TargetProcess t = TargetProcess.start("nbd-config2", "-c", saved.toString())) {
            JsonNode disks = t.rpc("nbd_get_disks", (String) null);
            List<String> got = new ArrayList<>();
            disks.forEach(d -> got.add(d.get("nbd_device").asText()));
            assertThat(got).containsExactlyElementsOf(uris);
            ok(run("qemu-io", "-f", "raw", "-c", "write -P 0x3c 0 64k", "-c", "read -P 0x3c 0 64k", uris.get(0)));
            var ro = run("qemu-io", "-f", "raw", "-c", "write -P 0x3c 0 64k", uris.get(1));
            // qemu opens a read-only export read-only and refuses to write to it.
            assertThat(ro.exitCode()).isNotZero();
            assertThat(ro.stdout() + ro.stderr()).contains("Permission denied");
            var again = t.cli("save_config");
            assertThat(Json.MAPPER.readTree(again.stdout())).isEqualTo(Json.MAPPER.readTree(Files.readString(saved)));
        }
    }
}
