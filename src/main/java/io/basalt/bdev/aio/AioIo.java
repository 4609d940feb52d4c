package io.basalt.bdev.aio;

import io.basalt.bdev.BdevIo;

/**
 * An aio bdev's I/O with its per-I/O context (SPDK's bdev_aio_task): its fixed tag in the
 * channel's table and how far a read or write has got. Pooled with the channel, like every BdevIo.
 */
final class AioIo extends BdevIo {
    /** Index in {@link AioChannel}'s table, given on first use and kept for the object's life. */
    int tag = -1;
    /** Bytes of a read or write transferred so far (short transfers continue from here). */
    long done;
    /** An engine operation of this I/O is in flight. */
    boolean opInFlight;
    /** Submitted to the channel and not yet completed (RESETs excepted). */
    boolean inProgress;
    /** The channel's current RESET waits for this I/O. */
    boolean resetWaits;
}
