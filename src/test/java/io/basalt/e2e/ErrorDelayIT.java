package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.Json;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Error and delay bdevs through the real process, driven with rpc.py's command lines. */
class ErrorDelayIT {
    private static String ok(TargetProcess.Cli r) {
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        return r.stdout().trim();
    }

    /** A failed call: exit 1 and the JSON-RPC error code printed as rpc.py prints it. */
    private static void fails(TargetProcess.Cli r, int code) {
        assertThat(r.exitCode()).as(r.stdout()).isEqualTo(1);
        assertThat(r.stderr()).contains("\"code\": " + code);
    }

    private static int code(TargetProcess t, String method, String params) throws Exception {
        return t.rpcError(method, params).code();
    }

    private static JsonNode bdev(TargetProcess t, String name) throws Exception {
        return t.rpc("bdev_get_bdevs", "{\"name\":\"" + name + "\"}").get(0);
    }

    @Test
    void createInjectUpdateDeleteWithRpcPySyntaxAndSaveConfigRoundTrip() throws Exception {
        Path saved = Files.createTempFile("basalt-errdelay", ".json");
        String eeUuid;
        String delayUuid;
        try (TargetProcess t = TargetProcess.start("errdelay1")) {
            assertThat(ok(t.cli("bdev_malloc_create", "-b", "m0", "8", "512"))).isEqualTo("m0");
            assertThat(ok(t.cli("bdev_malloc_create", "-b", "m1", "8", "4096"))).isEqualTo("m1");
            JsonNode methods = t.rpc("rpc_get_methods", (String) null);
            List<String> names = new ArrayList<>();
            methods.forEach(n -> names.add(n.asText()));
            assertThat(names).contains("bdev_error_create", "bdev_error_delete", "bdev_error_inject_error",
                    "bdev_delay_create", "bdev_delay_delete", "bdev_delay_update_latency");

            // ---- error bdev
            assertThat(ok(t.cli("bdev_error_create", "m0"))).isEmpty();
            fails(t.cli("bdev_error_create", "m0"), -17);
            fails(t.cli("bdev_error_create", "nope"), -19);
            assertThat(code(t, "bdev_error_create", "{\"base_name\":\"m0\",\"uuid\":\"not-a-uuid\"}")).isEqualTo(-32602);
            JsonNode ee = bdev(t, "EE_m0");
            assertThat(ee.get("product_name").asText()).isEqualTo("Error Injection Disk");
            assertThat(ee.get("block_size").asInt()).isEqualTo(512);
            assertThat(ee.get("num_blocks").asLong()).isEqualTo(16384);
            assertThat(ee.get("driver_specific").get("error_disk").get("base_bdev").asText()).isEqualTo("m0");
            assertThat(ee.get("supported_io_types")).isEqualTo(bdev(t, "m0").get("supported_io_types"));
            JsonNode m0 = bdev(t, "m0");
            assertThat(m0.get("claimed").asBoolean()).isTrue();
            assertThat(m0.get("claim_type").asText()).isEqualTo("exclusive_write");
            eeUuid = ee.get("uuid").asText();

            assertThat(ok(t.cli("bdev_error_inject_error", "EE_m0", "read", "failure", "-n", "3"))).isEmpty();
            assertThat(ok(t.cli("bdev_error_inject_error", "EE_m0", "all", "pending", "-q", "4"))).isEmpty();
            assertThat(ok(t.cli("bdev_error_inject_error", "EE_m0", "write", "corrupt_data", "-n", "2", "-o", "17",
                    "-v", "255"))).isEmpty();
            assertThat(ok(t.cli("bdev_error_inject_error", "EE_m0", "flush", "nomem", "-n", "0"))).isEmpty();
            assertThat(ok(t.cli("bdev_error_inject_error", "EE_m0", "clear", "failure"))).isEmpty();
            // What rpc.py's options become on the wire.
            JsonNode req = Json.MAPPER.readTree(ok(t.cli("--dry-run", "bdev_error_inject_error", "EE_m0", "write",
                    "corrupt_data", "-n", "0", "-q", "2", "-o", "17", "-v", "255")));
            assertThat(req.get("params")).isEqualTo(Json.MAPPER.readTree("{\"name\":\"EE_m0\",\"io_type\":\"write\","
                    + "\"error_type\":\"corrupt_data\",\"num\":0,\"queue_depth\":2,\"corrupt_offset\":17,"
                    + "\"corrupt_value\":255}"));
            req = Json.MAPPER.readTree(ok(t.cli("--dry-run", "bdev_error_create", "m9", "--uuid", eeUuid)));
            assertThat(req.get("params").toString()).isEqualTo("{\"base_name\":\"m9\",\"uuid\":\"" + eeUuid + "\"}");
            fails(t.cli("bdev_error_inject_error", "EE_m0", "write_zeroes", "failure"), -32602);
            fails(t.cli("bdev_error_inject_error", "nope", "read", "failure"), -19);
            String inj = "{\"name\":\"EE_m0\",\"io_type\":\"%s\",\"error_type\":\"%s\"%s}";
            assertThat(code(t, "bdev_error_inject_error", inj.formatted("reset", "failure", ""))).isEqualTo(-32602);
            assertThat(code(t, "bdev_error_inject_error", inj.formatted("read", "explode", ""))).isEqualTo(-32602);
            assertThat(code(t, "bdev_error_inject_error", inj.formatted("write", "corrupt_data", ""))).isEqualTo(-32602);
            assertThat(code(t, "bdev_error_inject_error", inj.formatted("write", "corrupt_data", ",\"corrupt_value\":256")))
                    .isEqualTo(-32602);
            assertThat(code(t, "bdev_error_inject_error", inj.formatted("read", "failure", ",\"num\":-1"))).isEqualTo(-32602);
            assertThat(code(t, "bdev_error_inject_error", inj.formatted("read", "failure", ",\"queue_depth\":-1")))
                    .isEqualTo(-32602);
            assertThat(code(t, "bdev_error_inject_error",
                    "{\"name\":\"m0\",\"io_type\":\"read\",\"error_type\":\"failure\"}")).isEqualTo(-19);
            assertThat(t.rpcError("bdev_error_inject_error",
                    "{\"name\":\"EE_m0\",\"io_type\":\"read\",\"error_type\":\"failure\",\"bogus\":1}").code())
                    .isEqualTo(-32602);

            // ---- delay bdev
            assertThat(ok(t.cli("bdev_delay_create", "-b", "m1", "-d", "d0", "-r", "100", "-t", "1000", "-w", "200",
                    "-n", "2000"))).isEqualTo("d0");
            fails(t.cli("bdev_delay_create", "-b", "nope", "-d", "d1", "-r", "1", "-t", "1", "-w", "1", "-n", "1"), -19);
            String dc = "{\"base_bdev_name\":\"%s\",\"name\":\"%s\",\"avg_read_latency\":%d,\"p99_read_latency\":%d,"
                    + "\"avg_write_latency\":1,\"p99_write_latency\":1}";
            assertThat(code(t, "bdev_delay_create", dc.formatted("m0", "d0", 1, 1))).isEqualTo(-17);
            // m0 is claimed by EE_m0.
            assertThat(code(t, "bdev_delay_create", dc.formatted("m0", "d1", 1, 1))).isEqualTo(-1);
            assertThat(code(t, "bdev_delay_create", dc.formatted("m1", "d1", 10, 5))).isEqualTo(-32602);
            assertThat(code(t, "bdev_delay_create", dc.formatted("m1", "d1", -1, 5))).isEqualTo(-32602);
            assertThat(t.cli("bdev_delay_create", "-b", "m1", "-d", "d1", "-r", "10").exitCode()).isEqualTo(2);
            assertThat(t.rpcError("bdev_delay_create", "{\"base_bdev_name\":\"m1\",\"name\":\"d1\",\"avg_read_latency\":1,"
                    + "\"p99_read_latency\":1,\"avg_write_latency\":1}").code()).isEqualTo(-32602);
            assertThat(t.rpc("bdev_get_bdevs", (String) null)).hasSize(4);

            assertThat(ok(t.cli("bdev_delay_update_latency", "d0", "avg_read", "150"))).isEmpty();
            fails(t.cli("bdev_delay_update_latency", "d0", "avg_flush", "150"), -32602);
            String ul = "{\"delay_bdev_name\":\"%s\",\"latency_type\":\"%s\",\"latency_us\":%d}";
            assertThat(code(t, "bdev_delay_update_latency", ul.formatted("d0", "p99_write", -5))).isEqualTo(-32602);
            assertThat(code(t, "bdev_delay_update_latency", ul.formatted("nope", "avg_read", 5))).isEqualTo(-19);
            assertThat(code(t, "bdev_delay_update_latency", ul.formatted("EE_m0", "avg_read", 5))).isEqualTo(-19);
            JsonNode d0 = bdev(t, "d0");
            assertThat(d0.get("product_name").asText()).isEqualTo("delay");
            JsonNode ds = d0.get("driver_specific").get("delay");
            assertThat(ds.get("name").asText()).isEqualTo("d0");
            assertThat(ds.get("base_bdev_name").asText()).isEqualTo("m1");
            assertThat(ds.get("avg_read_latency").asLong()).isEqualTo(150);
            assertThat(ds.get("p99_read_latency").asLong()).isEqualTo(1000);
            assertThat(ds.get("avg_write_latency").asLong()).isEqualTo(200);
            assertThat(ds.get("p99_write_latency").asLong()).isEqualTo(2000);
            assertThat(d0.get("block_size").asInt()).isEqualTo(4096);
            delayUuid = d0.get("uuid").asText();

            var save = t.cli("save_config");
            assertThat(save.exitCode()).as(save.stderr()).isZero();
            Files.writeString(saved, save.stdout());
            JsonNode bdevCfg = null;
            for (JsonNode s : Json.MAPPER.readTree(save.stdout()).get("subsystems")) {
                if (s.get("subsystem").asText().equals("bdev")) {
                    bdevCfg = s.get("config");
                }
            }
            List<String> order = new ArrayList<>();
            bdevCfg.forEach(c -> order.add(c.get("method").asText()));
            assertThat(order).containsSubsequence("bdev_malloc_create", "bdev_malloc_create", "bdev_error_create",
                    "bdev_delay_create", "bdev_wait_for_examine");
        }

        try (TargetProcess t = TargetProcess.start("errdelay2", "-c", saved.toString())) {
            assertThat(bdev(t, "EE_m0").get("uuid").asText()).isEqualTo(eeUuid);
            JsonNode d0 = bdev(t, "d0");
            assertThat(d0.get("uuid").asText()).isEqualTo(delayUuid);
            assertThat(d0.get("driver_specific").get("delay").get("avg_read_latency").asLong()).isEqualTo(150);
            var again = t.cli("save_config");
            assertThat(Json.MAPPER.readTree(again.stdout())).isEqualTo(Json.MAPPER.readTree(Files.readString(saved)));

            // Deletes give the bases back; absent or foreign names are -19.
            ok(t.cli("bdev_error_delete", "EE_m0"));
            assertThat(bdev(t, "m0").get("claimed").asBoolean()).isFalse();
            fails(t.cli("bdev_error_delete", "EE_m0"), -19);
            assertThat(code(t, "bdev_error_delete", "{\"name\":\"m0\"}")).isEqualTo(-19);
            ok(t.cli("bdev_delay_delete", "d0"));
            assertThat(bdev(t, "m1").get("claimed").asBoolean()).isFalse();
            fails(t.cli("bdev_delay_delete", "d0"), -19);
            assertThat(code(t, "bdev_delay_delete", "{\"name\":\"m1\"}")).isEqualTo(-19);

            // Hot-remove: deleting a base takes the bdev stacked on it along.
            assertThat(ok(t.cli("bdev_error_create", "m1"))).isEmpty();
            assertThat(ok(t.cli("bdev_delay_create", "-b", "EE_m1", "-d", "d2", "-r", "1", "-t", "1", "-w", "1",
                    "-n", "1"))).isEqualTo("d2");
            ok(t.cli("bdev_malloc_delete", "m1"));
            assertThat(code(t, "bdev_get_bdevs", "{\"name\":\"EE_m1\"}")).isEqualTo(-19);
            assertThat(code(t, "bdev_get_bdevs", "{\"name\":\"d2\"}")).isEqualTo(-19);
            assertThat(t.rpc("bdev_get_bdevs", (String) null)).hasSize(1);
        }
    }
}
