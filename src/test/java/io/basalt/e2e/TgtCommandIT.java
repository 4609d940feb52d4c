package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.rpc.RpcClient;
import io.basalt.runtime.Json;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code basalt tgt} as a real process: its socket, its startup failures, its clean shutdowns. */
class TgtCommandIT {
    private final List<TargetProcess> started = new ArrayList<>();

    @AfterEach
    void stopLeftovers() throws Exception {
        for (TargetProcess t : started) {
            t.stop();
        }
    }

    private TargetProcess track(TargetProcess t) {
        started.add(t);
        return t;
    }

    private static TargetProcess.Cli tgt(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(TargetProcess.home().resolve("bin/basalt").toString(), "tgt"));
        cmd.addAll(List.of(args));
        return TargetProcess.Cli.run(cmd, null);
    }

    private static List<JsonNode> exchange(SocketChannel ch, BufferedReader in, String bytes, int answers) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(bytes.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < answers; i++) {
            String line = in.readLine();
            out.add(line == null ? null : Json.MAPPER.readTree(line));
        }
        return out;
    }

    @Test
    void theSocketIsOwnerOnlyASecondTargetIsRefusedAndSigtermStopsCleanly() throws Exception {
        TargetProcess t = track(TargetProcess.start("tgt-main"));
        Path sock = t.socket();
        assertThat(Files.getPosixFilePermissions(sock)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

        TargetProcess.Cli second = tgt("-r", sock.toString());
        assertThat(second.exitCode()).isNotZero();
        assertThat(second.stderr() + second.stdout()).contains("RPC socket " + sock + " is in use by another target");
        // The first target is untouched: its socket is still there and answers.
        assertThat(sock).exists();
        assertThat(t.rpc("spdk_get_version", (String) null).get("version").asText()).startsWith("SPDK v24.09-basalt");

        // The protocol on the real process: errors, a request in pieces, requests in one write.
        try (SocketChannel ch = t.client().connect()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            List<JsonNode> a = exchange(ch, in, "{\"jsonrpc\":\"2.0\",\"method\":\"no_such_method\",\"id\":1}", 1);
            assertThat(a.get(0).get("error").get("code").asInt()).isEqualTo(-32601);
            String[] bad = {
                "{\"method\":\"bdev_malloc_create\",\"id\":2,\"params\":{\"num_blocks\":8}}",
                "{\"method\":\"bdev_malloc_create\",\"id\":2,\"params\":{\"num_blocks\":\"8\",\"block_size\":512}}",
                "{\"method\":\"bdev_malloc_create\",\"id\":2,\"params\":{\"num_blocks\":8,\"block_size\":512,\"colour\":1}}",
            };
            String[] names = {"block_size", "num_blocks", "colour"};
            for (int i = 0; i < bad.length; i++) {
                JsonNode e = exchange(ch, in, bad[i], 1).get(0).get("error");
                assertThat(e.get("code").asInt()).isEqualTo(-32602);
                assertThat(e.get("message").asText()).contains("'" + names[i] + "'");
            }
            assertThat(t.rpc("bdev_get_bdevs", (String) null)).isEmpty();
            byte[] split = "{\"jsonrpc\": \"2.0\", \"method\": \"spdk_get_version\", \"id\": 3}".getBytes(StandardCharsets.UTF_8);
            for (byte x : split) {
                ch.write(ByteBuffer.wrap(new byte[] {x}));
            }
            assertThat(Json.MAPPER.readTree(in.readLine()).get("id").asInt()).isEqualTo(3);
            StringBuilder many = new StringBuilder();
            for (int i = 10; i < 60; i++) {
                many.append("{\"method\":\"spdk_get_version\",\"id\":").append(i).append('}');
            }
            List<JsonNode> all = exchange(ch, in, many.toString(), 50);
            assertThat(all).extracting(n -> n.get("id").asInt()).containsExactlyInAnyOrderElementsOf(
                    java.util.stream.IntStream.range(10, 60).boxed().toList());
            // Malformed JSON: -32700, then the target closes the connection.
            JsonNode pe = exchange(ch, in, "{\"method\": }", 1).get(0);
            assertThat(pe.get("error").get("code").asInt()).isEqualTo(-32700);
            assertThat(in.readLine()).isNull();
        }

        t.process().destroy();
        assertThat(t.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(t.process().exitValue()).as(t.log()).isZero();
        assertThat(sock).doesNotExist();
        assertThat(t.log()).doesNotContain("Exception");
    }

    @Test
    void waitForRpcRefusesRuntimeMethodsUntilStartInitOnTwoReactorsAndSigintStopsCleanly() throws Exception {
        Path sock = TargetProcess.newSocket("tgt-wait");
        TargetProcess t = track(TargetProcess.startRaw(sock, "tgt-wait", false, "--wait-for-rpc", "-m", "0x3"));
        String create = "{\"name\":\"m0\",\"num_blocks\":64,\"block_size\":512}";
        RpcClient.RpcError early = t.rpcError("bdev_malloc_create", create);
        assertThat(early.code()).isEqualTo(-1);
        assertThat(early.getMessage()).contains("framework_start_init");
        JsonNode current = t.rpc("rpc_get_methods", "{\"current\":true}");
        List<String> now = new ArrayList<>();
        current.forEach(n -> now.add(n.asText()));
        assertThat(now).contains("framework_start_init", "spdk_get_version").doesNotContain("bdev_malloc_create");
        // basalt rpc load_config (as rpc.py's) calls framework_start_init itself when a method needs it.
        String cfg = "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[{\"method\":\"bdev_malloc_create\","
                + "\"params\":{\"name\":\"m1\",\"num_blocks\":64,\"block_size\":512}}]}]}";
        TargetProcess.Cli load = TargetProcess.Cli.run(List.of(TargetProcess.home().resolve("bin/basalt").toString(),
                "rpc", "-s", sock.toString(), "load_config"), cfg.getBytes(StandardCharsets.UTF_8));
        assertThat(load.exitCode()).as(load.stderr()).isZero();
        assertThat(t.rpc("framework_wait_init", (String) null).asBoolean()).isTrue();
        assertThat(t.rpc("bdev_get_bdevs", "{\"name\":\"m1\"}")).hasSize(1);
        assertThat(t.rpc("bdev_malloc_create", create).asText()).isEqualTo("m0");
        assertThat(t.rpcError("framework_start_init", null).code()).isEqualTo(-1);

        Process jstack = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jstack").toString(),
                Long.toString(t.pid())).redirectErrorStream(true).start();
        String threads = new String(jstack.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(jstack.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(threads).contains("\"reactor_0\"").contains("\"reactor_1\"").doesNotContain("\"reactor_2\"");

        new ProcessBuilder("kill", "-INT", Long.toString(t.pid())).start().waitFor();
        assertThat(t.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(t.process().exitValue()).as(t.log()).isZero();
        assertThat(sock).doesNotExist();
    }

    @Test
    void spdkKillInstanceAnswersTrueThenTheTargetExitsCleanly() throws Exception {
        TargetProcess t = track(TargetProcess.start("tgt-kill"));
        assertThat(t.rpcError("spdk_kill_instance", "{\"sig_name\":\"SIGWHAT\"}").code()).isEqualTo(-32602);
        assertThat(t.rpcError("spdk_kill_instance", "{}").code()).isEqualTo(-32602);
        assertThat(t.rpc("spdk_kill_instance", "{\"sig_name\":\"SIGTERM\"}").asBoolean()).isTrue();
        assertThat(t.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(t.process().exitValue()).as(t.log()).isZero();
        assertThat(t.socket()).doesNotExist();
    }

    @Test
    void aBrokenStartFailsWithAMessageNamingWhatIsWrong() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "bstc");
        Path sock = dir.resolve("t.sock");
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":["
                + "{\"method\":\"bdev_malloc_create\",\"params\":{\"name\":\"m0\",\"num_blocks\":16,\"block_size\":512}},"
                + "{\"method\":\"bdev_malloc_create\",\"params\":{\"name\":\"m1\",\"num_blocks\":16,\"block_size\":500}}]}]}");
        TargetProcess.Cli r = tgt("-r", sock.toString(), "-c", bad.toString());
        String all = r.stdout() + r.stderr();
        assertThat(r.exitCode()).as(all).isEqualTo(1);
        assertThat(all).contains("basalt tgt: config: bdev entry 1 (bdev_malloc_create) failed: -32602")
                .contains("block_size 500").doesNotContain("Exception");
        assertThat(sock).doesNotExist();

        // With --wait-for-rpc the runtime part runs at framework_start_init, which answers with the entry's error.
        try (TargetProcess w = TargetProcess.startRaw(dir.resolve("w.sock"), "tgt-badcfg", false, "--wait-for-rpc",
                "-c", bad.toString())) {
            var e = w.rpcError("framework_start_init", null);
            assertThat(e.code()).isEqualTo(-32602);
            assertThat(e.getMessage()).contains("config: bdev entry 1 (bdev_malloc_create) failed");
            assertThat(w.rpcError("framework_wait_init", null).code()).isEqualTo(-32602);
        }

        TargetProcess.Cli missing = tgt("-r", sock.toString(), "-c", dir.resolve("none.json").toString());
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.stderr()).contains("config " + dir.resolve("none.json") + " does not exist")
                .doesNotContain("Exception");

        Path notJson = dir.resolve("nj.json");
        Files.writeString(notJson, "{\"subsystems\": [");
        TargetProcess.Cli nj = tgt("-r", sock.toString(), "-c", notJson.toString());
        assertThat(nj.exitCode()).isEqualTo(1);
        assertThat(nj.stderr()).contains("is not valid JSON");

        TargetProcess.Cli iobuf = tgt("-r", sock.toString(), "--iobuf-mb", "0");
        assertThat(iobuf.exitCode()).isEqualTo(2);
        assertThat(iobuf.stderr()).contains("--iobuf-mb");

        TargetProcess.Cli mask = tgt("-r", sock.toString(), "-m", "0x0");
        assertThat(mask.exitCode()).isEqualTo(2);
        assertThat(mask.stderr()).contains("bad -m 0x0");
        assertThat(sock).doesNotExist();
    }
}
