package io.basalt.nvme;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

/** Little-endian helpers for the fixed-size admin data structures (identify, log pages). */
public final class Wire {
    private Wire() {
    }

    public static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Writes {@code s} as ASCII at {@code off}, padded with {@code pad} to {@code len} bytes (truncated if longer). */
    public static void putString(byte[] b, int off, int len, String s, byte pad) {
        byte[] v = s == null ? new byte[0] : s.getBytes(StandardCharsets.US_ASCII);
        int n = Math.min(v.length, len);
        System.arraycopy(v, 0, b, off, n);
        Arrays.fill(b, off + n, off + len, pad);
    }

    /** Reads an ASCII field, dropping trailing spaces and NULs. */
    public static String getString(byte[] b, int off, int len) {
        int end = off + len;
        int nul = off;
        while (nul < end && b[nul] != 0) {
            nul++;
        }
        end = nul;
        while (end > off && b[end - 1] == ' ') {
            end--;
        }
        return new String(b, off, end - off, StandardCharsets.US_ASCII);
    }

    /** A UUID as its 16 bytes in network (big-endian) order, as NVMe's UUID and NGUID fields hold them. */
    public static byte[] uuidBytes(UUID u) {
        ByteBuffer b = ByteBuffer.allocate(16);
        b.putLong(u.getMostSignificantBits());
        b.putLong(u.getLeastSignificantBits());
        return b.array();
    }

    public static UUID uuidOf(byte[] b, int off) {
        ByteBuffer v = ByteBuffer.wrap(b, off, 16);
        return new UUID(v.getLong(), v.getLong());
    }

    public static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    public static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02X", x & 0xFF));
        }
        return sb.toString();
    }

    /** Parses a hex string of exactly {@code bytes} bytes (dashes and colons ignored); null if malformed. */
    public static byte[] parseHex(String s, int bytes) {
        String h = s.replace("-", "").replace(":", "");
        if (h.length() != bytes * 2) {
            return null;
        }
        byte[] out = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            int hi = Character.digit(h.charAt(2 * i), 16);
            int lo = Character.digit(h.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                return null;
            }
            out[i] = (byte) (hi << 4 | lo);
        }
        return out;
    }
}
