package io.basalt.config;

import io.basalt.runtime.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {
    @Test
    void readsTheCallsOfASaveConfigDocumentInOrder() throws Exception {
        Path f = Files.createTempFile("cfg", ".json");
        Files.writeString(f, "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[{\"method\":\"a\",\"params\":{\"x\":1}},"
                + "{\"method\":\"b\"},{\"method\":\"c\",\"params\":null}]},{\"subsystem\":\"nbd\",\"config\":null},"
                + "{\"subsystem\":\"nvmf\"},{\"subsystem\":\"scsi\",\"config\":[{\"method\":\"d\"}]}]}");
        List<ConfigLoader.Entry> e = ConfigLoader.read(f);
        assertThat(e).extracting(ConfigLoader.Entry::method).containsExactly("a", "b", "c", "d");
        assertThat(e.get(0).params().toString()).isEqualTo("{\"x\":1}");
        assertThat(e.get(1).params()).isNull();
        assertThat(e.get(2).params()).isNull();
        assertThat(e.get(3).subsystem()).isEqualTo("scsi");
        assertThat(e.get(3).index()).isZero();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "[]|must be an object with a \"subsystems\" array",
        "{}|must be an object with a \"subsystems\" array",
        "{\"subsystems\":{}}|must be an object with a \"subsystems\" array",
        "{\"subsystems\":[{\"config\":[]}]}|a subsystem entry has no \"subsystem\" name",
        "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":{}}]}|\"config\" of bdev must be an array",
        "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[{\"method\":\"a\"},{\"params\":{}}]}]}|entry 1 of bdev has no method",
    })
    void aBadShapeIsNamed(String doc, String message) {
        assertThatThrownBy(() -> ConfigLoader.parse(Json.MAPPER.readTree(doc), "f.json"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("config f.json").hasMessageContaining(message);
    }

    @Test
    void aMissingOrBrokenFileIsNamed() throws Exception {
        Path missing = Path.of("/tmp/basalt-no-such-config.json");
        assertThatThrownBy(() -> ConfigLoader.read(missing)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("config " + missing + " does not exist");
        Path f = Files.createTempFile("cfg", ".json");
        Files.writeString(f, "{\"subsystems\": [");
        assertThatThrownBy(() -> ConfigLoader.read(f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("config " + f + " is not valid JSON");
    }
}
