package io.basalt.nvme;

/**
 * Feature identifiers of Set / Get Features (NVMe Base Specification 1.4 section 5.21.1,
 * Figure 271) and the Asynchronous Event Request completion layout (section 5.2, Figure 146).
 */
public final class Features {
    private Features() {
    }

    public static final int ARBITRATION = 0x01;
    public static final int POWER_MANAGEMENT = 0x02;
    public static final int TEMPERATURE_THRESHOLD = 0x04;
    public static final int ERROR_RECOVERY = 0x05;
    public static final int VOLATILE_WRITE_CACHE = 0x06;
    public static final int NUMBER_OF_QUEUES = 0x07;
    public static final int INTERRUPT_COALESCING = 0x08;
    public static final int WRITE_ATOMICITY = 0x0A;
    public static final int ASYNC_EVENT_CONFIGURATION = 0x0B;
    public static final int KEEP_ALIVE_TIMER = 0x0F;

    /** Set / Get Features CDW10: FID bits 7:0; Get's SEL bits 10:8; Set's SV bit 31. */
    public static int fid(int cdw10) {
        return cdw10 & 0xFF;
    }

    public static int select(int cdw10) {
        return (cdw10 >>> 8) & 0x7;
    }

    public static boolean save(int cdw10) {
        return (cdw10 & (1 << 31)) != 0;
    }

    /** Asynchronous Event Configuration bit 8: Namespace Attribute Notices (Figure 293). */
    public static final int AEC_NAMESPACE_ATTRIBUTE = 1 << 8;

    /** AER completion DW0: event type 2:0, event information 15:8, log page 23:16. */
    public static int aerDw0(int type, int info, int logPage) {
        return (type & 0x7) | (info & 0xFF) << 8 | (logPage & 0xFF) << 16;
    }

    public static int aerType(int dw0) {
        return dw0 & 0x7;
    }

    public static int aerInfo(int dw0) {
        return (dw0 >>> 8) & 0xFF;
    }

    public static int aerLogPage(int dw0) {
        return (dw0 >>> 16) & 0xFF;
    }

    public static final int AER_TYPE_ERROR = 0;
    public static final int AER_TYPE_SMART = 1;
    public static final int AER_TYPE_NOTICE = 2;
    /** Notice information 0x00: Namespace Attribute Changed (Figure 148). */
    public static final int AER_NOTICE_NS_ATTRIBUTE_CHANGED = 0x00;
}
