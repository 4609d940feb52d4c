package io.basalt.nvme;

import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * The 1024 bytes of data a Fabrics Connect command carries (NVMe over Fabrics 1.1 section
 * 3.3, Figure 20):
 *
 * <pre>
 *    0 HOSTID[16]   16 CNTLID u16 (FFFFh: any controller, a new one under the dynamic model)
 *  256 SUBNQN[256] (NUL-terminated)   512 HOSTNQN[256]   768 reserved[256]
 * </pre>
 */
public record ConnectData(UUID hostId, int cntlid, String subnqn, String hostnqn) {
    public static final int SIZE = 1024;
    public static final int CNTLID_DYNAMIC = 0xFFFF;
    /** Byte offsets, reported in Connect Invalid Parameters (IPO) when a field is refused. */
    public static final int OFFSET_CNTLID = 16;
    public static final int OFFSET_SUBNQN = 256;
    public static final int OFFSET_HOSTNQN = 512;
    public static final int NQN_FIELD = 256;
    /** Longest NQN (NVMe Base Specification 1.4 section 7.9): 223 bytes. */
    public static final int NQN_MAX = 223;

    public byte[] encode() {
        byte[] a = new byte[SIZE];
        System.arraycopy(Wire.uuidBytes(hostId), 0, a, 0, 16);
        Wire.le(a).putShort(16, (short) cntlid);
        Wire.putString(a, OFFSET_SUBNQN, NQN_FIELD, subnqn, (byte) 0);
        Wire.putString(a, OFFSET_HOSTNQN, NQN_FIELD, hostnqn, (byte) 0);
        return a;
    }

    /** Decodes; returns null if an NQN field has no terminating NUL (reported with its offset by the caller). */
    public static ConnectData decode(byte[] a) {
        ByteBuffer b = Wire.le(a);
        return new ConnectData(Wire.uuidOf(a, 0), b.getShort(16) & 0xFFFF, Wire.getString(a, OFFSET_SUBNQN, NQN_FIELD),
                Wire.getString(a, OFFSET_HOSTNQN, NQN_FIELD));
    }

    /** True if the NQN field at {@code off} is NUL-terminated within its 256 bytes. */
    public static boolean terminated(byte[] a, int off) {
        for (int i = off; i < off + NQN_FIELD; i++) {
            if (a[i] == 0) {
                return true;
            }
        }
        return false;
    }

    /** Connect response DW0 for Invalid Parameters: IPO 15:0 (byte offset), IATTR 23:16 (0 = SQE, 1 = data). */
    public static int invalidParameterDw0(boolean inData, int offset) {
        return (offset & 0xFFFF) | (inData ? 1 : 0) << 16;
    }

    /** The NQN a host uses when none is configured: the UUID-based form (section 7.9). */
    public static String uuidNqn(UUID u) {
        return "nqn.2014-08.org.nvmexpress:uuid:" + u;
    }

    public static final String DISCOVERY_NQN = "nqn.2014-08.org.nvmexpress.discovery";
}
