package io.basalt.nvme;

import io.netty.buffer.ByteBuf;

/**
 * A 16-byte completion queue entry (NVMe Base Specification 1.4, section 4.6, Figure 121):
 *
 * <pre>
 *  0 DW0 (command specific, u32)   4 DW1 (u32)
 *  8 SQHD (u16)  10 SQID (u16)  12 CID (u16)  14 phase tag (bit 0) and Status Field (bits 15:1)
 * </pre>
 *
 * Fabrics responses put their results in DW0..DW1 (Connect: CNTLID at 0; Property Get: the value).
 * {@link #status} holds the 15-bit status field as {@link Status} describes it; the phase tag is
 * unused over fabrics and written as 0. Mutable and reused.
 */
public final class Cqe {
    public static final int SIZE = 16;

    public int dw0;
    public int dw1;
    public int sqhd;
    public int sqid;
    public int cid;
    public int status;

    public Cqe clear() {
        dw0 = dw1 = sqhd = sqid = cid = status = 0;
        return this;
    }

    public Cqe decode(ByteBuf b, int at) {
        dw0 = b.getIntLE(at);
        dw1 = b.getIntLE(at + 4);
        sqhd = b.getUnsignedShortLE(at + 8);
        sqid = b.getUnsignedShortLE(at + 10);
        cid = b.getUnsignedShortLE(at + 12);
        status = b.getUnsignedShortLE(at + 14) >>> 1;
        return this;
    }

    public void encode(ByteBuf b) {
        encode(b, dw0, dw1, sqhd, sqid, cid, status);
    }

    /** Appends a CQE without a Cqe object (the data path uses this). */
    public static void encode(ByteBuf b, int dw0, int dw1, int sqhd, int sqid, int cid, int status) {
        b.writeIntLE(dw0);
        b.writeIntLE(dw1);
        b.writeShortLE(sqhd);
        b.writeShortLE(sqid);
        b.writeShortLE(cid);
        b.writeShortLE(status << 1);
    }

    /** DW0..DW1 as one 64-bit value (Property Get of an 8-byte property). */
    public long value64() {
        return (dw0 & 0xFFFFFFFFL) | ((long) dw1 << 32);
    }

    @Override
    public String toString() {
        return "Cqe{cid=" + cid + " " + Status.describe(status) + " dw0=0x" + Integer.toHexString(dw0) + "}";
    }
}
