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

import static io.basalt.e2e.LvolCalls.lvol;
import static io.basalt.e2e.LvolCalls.ok;
import static org.assertj.core.api.Assertions.assertThat;

/** The bdev_lvol_* methods through the real process, with rpc.py's syntax, over a file-backed store. */
class LvolIT {
    private Path img;

    @AfterEach
    void cleanUp() throws Exception {
        if (img != null) {
            Files.deleteIfExists(img);
        }
    }

    private Path file(long size) throws Exception {
        img = Files.createTempFile(Path.of("/tmp"), "lvolit", ".img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(size);
        }
        return img;
    }



    @Test
    void storeAndLvolsThroughTheCliComeBackAfterRestart() throws Exception {
        Path f = file(256L << 20);
        Path saved = Files.createTempFile("lvolit", ".json");
        String lvsUuid;
        String volUuid;
        try (TargetProcess t = TargetProcess.start("lvol1")) {
            ok(t.cli("bdev_aio_create", f.toString(), "aio0", "4096"));
            lvsUuid = ok(t.cli("bdev_lvol_create_lvstore", "aio0", "lvs0", "-c", "1048576"));
            JsonNode store = t.rpc("bdev_lvol_get_lvstores", "{\"lvs_name\":\"lvs0\"}").get(0);
            assertThat(store.get("uuid").asText()).isEqualTo(lvsUuid);
            assertThat(store.get("base_bdev").asText()).isEqualTo("aio0");
            assertThat(store.get("cluster_size").asLong()).isEqualTo(1 << 20);
            assertThat(store.get("block_size").asInt()).isEqualTo(4096);
            long total = store.get("total_data_clusters").asLong();
            assertThat(store.get("free_clusters").asLong()).isEqualTo(total);

            volUuid = ok(t.cli("bdev_lvol_create", "-l", "lvs0", "-t", "vol", "10"));
            JsonNode b = t.rpc("bdev_get_bdevs", "{\"name\":\"lvs0/vol\"}").get(0);
            assertThat(b.get("name").asText()).isEqualTo(volUuid);
            assertThat(b.get("uuid").asText()).isEqualTo(volUuid);
            assertThat(b.get("aliases").get(0).asText()).isEqualTo("lvs0/vol");
            assertThat(b.get("product_name").asText()).isEqualTo("Logical Volume");
            assertThat(b.get("num_blocks").asLong()).isEqualTo((10L << 20) / 4096);
            JsonNode ds = b.get("driver_specific").get("lvol");
            assertThat(ds.get("lvol_store_uuid").asText()).isEqualTo(lvsUuid);
            assertThat(ds.get("thin_provision").asBoolean()).isTrue();
            assertThat(ds.get("num_allocated_clusters").asLong()).isZero();
            assertThat(t.rpc("bdev_get_bdevs", "{\"name\":\"aio0\"}").get(0).get("claim_type").asText())
                    .isEqualTo("exclusive_write");

            String snapUuid = ok(t.cli("bdev_lvol_snapshot", "lvs0/vol", "snap", "--xattr", "snapshot_timestamp=2024-01-16",
                    "--xattr", "user_created=true"));
            ok(t.cli("bdev_lvol_clone", "lvs0/snap", "clone"));
            ok(t.cli("bdev_lvol_set_xattr", "lvs0/clone", "purpose", "test"));
            assertThat(ok(t.cli("bdev_lvol_get_xattr", "lvs0/clone", "purpose"))).isEqualTo("test");
            ok(t.cli("bdev_lvol_resize", "lvs0/vol", "20"));
            ok(t.cli("bdev_lvol_create", "-u", lvsUuid, "thick", "3"));
            ok(t.cli("bdev_lvol_rename", "lvs0/thick", "fat"));

            JsonNode snap = lvol(t, "lvs0/snap");
            assertThat(snap.get("uuid").asText()).isEqualTo(snapUuid);
            assertThat(snap.get("is_snapshot").asBoolean()).isTrue();
            assertThat(snap.get("xattrs").get("snapshot_timestamp").asText()).isEqualTo("2024-01-16");
            assertThat(snap.get("xattrs").get("user_created").asText()).isEqualTo("true");
            assertThat(snap.get("clones")).extracting(JsonNode::asText).containsExactlyInAnyOrder("vol", "clone");
            JsonNode clone = lvol(t, "lvs0/clone");
            assertThat(clone.get("is_clone").asBoolean()).isTrue();
            assertThat(clone.get("base_snapshot").asText()).isEqualTo("snap");
            assertThat(clone.get("lvs").get("name").asText()).isEqualTo("lvs0");
            JsonNode fat = lvol(t, "lvs0/fat");
            assertThat(fat.get("is_thin_provisioned").asBoolean()).isFalse();
            assertThat(fat.get("num_allocated_clusters").asLong()).isEqualTo(3);
            assertThat(t.rpc("bdev_lvol_get_lvstores", (String) null).get(0).get("free_clusters").asLong())
                    .isEqualTo(total - 3);

            // Errors: bad params, missing objects, names taken.
            RpcClient.RpcError e = t.rpcError("bdev_lvol_create", "{\"lvol_name\":\"x\",\"size_in_mib\":1}");
            assertThat(e.code()).isEqualTo(-32602);
            assertThat(t.rpcError("bdev_lvol_create", "{\"lvol_name\":\"vol\",\"size_in_mib\":1,\"lvs_name\":\"lvs0\"}")
                    .code()).isEqualTo(-17);
            assertThat(t.rpcError("bdev_lvol_delete", "{\"name\":\"lvs0/none\"}").code()).isEqualTo(-19);
            assertThat(t.rpcError("bdev_lvol_create_lvstore", "{\"bdev_name\":\"aio0\",\"lvs_name\":\"x\"}").code())
                    .isEqualTo(-1);
            assertThat(t.rpcError("bdev_lvol_create", "{\"lvol_name\":\"a/b\",\"size_in_mib\":1,\"lvs_name\":\"lvs0\"}")
                    .code()).isEqualTo(-32602);
            assertThat(t.rpcError("bdev_lvol_get_lvols", "{\"lvs_name\":\"lvs0\",\"bogus\":1}").code()).isEqualTo(-32602);

            // Without cluster_sz a store gets SPDK's default 4 MiB clusters; lvol sizes round up to them.
            ok(t.cli("bdev_malloc_create", "-b", "m4", "64", "4096"));
            ok(t.cli("bdev_lvol_create_lvstore", "m4", "lvs4"));
            JsonNode lvs4 = t.rpc("bdev_lvol_get_lvstores", "{\"lvs_name\":\"lvs4\"}").get(0);
            assertThat(lvs4.get("cluster_size").asLong()).isEqualTo(4L << 20);
            assertThat(lvs4.get("total_data_clusters").asLong()).isBetween(12L, 15L);
            ok(t.cli("bdev_lvol_create", "-l", "lvs4", "-t", "t4", "10"));
            assertThat(t.rpc("bdev_get_bdevs", "{\"name\":\"lvs4/t4\"}").get(0).get("num_blocks").asLong())
                    .isEqualTo((12L << 20) / 4096);
            ok(t.cli("bdev_lvol_delete_lvstore", "-l", "lvs4"));
            ok(t.cli("bdev_malloc_delete", "m4"));

            var save = t.cli("save_config");
            assertThat(save.exitCode()).isZero();
            assertThat(save.stdout()).contains("bdev_aio_create").doesNotContain("bdev_lvol");
            Files.writeString(saved, save.stdout());
        }
        // A restart finds the store by examine: every lvol, name, xattr and link is back.
        try (TargetProcess t = TargetProcess.start("lvol2", "-c", saved.toString())) {
            JsonNode lvols = t.rpc("bdev_lvol_get_lvols", "{\"lvs_uuid\":\"" + lvsUuid + "\"}");
            assertThat(lvols).extracting(l -> l.get("alias").asText())
                    .containsExactlyInAnyOrder("lvs0/vol", "lvs0/snap", "lvs0/clone", "lvs0/fat");
            assertThat(lvol(t, "lvs0/vol").get("uuid").asText()).isEqualTo(volUuid);
            assertThat(lvol(t, "lvs0/clone").get("xattrs").get("purpose").asText()).isEqualTo("test");
            assertThat(t.rpc("bdev_get_bdevs", "{\"name\":\"lvs0/vol\"}").get(0).get("num_blocks").asLong())
                    .isEqualTo((20L << 20) / 4096);
            ok(t.cli("bdev_lvol_delete", "lvs0/clone"));
            ok(t.cli("bdev_lvol_delete", "lvs0/snap"));
            assertThat(lvol(t, "lvs0/vol").get("is_clone").asBoolean()).isFalse();
            // The file grows: rescan the aio bdev, then the store takes in the new clusters.
            long total = t.rpc("bdev_lvol_get_lvstores", (String) null).get(0).get("total_data_clusters").asLong();
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(320L << 20);
            }
            ok(t.cli("bdev_aio_rescan", "aio0"));
            ok(t.cli("bdev_lvol_grow_lvstore", "-l", "lvs0"));
            assertThat(t.rpc("bdev_lvol_get_lvstores", (String) null).get(0).get("total_data_clusters").asLong())
                    .isEqualTo(total + 64);
            ok(t.cli("bdev_lvol_rename_lvstore", "lvs0", "lvs1"));
            assertThat(lvol(t, "lvs1/vol")).isNotNull();
            ok(t.cli("bdev_lvol_delete_lvstore", "-l", "lvs1"));
            assertThat(t.rpc("bdev_lvol_get_lvstores", (String) null)).isEmpty();
            assertThat(t.rpc("bdev_get_bdevs", (String) null)).hasSize(1);
        } finally {
            Files.deleteIfExists(saved);
        }
    }
}
