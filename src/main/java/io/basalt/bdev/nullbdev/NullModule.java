package io.basalt.bdev.nullbdev;

import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** Bdevs that store nothing (SPDK's bdev_null): for measuring everything but the medium. */
public final class NullModule implements BdevModule {
    private final BdevLayer layer;

    public NullModule(BdevLayer layer) {
        this.layer = layer;
    }

    @Override
    public String name() {
        return "null";
    }

    public BdevLayer layer() {
        return layer;
    }

    public NullBdev create(String name, UUID uuid, int blockSize, long numBlocks, int physicalBlockSize) {
        if (layer.nameTaken(name)) {
            throw new BasaltException(Errno.EEXIST, "bdev " + name + " already exists");
        }
        NullBdev b = new NullBdev(this, name, uuid, blockSize, numBlocks, physicalBlockSize);
        layer.register(b);
        return b;
    }

    public CompletableFuture<Void> delete(String name) {
        return layer.unregister(require(name));
    }

    /** Changes the size; shrinking needs the bdev closed. */
    public void resize(String name, long newNumBlocks) {
        require(name).resizeTo(newNumBlocks);
    }

    private NullBdev require(String name) {
        var b = layer.lookup(name);
        if (!(b instanceof NullBdev n)) {
            throw new BasaltException(Errno.ENODEV, "null bdev " + name + " not found");
        }
        return n;
    }
}
