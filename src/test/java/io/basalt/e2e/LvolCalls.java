package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.testing.TargetProcess;

import static org.assertj.core.api.Assertions.assertThat;

/** What the lvol end-to-end tests ask of a target. */
final class LvolCalls {
    private LvolCalls() {
    }

    /** The command succeeded; its output without quotes (a uuid or a name). */
    static String ok(TargetProcess.Cli c) {
        assertThat(c.exitCode()).as("stdout:\n" + c.stdout() + "\nstderr:\n" + c.stderr()).isZero();
        return c.stdout().trim().replace("\"", "");
    }

    /**
     * An lvol store "lvs" (1 MiB clusters) on a delay bdev "slow" over a malloc bdev "m0" of
     * {@code mib}: the test raises the latencies when it needs an operation to take a while.
     */
    static void storeOnDelayBdev(TargetProcess t, int mib) throws Exception {
        ok(t.cli("bdev_malloc_create", "-b", "m0", String.valueOf(mib), "4096"));
        ok(t.cli("bdev_delay_create", "-b", "m0", "-d", "slow", "-r", "0", "-t", "0", "-w", "0", "-n", "0"));
        ok(t.cli("bdev_lvol_create_lvstore", "slow", "lvs", "-c", "1048576"));
    }

    /** Sets every latency of delay bdev "slow" to {@code us} (average and p99, reads and writes as asked). */
    static void slowDown(TargetProcess t, long us, String... types) throws Exception {
        for (String lat : types) {
            t.rpc("bdev_delay_update_latency", "{\"delay_bdev_name\":\"slow\",\"latency_type\":\"" + lat
                    + "\",\"latency_us\":" + us + "}");
        }
    }

    /** The bdev_lvol_get_lvols entry with this alias, or null. */
    static JsonNode lvol(TargetProcess t, String alias) throws Exception {
        for (JsonNode l : t.rpc("bdev_lvol_get_lvols", (String) null)) {
            if (l.get("alias").asText().equals(alias)) {
                return l;
            }
        }
        return null;
    }
}
