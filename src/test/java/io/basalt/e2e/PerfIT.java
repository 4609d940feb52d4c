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

/** {@code basalt perf} as a user runs it: the real command on a save_config document. */
class PerfIT {
    private static TargetProcess.Cli perf(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(TargetProcess.home().resolve("bin/basalt").toString(), "perf"));
        cmd.addAll(List.of(args));
        return TargetProcess.Cli.run(cmd, null);
    }

    private static Path config() throws Exception {
        Path cfg = Files.createTempFile("basalt-perf", ".json");
        Files.writeString(cfg, """
                {"subsystems": [{"subsystem": "bdev", "config": [
                  {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 8192, "block_size": 4096}},
                  {"method": "bdev_null_create", "params": {"name": "Null0", "num_blocks": 8192, "block_size": 512}},
                  {"method": "bdev_wait_for_examine"}
                ]}]}
                """);
        return cfg;
    }

    @Test
    void jsonReportsEveryBdevOfTheConfigAndTableAndBadOptions() throws Exception {
        Path cfg = config();
        var json = perf("-c", cfg.toString(), "-q", "8", "-o", "4k", "-w", "randrw", "-M", "50", "-t", "1",
                "--warmup", "0", "-m", "2", "--json");
        assertThat(json.exitCode()).as(json.stderr()).isZero();
        JsonNode r = Json.MAPPER.readTree(json.stdout());
        assertThat(r.get("results")).hasSize(2);
        for (JsonNode b : r.get("results")) {
            assertThat(b.get("status").asText()).isEqualTo("finished");
            assertThat(b.get("iops").asDouble()).isPositive();
            assertThat(b.get("io_failed").asLong()).isZero();
            assertThat(b.get("percentage").asInt()).isEqualTo(50);
            assertThat(b.get("p99_latency_us").asDouble()).isGreaterThanOrEqualTo(b.get("p50_latency_us").asDouble());
        }
        assertThat(r.get("results").get(0).get("job").asText()).isEqualTo("Malloc0");
        assertThat(r.get("results").get(0).get("core_mask").asText()).isEqualTo("0x1");
        assertThat(r.get("results").get(1).get("core_mask").asText()).isEqualTo("0x2");
        assertThat(r.get("core_count").asInt()).isEqualTo(2);

        var table = perf("-c", cfg.toString(), "-q", "4", "-o", "4096", "-w", "verify", "-t", "1", "--warmup", "0",
                "-T", "Malloc0");
        assertThat(table.exitCode()).as(table.stderr()).isZero();
        assertThat(table.stdout()).contains("Malloc0").contains("Total").doesNotContain("Null0")
                .contains("p99.9");
        assertThat(table.stderr()).contains("Running verify");

        var bad = perf("-c", cfg.toString(), "-q", "4", "-o", "4096", "-w", "randread", "-M", "30", "-t", "1");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.stderr()).contains("-M is for rw and randrw");

        var missing = perf("-c", cfg.toString(), "-q", "4", "-o", "4096", "-w", "read", "-t", "1", "-T", "Nope");
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.stderr()).contains("Nope");
    }
}
