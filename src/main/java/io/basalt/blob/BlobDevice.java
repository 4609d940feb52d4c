package io.basalt.blob;

/**
 * The storage a blobstore lives on, and all it knows of it (SPDK's spdk_bs_dev): a byte-addressed
 * device with a block size, read/write/zero/unmap/flush, and per-reactor channels. The blobstore
 * never sees bdevs; the lvol module bridges it to one, and tests use an in-memory device that can
 * lose power.
 *
 * <p>Offsets and lengths given to a channel are multiples of {@link #blockSize()}. Buffers are
 * caller-owned and must stay valid until the completion runs.
 */
public interface BlobDevice {
    /** Smallest I/O unit in bytes (a power of two, 512 to 4096 for a blobstore). */
    int blockSize();

    /** Current size in bytes (a multiple of the block size); it may grow while the store is open. */
    long sizeBytes();

    /**
     * A channel for I/O from the calling reactor; only that reactor uses it, and closes it there.
     * Completions run on that reactor, never inside the submitting call.
     */
    DeviceChannel openChannel();
}
