package io.basalt.nvme;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Get Log Page (NVMe Base Specification 1.4 section 5.14): log identifiers, the command's
 * fields, and the layouts of the log pages Basalt serves.
 *
 * <p>Command fields: CDW10 LID 7:0, LSP 11:8, RAE 15, NUMDL 31:16; CDW11 NUMDU 15:0; CDW12/13
 * the byte offset (LPOL/LPOU). The transfer is (NUMDU:NUMDL + 1) dwords.
 */
public final class LogPages {
    private LogPages() {
    }

    public static final int ERROR_INFORMATION = 0x01;
    public static final int SMART_HEALTH = 0x02;
    public static final int FIRMWARE_SLOT = 0x03;
    public static final int CHANGED_NAMESPACE_LIST = 0x04;
    public static final int DISCOVERY = 0x70;

    public static int lid(int cdw10) {
        return cdw10 & 0xFF;
    }

    /** Retain Asynchronous Event: reading does not clear the event (CDW10 bit 15). */
    public static boolean rae(int cdw10) {
        return (cdw10 & (1 << 15)) != 0;
    }

    /** Bytes to transfer from NUMDL (CDW10 31:16) and NUMDU (CDW11 15:0). */
    public static long lengthBytes(int cdw10, int cdw11) {
        long numd = ((long) (cdw11 & 0xFFFF) << 16 | (cdw10 >>> 16)) + 1;
        return numd * 4;
    }

    public static long offset(int cdw12, int cdw13) {
        return (cdw12 & 0xFFFFFFFFL) | ((long) cdw13 << 32);
    }

    /** CDW10/CDW11 for reading {@code bytes} (a multiple of 4) of log {@code lid}. */
    public static int cdw10(int lid, boolean rae, long bytes) {
        long numd = bytes / 4 - 1;
        return lid & 0xFF | (rae ? 1 << 15 : 0) | (int) (numd & 0xFFFF) << 16;
    }

    public static int cdw11(long bytes) {
        return (int) ((bytes / 4 - 1) >>> 16) & 0xFFFF;
    }

    // ------------------------------------------------------------------ Changed Namespace List (5.14.1.4)

    /** 1024 NSIDs (u32); more changes than that are reported as a first entry FFFFFFFFh. */
    public static final int CHANGED_NS_LIST_SIZE = 4096;
    public static final int CHANGED_NS_MAX = 1024;

    public static byte[] changedNamespaces(int[] sortedNsids, boolean overflow) {
        byte[] a = new byte[CHANGED_NS_LIST_SIZE];
        ByteBuffer b = Wire.le(a);
        if (overflow) {
            b.putInt(0, 0xFFFFFFFF);
            return a;
        }
        for (int i = 0; i < Math.min(sortedNsids.length, CHANGED_NS_MAX); i++) {
            b.putInt(4 * i, sortedNsids[i]);
        }
        return a;
    }

    /** The NSIDs of a Changed Namespace List; a list of one entry -1 means "more than 1024 changed". */
    public static List<Integer> decodeChangedNamespaces(byte[] a) {
        ByteBuffer b = Wire.le(a);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < Math.min(CHANGED_NS_MAX, a.length / 4); i++) {
            int id = b.getInt(4 * i);
            if (id == 0) {
                break;
            }
            out.add(id);
            if (id == -1) {
                break;
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ SMART / Health (5.14.1.2, Figure 194)

    public static final int SMART_SIZE = 512;

    /**
     * The SMART / Health Information log. Data units are thousands of 512-byte units, rounded up;
     * counters are 128-bit little-endian (Basalt's fit in 64 bits). Temperature is in kelvins; 0
     * means the controller has no sensor to report (a virtual controller has none).
     *
     * <pre>
     *   0 critical warning u8   1 composite temperature u16   3 available spare u8   4 threshold u8
     *   5 percentage used u8   32 data units read [16]  48 data units written [16]
     *  64 host read commands [16]  80 host write commands [16]  96 controller busy time [16]
     * 112 power cycles [16]   128 power on hours [16]  144 unsafe shutdowns [16]
     * 160 media errors [16]   176 number of error log entries [16]
     * </pre>
     */
    public static byte[] smart(long bytesRead, long bytesWritten, long readCommands, long writeCommands,
                               long powerOnHours, long mediaErrors, long errorLogEntries) {
        byte[] a = new byte[SMART_SIZE];
        ByteBuffer b = Wire.le(a);
        a[3] = 100;
        a[4] = 10;
        b.putLong(32, (bytesRead + 512_000 - 1) / 512_000);
        b.putLong(48, (bytesWritten + 512_000 - 1) / 512_000);
        b.putLong(64, readCommands);
        b.putLong(80, writeCommands);
        b.putLong(112, 1);
        b.putLong(128, powerOnHours);
        b.putLong(160, mediaErrors);
        b.putLong(176, errorLogEntries);
        return a;
    }

    // ------------------------------------------------------------------ Error Information (5.14.1.1, Figure 193)

    public static final int ERROR_ENTRY_SIZE = 64;

    /**
     * One Error Information log entry.
     *
     * <pre>
     *  0 error count u64   8 SQID u16   10 CID u16   12 status field u16 (bits 15:1; bit 0 phase)
     * 14 parameter error location u16   16 LBA u64   24 namespace u32   28 vendor specific u8
     * 29 transport type u8 (3 = TCP)   32 command specific information u64
     * </pre>
     */
    public record ErrorEntry(long errorCount, int sqid, int cid, int status, int paramLocation, long lba, int nsid) {
        public void encodeInto(byte[] a, int at) {
            ByteBuffer b = Wire.le(a);
            b.putLong(at, errorCount);
            b.putShort(at + 8, (short) sqid);
            b.putShort(at + 10, (short) cid);
            b.putShort(at + 12, (short) (status << 1));
            b.putShort(at + 14, (short) paramLocation);
            b.putLong(at + 16, lba);
            b.putInt(at + 24, nsid);
            a[at + 29] = 3;
        }

        public static ErrorEntry decode(byte[] a, int at) {
            ByteBuffer b = Wire.le(a);
            return new ErrorEntry(b.getLong(at), b.getShort(at + 8) & 0xFFFF, b.getShort(at + 10) & 0xFFFF,
                    (b.getShort(at + 12) & 0xFFFF) >>> 1, b.getShort(at + 14) & 0xFFFF, b.getLong(at + 16),
                    b.getInt(at + 24));
        }
    }

    // ------------------------------------------------------------------ Discovery (NVMe-oF 1.1 5.3, Figures 39-40)

    public static final int DISCOVERY_HEADER_SIZE = 1024;
    public static final int DISCOVERY_ENTRY_SIZE = 1024;

    /**
     * One Discovery Log Page entry.
     *
     * <pre>
     *   0 TRTYPE u8 (3 = TCP)  1 ADRFAM u8 (1 IPv4, 2 IPv6)  2 SUBTYPE u8 (1 referral, 2 NVM, 3 current discovery)
     *   3 TREQ u8 (bits 1:0 secure channel, bit 2 SQ flow control disable supported)
     *   4 PORTID u16  6 CNTLID u16 (FFFFh dynamic)  8 ASQSZ u16  10 EFLAGS u16
     *  32 TRSVCID[32]  256 SUBNQN[256]  512 TRADDR[256]  768 TSAS[256] (TCP: byte 0 SECTYPE)
     * </pre>
     */
    public record DiscoveryEntry(int trtype, int adrfam, int subtype, int treq, int portid, int cntlid, int asqsz,
                                 String trsvcid, String subnqn, String traddr) {
        public static final int TRTYPE_TCP = 3;
        public static final int ADRFAM_IPV4 = 1;
        public static final int ADRFAM_IPV6 = 2;
        public static final int SUBTYPE_DISCOVERY = 1;
        public static final int SUBTYPE_NVME = 2;
        /** Secure channel not required (01b would be required), SQ flow control disable supported. */
        public static final int TREQ_NOT_REQUIRED_SQFLOW = 0x2 | 0x4;

        public void encodeInto(byte[] a, int at) {
            ByteBuffer b = Wire.le(a);
            a[at] = (byte) trtype;
            a[at + 1] = (byte) adrfam;
            a[at + 2] = (byte) subtype;
            a[at + 3] = (byte) treq;
            b.putShort(at + 4, (short) portid);
            b.putShort(at + 6, (short) cntlid);
            b.putShort(at + 8, (short) asqsz);
            Wire.putString(a, at + 32, 32, trsvcid, (byte) 0);
            Wire.putString(a, at + 256, 256, subnqn, (byte) 0);
            Wire.putString(a, at + 512, 256, traddr, (byte) 0);
        }

        public static DiscoveryEntry decode(byte[] a, int at) {
            ByteBuffer b = Wire.le(a);
            return new DiscoveryEntry(a[at] & 0xFF, a[at + 1] & 0xFF, a[at + 2] & 0xFF, a[at + 3] & 0xFF,
                    b.getShort(at + 4) & 0xFFFF, b.getShort(at + 6) & 0xFFFF, b.getShort(at + 8) & 0xFFFF,
                    Wire.getString(a, at + 32, 32), Wire.getString(a, at + 256, 256), Wire.getString(a, at + 512, 256));
        }
    }

    /** The whole discovery log: header (GENCTR u64 at 0, NUMREC u64 at 8, RECFMT u16 at 16) and the entries. */
    public static byte[] discovery(long genctr, List<DiscoveryEntry> entries) {
        byte[] a = new byte[DISCOVERY_HEADER_SIZE + DISCOVERY_ENTRY_SIZE * entries.size()];
        ByteBuffer b = Wire.le(a);
        b.putLong(0, genctr);
        b.putLong(8, entries.size());
        b.putShort(16, (short) 0);
        for (int i = 0; i < entries.size(); i++) {
            entries.get(i).encodeInto(a, DISCOVERY_HEADER_SIZE + DISCOVERY_ENTRY_SIZE * i);
        }
        return a;
    }

    public static long discoveryGenctr(byte[] a) {
        return Wire.le(a).getLong(0);
    }

    public static long discoveryNumrec(byte[] a) {
        return Wire.le(a).getLong(8);
    }
}
