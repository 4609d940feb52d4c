package io.basalt.blob;

import java.lang.foreign.MemorySegment;

/**
 * One reactor's access to a {@link BlobDevice}. Every call takes the request (a device that is
 * out of I/O objects queues it and retries; the caller never sees a "try later") and completes
 * it exactly once through {@code cb.ioDone(errno, arg)} on the channel's reactor, after the call
 * returned. errno is 0 on success, else a positive errno.
 *
 * <p>Durability: a completed write is durable only after a later {@link #flush} completes.
 */
public interface DeviceChannel {
    void read(MemorySegment buf, long bufOffset, long devOffset, long length, DeviceCallback cb, Object arg);

    void write(MemorySegment buf, long bufOffset, long devOffset, long length, DeviceCallback cb, Object arg);

    /** Makes the range read as zeroes (with the device's own command, or by writing zeroes). */
    void writeZeroes(long devOffset, long length, DeviceCallback cb, Object arg);

    /** A hint that the range is unused; completes successfully doing nothing where unsupported. */
    void unmap(long devOffset, long length, DeviceCallback cb, Object arg);

    /** Makes every write completed before this call durable. */
    void flush(DeviceCallback cb, Object arg);

    /** Releases the channel; no request may be in flight. On the channel's reactor. */
    void close();
}
