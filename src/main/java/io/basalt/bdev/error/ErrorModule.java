package io.basalt.bdev.error;

import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.bdev.StackedBdev;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** Fault injection bdevs (SPDK's bdev_error): {@code EE_<base>} stacked on a base bdev. */
public final class ErrorModule implements BdevModule {
    /** The prefix SPDK gives an error bdev's name. */
    public static final String PREFIX = "EE_";

    private final BdevLayer layer;

    public ErrorModule(BdevLayer layer) {
        this.layer = layer;
    }

    @Override
    public String name() {
        return "error";
    }

    /**
     * Creates {@code EE_<baseName>} on the base and claims the base. -17 if that name is taken,
     * -19 if the base is absent, -1 if the base is claimed or open for writing by someone else.
     * Application reactor only.
     */
    public ErrorBdev create(String baseName, UUID uuid) {
        String name = PREFIX + baseName;
        return StackedBdev.create(layer, this, name, baseName, d -> new ErrorBdev(this, name, uuid, d, baseName));
    }

    /** Unregisters an error bdev; -19 if there is none of that name. */
    public CompletableFuture<Void> delete(String name) {
        return layer.unregister(require(name));
    }

    /** The error bdev of that name; -19 if absent or of another module. */
    public ErrorBdev require(String name) {
        if (!(layer.lookup(name) instanceof ErrorBdev e)) {
            throw new BasaltException(Errno.ENODEV, "error bdev " + name + " not found");
        }
        return e;
    }
}
