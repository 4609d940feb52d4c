package io.basalt.nvme.tcp;

import io.netty.buffer.ByteBuf;

/**
 * Initialize Connection Response (NVMe/TCP 1.0 section 3.6.2.3, Figure 20): HLEN = PLEN = 128.
 *
 * <pre>
 *  8 PFV u16   10 CPDA u8 (controller PDU data alignment)   11 DGST u8 (digests enabled: bit 0 header, bit 1 data)
 * 12 MAXH2CDATA u32 (most data bytes in one H2CData PDU; a multiple of 4, at least 4096)
 * </pre>
 */
public record IcResp(int pfv, int cpda, boolean hdgst, boolean ddgst, int maxh2cdata) {
    public void encode(ByteBuf out) {
        out.writeByte(Pdu.IC_RESP);
        out.writeByte(0);
        out.writeByte(Pdu.IC_HLEN);
        out.writeByte(0);
        out.writeIntLE(Pdu.IC_HLEN);
        out.writeShortLE(pfv);
        out.writeByte(cpda);
        out.writeByte((hdgst ? 1 : 0) | (ddgst ? 2 : 0));
        out.writeIntLE(maxh2cdata);
        out.writeZero(Pdu.IC_HLEN - 16);
    }

    public static IcResp decode(ByteBuf h, int at) {
        int dgst = h.getUnsignedByte(at + 11);
        return new IcResp(h.getUnsignedShortLE(at + 8), h.getUnsignedByte(at + 10), (dgst & 1) != 0, (dgst & 2) != 0,
                h.getIntLE(at + 12));
    }
}
