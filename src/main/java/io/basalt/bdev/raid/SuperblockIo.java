package io.basalt.bdev.raid;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoWaiter;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntSupplier;

/**
 * Reads and writes of the superblock area at block 0 of a member, on the application reactor
 * through a channel of that reactor (control plane: these allocate a little per call).
 */
final class SuperblockIo {
    private SuperblockIo() {
    }

    /**
     * Reads the first {@link Superblock#MAX_LENGTH} bytes (rounded up to whole blocks, at most the
     * whole bdev) and parses them. Fails with -EIO when the read fails.
     */
    static CompletableFuture<Superblock.Parsed> read(BdevDesc d, IoChannel ch, BufferPool pool) {
        Bdev b = d.bdev();
        int bs = b.blockSize();
        long blocks = Math.min(Superblock.ioSize(Superblock.MAX_LENGTH, bs) / bs, b.numBlocks());
        int bytes = (int) (blocks * bs);
        CompletableFuture<Superblock.Parsed> f = new CompletableFuture<>();
        DmaBuffer buf = pool.get(bytes);
        if (buf == null) {
            return CompletableFuture.failedFuture(new BasaltException(Errno.ENOMEM, "no buffer to read the superblock of "
                    + b.name()));
        }
        IoCallback cb = (io, ok, arg) -> {
            try {
                if (!ok) {
                    f.completeExceptionally(new BasaltException(Errno.EIO, "reading the superblock of " + b.name()
                            + " failed (" + io.status() + ")"));
                    return;
                }
                byte[] data = buf.segment().asSlice(0, bytes).toArray(ValueLayout.JAVA_BYTE);
                f.complete(Superblock.decode(data, bytes));
            } finally {
                pool.put(buf);
            }
        };
        submit(ch, () -> d.read(ch, buf.segment(), 0, 0, blocks, cb, null));
        return f;
    }

    /** Writes {@code data} (whole blocks) at block 0. Fails with -EIO when the write fails. */
    static CompletableFuture<Void> write(BdevDesc d, IoChannel ch, BufferPool pool, byte[] data) {
        Bdev b = d.bdev();
        CompletableFuture<Void> f = new CompletableFuture<>();
        DmaBuffer buf = pool.get(data.length);
        if (buf == null) {
            return CompletableFuture.failedFuture(new BasaltException(Errno.ENOMEM, "no buffer to write the superblock of "
                    + b.name()));
        }
        MemorySegment.copy(MemorySegment.ofArray(data), 0, buf.segment(), 0, data.length);
        IoCallback cb = (io, ok, arg) -> {
            pool.put(buf);
            if (ok) {
                f.complete(null);
            } else {
                f.completeExceptionally(new BasaltException(Errno.EIO, "writing the superblock of " + b.name()
                        + " failed (" + io.status() + ")"));
            }
        };
        submit(ch, () -> d.write(ch, buf.segment(), 0, 0, data.length / b.blockSize(), true, cb, null));
        return f;
    }

    /**
     * Submits a control-plane I/O, and when the channel has no free I/O, waits for one and
     * submits again (the waiter is allocated: control plane only).
     */
    static void submit(IoChannel ch, IntSupplier submit) {
        if (submit.getAsInt() == -Errno.ENOMEM) {
            ch.waitForIo(new IoWaiter() {
                @Override
                public void ioAvailable() {
                    submit(ch, submit);
                }
            });
        }
    }
}
