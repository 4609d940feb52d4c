package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.rpc.RpcClient;
import io.basalt.runtime.Json;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** bdev_aio_create / rescan / delete through the real process and the real CLI, with rpc.py's syntax. */
class AioIT {
    private final List<Path> files = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (Path p : files) {
            Files.deleteIfExists(p);
        }
    }

    private Path file(long size) throws Exception {
        Path p = Files.createTempFile(Path.of("/tmp"), "aioit", ".img");
        files.add(p);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    private static JsonNode bdev(TargetProcess t, String name) throws Exception {
        return t.rpc("bdev_get_bdevs", "{\"name\":\"" + name + "\"}").get(0);
    }

    @Test
    void createShowGetErrorsSaveConfigRescanDelete() throws Exception {
        Path img = file(64L << 20);
        Path img2 = file(8L << 20);
        Path empty = file(0);
        String uuid = "6f1ab3a0-4c5e-4b7e-9d2a-0c1e2f3a4b5c";
        Path saved;
        try (TargetProcess t = TargetProcess.start("aio1")) {
            var create = t.cli("bdev_aio_create", img.toString(), "aio0");
            assertThat(create.exitCode()).as(create.stderr()).isZero();
            assertThat(create.stdout().trim()).isEqualTo("aio0");
            JsonNode b = bdev(t, "aio0");
            assertThat(b.get("product_name").asText()).isEqualTo("AIO disk");
            assertThat(b.get("block_size").asInt()).isEqualTo(512);
            assertThat(b.get("num_blocks").asLong()).isEqualTo((64L << 20) / 512);
            JsonNode types = b.get("supported_io_types");
            assertThat(types.get("read").asBoolean()).isTrue();
            assertThat(types.get("write").asBoolean()).isTrue();
            assertThat(types.get("flush").asBoolean()).isTrue();
            assertThat(types.get("unmap").asBoolean()).isFalse();
            assertThat(types.get("write_zeroes").asBoolean()).isFalse();
            JsonNode aio = b.get("driver_specific").get("aio");
            assertThat(aio.get("filename").asText()).isEqualTo(img.toString());
            assertThat(aio.get("block_size_override").asBoolean()).isFalse();
            assertThat(aio.get("readonly").asBoolean()).isFalse();
            assertThat(aio.get("fallocate").asBoolean()).isFalse();
            assertThat(aio.get("direct_io").asBoolean()).isTrue();
            assertThat(aio.get("engine").asText()).isEqualTo("io_uring");

            var c2 = t.cli("bdev_aio_create", "--fallocate", "-u", uuid, img2.toString(), "aio1", "4096");
            assertThat(c2.exitCode()).as(c2.stderr()).isZero();
            JsonNode b2 = bdev(t, "aio1");
            assertThat(b2.get("uuid").asText()).isEqualTo(uuid);
            assertThat(b2.get("block_size").asInt()).isEqualTo(4096);
            assertThat(b2.get("num_blocks").asLong()).isEqualTo(2048);
            assertThat(b2.get("supported_io_types").get("unmap").asBoolean()).isTrue();
            assertThat(b2.get("supported_io_types").get("write_zeroes").asBoolean()).isTrue();
            assertThat(b2.get("driver_specific").get("aio").get("unmap").asText()).isEqualTo("punch_hole");
            assertThat(b2.get("driver_specific").get("aio").get("block_size_override").asBoolean()).isTrue();

            // rpc.py's defaults: readonly/fallocate false and nowait false are accepted.
            t.rpc("bdev_aio_delete", "{\"name\":\"aio1\"}");
            JsonNode again = t.rpc("bdev_aio_create", "{\"filename\":\"" + img2 + "\",\"name\":\"aio1\","
                    + "\"block_size\":4096,\"readonly\":true,\"fallocate\":false,\"nowait\":false,\"uuid\":\""
                    + uuid + "\"}");
            assertThat(again.asText()).isEqualTo("aio1");
            assertThat(bdev(t, "aio1").get("supported_io_types").get("write").asBoolean()).isFalse();

            RpcClient.RpcError missing = t.rpcError("bdev_aio_create",
                    "{\"filename\":\"/tmp/no-such-basalt-file.img\",\"name\":\"x\"}");
            assertThat(missing.code()).isEqualTo(-2);
            assertThat(missing.getMessage()).contains("/tmp/no-such-basalt-file.img");
            Path other = file(1L << 20);
            assertThat(t.rpcError("bdev_aio_create", "{\"filename\":\"" + other + "\",\"name\":\"aio0\"}").code())
                    .isEqualTo(-17);
            assertThat(t.rpcError("bdev_aio_create", "{\"filename\":\"" + img + "\",\"name\":\"x\"}").code())
                    .as("the file is already in use").isEqualTo(-16);
            RpcClient.RpcError bad = t.rpcError("bdev_aio_create",
                    "{\"filename\":\"" + other + "\",\"name\":\"x\",\"block_size\":1000}");
            assertThat(bad.code()).isEqualTo(-32602);
            assertThat(bad.getMessage()).contains("block_size");
            assertThat(t.rpcError("bdev_aio_create", "{\"filename\":\"" + empty + "\",\"name\":\"x\"}").code())
                    .isEqualTo(-22);
            assertThat(t.rpcError("bdev_aio_create",
                    "{\"filename\":\"" + other + "\",\"name\":\"x\",\"nowait\":true}").code()).isEqualTo(-32602);
            assertThat(t.rpcError("bdev_aio_create",
                    "{\"filename\":\"" + other + "\",\"name\":\"x\",\"bogus\":1}").code()).isEqualTo(-32602);
            assertThat(t.rpcError("bdev_aio_create", "{\"filename\":\"" + other + "\"}").code()).isEqualTo(-32602);
            assertThat(t.rpc("bdev_get_bdevs", (String) null)).hasSize(2);

            try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
                f.setLength(96L << 20);
            }
            var rescan = t.cli("bdev_aio_rescan", "aio0");
            assertThat(rescan.exitCode()).as(rescan.stderr()).isZero();
            assertThat(bdev(t, "aio0").get("num_blocks").asLong()).isEqualTo((96L << 20) / 512);

            var save = t.cli("save_config");
            assertThat(save.exitCode()).as(save.stderr()).isZero();
            saved = Files.createTempFile("basalt-aio-config", ".json");
            files.add(saved);
            Files.writeString(saved, save.stdout());
            JsonNode calls = Json.MAPPER.readTree(save.stdout()).get("subsystems").get(0).get("config");
            JsonNode c0 = null;
            for (JsonNode c : calls) {
                if (c.get("method").asText().equals("bdev_aio_create") && c.get("params").get("name").asText()
                        .equals("aio0")) {
                    c0 = c.get("params");
                }
            }
            assertThat(c0).isNotNull();
            assertThat(c0.get("filename").asText()).isEqualTo(img.toString());
            assertThat(c0.has("block_size")).isFalse();
            assertThat(c0.get("readonly").asBoolean()).isFalse();
            assertThat(c0.get("fallocate").asBoolean()).isFalse();
            assertThat(c0.get("uuid").asText()).isEqualTo(bdev(t, "aio0").get("uuid").asText());
        }
        try (TargetProcess t2 = TargetProcess.start("aio2", "-c", saved.toString())) {
            JsonNode a0 = bdev(t2, "aio0");
            assertThat(a0.get("num_blocks").asLong()).isEqualTo((96L << 20) / 512);
            JsonNode a1 = bdev(t2, "aio1");
            assertThat(a1.get("uuid").asText()).isEqualTo(uuid);
            assertThat(a1.get("block_size").asInt()).isEqualTo(4096);
            assertThat(a1.get("driver_specific").get("aio").get("readonly").asBoolean()).isTrue();
            var again = t2.cli("save_config");
            assertThat(Json.MAPPER.readTree(again.stdout())).isEqualTo(Json.MAPPER.readTree(Files.readString(saved)));

            var del = t2.cli("bdev_aio_delete", "aio0");
            assertThat(del.exitCode()).as(del.stderr()).isZero();
            assertThat(del.stdout().trim()).as("rpc.py prints nothing for a bare true").isEmpty();
            assertThat(t2.rpcError("bdev_aio_delete", "{\"name\":\"aio0\"}").code()).isEqualTo(-19);
            assertThat(t2.rpcError("bdev_get_bdevs", "{\"name\":\"aio0\"}").code()).isEqualTo(-19);
            // Deleted means released: the file can be taken again at once.
            assertThat(t2.rpc("bdev_aio_create", "{\"filename\":\"" + img + "\",\"name\":\"aio0\"}").asText())
                    .isEqualTo("aio0");
        }
    }
}
