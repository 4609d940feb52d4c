package io.basalt.nbd.codec;

import io.basalt.runtime.ByteBufs;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.DmaBuffer;
import io.netty.buffer.ByteBuf;

/**
 * One transmission request: the header fields and, for WRITE (payload) and READ (data to send),
 * the data in pooled {@link DmaBuffer}s. Requests longer than one pool buffer are held in up to
 * {@link #MAX_BUFFERS} buffers of {@link #BUFFER_BYTES} each, in order.
 *
 * <p>Objects are pooled and reused by their owner (the connection); the decoder fills them.
 * Ownership of the buffers: whoever called {@link #allocateBuffers} gives them back with
 * {@link #releaseBuffers}. Threading: the connection's event loop only.
 */
public class NbdRequest {
    /** Bytes per buffer: the largest buffer the pool hands out. */
    public static final int BUFFER_BYTES = BufferPool.maxBufferSize();
    public static final int MAX_BUFFERS = 8;
    /** Largest READ or WRITE Basalt serves in one request (advertised as the maximum block size). */
    public static final long MAX_DATA = (long) BUFFER_BYTES * MAX_BUFFERS;

    private int flags;
    private int type;
    private long handle;
    private long offset;
    private long length;

    private final DmaBuffer[] buffers = new DmaBuffer[MAX_BUFFERS];
    private int bufferCount;
    private long received;

    /** Sets the header fields (offset is unsigned: a negative value means past 2^63). */
    public final void set(int flags, int type, long handle, long offset, long length) {
        this.flags = flags;
        this.type = type;
        this.handle = handle;
        this.offset = offset;
        this.length = length;
        this.received = 0;
    }

    public final int flags() {
        return flags;
    }

    public final int type() {
        return type;
    }

    public final long handle() {
        return handle;
    }

    /** Byte offset as sent (unsigned 64 bits). */
    public final long offset() {
        return offset;
    }

    /** Length as sent (unsigned 32 bits). */
    public final long length() {
        return length;
    }

    public final int bufferCount() {
        return bufferCount;
    }

    public final DmaBuffer buffer(int i) {
        return buffers[i];
    }

    /** Bytes of the request that buffer {@code i} holds. */
    public final int bufferBytes(int i) {
        return (int) Math.min(BUFFER_BYTES, length - (long) i * BUFFER_BYTES);
    }

    /**
     * Takes buffers for {@link #length()} bytes (at most {@link #MAX_DATA}) from {@code pool}.
     * Returns false, holding nothing, when the pool is at its limit.
     */
    public final boolean allocateBuffers(BufferPool pool) {
        if (length > MAX_DATA) {
            throw new IllegalStateException("request of " + length + " bytes exceeds " + MAX_DATA);
        }
        int n = (int) ((length + BUFFER_BYTES - 1) / BUFFER_BYTES);
        for (int i = 0; i < n; i++) {
            DmaBuffer b = pool.get(bufferBytes(i));
            if (b == null) {
                releaseBuffers(pool);
                return false;
            }
            buffers[i] = b;
            bufferCount = i + 1;
        }
        return true;
    }

    /** Gives every buffer back to {@code pool}. */
    public final void releaseBuffers(BufferPool pool) {
        for (int i = 0; i < bufferCount; i++) {
            pool.put(buffers[i]);
            buffers[i] = null;
        }
        bufferCount = 0;
    }

    /** Bytes of payload still expected from the wire. */
    final long payloadMissing() {
        return length - received;
    }

    /** Copies up to the missing payload from {@code in} into the buffers; returns bytes taken. */
    final int receive(ByteBuf in) {
        int taken = 0;
        while (in.isReadable() && received < length) {
            int i = (int) (received / BUFFER_BYTES);
            int pos = (int) (received % BUFFER_BYTES);
            int n = (int) Math.min(in.readableBytes(), bufferBytes(i) - pos);
            var dst = buffers[i].nio();
            dst.position(pos).limit(pos + n);
            in.readBytes(dst);
            received += n;
            taken += n;
        }
        return taken;
    }

    /** Appends the first {@code bytes} bytes held in the buffers to {@code out}. */
    public final void writeData(ByteBuf out, long bytes) {
        long left = bytes;
        for (int i = 0; i < bufferCount && left > 0; i++) {
            int n = (int) Math.min(left, bufferBytes(i));
            var src = buffers[i].nio();
            src.limit(n);
            ByteBufs.write(out, src);
            left -= n;
        }
    }

    @Override
    public String toString() {
        return NbdProtocol.commandName(type) + "{handle=" + Long.toHexString(handle) + ", offset="
                + Long.toUnsignedString(offset) + ", length=" + length + ", flags=" + flags + "}";
    }
}
