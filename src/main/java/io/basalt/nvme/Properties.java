package io.basalt.nvme;

/**
 * Controller properties reached with Fabrics Property Get / Set (NVMe over Fabrics 1.1 section
 * 3.5, Figure 36; register layouts from NVMe Base Specification 1.4 section 3.1).
 *
 * <pre>
 * offset size  name
 * 0x00   8     CAP   MQES 15:0 (0's based), CQR 16, AMS 18:17, TO 31:24 (500 ms units),
 *                    DSTRD 35:32, NSSRS 36, CSS 44:37 (bit 37 = NVM command set), MPSMIN 51:48, MPSMAX 55:52
 * 0x08   4     VS    MJR 31:16, MNR 15:8, TER 7:0
 * 0x14   4     CC    EN 0, CSS 6:4, MPS 10:7, AMS 13:11, SHN 15:14, IOSQES 19:16, IOCQES 23:20
 * 0x1C   4     CSTS  RDY 0, CFS 1, SHST 3:2, NSSRO 4, PP 5
 * 0x20   4     NSSR  (not supported by Basalt)
 * </pre>
 */
public final class Properties {
    private Properties() {
    }

    public static final int CAP = 0x00;
    public static final int VS = 0x08;
    public static final int CC = 0x14;
    public static final int CSTS = 0x1C;
    public static final int NSSR = 0x20;

    /** Version 1.3.0: what Basalt's controllers implement (and what SPDK reports). */
    public static final int VERSION_1_3 = 0x00010300;

    public static final int CC_EN = 1;
    public static final int CSTS_RDY = 1;
    public static final int CSTS_CFS = 1 << 1;
    /** CSTS.SHST values (bits 3:2). */
    public static final int SHST_NORMAL = 0;
    public static final int SHST_OCCURRING = 1;
    public static final int SHST_COMPLETE = 2;

    /** Builds CAP: {@code mqes} is the 0's based maximum queue size; TO in 500 ms units; NVM command set only. */
    public static long cap(int mqes, int timeout500ms) {
        return (mqes & 0xFFFFL)
                | 1L << 16 // CQR: contiguous queues required
                | (long) (timeout500ms & 0xFF) << 24
                | 1L << 37; // CSS bit 0: NVM command set; MPSMIN = MPSMAX = 0 (4 KiB)
    }

    public static int capMqes(long cap) {
        return (int) (cap & 0xFFFF);
    }

    public static int capTimeout(long cap) {
        return (int) ((cap >>> 24) & 0xFF);
    }

    public static boolean ccEnabled(int cc) {
        return (cc & CC_EN) != 0;
    }

    /** CC.SHN (bits 15:14): 0 none, 1 normal, 2 abrupt. */
    public static int ccShutdown(int cc) {
        return (cc >>> 14) & 0x3;
    }

    public static int ccIosqes(int cc) {
        return (cc >>> 16) & 0xF;
    }

    public static int ccIocqes(int cc) {
        return (cc >>> 20) & 0xF;
    }

    /** What a host writes to enable: NVM command set, 4 KiB pages, round robin, 64-byte SQEs, 16-byte CQEs. */
    public static int ccEnable() {
        return CC_EN | 6 << 16 | 4 << 20;
    }

    public static int cstsShst(int csts) {
        return (csts >>> 2) & 0x3;
    }

    /** Size in bytes of a property, or 0 if Basalt has no such property. */
    public static int size(int offset) {
        return switch (offset) {
            case CAP -> 8;
            case VS, CC, CSTS -> 4;
            default -> 0;
        };
    }
}
