package io.basalt.config;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A configurable part of the target as SPDK's framework sees it ("bdev", "nbd", "nvmf"): it
 * writes its objects as replayable RPC calls for save_config, and shuts down in reverse order.
 */
public interface Subsystem {
    /** Name in framework_get_subsystems / save_config, e.g. "bdev". */
    String name();

    /** Names of subsystems that must be configured before this one. */
    default List<String> dependsOn() {
        return List.of();
    }

    /** The calls that recreate this subsystem's current state. Runs on the application reactor. */
    CompletableFuture<List<ConfigCall>> config();

    /** Stops this subsystem at shutdown (exports close, devices go). */
    default CompletableFuture<Void> fini() {
        return CompletableFuture.completedFuture(null);
    }
}
