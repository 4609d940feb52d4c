package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.Json;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The must-show sequence through the real process and the real CLI. */
class FoundationIT {
    @Test
    void mallocCreateShowsSpdkFieldsAndSaveConfigRecreatesSameBdevs() throws Exception {
        Path saved;
        String firstUuid;
        try (TargetProcess t = TargetProcess.start("found1")) {
            var create = t.cli("bdev_malloc_create", "-b", "m0", "64", "4096");
            assertThat(create.exitCode()).as(create.stderr()).isZero();
            assertThat(create.stdout().trim()).isEqualTo("m0");

            var get = t.cli("bdev_get_bdevs", "-b", "m0");
            assertThat(get.exitCode()).as(get.stderr()).isZero();
            JsonNode arr = Json.MAPPER.readTree(get.stdout());
            assertThat(arr).hasSize(1);
            JsonNode b = arr.get(0);
            assertThat(b.get("name").asText()).isEqualTo("m0");
            assertThat(b.get("block_size").asInt()).isEqualTo(4096);
            assertThat(b.get("num_blocks").asLong()).isEqualTo(16384);
            assertThat(b.get("product_name").asText()).isEqualTo("Malloc disk");
            assertThat(b.has("uuid")).isTrue();
            assertThat(b.get("claimed").asBoolean()).isFalse();
            assertThat(b.get("supported_io_types").get("read").asBoolean()).isTrue();
            assertThat(b.has("aliases")).isTrue();
            assertThat(b.has("assigned_rate_limits")).isTrue();
            assertThat(b.has("driver_specific")).isTrue();
            firstUuid = b.get("uuid").asText();

            var n = t.cli("bdev_null_create", "n0", "16", "512");
            assertThat(n.exitCode()).as(n.stderr()).isZero();

            var save = t.cli("save_config");
            assertThat(save.exitCode()).as(save.stderr()).isZero();
            saved = Files.createTempFile("basalt-config", ".json");
            Files.writeString(saved, save.stdout());
        }
        try (TargetProcess t2 = TargetProcess.start("found2", "-c", saved.toString())) {
            JsonNode all = t2.rpc("bdev_get_bdevs", (String) null);
            assertThat(all).hasSize(2);
            JsonNode m0 = t2.rpc("bdev_get_bdevs", "{\"name\":\"m0\"}").get(0);
            assertThat(m0.get("uuid").asText()).isEqualTo(firstUuid);
            var again = t2.cli("save_config");
            assertThat(Json.MAPPER.readTree(again.stdout())).isEqualTo(Json.MAPPER.readTree(Files.readString(saved)));
        }
    }
}
