package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.rpc.RpcClient;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.basalt.e2e.LvolCalls.lvol;
import static io.basalt.e2e.LvolCalls.ok;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * S3 (SCENARIOS.md): destroying a logical volume while things still point at it. A delete that
 * fails leaves every structure as before and says why (-16 naming the holder); an lvol that is
 * open (a stacked bdev holds it) or being copied (inflate) is never freed under its users; a
 * snapshot keeps listing exactly its live clones, so a later delete of it is well-formed and the
 * process stays up.
 */
class ScenarioS3IT {


    @Test
    void aFailedDeleteChangesNothingAndSaysWhy() throws Exception {
        Path f = Files.createTempFile(Path.of("/tmp"), "s3", ".img");
        Path cfg = Files.createTempFile("s3", ".json");
        try {
            try (var raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(64L << 20);
            }
            Files.writeString(cfg, "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[{\"method\":\"bdev_aio_create\","
                    + "\"params\":{\"name\":\"aio0\",\"filename\":\"" + f + "\",\"block_size\":4096}}]}]}");
            try (TargetProcess t = TargetProcess.start("s3a", "-c", cfg.toString())) {
                ok(t.cli("bdev_lvol_create_lvstore", "aio0", "lvs", "-c", "1048576"));
                ok(t.cli("bdev_lvol_create", "-l", "lvs", "vol", "4"));
                ok(t.cli("bdev_lvol_snapshot", "lvs/vol", "snap"));
                ok(t.cli("bdev_lvol_clone", "lvs/snap", "c1"));
                // A stacked bdev opens and claims the clone: it is in use.
                ok(t.cli("bdev_error_create", "lvs/c1"));
                RpcClient.RpcError busy = t.rpcError("bdev_lvol_delete", "{\"name\":\"lvs/c1\"}");
                assertThat(busy.code()).isEqualTo(-16);
                assertThat(busy.getMessage()).contains("lvol lvs/c1 is in use").contains("claimed by module error");
                // Exactly as before: the clone exists, is claimed, and its snapshot still lists it.
                assertThat(t.rpc("bdev_get_bdevs", "{\"name\":\"lvs/c1\"}").get(0).get("claimed").asBoolean()).isTrue();
                assertThat(lvol(t, "lvs/snap").get("clones")).extracting(JsonNode::asText)
                        .containsExactlyInAnyOrder("vol", "c1");
                // The snapshot cannot go either (two clones), with the reason; nothing crashes.
                RpcClient.RpcError two = t.rpcError("bdev_lvol_delete", "{\"name\":\"lvs/snap\"}");
                assertThat(two.code()).isEqualTo(-1);
                assertThat(two.getMessage()).contains("2 clones").contains("lvs/c1").contains("lvs/vol");
                // Again: no forced removal after a failure.
                assertThat(t.rpcError("bdev_lvol_delete", "{\"name\":\"lvs/c1\"}").code()).isEqualTo(-16);
                assertThat(lvol(t, "lvs/c1")).isNotNull();
                // Once the user lets go, the delete works and the snapshot's clone list follows.
                ok(t.cli("bdev_error_delete", "EE_lvs/c1"));
                ok(t.cli("bdev_lvol_delete", "lvs/c1"));
                assertThat(lvol(t, "lvs/snap").get("clones")).extracting(JsonNode::asText).containsExactly("vol");
                ok(t.cli("bdev_lvol_delete", "lvs/snap"));
                JsonNode vol = lvol(t, "lvs/vol");
                assertThat(vol.get("is_clone").asBoolean()).isFalse();
                assertThat(vol.get("num_allocated_clusters").asLong()).isEqualTo(4);
                t.kill9();
            }
            // After a crash the store comes back exactly as acknowledged.
            try (TargetProcess t = TargetProcess.start("s3b", "-c", cfg.toString())) {
                JsonNode lvols = t.rpc("bdev_lvol_get_lvols", (String) null);
                assertThat(lvols).extracting(l -> l.get("alias").asText()).containsExactly("lvs/vol");
                assertThat(lvols.get(0).get("num_allocated_clusters").asLong()).isEqualTo(4);
            }
        } finally {
            Files.deleteIfExists(f);
            Files.deleteIfExists(cfg);
        }
    }

    private static TargetProcess.Cli run(String... cmd) throws Exception {
        return TargetProcess.Cli.run(java.util.List.of(cmd), null);
    }

    @Test
    void anExportedLvolIsNotFreedUnderItsClient() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "s3nbd");
        try (TargetProcess t = TargetProcess.start("s3nbd")) {
            ok(t.cli("bdev_malloc_create", "-b", "m0", "64", "4096"));
            ok(t.cli("bdev_lvol_create_lvstore", "m0", "lvs", "-c", "1048576"));
            ok(t.cli("bdev_lvol_create", "-l", "lvs", "-t", "vol", "8"));
            var exp = t.cli("nbd_start_disk", "lvs/vol", "unix:" + dir.resolve("vol.sock"));
            ok(exp);
            String uri = exp.stdout().trim();
            ok(run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", "-c", "write -P 0xcd 5M 1M", uri));
            assertThat(lvol(t, "lvs/vol").get("num_allocated_clusters").asLong()).isEqualTo(2);
            // Exported: the delete refuses, names the holder, and the data stays.
            RpcClient.RpcError busy = t.rpcError("bdev_lvol_delete", "{\"name\":\"lvs/vol\"}");
            assertThat(busy.code()).isEqualTo(-16);
            assertThat(busy.getMessage()).contains("lvol lvs/vol is in use: open by 1 bdev descriptor(s)");
            ok(run("qemu-io", "-f", "raw", "-c", "read -P 0xab 0 1M", "-c", "read -P 0 1M 4M", "-c", "read -P 0xcd 5M 1M",
                    uri));
            // A snapshot while exported: the export goes on writing to the origin, the snapshot keeps the past.
            ok(t.cli("bdev_lvol_snapshot", "lvs/vol", "snap"));
            ok(run("qemu-io", "-f", "raw", "-c", "write -P 0xef 0 64k", uri));
            var sexp = t.cli("nbd_start_disk", "lvs/snap", "unix:" + dir.resolve("snap.sock"));
            ok(sexp);
            ok(run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0xab 0 1M", sexp.stdout().trim()));
            ok(run("qemu-io", "-f", "raw", "-c", "read -P 0xef 0 64k", "-c", "read -P 0xab 64k 960k", uri));
            JsonNode vol = lvol(t, "lvs/vol");
            assertThat(vol.get("num_allocated_clusters").asLong()).isEqualTo(1);
            assertThat(lvol(t, "lvs/snap").get("num_allocated_clusters").asLong()).isEqualTo(2);
            // Once the clients are gone the deletes go through; the snapshot merges into nothing left.
            ok(t.cli("nbd_stop_disk", "unix:" + dir.resolve("snap.sock")));
            assertThat(t.rpcError("bdev_lvol_delete", "{\"name\":\"lvs/vol\"}").code()).isEqualTo(-16);
            ok(t.cli("nbd_stop_disk", "unix:" + dir.resolve("vol.sock")));
            ok(t.cli("bdev_lvol_delete", "lvs/vol"));
            ok(t.cli("bdev_lvol_delete", "lvs/snap"));
            assertThat(t.rpc("bdev_lvol_get_lvols", (String) null)).isEmpty();
            assertThat(t.rpc("bdev_lvol_get_lvstores", (String) null).get(0).get("free_clusters").asLong())
                    .isEqualTo(t.rpc("bdev_lvol_get_lvstores", (String) null).get(0).get("total_data_clusters").asLong());
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void anLvolBeingCopiedIsNotFreedUnderTheCopy() throws Exception {
        try (TargetProcess t = TargetProcess.start("s3c")) {
            LvolCalls.storeOnDelayBdev(t, 96);
            ok(t.cli("bdev_lvol_create", "-l", "lvs", "vol", "16"));
            ok(t.cli("bdev_lvol_snapshot", "lvs/vol", "snap"));
            // Reads and writes of the store's base take 40 ms each: an inflate of 16 clusters
            // (a 1 MiB read and write per cluster) runs for over a second.
            LvolCalls.slowDown(t, 40000, "avg_read", "p99_read", "avg_write", "p99_write");
            boolean raced = false;
            for (int attempt = 0; attempt < 3 && !raced; attempt++) {
                String c = "c" + attempt;
                ok(t.cli("bdev_lvol_clone", "lvs/snap", c));
                CompletableFuture<JsonNode> inflate = CompletableFuture.supplyAsync(() -> {
                    try {
                        return t.rpc("bdev_lvol_inflate", "{\"name\":\"lvs/" + c + "\"}");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                Thread.sleep(200);
                if (inflate.isDone()) {
                    continue;
                }
                RpcClient.RpcError busy = t.rpcError("bdev_lvol_delete", "{\"name\":\"lvs/" + c + "\"}");
                raced = !inflate.isDone();
                if (raced) {
                    assertThat(busy.code()).isEqualTo(-16);
                    assertThat(busy.getMessage()).contains("inflate in progress");
                }
                assertThat(inflate.get(60, TimeUnit.SECONDS).asBoolean()).isTrue();
                JsonNode inflated = lvol(t, "lvs/" + c);
                assertThat(inflated.get("is_clone").asBoolean()).isFalse();
                assertThat(inflated.get("num_allocated_clusters").asLong()).isEqualTo(16);
                ok(t.cli("bdev_lvol_delete", "lvs/" + c));
            }
            assertThat(raced).as("a delete arrived while an inflate ran").isTrue();
            assertThat(lvol(t, "lvs/snap").get("clones")).extracting(JsonNode::asText).containsExactly("vol");
            assertThat(t.rpc("spdk_get_version", (String) null).has("version")).isTrue();
        }
    }
}
