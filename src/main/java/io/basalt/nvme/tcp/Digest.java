package io.basalt.nvme.tcp;

import io.netty.buffer.ByteBuf;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * NVMe/TCP header and data digests (NVMe/TCP 1.0 section 3.6.2.1): CRC32C (Castagnoli), the
 * standard form with initial value and final XOR of FFFFFFFFh, which is what
 * {@link java.util.zip.CRC32C} computes; sent little-endian. One instance per connection
 * (not thread-safe), reused for every PDU.
 */
public final class Digest {
    private final CRC32C crc = new CRC32C();

    /** CRC32C of {@code len} bytes of {@code b} at {@code index}, without changing its indices. */
    public int of(ByteBuf b, int index, int len) {
        crc.reset();
        if (b.nioBufferCount() == 1) {
            crc.update(b.internalNioBuffer(index, len));
        } else {
            for (ByteBuffer part : b.nioBuffers(index, len)) {
                crc.update(part);
            }
        }
        return (int) crc.getValue();
    }

    /** CRC32C of the remaining bytes of {@code b} (its position moves to the limit). */
    public int of(ByteBuffer b) {
        crc.reset();
        crc.update(b);
        return (int) crc.getValue();
    }

    public int of(byte[] b, int off, int len) {
        crc.reset();
        crc.update(b, off, len);
        return (int) crc.getValue();
    }
}
