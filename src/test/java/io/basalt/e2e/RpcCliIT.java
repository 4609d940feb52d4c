package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.Json;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code basalt rpc} and an rpc.py-style client against one real target. */
class RpcCliIT {
    private static TargetProcess t;

    @BeforeAll
    static void start() throws Exception {
        t = TargetProcess.start("rpc-cli");
    }

    @AfterAll
    static void stop() throws Exception {
        assertThat(t.stop()).isZero();
    }

    private static JsonNode ok(String... args) throws Exception {
        TargetProcess.Cli r = t.cli(args);
        assertThat(r.exitCode()).as(String.join(" ", args) + ": " + r.stderr()).isZero();
        assertThat(r.stderr()).isEmpty();
        String out = r.stdout().trim();
        return out.isEmpty() ? null : out.startsWith("{") || out.startsWith("[") ? Json.MAPPER.readTree(out)
                : Json.MAPPER.getNodeFactory().textNode(out);
    }

    @Test
    void everyMethodWithRpcPysSyntax() throws Exception {
        assertThat(ok("spdk_get_version").get("fields").get("major").asInt()).isEqualTo(24);
        List<String> methods = new ArrayList<>();
        ok("rpc_get_methods").forEach(n -> methods.add(n.asText()));
        assertThat(methods).contains("bdev_malloc_create", "framework_start_init");
        for (String m : methods) {
            assertThat(io.basalt.target.Target.syntax().get(m)).as("basalt rpc syntax for " + m).isNotNull();
        }
        List<String> current = new ArrayList<>();
        ok("rpc_get_methods", "--current").forEach(n -> current.add(n.asText()));
        assertThat(current).contains("bdev_malloc_create").doesNotContain("framework_start_init");
        assertThat(ok("framework_wait_init")).as("a bare true prints nothing, as rpc.py").isNull();
        assertThat(ok("framework_get_subsystems").get(0).get("subsystem").asText()).isEqualTo("bdev");

        assertThat(ok("bdev_malloc_create", "-b", "c0", "8", "512").asText()).isEqualTo("c0");
        assertThat(ok("bdev_malloc_create", "1", "4096").asText()).startsWith("Malloc");
        assertThat(ok("bdev_null_create", "cn0", "16", "512").asText()).isEqualTo("cn0");
        assertThat(ok("bdev_wait_for_examine")).isNull();
        JsonNode c0 = ok("bdev_get_bdevs", "-b", "c0").get(0);
        assertThat(c0.get("num_blocks").asLong()).isEqualTo(16384);
        assertThat(c0.get("product_name").asText()).isEqualTo("Malloc disk");
        assertThat(ok("bdev_get_bdevs", "-b", "c0", "-t", "10")).hasSize(1);
        assertThat(ok("bdev_get_bdevs")).hasSizeGreaterThanOrEqualTo(3);
        JsonNode stat = ok("bdev_get_iostat", "-b", "c0");
        // Examine reads a new bdev's first blocks (raid looks for a superblock, lvol for a blobstore): no writes.
        assertThat(stat.get("bdevs").get(0).get("num_write_ops").asLong()).isZero();
        assertThat(ok("bdev_get_iostat", "-b", "c0", "-c").get("name").asText()).isEqualTo("c0");
        assertThat(ok("bdev_null_resize", "cn0", "32")).isNull();
        assertThat(ok("bdev_get_bdevs", "-b", "cn0").get(0).get("num_blocks").asLong()).isEqualTo(65536);
        JsonNode cfg = ok("framework_get_config", "bdev");
        assertThat(cfg.toString()).contains("\"bdev_malloc_create\"").contains("\"c0\"").contains("\"bdev_null_create\"");

        // save_config, delete, load_config from stdin: the same bdevs come back with the same uuids.
        TargetProcess.Cli saved = t.cli("save_config");
        assertThat(saved.exitCode()).isZero();
        assertThat(Json.MAPPER.readTree(saved.stdout()).get("subsystems").get(0).get("config")).isEqualTo(cfg);
        assertThat(ok("bdev_malloc_delete", "c0")).isNull();
        assertThat(ok("bdev_null_delete", "cn0")).isNull();
        TargetProcess.Cli load = TargetProcess.Cli.run(List.of(TargetProcess.home().resolve("bin/basalt").toString(),
                "rpc", "-s", t.socket().toString(), "load_config"), filterTo(saved.stdout(), "c0", "cn0"));
        assertThat(load.exitCode()).as(load.stderr()).isZero();
        assertThat(ok("bdev_get_bdevs", "-b", "c0").get(0).get("uuid")).isEqualTo(c0.get("uuid"));
        assertThat(ok("bdev_get_bdevs", "-b", "cn0").get(0).get("num_blocks").asLong()).isEqualTo(65536);
        ok("bdev_malloc_delete", "c0");
        ok("bdev_null_delete", "cn0");
    }

    /** The saved document with only the bdevs named (others still exist in the target). */
    private static byte[] filterTo(String saved, String... names) throws Exception {
        JsonNode doc = Json.MAPPER.readTree(saved);
        var cfg = (com.fasterxml.jackson.databind.node.ArrayNode) doc.get("subsystems").get(0).get("config");
        List<String> keep = List.of(names);
        for (int i = cfg.size() - 1; i >= 0; i--) {
            JsonNode p = cfg.get(i).get("params");
            if (p != null && p.has("name") && !keep.contains(p.get("name").asText())) {
                cfg.remove(i);
            }
        }
        return Json.MAPPER.writeValueAsBytes(doc);
    }

    @Test
    void anErrorGoesToStderrAsRpcPyPrintsItAndExits1() throws Exception {
        TargetProcess.Cli r = t.cli("bdev_malloc_delete", "nope");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderr()).contains("request:").contains("\"method\": \"bdev_malloc_delete\"")
                .contains("Got JSON-RPC error response").contains("response:").contains("\"code\": -19")
                .contains("\"message\": \"No such device: malloc bdev nope not found\"");
        TargetProcess.Cli bad = t.cli("bdev_malloc_create", "-b", "x", "1", "500");
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.stderr()).contains("\"code\": -32602").contains("block_size 500");
        TargetProcess.Cli noSubsystem = t.cli("framework_get_config", "nvmf_nope");
        assertThat(noSubsystem.exitCode()).isEqualTo(1);
        assertThat(noSubsystem.stderr()).contains("\"code\": -19").contains("subsystem nvmf_nope not found");
        TargetProcess.Cli usage = t.cli("bdev_malloc_create", "1");
        assertThat(usage.exitCode()).isEqualTo(2);
        TargetProcess.Cli brokenLoad = TargetProcess.Cli.run(List.of(TargetProcess.home().resolve("bin/basalt").toString(),
                "rpc", "-s", t.socket().toString(), "load_config"), "{\"subsystems\": [".getBytes(StandardCharsets.UTF_8));
        assertThat(brokenLoad.exitCode()).isEqualTo(1);
        assertThat(brokenLoad.stderr()).contains("load_config");
        assertThat(t.rpcError("bdev_get_bdevs", "{\"name\":\"zz\"}").code()).isEqualTo(-19);
    }

    /**
     * A client that speaks as SPDK's rpc.py does (python/spdk/rpc/client.py): one connection for a
     * series of calls, each json.dumps(request, indent=2) with keys jsonrpc, method, id and params
     * (left out when empty), no newline, the answer read with JSONDecoder.raw_decode.
     */
    @Test
    void anRpcPyStyleClientDrivesTheTarget() throws Exception {
        String script = String.join("\n",
                "import json, socket, sys",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
                "s.connect(sys.argv[1])",
                "buf = ''",
                "out = []",
                "def call(i, method, params=None):",
                "    global buf",
                "    req = {'jsonrpc': '2.0', 'method': method, 'id': i}",
                "    if params:",
                "        req['params'] = params",
                "    s.sendall(json.dumps(req, indent=2).encode('utf-8'))",
                "    while True:",
                "        try:",
                "            obj, idx = json.JSONDecoder().raw_decode(buf.lstrip())",
                "            buf = buf.lstrip()[idx:]",
                "            return obj",
                "        except ValueError:",
                "            data = s.recv(4096)",
                "            if not data:",
                "                raise SystemExit('connection closed')",
                "            buf += data.decode('utf-8')",
                "calls = json.loads(sys.stdin.read())",
                "for i, c in enumerate(calls):",
                "    out.append(call(i + 1, c[0], c[1] if len(c) > 1 else None))",
                "print(json.dumps(out))");
        String calls = "[[\"spdk_get_version\"],"
                + "[\"bdev_malloc_create\",{\"num_blocks\":2048,\"block_size\":512,\"name\":\"py0\",\"md_interleave\":false,\"dif_is_head_of_md\":false}],"
                + "[\"bdev_get_bdevs\",{\"name\":\"py0\"}],"
                + "[\"bdev_get_iostat\",{\"name\":\"py0\",\"per_channel\":false}],"
                + "[\"bdev_null_create\",{\"name\":\"pn0\",\"num_blocks\":2048,\"block_size\":512,\"dif_is_head_of_md\":false}],"
                + "[\"bdev_null_resize\",{\"name\":\"pn0\",\"new_size\":2}],"
                + "[\"framework_get_subsystems\"],"
                + "[\"framework_get_config\",{\"name\":\"bdev\"}],"
                + "[\"rpc_get_methods\"],"
                + "[\"bdev_null_delete\",{\"name\":\"pn0\"}],"
                + "[\"bdev_malloc_delete\",{\"name\":\"py0\"}],"
                + "[\"bdev_malloc_delete\",{\"name\":\"py0\"}]]";
        TargetProcess.Cli r = TargetProcess.Cli.run(List.of("python3", "-c", script, t.socket().toString()),
                calls.getBytes(StandardCharsets.UTF_8));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        JsonNode out = Json.MAPPER.readTree(r.stdout());
        assertThat(out).hasSize(12);
        for (int i = 0; i < 11; i++) {
            assertThat(out.get(i).get("id").asInt()).isEqualTo(i + 1);
            assertThat(out.get(i).has("result")).as(out.get(i).toString()).isTrue();
        }
        assertThat(out.get(1).get("result").asText()).isEqualTo("py0");
        assertThat(out.get(2).get("result").get(0).get("name").asText()).isEqualTo("py0");
        assertThat(out.get(5).get("result").asBoolean()).isTrue();
        assertThat(out.get(11).get("error").get("code").asInt()).isEqualTo(-19);
    }
}
