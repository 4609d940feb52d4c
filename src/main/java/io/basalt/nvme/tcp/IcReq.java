package io.basalt.nvme.tcp;

import io.netty.buffer.ByteBuf;

/**
 * Initialize Connection Request, the host's first PDU (NVMe/TCP 1.0 section 3.6.2.2, Figure 19):
 * HLEN = PLEN = 128, PDO 0.
 *
 * <pre>
 *  8 PFV u16 (0 = version 1.0)   10 HPDA u8 (host PDU data alignment, (HPDA+1)*4 bytes, at most 31)
 * 11 DGST u8 (bit 0 header digest, bit 1 data digest wanted)   12 MAXR2T u32 (0's based R2Ts per command)
 * 16..127 reserved
 * </pre>
 */
public record IcReq(int pfv, int hpda, boolean hdgst, boolean ddgst, int maxr2t) {
    public static final int MAX_PDA = 31;

    public void encode(ByteBuf out) {
        out.writeByte(Pdu.IC_REQ);
        out.writeByte(0);
        out.writeByte(Pdu.IC_HLEN);
        out.writeByte(0);
        out.writeIntLE(Pdu.IC_HLEN);
        out.writeShortLE(pfv);
        out.writeByte(hpda);
        out.writeByte((hdgst ? 1 : 0) | (ddgst ? 2 : 0));
        out.writeIntLE(maxr2t);
        out.writeZero(Pdu.IC_HLEN - 16);
    }

    /** Reads the PDU-specific fields of a header at {@code at} (the common header already checked). */
    public static IcReq decode(ByteBuf h, int at) {
        int dgst = h.getUnsignedByte(at + 11);
        return new IcReq(h.getUnsignedShortLE(at + 8), h.getUnsignedByte(at + 10), (dgst & 1) != 0, (dgst & 2) != 0,
                h.getIntLE(at + 12));
    }
}
