package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.blob.Crc64;
import io.basalt.rpc.RpcClient;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.concurrent.TimeUnit;

import static io.basalt.e2e.LvolCalls.lvol;
import static io.basalt.e2e.LvolCalls.ok;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * S5 (SCENARIOS.md): snapshot checksums versus cleanup. The three checksum RPCs exist; stop
 * answers (after at most one more chunk read) and is -3 when nothing runs; deleting a snapshot or
 * the whole store while its checksum runs cancels the computation and succeeds; a stored checksum
 * is dropped when the data it covers changes.
 */
class ScenarioS5IT {

    private static String checksumParams(String name) {
        return "{\"name\":\"" + name + "\"}";
    }

    /** Polls until the checksum is no longer being computed; returns the answer or the error. */
    private static Object waitForChecksum(TargetProcess t, String name) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            try {
                return t.rpc("bdev_lvol_get_snapshot_checksum", checksumParams(name));
            } catch (RpcClient.RpcError e) {
                if (e.code() != -16) {
                    return e;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the checksum of " + name + " never finished");
    }

    @Test
    void checksumsStopPromptlyAndNeverBlockCleanup() throws Exception {
        try (TargetProcess t = TargetProcess.start("s5")) {
            LvolCalls.storeOnDelayBdev(t, 128);
            ok(t.cli("bdev_lvol_create", "-l", "lvs", "vol", "32"));
            ok(t.cli("bdev_lvol_snapshot", "lvs/vol", "snap", "--xattr", "user_created=true"));
            // Reads of the base now take 100 ms: a checksum of 32 MiB (1 MiB reads) runs over 3 s.
            LvolCalls.slowDown(t, 100000, "avg_read", "p99_read");

            assertThat(t.rpcError("bdev_lvol_stop_snapshot_checksum", checksumParams("lvs/snap")).code()).isEqualTo(-3);
            assertThat(t.rpcError("bdev_lvol_get_snapshot_checksum", checksumParams("lvs/snap")).code()).isEqualTo(-2);
            assertThat(t.rpcError("bdev_lvol_register_snapshot_checksum", checksumParams("lvs/vol")).code()).isEqualTo(-22);

            // rpc.py's syntax for the three (each CLI call starts a JVM, so the timed steps use the client).
            ok(t.cli("bdev_lvol_register_snapshot_checksum", "lvs/snap"));
            ok(t.cli("bdev_lvol_stop_snapshot_checksum", "lvs/snap"));
            assertThat(t.cli("bdev_lvol_get_snapshot_checksum", "lvs/snap").exitCode()).isNotZero();
            t.rpc("bdev_lvol_register_snapshot_checksum", checksumParams("lvs/snap"));
            assertThat(t.rpcError("bdev_lvol_get_snapshot_checksum", checksumParams("lvs/snap")).code()).isEqualTo(-16);
            assertThat(t.rpcError("bdev_lvol_register_snapshot_checksum", checksumParams("lvs/snap")).code())
                    .isEqualTo(-16);
            assertThat(t.rpc("bdev_lvol_stop_snapshot_checksum", checksumParams("lvs/snap")).asBoolean()).isTrue();
            RpcClient.RpcError stopped = t.rpcError("bdev_lvol_get_snapshot_checksum", checksumParams("lvs/snap"));
            assertThat(stopped.code()).isEqualTo(-2);
            assertThat(stopped.getMessage()).contains("stopped");
            assertThat(t.rpcError("bdev_lvol_stop_snapshot_checksum", checksumParams("lvs/snap")).code()).isEqualTo(-3);

            // A full run: CRC-64/NVME of the snapshot's 32 allocated (zeroed) clusters.
            t.rpc("bdev_lvol_register_snapshot_checksum", checksumParams("lvs/snap"));
            Object got = waitForChecksum(t, "lvs/snap");
            assertThat(got).isInstanceOf(JsonNode.class);
            Crc64 crc = new Crc64();
            byte[] mib = new byte[1 << 20];
            for (int i = 0; i < 32; i++) {
                crc.update(mib);
            }
            BigInteger want = new BigInteger(Long.toUnsignedString(crc.value()));
            assertThat(((JsonNode) got).get("checksum").bigIntegerValue()).isEqualTo(want);
            JsonNode listed = t.rpc("bdev_lvol_get_lvols", "{\"lvs_name\":\"lvs\"}");
            for (JsonNode l : listed) {
                if (l.get("alias").asText().equals("lvs/snap")) {
                    assertThat(l.get("xattrs").get("snapshot_checksum").asText()).isEqualTo(want.toString());
                    assertThat(l.get("xattrs").get("user_created").asText()).isEqualTo("true");
                }
            }

            // Deleting a snapshot whose checksum runs cancels it and succeeds (it merges into vol).
            t.rpc("bdev_lvol_register_snapshot_checksum", checksumParams("lvs/snap"));
            assertThat(t.rpcError("bdev_lvol_get_snapshot_checksum", checksumParams("lvs/snap")).code()).isEqualTo(-16);
            assertThat(t.rpc("bdev_lvol_delete", checksumParams("lvs/snap")).asBoolean()).isTrue();
            assertThat(t.rpcError("bdev_lvol_get_snapshot_checksum", checksumParams("lvs/snap")).code()).isEqualTo(-19);

            // A stored checksum goes when a parent is merged into its snapshot.
            ok(t.cli("bdev_lvol_snapshot", "lvs/vol", "s1"));
            ok(t.cli("bdev_lvol_snapshot", "lvs/vol", "s2"));
            t.rpc("bdev_lvol_register_snapshot_checksum", checksumParams("lvs/s2"));
            assertThat(waitForChecksum(t, "lvs/s2")).isInstanceOf(JsonNode.class);
            ok(t.cli("bdev_lvol_delete", "lvs/s1"));
            RpcClient.RpcError dropped = t.rpcError("bdev_lvol_get_snapshot_checksum", checksumParams("lvs/s2"));
            assertThat(dropped.code()).isEqualTo(-2);

            // Deleting the whole store while a checksum runs cancels it and succeeds.
            t.rpc("bdev_lvol_register_snapshot_checksum", checksumParams("lvs/s2"));
            assertThat(t.rpcError("bdev_lvol_get_snapshot_checksum", checksumParams("lvs/s2")).code()).isEqualTo(-16);
            assertThat(t.rpc("bdev_lvol_delete_lvstore", "{\"lvs_name\":\"lvs\"}").asBoolean()).isTrue();
            assertThat(t.rpc("bdev_lvol_get_lvstores", (String) null)).isEmpty();
            assertThat(t.rpc("bdev_get_bdevs", "{\"name\":\"slow\"}").get(0).get("claimed").asBoolean()).isFalse();
        }
    }
}
