package io.basalt.bdev;

import io.basalt.config.ConfigCall;

import java.util.List;

/**
 * A bdev module's lifecycle, SPDK's spdk_bdev_module: registered with the {@link BdevLayer} at
 * start, in dependency order (base modules before the ones that stack on them).
 */
public interface BdevModule {
    /** Short module name, e.g. "malloc". */
    String name();

    /**
     * Looks at a newly registered bdev (e.g. for a RAID superblock) and may open and claim it.
     * Runs on the application reactor; call {@code done} exactly once when finished, on any thread.
     */
    default void examine(Bdev bdev, Runnable done) {
        done.run();
    }

    /** Module-wide settings for save_config, written before any bdev (e.g. bdev_raid_set_options). */
    default void writeModuleConfig(List<ConfigCall> out) {
    }

    /** Called at shutdown after every bdev is gone; call {@code done} when finished. */
    default void fini(Runnable done) {
        done.run();
    }
}
