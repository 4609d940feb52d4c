package io.basalt.nvme;

import java.nio.ByteBuffer;

/**
 * Identify Namespace data structure, CNS 00h (NVMe Base Specification 1.4 section 5.15.2.1,
 * Figure 245): 4096 bytes, little-endian; Basalt uses one LBA format without metadata.
 *
 * <pre>
 *   0 NSZE u64    8 NCAP u64   16 NUSE u64   24 NSFEAT u8  25 NLBAF u8 (0's based)  26 FLBAS u8
 *  27 MC u8      28 DPC u8     29 DPS u8     30 NMIC u8    31 RESCAP u8  32 FPI u8  33 DLFEAT u8
 *  46 NOIOB u16 104 NGUID[16] 120 EUI64[8]
 * 128 LBAF0..15, 4 bytes each: MS u16 (metadata size), LBADS u8 (log2 of the data size), RP u8
 * </pre>
 *
 * An inactive namespace identifies as all zeroes (section 6.1.5).
 */
public record IdentifyNamespace(long nsze, long ncap, long nuse, int nsfeat, int nmic, int dlfeat, int noiob,
                                byte[] nguid, byte[] eui64, int blockSize) {
    public static final int SIZE = 4096;
    /** NMIC bit 0: the namespace may be attached to more than one controller. */
    public static final int NMIC_SHARED = 1;

    public byte[] encode() {
        byte[] a = new byte[SIZE];
        ByteBuffer b = Wire.le(a);
        b.putLong(0, nsze);
        b.putLong(8, ncap);
        b.putLong(16, nuse);
        a[24] = (byte) nsfeat;
        a[25] = 0;
        a[26] = 0;
        a[30] = (byte) nmic;
        a[33] = (byte) dlfeat;
        b.putShort(46, (short) noiob);
        System.arraycopy(nguid, 0, a, 104, 16);
        System.arraycopy(eui64, 0, a, 120, 8);
        b.putShort(128, (short) 0);
        a[130] = (byte) Integer.numberOfTrailingZeros(blockSize);
        a[131] = 0;
        return a;
    }

    /** Decodes; returns null for an inactive namespace (all zero). Block size from the format FLBAS selects. */
    public static IdentifyNamespace decode(byte[] a) {
        if (a.length < SIZE) {
            throw new IllegalArgumentException("identify namespace data is " + a.length + " bytes, not " + SIZE);
        }
        ByteBuffer b = Wire.le(a);
        long nsze = b.getLong(0);
        if (nsze == 0) {
            return null;
        }
        int flbas = a[26] & 0xF;
        int lbads = a[128 + 4 * flbas + 2] & 0xFF;
        byte[] nguid = new byte[16];
        byte[] eui = new byte[8];
        System.arraycopy(a, 104, nguid, 0, 16);
        System.arraycopy(a, 120, eui, 0, 8);
        return new IdentifyNamespace(nsze, b.getLong(8), b.getLong(16), a[24] & 0xFF, a[30] & 0xFF, a[33] & 0xFF,
                b.getShort(46) & 0xFFFF, nguid, eui, lbads < 9 || lbads > 30 ? 0 : 1 << lbads);
    }

    /** Metadata size of the selected format (Basalt's hosts accept only 0). */
    public static int metadataSize(byte[] a) {
        int flbas = a[26] & 0xF;
        return Wire.le(a).getShort(128 + 4 * flbas) & 0xFFFF;
    }
}
