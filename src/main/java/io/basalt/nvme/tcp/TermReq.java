package io.basalt.nvme.tcp;

import io.netty.buffer.ByteBuf;

/**
 * H2CTermReq / C2HTermReq (NVMe/TCP 1.0 section 3.6.2.4-5, Figures 22-24): HLEN 24, no digests;
 * the data is the header of the PDU that caused the error (at most 128 bytes, PLEN at most 152).
 *
 * <pre>
 *  8 FES u16 (fatal error status)   10 FEI u32 (fatal error information, unaligned)   14..23 reserved
 * </pre>
 *
 * @param fromHost true for H2CTermReq, false for C2HTermReq
 * @param data     the offending PDU header bytes (may be empty)
 */
public record TermReq(boolean fromHost, int fes, int fei, byte[] data) {
    public static final int MAX_DATA = Pdu.TERM_MAX_PLEN - Pdu.TERM_HLEN;

    public TermReq {
        if (data.length > MAX_DATA) {
            byte[] cut = new byte[MAX_DATA];
            System.arraycopy(data, 0, cut, 0, MAX_DATA);
            data = cut;
        }
    }

    public void encode(ByteBuf out) {
        out.writeByte(fromHost ? Pdu.H2C_TERM_REQ : Pdu.C2H_TERM_REQ);
        out.writeByte(0);
        out.writeByte(Pdu.TERM_HLEN);
        out.writeByte(data.length == 0 ? 0 : Pdu.TERM_HLEN);
        out.writeIntLE(Pdu.TERM_HLEN + data.length);
        out.writeShortLE(fes);
        out.writeIntLE(fei);
        out.writeZero(10);
        out.writeBytes(data);
    }

    public static TermReq decode(ByteBuf h, int at, byte[] data) {
        return new TermReq(h.getUnsignedByte(at) == Pdu.H2C_TERM_REQ, h.getUnsignedShortLE(at + 8), h.getIntLE(at + 10),
                data);
    }
}
