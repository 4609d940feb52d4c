package io.basalt.nvme.tcp;

import io.basalt.runtime.ByteBufs;
import io.basalt.nvme.Cqe;
import io.basalt.nvme.Sqe;
import io.netty.buffer.ByteBuf;

import java.nio.ByteBuffer;

/**
 * Writes the data-path PDUs without intermediate objects (NVMe/TCP 1.0 section 3.6.2):
 *
 * <pre>
 * CapsuleCmd  (0x04, HLEN 72): CH, SQE[64]
 * CapsuleResp (0x05, HLEN 24): CH, CQE[16]
 * H2CData     (0x06, HLEN 24): CH,  8 CCCID u16  10 TTAG u16  12 DATAO u32  16 DATAL u32  20 reserved[4]
 * C2HData     (0x07, HLEN 24): CH,  8 CCCID u16  10 reserved  12 DATAO u32  16 DATAL u32  20 reserved[4]
 * R2T         (0x09, HLEN 24): CH,  8 CCCID u16  10 TTAG u16  12 R2TO u32   16 R2TL u32   20 reserved[4]
 * </pre>
 *
 * A header digest (CRC32C of the HLEN header bytes) follows the header when enabled; data PDUs
 * are padded to PDO and end with a data digest when enabled.
 */
public final class PduWriter {
    private PduWriter() {
    }

    private static void ch(ByteBuf out, int type, int flags, int hlen, int pdo, int plen) {
        out.writeByte(type);
        out.writeByte(flags);
        out.writeByte(hlen);
        out.writeByte(pdo);
        out.writeIntLE(plen);
    }

    private static void headerDigest(ByteBuf out, int start, int hlen, boolean hdgst, Digest d) {
        if (hdgst) {
            out.writeIntLE(d.of(out, start, hlen));
        }
    }

    /** A response capsule. */
    public static void capsuleResp(ByteBuf out, int dw0, int dw1, int sqhd, int sqid, int cid, int status,
                                   boolean hdgst, Digest d) {
        int start = out.writerIndex();
        int dg = hdgst ? Pdu.DIGEST_SIZE : 0;
        ch(out, Pdu.CAPSULE_RESP, hdgst ? Pdu.FLAG_HDGSTF : 0, Pdu.CAPSULE_RESP_HLEN, 0, Pdu.CAPSULE_RESP_HLEN + dg);
        Cqe.encode(out, dw0, dw1, sqhd, sqid, cid, status);
        headerDigest(out, start, Pdu.CAPSULE_RESP_HLEN, hdgst, d);
    }

    /** An R2T asking for {@code r2tl} bytes at offset {@code r2to} of command {@code cccid}. */
    public static void r2t(ByteBuf out, int cccid, int ttag, int r2to, int r2tl, boolean hdgst, Digest d) {
        int start = out.writerIndex();
        int dg = hdgst ? Pdu.DIGEST_SIZE : 0;
        ch(out, Pdu.R2T, hdgst ? Pdu.FLAG_HDGSTF : 0, Pdu.R2T_HLEN, 0, Pdu.R2T_HLEN + dg);
        out.writeShortLE(cccid);
        out.writeShortLE(ttag);
        out.writeIntLE(r2to);
        out.writeIntLE(r2tl);
        out.writeIntLE(0);
        headerDigest(out, start, Pdu.R2T_HLEN, hdgst, d);
    }

    /**
     * The header of a C2HData or H2CData PDU of {@code datal} bytes, with its padding; the caller
     * writes the data next and then, when {@code ddgst}, {@link #dataDigest}.
     *
     * @param flags LAST_PDU / SUCCESS (the digest flags are added here)
     * @param pda   the receiver's PDU data alignment (HPDA for C2H, CPDA for H2C)
     */
    public static void dataHeader(ByteBuf out, int type, int flags, int cccid, int ttag, int datao, int datal,
                                  boolean hdgst, boolean ddgst, int pda, Digest d) {
        int start = out.writerIndex();
        int pdo = Pdu.dataOffset(Pdu.DATA_HLEN, hdgst, pda);
        int plen = pdo + datal + (ddgst ? Pdu.DIGEST_SIZE : 0);
        int f = flags | (hdgst ? Pdu.FLAG_HDGSTF : 0) | (ddgst ? Pdu.FLAG_DDGSTF : 0);
        ch(out, type, f, Pdu.DATA_HLEN, pdo, plen);
        out.writeShortLE(cccid);
        out.writeShortLE(type == Pdu.H2C_DATA ? ttag : 0);
        out.writeIntLE(datao);
        out.writeIntLE(datal);
        out.writeIntLE(0);
        headerDigest(out, start, Pdu.DATA_HLEN, hdgst, d);
        out.writeZero(pdo - (out.writerIndex() - start));
    }

    /** Appends the data digest of {@code data}'s remaining bytes (position unchanged). */
    public static void dataDigest(ByteBuf out, ByteBuffer data, Digest d) {
        int p = data.position();
        out.writeIntLE(d.of(data));
        data.position(p);
    }

    /** A command capsule; {@code inCapsule} (may be null) holds in-capsule data (its remaining bytes). */
    public static void capsuleCmd(ByteBuf out, Sqe sqe, ByteBuffer inCapsule, boolean hdgst, boolean ddgst, int cpda,
                                  Digest d) {
        int start = out.writerIndex();
        int datal = inCapsule == null ? 0 : inCapsule.remaining();
        int pdo = datal == 0 ? 0 : Pdu.dataOffset(Pdu.CAPSULE_CMD_HLEN, hdgst, cpda);
        int hdr = Pdu.CAPSULE_CMD_HLEN + (hdgst ? Pdu.DIGEST_SIZE : 0);
        int plen = datal == 0 ? hdr : pdo + datal + (ddgst ? Pdu.DIGEST_SIZE : 0);
        int f = (hdgst ? Pdu.FLAG_HDGSTF : 0) | (ddgst && datal > 0 ? Pdu.FLAG_DDGSTF : 0);
        ch(out, Pdu.CAPSULE_CMD, f, Pdu.CAPSULE_CMD_HLEN, pdo, plen);
        sqe.encode(out);
        headerDigest(out, start, Pdu.CAPSULE_CMD_HLEN, hdgst, d);
        if (datal > 0) {
            out.writeZero(pdo - (out.writerIndex() - start));
            int p = inCapsule.position();
            ByteBufs.write(out, inCapsule);
            inCapsule.position(p);
            if (ddgst) {
                dataDigest(out, inCapsule, d);
            }
        }
    }
}
