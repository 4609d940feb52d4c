package io.basalt.nvme;

import io.netty.buffer.ByteBuf;

/**
 * A 64-byte submission queue entry (NVMe Base Specification 1.4, section 4.2, Figure 105), with
 * the data pointer as one SGL descriptor (section 4.4, Figure 114) as NVMe over Fabrics requires
 * (PSDT = 01b). All fields little-endian.
 *
 * <pre>
 *  0 opcode  1 flags (FUSE 1:0, PSDT 7:6)  2 CID (u16)   4 NSID (u32)   8 CDW2   12 CDW3
 * 16 MPTR (u64)
 * 24 SGL1: address (u64) 32 length (u32) 36 reserved (3) 39 SGL identifier (type 7:4, subtype 3:0)
 * 40 CDW10  44 CDW11  48 CDW12  52 CDW13  56 CDW14  60 CDW15
 * </pre>
 *
 * A fabrics command (opcode 0x7F) carries its FCTYPE in byte 4 (the NSID's low byte); its fields
 * map onto CDW10..CDW15 (Connect: RECFMT, QID, SQSIZE, CATTR, KATO; Property Get/Set: ATTRIB,
 * OFST, VALUE).
 *
 * <p>Mutable and reused: one per command slot, filled by {@link #decode}.
 */
public final class Sqe {
    public static final int SIZE = 64;

    /** SGL descriptor types (high nibble of byte 39), Figure 115. */
    public static final int SGL_TYPE_DATA_BLOCK = 0x0;
    public static final int SGL_TYPE_TRANSPORT_DATA_BLOCK = 0x5;
    /** SGL subtypes (low nibble), Figure 116 and NVMe/TCP 1.0 section 3.3.6. */
    public static final int SGL_SUBTYPE_ADDRESS = 0x0;
    public static final int SGL_SUBTYPE_OFFSET = 0x1;
    public static final int SGL_SUBTYPE_TRANSPORT = 0xA;
    /** In-capsule data: Data Block, subtype Offset (address = offset in the capsule data). */
    public static final int SGL_ID_IN_CAPSULE = SGL_TYPE_DATA_BLOCK << 4 | SGL_SUBTYPE_OFFSET;
    /** Data moved by C2HData / R2T + H2CData PDUs: Transport SGL Data Block. */
    public static final int SGL_ID_TRANSPORT = SGL_TYPE_TRANSPORT_DATA_BLOCK << 4 | SGL_SUBTYPE_TRANSPORT;
    /** PSDT = 01b: SGLs for the data transfer (flags bits 7:6). */
    public static final int FLAGS_PSDT_SGL = 0x40;

    public int opcode;
    public int flags;
    public int cid;
    public int nsid;
    public int cdw2;
    public int cdw3;
    public long mptr;
    public long sglAddress;
    public int sglLength;
    public int sglId;
    public int cdw10;
    public int cdw11;
    public int cdw12;
    public int cdw13;
    public int cdw14;
    public int cdw15;

    public Sqe clear() {
        opcode = flags = cid = nsid = cdw2 = cdw3 = 0;
        mptr = sglAddress = 0;
        sglLength = sglId = 0;
        cdw10 = cdw11 = cdw12 = cdw13 = cdw14 = cdw15 = 0;
        return this;
    }

    /** Reads the 64 bytes at {@code at} (reader index unchanged). Reserved bytes 36..38 are ignored. */
    public Sqe decode(ByteBuf b, int at) {
        opcode = b.getUnsignedByte(at);
        flags = b.getUnsignedByte(at + 1);
        cid = b.getUnsignedShortLE(at + 2);
        nsid = b.getIntLE(at + 4);
        cdw2 = b.getIntLE(at + 8);
        cdw3 = b.getIntLE(at + 12);
        mptr = b.getLongLE(at + 16);
        sglAddress = b.getLongLE(at + 24);
        sglLength = b.getIntLE(at + 32);
        sglId = b.getUnsignedByte(at + 39);
        cdw10 = b.getIntLE(at + 40);
        cdw11 = b.getIntLE(at + 44);
        cdw12 = b.getIntLE(at + 48);
        cdw13 = b.getIntLE(at + 52);
        cdw14 = b.getIntLE(at + 56);
        cdw15 = b.getIntLE(at + 60);
        return this;
    }

    /** Appends the 64 bytes. */
    public void encode(ByteBuf b) {
        b.writeByte(opcode);
        b.writeByte(flags);
        b.writeShortLE(cid);
        b.writeIntLE(nsid);
        b.writeIntLE(cdw2);
        b.writeIntLE(cdw3);
        b.writeLongLE(mptr);
        b.writeLongLE(sglAddress);
        b.writeIntLE(sglLength);
        b.writeMedium(0);
        b.writeByte(sglId);
        b.writeIntLE(cdw10);
        b.writeIntLE(cdw11);
        b.writeIntLE(cdw12);
        b.writeIntLE(cdw13);
        b.writeIntLE(cdw14);
        b.writeIntLE(cdw15);
    }

    public Sqe copyFrom(Sqe o) {
        opcode = o.opcode;
        flags = o.flags;
        cid = o.cid;
        nsid = o.nsid;
        cdw2 = o.cdw2;
        cdw3 = o.cdw3;
        mptr = o.mptr;
        sglAddress = o.sglAddress;
        sglLength = o.sglLength;
        sglId = o.sglId;
        cdw10 = o.cdw10;
        cdw11 = o.cdw11;
        cdw12 = o.cdw12;
        cdw13 = o.cdw13;
        cdw14 = o.cdw14;
        cdw15 = o.cdw15;
        return this;
    }

    /** FCTYPE of a fabrics command (byte 4). */
    public int fctype() {
        return nsid & 0xFF;
    }

    /** Direction of the data transfer: fabrics commands by FCTYPE, others by opcode. */
    public int direction() {
        return Opcodes.direction(opcode == Opcodes.FABRICS ? fctype() : opcode);
    }

    // ---- NVM I/O fields (NVMe 1.4 Figure 364 / 372)

    /** Starting LBA of Read/Write/Compare/Write Zeroes (CDW10..11). */
    public long slba() {
        return (cdw10 & 0xFFFFFFFFL) | ((long) cdw11 << 32);
    }

    /** Number of logical blocks (NLB is 0's based in CDW12 15:0). */
    public int nlb() {
        return (cdw12 & 0xFFFF) + 1;
    }

    /** Force Unit Access (CDW12 bit 30). */
    public boolean fua() {
        return (cdw12 & (1 << 30)) != 0;
    }

    // ---- fabrics Connect fields (NVMe-oF 1.1 Figure 20)

    public int connectRecfmt() {
        return cdw10 & 0xFFFF;
    }

    public int connectQid() {
        return cdw10 >>> 16;
    }

    /** SQSIZE, 0's based. */
    public int connectSqsize() {
        return cdw11 & 0xFFFF;
    }

    public int connectCattr() {
        return (cdw11 >>> 16) & 0xFF;
    }

    /** Keep Alive Timeout in milliseconds. */
    public long connectKato() {
        return cdw12 & 0xFFFFFFFFL;
    }

    /** Connect CATTR bit 2: the host disables SQ flow control (NVMe-oF 1.1 Figure 20). */
    public static final int CATTR_DISABLE_SQ_FLOW_CONTROL = 1 << 2;

    // ---- Property Get / Set (Figures 24, 26)

    /** Property size: 0 = 4 bytes, 1 = 8 bytes (ATTRIB bits 2:0). */
    public int propertySize() {
        return cdw10 & 0x7;
    }

    public int propertyOffset() {
        return cdw11;
    }

    public long propertyValue() {
        return (cdw12 & 0xFFFFFFFFL) | ((long) cdw13 << 32);
    }

    @Override
    public String toString() {
        return String.format("Sqe{opc=0x%02x cid=%d nsid=%d sgl=%02x/%d cdw10=%08x cdw11=%08x cdw12=%08x}",
                opcode, cid, nsid, sglId, sglLength, cdw10, cdw11, cdw12);
    }
}
