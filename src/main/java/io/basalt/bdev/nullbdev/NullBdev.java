package io.basalt.bdev.nullbdev;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.Json;
import io.basalt.runtime.Zero;

import java.util.UUID;

/**
 * Accepts every I/O and keeps nothing. Reads return zeroes: unlike SPDK's null bdev, which leaves
 * the buffer as it was, so that one client can never read another's data out of a reused buffer.
 */
public final class NullBdev extends Bdev {
    private final int physicalBlockSize;

    NullBdev(NullModule module, String name, UUID uuid, int blockSize, long numBlocks, int physicalBlockSize) {
        super(module, name, uuid, blockSize, numBlocks);
        this.physicalBlockSize = physicalBlockSize;
    }

    @Override
    public String productName() {
        return "Null disk";
    }

    @Override
    public boolean supports(IoType type) {
        return type != IoType.COMPARE && type != IoType.COPY;
    }

    @Override
    public int physicalBlockSize() {
        return physicalBlockSize;
    }

    @Override
    protected void submit(IoChannel ch, BdevIo io) {
        if (io.type() == IoType.READ) {
            Zero.fill(io.buffer(), io.bufferOffset(), io.lengthBytes());
        }
        io.complete(IoStatus.SUCCESS);
    }

    @Override
    protected void destruct(Runnable done) {
        done.run();
    }

    void resizeTo(long numBlocks) {
        resize(numBlocks);
    }

    @Override
    public ConfigCall configCall() {
        ObjectNode p = Json.object();
        p.put("name", name());
        p.put("num_blocks", numBlocks());
        p.put("block_size", blockSize());
        p.put("physical_block_size", physicalBlockSize);
        p.put("uuid", uuid().toString());
        p.put("md_size", 0);
        p.put("dif_type", 0);
        p.put("dif_is_head_of_md", false);
        return new ConfigCall("bdev_null_create", p);
    }
}
