package io.basalt.runtime;

import io.netty.buffer.ByteBuf;
import io.netty.util.internal.PlatformDependent;

import java.nio.ByteBuffer;

/**
 * Copies between NIO buffers and Netty buffers without Netty's per-call allocation.
 *
 * <p>Why by hand: {@code ByteBuf.writeBytes(ByteBuffer)} on a buffer of Netty's adaptive pool goes
 * through {@code internalNioBuffer}, which slices a new DirectByteBuffer on every call: one
 * object per PDU on the NVMe/TCP and NBD data paths. When both sides have a native address (a
 * pooled {@link DmaBuffer} view and a direct ByteBuf, the normal case) this copies memory to
 * memory and allocates nothing; otherwise it falls back to Netty's copy.
 */
public final class ByteBufs {
    private static final boolean UNSAFE = PlatformDependent.hasUnsafe();

    private ByteBufs() {
    }

    /** Appends {@code src}'s remaining bytes to {@code out}, advancing src's position as writeBytes does. */
    public static void write(ByteBuf out, ByteBuffer src) {
        int n = src.remaining();
        if (n > 0 && UNSAFE && src.isDirect()) {
            out.ensureWritable(n);
            if (out.hasMemoryAddress()) {
                int w = out.writerIndex();
                PlatformDependent.copyMemory(PlatformDependent.directBufferAddress(src) + src.position(),
                        out.memoryAddress() + w, n);
                out.writerIndex(w + n);
                src.position(src.position() + n);
                return;
            }
        }
        out.writeBytes(src);
    }
}
