package io.basalt.nvme;

import java.nio.ByteBuffer;

/**
 * Identify Controller data structure, CNS 01h (NVMe Base Specification 1.4 section 5.15.2.2,
 * Figure 247; fabrics fields from NVMe over Fabrics 1.1 Figure 33): 4096 bytes, little-endian.
 * The fields Basalt sets or reads; every other byte is zero.
 *
 * <pre>
 *    0 VID u16       2 SSVID u16     4 SN[20]      24 MN[40]      64 FR[8]
 *   72 RAB u8       73 IEEE[3]      76 CMIC u8     77 MDTS u8     78 CNTLID u16   80 VER u32
 *   92 OAES u32     96 CTRATT u32  111 CNTRLTYPE u8
 *  256 OACS u16    258 ACL u8      259 AERL u8    260 FRMW u8    261 LPA u8      262 ELPE u8
 *  263 NPSS u8     320 KAS u16
 *  512 SQES u8     513 CQES u8     514 MAXCMD u16 516 NN u32     520 ONCS u16    522 FUSES u16
 *  525 VWC u8      530 NVSCC u8    536 SGLS u32   540 MNAN u32   768 SUBNQN[256]
 * 1792 IOCCSZ u32 1796 IORCSZ u32 1800 ICDOFF u16 1802 FCATT u8 1803 MSDBD u8   1804 OFCS u16
 * 2048 PSD0..31 (32 bytes each)
 * </pre>
 */
public record IdentifyController(
        int vid, int ssvid, String serialNumber, String modelNumber, String firmwareRevision,
        int rab, int ieee, int cmic, int mdts, int cntlid, int version, int oaes, int ctratt, int cntrltype,
        int oacs, int acl, int aerl, int frmw, int lpa, int elpe, int npss, int kas,
        int sqes, int cqes, int maxcmd, int nn, int oncs, int fuses, int vwc, int nvscc, int sgls, int mnan,
        String subnqn, int ioccsz, int iorcsz, int icdoff, int fcatt, int msdbd, int ofcs) {

    public static final int SIZE = 4096;

    /** CNTRLTYPE values (Figure 247): I/O controller, discovery controller. */
    public static final int CNTRLTYPE_IO = 1;
    public static final int CNTRLTYPE_DISCOVERY = 2;
    /** OAES bit 8: Namespace Attribute Notices supported. */
    public static final int OAES_NS_ATTRIBUTE_NOTICES = 1 << 8;
    /** ONCS bits: Compare, Dataset Management, Write Zeroes. */
    public static final int ONCS_COMPARE = 1;
    public static final int ONCS_DSM = 1 << 2;
    public static final int ONCS_WRITE_ZEROES = 1 << 3;
    /** LPA bit 2: extended data for Get Log Page (NUMDU, LPOL/LPOU). */
    public static final int LPA_EXTENDED_DATA = 1 << 2;
    /** VWC bit 0: a volatile write cache is present; bits 2:1 = 10b: Flush to NSID FFFFFFFFh not supported. */
    public static final int VWC_PRESENT_NO_BROADCAST = 0x1 | 0x2 << 1;
    /** SGLS: SGLs supported (bits 1:0 = 01b), SGL offset (bit 20), Transport SGL Data Block (bit 21). */
    public static final int SGLS_FABRICS = 0x1 | 1 << 20 | 1 << 21;
    /** CMIC: multiple ports (bit 0) and multiple controllers (bit 1) in the subsystem. */
    public static final int CMIC_MULTI_PORT_MULTI_CTRL = 0x3;

    public byte[] encode() {
        byte[] a = new byte[SIZE];
        ByteBuffer b = Wire.le(a);
        b.putShort(0, (short) vid);
        b.putShort(2, (short) ssvid);
        Wire.putString(a, 4, 20, serialNumber, (byte) ' ');
        Wire.putString(a, 24, 40, modelNumber, (byte) ' ');
        Wire.putString(a, 64, 8, firmwareRevision, (byte) ' ');
        a[72] = (byte) rab;
        a[73] = (byte) ieee;
        a[74] = (byte) (ieee >> 8);
        a[75] = (byte) (ieee >> 16);
        a[76] = (byte) cmic;
        a[77] = (byte) mdts;
        b.putShort(78, (short) cntlid);
        b.putInt(80, version);
        b.putInt(92, oaes);
        b.putInt(96, ctratt);
        a[111] = (byte) cntrltype;
        b.putShort(256, (short) oacs);
        a[258] = (byte) acl;
        a[259] = (byte) aerl;
        a[260] = (byte) frmw;
        a[261] = (byte) lpa;
        a[262] = (byte) elpe;
        a[263] = (byte) npss;
        b.putShort(320, (short) kas);
        a[512] = (byte) sqes;
        a[513] = (byte) cqes;
        b.putShort(514, (short) maxcmd);
        b.putInt(516, nn);
        b.putShort(520, (short) oncs);
        b.putShort(522, (short) fuses);
        a[525] = (byte) vwc;
        a[530] = (byte) nvscc;
        b.putInt(536, sgls);
        b.putInt(540, mnan);
        Wire.putString(a, 768, 256, subnqn, (byte) 0);
        b.putInt(1792, ioccsz);
        b.putInt(1796, iorcsz);
        b.putShort(1800, (short) icdoff);
        a[1802] = (byte) fcatt;
        a[1803] = (byte) msdbd;
        b.putShort(1804, (short) ofcs);
        return a;
    }

    public static IdentifyController decode(byte[] a) {
        if (a.length < SIZE) {
            throw new IllegalArgumentException("identify controller data is " + a.length + " bytes, not " + SIZE);
        }
        ByteBuffer b = Wire.le(a);
        return new IdentifyController(
                b.getShort(0) & 0xFFFF, b.getShort(2) & 0xFFFF,
                Wire.getString(a, 4, 20), Wire.getString(a, 24, 40), Wire.getString(a, 64, 8),
                a[72] & 0xFF, (a[73] & 0xFF) | (a[74] & 0xFF) << 8 | (a[75] & 0xFF) << 16,
                a[76] & 0xFF, a[77] & 0xFF, b.getShort(78) & 0xFFFF, b.getInt(80), b.getInt(92), b.getInt(96),
                a[111] & 0xFF,
                b.getShort(256) & 0xFFFF, a[258] & 0xFF, a[259] & 0xFF, a[260] & 0xFF, a[261] & 0xFF,
                a[262] & 0xFF, a[263] & 0xFF, b.getShort(320) & 0xFFFF,
                a[512] & 0xFF, a[513] & 0xFF, b.getShort(514) & 0xFFFF, b.getInt(516), b.getShort(520) & 0xFFFF,
                b.getShort(522) & 0xFFFF, a[525] & 0xFF, a[530] & 0xFF, b.getInt(536), b.getInt(540),
                Wire.getString(a, 768, 256),
                b.getInt(1792), b.getInt(1796), b.getShort(1800) & 0xFFFF, a[1802] & 0xFF, a[1803] & 0xFF,
                b.getShort(1804) & 0xFFFF);
    }

    /** Largest data transfer in bytes from MDTS (in units of the 4 KiB minimum page size); 0 = no limit. */
    public long maxTransferBytes() {
        return mdts == 0 ? 0 : 4096L << mdts;
    }

    /** Largest in-capsule data of an I/O command, from IOCCSZ (16-byte units, including the 64-byte SQE). */
    public int inCapsuleDataBytes() {
        return Math.max(0, ioccsz * 16 - Sqe.SIZE);
    }
}
