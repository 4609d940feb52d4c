package io.basalt.nvme.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.nio.ByteBuffer;

/**
 * A received PDU's header as {@link PduDecoder} hands it to its handler: the common header
 * fields, a copy of the whole PDU header (HLEN bytes, at index 0 of {@link #bytes()}), and, for a
 * PDU with data, where the handler wants the data ({@link #target}). Reused for every PDU of a
 * connection; valid until the next PDU starts.
 */
public final class PduHeader {
    private final ByteBuf bytes = Unpooled.buffer(Pdu.IC_HLEN, Pdu.IC_HLEN);
    int type;
    int flags;
    int hlen;
    int pdo;
    int plen;
    int dataLength;
    ByteBuffer target;
    int targetStart;

    public int type() {
        return type;
    }

    public int flags() {
        return flags;
    }

    public int hlen() {
        return hlen;
    }

    public int pdo() {
        return pdo;
    }

    public int plen() {
        return plen;
    }

    /** Data bytes the PDU carries (without padding and digest). */
    public int dataLength() {
        return dataLength;
    }

    /** The header bytes (HLEN), at index 0. */
    public ByteBuf bytes() {
        return bytes;
    }

    public int u8(int off) {
        return bytes.getUnsignedByte(off);
    }

    public int u16(int off) {
        return bytes.getUnsignedShortLE(off);
    }

    public int u32(int off) {
        return bytes.getIntLE(off);
    }

    public boolean flag(int f) {
        return (flags & f) != 0;
    }

    /** The header bytes as an array (for a TermReq that quotes them). */
    public byte[] copy() {
        byte[] b = new byte[hlen];
        bytes.getBytes(0, b);
        return b;
    }

    /**
     * Where the data of this PDU goes: {@code buf} from {@code offset} on, {@link #dataLength()}
     * bytes. The handler must set this in {@link PduDecoder.Handler#onHeader} for a PDU with data.
     * The buffer's position and limit are changed while data arrives.
     */
    public void target(ByteBuffer buf, int offset) {
        this.target = buf;
        this.targetStart = offset;
    }

    void load(ByteBuf in, int at, int hlen) {
        bytes.clear();
        in.getBytes(at, bytes, hlen);
        target = null;
        targetStart = 0;
    }

    @Override
    public String toString() {
        return Pdu.typeName(type) + "{flags=0x" + Integer.toHexString(flags) + " hlen=" + hlen + " pdo=" + pdo
                + " plen=" + plen + "}";
    }
}
