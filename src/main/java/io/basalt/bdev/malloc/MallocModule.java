package io.basalt.bdev.malloc;

import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** RAM-backed bdevs (SPDK's bdev_malloc). */
public final class MallocModule implements BdevModule {
    private final BdevLayer layer;

    public MallocModule(BdevLayer layer) {
        this.layer = layer;
    }

    @Override
    public String name() {
        return "malloc";
    }

    public BdevLayer layer() {
        return layer;
    }

    /** Creates and registers a malloc bdev; returns it once registered. Application reactor. */
    public MallocBdev create(String name, UUID uuid, int blockSize, long numBlocks, int physicalBlockSize,
                             int optimalIoBoundary) {
        if (layer.nameTaken(name)) {
            throw new BasaltException(Errno.EEXIST, "bdev " + name + " already exists");
        }
        MallocBdev b = new MallocBdev(this, name, uuid, blockSize, numBlocks, physicalBlockSize, optimalIoBoundary);
        try {
            layer.register(b);
        } catch (RuntimeException e) {
            b.freeMemory();
            throw e;
        }
        return b;
    }

    /** Unregisters a malloc bdev; -ENODEV if there is none of that name. */
    public CompletableFuture<Void> delete(String name) {
        var b = layer.lookup(name);
        if (!(b instanceof MallocBdev)) {
            throw new BasaltException(Errno.ENODEV, "malloc bdev " + name + " not found");
        }
        return layer.unregister(b);
    }
}
