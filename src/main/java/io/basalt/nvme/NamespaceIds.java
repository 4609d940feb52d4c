package io.basalt.nvme;

import java.util.Arrays;
import java.util.UUID;

/**
 * The identity of a namespace: NGUID (16 bytes), EUI-64 (8 bytes) and UUID, as hosts compare them
 * to recognise a namespace that came back; and the Namespace Identification Descriptor list,
 * CNS 03h (NVMe Base Specification 1.4 section 5.15.2.4, Figures 249-250): 4096 bytes of
 * descriptors, each NIDT u8, NIDL u8, 2 reserved bytes, then NIDL bytes of identifier; a zero
 * NIDT ends the list. All-zero identifiers are not reported.
 *
 * @param nguid 16 bytes (zeroes = none)
 * @param eui64 8 bytes (zeroes = none)
 * @param uuid  null = none
 */
public record NamespaceIds(byte[] nguid, byte[] eui64, UUID uuid) {
    public static final int SIZE = 4096;
    public static final int NIDT_EUI64 = 1;
    public static final int NIDT_NGUID = 2;
    public static final int NIDT_UUID = 3;
    public static final int NIDT_CSI = 4;

    public NamespaceIds {
        if (nguid == null || nguid.length != 16 || eui64 == null || eui64.length != 8) {
            throw new IllegalArgumentException("NGUID is 16 bytes and EUI-64 8 bytes");
        }
        nguid = nguid.clone();
        eui64 = eui64.clone();
        if (uuid != null && uuid.getMostSignificantBits() == 0 && uuid.getLeastSignificantBits() == 0) {
            uuid = null;
        }
    }

    @Override
    public byte[] nguid() {
        return nguid.clone();
    }

    @Override
    public byte[] eui64() {
        return eui64.clone();
    }

    public boolean hasNguid() {
        return !Wire.allZero(nguid);
    }

    public boolean hasEui64() {
        return !Wire.allZero(eui64);
    }

    /**
     * Whether {@code o} names the same namespace: every identifier both report is equal, and they
     * share at least one.
     */
    public boolean sameNamespace(NamespaceIds o) {
        boolean shared = false;
        if (hasNguid() && o.hasNguid()) {
            if (!Arrays.equals(nguid, o.nguid)) {
                return false;
            }
            shared = true;
        }
        if (hasEui64() && o.hasEui64()) {
            if (!Arrays.equals(eui64, o.eui64)) {
                return false;
            }
            shared = true;
        }
        if (uuid != null && o.uuid != null) {
            if (!uuid.equals(o.uuid)) {
                return false;
            }
            shared = true;
        }
        return shared;
    }

    /** The descriptor list: EUI-64, NGUID, UUID (those present), then the command set identifier (NVM = 0). */
    public byte[] encodeDescriptors() {
        byte[] a = new byte[SIZE];
        int at = 0;
        if (hasEui64()) {
            at = put(a, at, NIDT_EUI64, eui64);
        }
        if (hasNguid()) {
            at = put(a, at, NIDT_NGUID, nguid);
        }
        if (uuid != null) {
            at = put(a, at, NIDT_UUID, Wire.uuidBytes(uuid));
        }
        put(a, at, NIDT_CSI, new byte[1]);
        return a;
    }

    private static int put(byte[] a, int at, int type, byte[] id) {
        a[at] = (byte) type;
        a[at + 1] = (byte) id.length;
        System.arraycopy(id, 0, a, at + 4, id.length);
        return at + 4 + id.length;
    }

    /** Parses a descriptor list; unknown descriptor types are skipped. */
    public static NamespaceIds decodeDescriptors(byte[] a) {
        byte[] nguid = new byte[16];
        byte[] eui = new byte[8];
        UUID uuid = null;
        int at = 0;
        while (at + 4 <= a.length) {
            int type = a[at] & 0xFF;
            int len = a[at + 1] & 0xFF;
            if (type == 0 || at + 4 + len > a.length) {
                break;
            }
            switch (type) {
                case NIDT_EUI64 -> {
                    if (len == 8) {
                        System.arraycopy(a, at + 4, eui, 0, 8);
                    }
                }
                case NIDT_NGUID -> {
                    if (len == 16) {
                        System.arraycopy(a, at + 4, nguid, 0, 16);
                    }
                }
                case NIDT_UUID -> {
                    if (len == 16) {
                        uuid = Wire.uuidOf(a, at + 4);
                    }
                }
                default -> {
                }
            }
            at += 4 + len;
        }
        return new NamespaceIds(nguid, eui, uuid);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NamespaceIds n && Arrays.equals(nguid, n.nguid) && Arrays.equals(eui64, n.eui64)
                && java.util.Objects.equals(uuid, n.uuid);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(nguid) * 31 + Arrays.hashCode(eui64) + java.util.Objects.hashCode(uuid);
    }

    @Override
    public String toString() {
        return "NamespaceIds{nguid=" + Wire.hex(nguid) + ", eui64=" + Wire.hex(eui64) + ", uuid=" + uuid + "}";
    }
}
