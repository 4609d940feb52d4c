package io.basalt.nvme;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Active Namespace ID list, CNS 02h (NVMe Base Specification 1.4 section 5.15.2.3 and 4.8,
 * Figure 112): up to 1024 NSIDs (u32, little-endian) in increasing order, all greater than the
 * NSID of the command, zero-filled after the last.
 */
public final class NamespaceList {
    public static final int SIZE = 4096;
    public static final int MAX = 1024;

    private NamespaceList() {
    }

    /** Encodes the NSIDs of {@code sorted} greater than {@code above}, at most 1024. */
    public static byte[] encode(int[] sorted, int above) {
        byte[] a = new byte[SIZE];
        ByteBuffer b = Wire.le(a);
        int k = 0;
        for (int id : sorted) {
            if (Integer.compareUnsigned(id, above) > 0 && k < MAX) {
                b.putInt(4 * k++, id);
            }
        }
        return a;
    }

    public static List<Integer> decode(byte[] a) {
        ByteBuffer b = Wire.le(a);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < Math.min(MAX, a.length / 4); i++) {
            int id = b.getInt(4 * i);
            if (id == 0) {
                break;
            }
            out.add(id);
        }
        return out;
    }
}
