package io.basalt.nvme.tcp;

/**
 * NVMe/TCP PDU constants (NVMe/TCP Transport Specification 1.0, section 3.6). Every PDU starts
 * with an 8-byte common header (CH), little-endian:
 *
 * <pre>
 * 0 PDU-Type u8   1 FLAGS u8   2 HLEN u8 (header length, without digest)   3 PDO u8 (data offset)
 * 4 PLEN u32 (whole PDU: header, header digest, padding, data, data digest)
 * </pre>
 *
 * followed by the PDU-specific header, an optional header digest (CRC32C of the header, 4 bytes),
 * padding up to PDO, the data, and an optional data digest (CRC32C of the data).
 */
public final class Pdu {
    private Pdu() {
    }

    public static final int CH_SIZE = 8;
    public static final int DIGEST_SIZE = 4;

    // ---- PDU types (section 3.6.1, Figure 16)
    public static final int IC_REQ = 0x00;
    public static final int IC_RESP = 0x01;
    public static final int H2C_TERM_REQ = 0x02;
    public static final int C2H_TERM_REQ = 0x03;
    public static final int CAPSULE_CMD = 0x04;
    public static final int CAPSULE_RESP = 0x05;
    public static final int H2C_DATA = 0x06;
    public static final int C2H_DATA = 0x07;
    public static final int R2T = 0x09;

    // ---- common header flags (section 3.6.2, Figure 17 and the data PDU figures)
    public static final int FLAG_HDGSTF = 1;
    public static final int FLAG_DDGSTF = 1 << 1;
    public static final int FLAG_LAST_PDU = 1 << 2;
    public static final int FLAG_SUCCESS = 1 << 3;

    // ---- header lengths
    public static final int IC_HLEN = 128;
    public static final int TERM_HLEN = 24;
    public static final int CAPSULE_CMD_HLEN = 72;
    public static final int CAPSULE_RESP_HLEN = 24;
    public static final int DATA_HLEN = 24;
    public static final int R2T_HLEN = 24;

    /** Longest TermReq PDU (header plus the offending header as data): 152 bytes. */
    public static final int TERM_MAX_PLEN = 152;
    /** Smallest MAXH2CDATA a controller may announce. */
    public static final int MIN_MAXH2CDATA = 4096;

    // ---- fatal error status of a TermReq (section 3.6.2.4, Figure 24)
    public static final int FES_INVALID_HEADER_FIELD = 0x01;
    public static final int FES_PDU_SEQUENCE_ERROR = 0x02;
    public static final int FES_HEADER_DIGEST_ERROR = 0x03;
    public static final int FES_DATA_OUT_OF_RANGE = 0x04;
    public static final int FES_DATA_LIMIT_EXCEEDED = 0x05;
    public static final int FES_UNSUPPORTED_PARAMETER = 0x06;

    /** Header length of a PDU type, or -1 for an unknown type. */
    public static int hlen(int type) {
        return switch (type) {
            case IC_REQ, IC_RESP -> IC_HLEN;
            case H2C_TERM_REQ, C2H_TERM_REQ -> TERM_HLEN;
            case CAPSULE_CMD -> CAPSULE_CMD_HLEN;
            case CAPSULE_RESP -> CAPSULE_RESP_HLEN;
            case H2C_DATA, C2H_DATA -> DATA_HLEN;
            case R2T -> R2T_HLEN;
            default -> -1;
        };
    }

    /** Whether a PDU type is sent by the host (H2C) rather than the controller. */
    public static boolean fromHost(int type) {
        return type == IC_REQ || type == H2C_TERM_REQ || type == CAPSULE_CMD || type == H2C_DATA;
    }

    /** Whether the PDU type may carry a header digest (all but the connection set-up and termination PDUs). */
    public static boolean digestible(int type) {
        return type != IC_REQ && type != IC_RESP && type != H2C_TERM_REQ && type != C2H_TERM_REQ;
    }

    /** Whether the PDU type may carry data. */
    public static boolean carriesData(int type) {
        return type == CAPSULE_CMD || type == H2C_DATA || type == C2H_DATA || type == H2C_TERM_REQ
                || type == C2H_TERM_REQ;
    }

    public static String typeName(int type) {
        return switch (type) {
            case IC_REQ -> "ICReq";
            case IC_RESP -> "ICResp";
            case H2C_TERM_REQ -> "H2CTermReq";
            case C2H_TERM_REQ -> "C2HTermReq";
            case CAPSULE_CMD -> "CapsuleCmd";
            case CAPSULE_RESP -> "CapsuleResp";
            case H2C_DATA -> "H2CData";
            case C2H_DATA -> "C2HData";
            case R2T -> "R2T";
            default -> "PDU type 0x" + Integer.toHexString(type);
        };
    }

    public static String fesName(int fes) {
        return switch (fes) {
            case FES_INVALID_HEADER_FIELD -> "Invalid PDU Header Field";
            case FES_PDU_SEQUENCE_ERROR -> "PDU Sequence Error";
            case FES_HEADER_DIGEST_ERROR -> "Header Digest Error";
            case FES_DATA_OUT_OF_RANGE -> "Data Transfer Out of Range";
            case FES_DATA_LIMIT_EXCEEDED -> "Data Transfer Limit Exceeded";
            case FES_UNSUPPORTED_PARAMETER -> "Unsupported Parameter";
            default -> "FES 0x" + Integer.toHexString(fes);
        };
    }

    /** PDO for data after a header of {@code hlen} (+ digest), aligned to {@code (pda + 1) * 4} bytes. */
    public static int dataOffset(int hlen, boolean hdgst, int pda) {
        int unaligned = hlen + (hdgst ? DIGEST_SIZE : 0);
        int align = (pda + 1) * 4;
        return (unaligned + align - 1) / align * align;
    }
}
