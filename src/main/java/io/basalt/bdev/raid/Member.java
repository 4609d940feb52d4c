package io.basalt.bdev.raid;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.IoChannel;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One bdev attached to one slot of an array: the write descriptor that claims it
 * ({@code exclusive_write}), its I/O channel on the application reactor (superblock writes and
 * the rebuild use it), and where the array's data lives on it.
 *
 * <p>Ownership: created and closed by its {@link RaidArray} on the application reactor. The data
 * path on every reactor reads the final fields and {@link #failed}; channels of other reactors
 * hold their own I/O channel of {@link #desc}.
 */
final class Member {
    final int slot;
    final Bdev bdev;
    final BdevDesc desc;
    final IoChannel appCh;
    /** First block of array data on the member. */
    final long dataOffset;
    /** Blocks of array data on the member (set when the array's size is computed). */
    volatile long dataSize;
    private final AtomicBoolean failed = new AtomicBoolean();
    /** Application reactor only: a detach of this member is under way. */
    boolean detaching;
    /** Application reactor only: completes when the detach is done. */
    CompletableFuture<Void> detachDone;
    /** Application reactor only: descriptor and channel given back. */
    boolean closed;

    Member(int slot, Bdev bdev, BdevDesc desc, IoChannel appCh, long dataOffset, long dataSize) {
        this.slot = slot;
        this.bdev = bdev;
        this.desc = desc;
        this.appCh = appCh;
        this.dataOffset = dataOffset;
        this.dataSize = dataSize;
    }

    /** Whether an I/O failure or removal has put this member out of service. Any thread. */
    boolean failed() {
        return failed.get();
    }

    /** Marks the member failed; true only for the caller that changed it. Any thread. */
    boolean markFailed() {
        return failed.compareAndSet(false, true);
    }

    String name() {
        return bdev.name();
    }

    @Override
    public String toString() {
        return "member " + bdev.name() + " (slot " + slot + ")";
    }
}
