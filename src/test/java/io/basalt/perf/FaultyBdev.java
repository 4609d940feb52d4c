package io.basalt.perf;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.BdevModule;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.Errno;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A memory bdev for perf's tests that misbehaves on purpose: it can flip a bit in the data a read
 * returns from one block (silent corruption, which only verify can see), or fail every write.
 */
final class FaultyBdev extends Bdev {
    static final BdevModule MODULE = () -> "faulty";

    private final Arena arena = Arena.ofShared();
    private final MemorySegment mem;
    /** Reads covering this block return it with one bit flipped; -1 for none. */
    volatile long corruptBlock = -1;
    volatile boolean failWrites;

    FaultyBdev(String name, int blockSize, long numBlocks) {
        super(MODULE, name, null, blockSize, numBlocks);
        mem = arena.allocate(blockSize * numBlocks, 4096);
    }

    @Override
    public String productName() {
        return "Faulty test disk";
    }

    @Override
    public boolean supports(IoType type) {
        return type == IoType.READ || type == IoType.WRITE;
    }

    @Override
    protected void submit(IoChannel ch, BdevIo io) {
        long off = io.offsetBytes();
        long len = io.lengthBytes();
        if (io.type() == IoType.WRITE) {
            if (failWrites) {
                io.fail(Errno.EIO);
                return;
            }
            MemorySegment.copy(io.buffer(), io.bufferOffset(), mem, off, len);
        } else {
            MemorySegment.copy(mem, off, io.buffer(), io.bufferOffset(), len);
            long bad = corruptBlock;
            if (bad >= io.offsetBlocks() && bad < io.offsetBlocks() + io.numBlocks()) {
                long at = io.bufferOffset() + (bad - io.offsetBlocks()) * blockSize() + 17;
                byte b = io.buffer().get(ValueLayout.JAVA_BYTE, at);
                io.buffer().set(ValueLayout.JAVA_BYTE, at, (byte) (b ^ 0x10));
            }
        }
        io.complete(IoStatus.SUCCESS);
    }

    @Override
    protected void destruct(Runnable done) {
        arena.close();
        done.run();
    }
}
