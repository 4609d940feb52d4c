package io.basalt.bdev.delay;

import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.bdev.StackedBdev;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** Latency injection bdevs (SPDK's bdev_delay), stacked on a base bdev. */
public final class DelayModule implements BdevModule {
    private final BdevLayer layer;

    public DelayModule(BdevLayer layer) {
        this.layer = layer;
    }

    @Override
    public String name() {
        return "delay";
    }

    /**
     * Creates a delay bdev on the base and claims the base; latencies in µs, already checked by
     * the caller. -17 if the name is taken, -19 if the base is absent, -1 if the base is claimed
     * or open for writing by someone else. Application reactor only.
     */
    public DelayBdev create(String name, String baseName, UUID uuid, long avgReadUs, long p99ReadUs,
                            long avgWriteUs, long p99WriteUs) {
        return StackedBdev.create(layer, this, name, baseName,
                d -> new DelayBdev(this, name, uuid, d, avgReadUs, p99ReadUs, avgWriteUs, p99WriteUs));
    }

    /** Unregisters a delay bdev; -19 if there is none of that name. */
    public CompletableFuture<Void> delete(String name) {
        return layer.unregister(require(name));
    }

    /** The delay bdev of that name; -19 if absent or of another module. */
    public DelayBdev require(String name) {
        if (!(layer.lookup(name) instanceof DelayBdev d)) {
            throw new BasaltException(Errno.ENODEV, "delay bdev " + name + " not found");
        }
        return d;
    }
}
