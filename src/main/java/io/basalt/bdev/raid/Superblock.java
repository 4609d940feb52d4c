package io.basalt.bdev.raid;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * SPDK's RAID superblock ({@code struct raid_bdev_superblock} of module/bdev/raid/bdev_raid.h),
 * byte for byte, so that an array moves between SPDK and Basalt. Little-endian, stored from
 * block 0 of every member; member data starts at {@link #DATA_OFFSET_BYTES}.
 *
 * <pre>
 * offset size  field
 *      0    8  signature "SPDKRAID"
 *      8    2  version.major = 1
 *     10    2  version.minor = 0
 *     12    4  length = 256 + 64 * base_bdevs_size (bytes covered by the crc)
 *     16    4  crc (see {@link #crc})
 *     20    4  flags
 *     24   16  uuid of the array (RFC 4122 byte order, as libuuid's uuid_t)
 *     40   64  name, NUL-terminated
 *    104    8  raid_size (blocks)
 *    112    4  block_size (bytes)
 *    116    4  level: 0 raid0, 1 raid1, 95 (0x5f) raid5f, 99 concat
 *    120    4  strip_size (blocks; 0 for raid1)
 *    124    4  state (SPDK writes 0)
 *    128    8  seq_number, incremented on every write
 *    136    1  num_base_bdevs
 *    137  118  reserved
 *    255    1  base_bdevs_size (entries that follow)
 *    256 64*n  base_bdevs[n]:
 *                 0 16 uuid of the member bdev
 *                16  8 data_offset (blocks)
 *                24  8 data_size (blocks)
 *                32  4 state: 0 missing, 1 configured, 2 failed, 3 spare
 *                36  4 flags
 *                40  1 slot
 *                41 23 reserved
 * </pre>
 *
 * <p>A Basalt choice inside SPDK's format: state {@link SlotState#SPARE} marks the member a rebuild
 * is copying onto, so that a target restarted in the middle of a rebuild starts it again. SPDK
 * never writes SPARE and treats such a slot as not active (the array comes up degraded there).
 *
 * <p>Instances are plain mutable values owned by one array on the application reactor.
 */
public final class Superblock {
    public static final byte[] SIGNATURE = "SPDKRAID".getBytes(StandardCharsets.US_ASCII);
    public static final int VERSION_MAJOR = 1;
    public static final int VERSION_MINOR = 0;
    public static final int HEADER_SIZE = 256;
    public static final int SLOT_SIZE = 64;
    public static final int NAME_SIZE = 64;
    public static final int MAX_SLOTS = 255;
    /** Longest valid superblock (SPDK's RAID_BDEV_SB_MAX_LENGTH). */
    public static final int MAX_LENGTH = HEADER_SIZE + MAX_SLOTS * SLOT_SIZE;
    /** Member data starts here when the array has a superblock (RAID_BDEV_MIN_DATA_OFFSET_SIZE). */
    public static final int DATA_OFFSET_BYTES = 1024 * 1024;

    // ---- header offsets
    static final int OFF_SIGNATURE = 0;
    static final int OFF_VERSION_MAJOR = 8;
    static final int OFF_VERSION_MINOR = 10;
    static final int OFF_LENGTH = 12;
    static final int OFF_CRC = 16;
    static final int OFF_FLAGS = 20;
    static final int OFF_UUID = 24;
    static final int OFF_NAME = 40;
    static final int OFF_RAID_SIZE = 104;
    static final int OFF_BLOCK_SIZE = 112;
    static final int OFF_LEVEL = 116;
    static final int OFF_STRIP_SIZE = 120;
    static final int OFF_STATE = 124;
    static final int OFF_SEQ_NUMBER = 128;
    static final int OFF_NUM_BASE_BDEVS = 136;
    static final int OFF_BASE_BDEVS_SIZE = 255;
    // ---- slot entry offsets
    static final int SLOT_OFF_UUID = 0;
    static final int SLOT_OFF_DATA_OFFSET = 16;
    static final int SLOT_OFF_DATA_SIZE = 24;
    static final int SLOT_OFF_STATE = 32;
    static final int SLOT_OFF_FLAGS = 36;
    static final int SLOT_OFF_SLOT = 40;

    /** SPDK's raid_bdev_sb_base_bdev_state. */
    public enum SlotState {
        MISSING(0), CONFIGURED(1), FAILED(2), SPARE(3);

        final int code;

        SlotState(int code) {
            this.code = code;
        }

        static SlotState of(int code) {
            for (SlotState s : values()) {
                if (s.code == code) {
                    return s;
                }
            }
            return null;
        }
    }

    /** One base_bdevs entry. */
    public static final class Slot {
        public UUID uuid;
        public long dataOffset;
        public long dataSize;
        public SlotState state;
        public int flags;
        public int slot;

        public Slot(int slot, UUID uuid, long dataOffset, long dataSize, SlotState state) {
            this.slot = slot;
            this.uuid = uuid;
            this.dataOffset = dataOffset;
            this.dataSize = dataSize;
            this.state = state;
        }

        Slot copy() {
            Slot s = new Slot(slot, uuid, dataOffset, dataSize, state);
            s.flags = flags;
            return s;
        }

        @Override
        public String toString() {
            return "slot " + slot + " " + uuid + " " + state + " @" + dataOffset + "+" + dataSize;
        }
    }

    public int versionMinor = VERSION_MINOR;
    public int flags;
    public UUID uuid;
    public String name;
    public long raidSize;
    public int blockSize;
    public int level;
    public int stripSize;
    public int state;
    public long seqNumber;
    public int numBaseBdevs;
    /** The base_bdevs entries in stored order (not necessarily slot order). */
    public final List<Slot> slots = new ArrayList<>();

    public Superblock() {
    }

    public Superblock copy() {
        Superblock c = new Superblock();
        c.versionMinor = versionMinor;
        c.flags = flags;
        c.uuid = uuid;
        c.name = name;
        c.raidSize = raidSize;
        c.blockSize = blockSize;
        c.level = level;
        c.stripSize = stripSize;
        c.state = state;
        c.seqNumber = seqNumber;
        c.numBaseBdevs = numBaseBdevs;
        for (Slot s : slots) {
            c.slots.add(s.copy());
        }
        return c;
    }

    /** The entry for slot index {@code slot}, or null. */
    public Slot slot(int slot) {
        for (Slot s : slots) {
            if (s.slot == slot) {
                return s;
            }
        }
        return null;
    }

    /** The entry whose member uuid is {@code member}, or null. */
    public Slot slotOf(UUID member) {
        for (Slot s : slots) {
            if (member.equals(s.uuid)) {
                return s;
            }
        }
        return null;
    }

    /** Bytes the crc covers: 256 + 64 per entry. */
    public int length() {
        return HEADER_SIZE + SLOT_SIZE * slots.size();
    }

    /** Bytes written to a member: {@link #length()} rounded up to the block size (SPDK's sb_io_buf_size). */
    public static int ioSize(int length, int blockSize) {
        return (length + blockSize - 1) / blockSize * blockSize;
    }

    // ------------------------------------------------------------------ encode

    /** The superblock bytes ({@link #length()} of them) with the crc filled in. */
    public byte[] encode() {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length >= NAME_SIZE) {
            throw new IllegalArgumentException("raid name '" + name + "' takes more than " + (NAME_SIZE - 1) + " bytes");
        }
        if (slots.size() > MAX_SLOTS) {
            throw new IllegalArgumentException("at most " + MAX_SLOTS + " base bdev entries");
        }
        int len = length();
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        b.put(OFF_SIGNATURE, SIGNATURE);
        b.putShort(OFF_VERSION_MAJOR, (short) VERSION_MAJOR);
        b.putShort(OFF_VERSION_MINOR, (short) versionMinor);
        b.putInt(OFF_LENGTH, len);
        b.putInt(OFF_FLAGS, flags);
        putUuid(b, OFF_UUID, uuid);
        b.put(OFF_NAME, nameBytes);
        b.putLong(OFF_RAID_SIZE, raidSize);
        b.putInt(OFF_BLOCK_SIZE, blockSize);
        b.putInt(OFF_LEVEL, level);
        b.putInt(OFF_STRIP_SIZE, stripSize);
        b.putInt(OFF_STATE, state);
        b.putLong(OFF_SEQ_NUMBER, seqNumber);
        b.put(OFF_NUM_BASE_BDEVS, (byte) numBaseBdevs);
        b.put(OFF_BASE_BDEVS_SIZE, (byte) slots.size());
        int at = HEADER_SIZE;
        for (Slot s : slots) {
            putUuid(b, at + SLOT_OFF_UUID, s.uuid);
            b.putLong(at + SLOT_OFF_DATA_OFFSET, s.dataOffset);
            b.putLong(at + SLOT_OFF_DATA_SIZE, s.dataSize);
            b.putInt(at + SLOT_OFF_STATE, s.state.code);
            b.putInt(at + SLOT_OFF_FLAGS, s.flags);
            b.put(at + SLOT_OFF_SLOT, (byte) s.slot);
            at += SLOT_SIZE;
        }
        byte[] out = b.array();
        int crc = crc(out, len);
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(OFF_CRC, crc);
        return out;
    }

    private static void putUuid(ByteBuffer b, int at, UUID u) {
        long msb = u == null ? 0 : u.getMostSignificantBits();
        long lsb = u == null ? 0 : u.getLeastSignificantBits();
        // RFC 4122 byte order: the textual hex digits in sequence, i.e. big-endian halves.
        for (int i = 0; i < 8; i++) {
            b.put(at + i, (byte) (msb >>> (56 - 8 * i)));
            b.put(at + 8 + i, (byte) (lsb >>> (56 - 8 * i)));
        }
    }

    private static UUID getUuid(ByteBuffer b, int at) {
        long msb = 0;
        long lsb = 0;
        for (int i = 0; i < 8; i++) {
            msb = (msb << 8) | (b.get(at + i) & 0xFF);
            lsb = (lsb << 8) | (b.get(at + 8 + i) & 0xFF);
        }
        return new UUID(msb, lsb);
    }

    /** The all-zero uuid (SPDK's null uuid). */
    public static final UUID NULL_UUID = new UUID(0, 0);

    // ------------------------------------------------------------------ decode

    /** Why bytes are not a usable superblock. */
    public enum Invalid {
        /** No "SPDKRAID" at offset 0: the bdev carries no superblock (not worth a warning). */
        NO_SIGNATURE,
        /** Length field out of range or not matching the entries. */
        BAD_LENGTH,
        /** The crc does not match. */
        BAD_CRC,
        /** A major version Basalt does not know. */
        BAD_VERSION,
        /** A field out of range (level, block size, slots). */
        BAD_FIELD
    }

    /** Result of {@link #decode}: a superblock, or why there is none, with a message. */
    public record Parsed(Superblock sb, Invalid invalid, String reason) {
        public boolean valid() {
            return sb != null;
        }
    }

    /**
     * Parses the first {@code available} bytes of {@code data} (a read of the member's first
     * blocks). Checks, in SPDK's order, the signature, the length, the crc and the major version,
     * then the fields Basalt relies on.
     */
    public static Parsed decode(byte[] data, int available) {
        ByteBuffer b = ByteBuffer.wrap(data, 0, available).order(ByteOrder.LITTLE_ENDIAN);
        if (available < HEADER_SIZE
                || !Arrays.equals(data, OFF_SIGNATURE, OFF_SIGNATURE + SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length)) {
            return new Parsed(null, Invalid.NO_SIGNATURE, "no raid superblock signature");
        }
        long len = Integer.toUnsignedLong(b.getInt(OFF_LENGTH));
        if (len < HEADER_SIZE || len > MAX_LENGTH || len > available) {
            return new Parsed(null, Invalid.BAD_LENGTH, "superblock length " + len + " out of range");
        }
        int stored = b.getInt(OFF_CRC);
        int computed = crc(data, (int) len);
        if (stored != computed) {
            return new Parsed(null, Invalid.BAD_CRC, String.format("superblock crc 0x%08x does not match 0x%08x",
                    stored, computed));
        }
        int major = Short.toUnsignedInt(b.getShort(OFF_VERSION_MAJOR));
        if (major != VERSION_MAJOR) {
            return new Parsed(null, Invalid.BAD_VERSION, "superblock major version " + major + " is not supported");
        }
        Superblock sb = new Superblock();
        sb.versionMinor = Short.toUnsignedInt(b.getShort(OFF_VERSION_MINOR));
        sb.flags = b.getInt(OFF_FLAGS);
        sb.uuid = getUuid(b, OFF_UUID);
        int nameLen = 0;
        while (nameLen < NAME_SIZE && data[OFF_NAME + nameLen] != 0) {
            nameLen++;
        }
        if (nameLen == NAME_SIZE || nameLen == 0) {
            return new Parsed(null, Invalid.BAD_FIELD, "superblock name is empty or not NUL-terminated");
        }
        sb.name = new String(data, OFF_NAME, nameLen, StandardCharsets.UTF_8);
        sb.raidSize = b.getLong(OFF_RAID_SIZE);
        sb.blockSize = b.getInt(OFF_BLOCK_SIZE);
        sb.level = b.getInt(OFF_LEVEL);
        sb.stripSize = b.getInt(OFF_STRIP_SIZE);
        sb.state = b.getInt(OFF_STATE);
        sb.seqNumber = b.getLong(OFF_SEQ_NUMBER);
        sb.numBaseBdevs = Byte.toUnsignedInt(b.get(OFF_NUM_BASE_BDEVS));
        int entries = Byte.toUnsignedInt(b.get(OFF_BASE_BDEVS_SIZE));
        if (HEADER_SIZE + (long) SLOT_SIZE * entries > len) {
            return new Parsed(null, Invalid.BAD_LENGTH, "superblock length " + len + " is too short for "
                    + entries + " base bdev entries");
        }
        if (RaidLevel.ofCode(sb.level) == null) {
            return new Parsed(null, Invalid.BAD_FIELD, "unknown raid level " + sb.level);
        }
        int bs = sb.blockSize;
        if (bs < 512 || (bs & (bs - 1)) != 0) {
            return new Parsed(null, Invalid.BAD_FIELD, "block size " + Integer.toUnsignedString(bs) + " is invalid");
        }
        if (sb.numBaseBdevs == 0) {
            return new Parsed(null, Invalid.BAD_FIELD, "no base bdevs");
        }
        boolean[] seen = new boolean[256];
        int at = HEADER_SIZE;
        for (int i = 0; i < entries; i++) {
            int slot = Byte.toUnsignedInt(b.get(at + SLOT_OFF_SLOT));
            SlotState st = SlotState.of(b.getInt(at + SLOT_OFF_STATE));
            if (slot >= sb.numBaseBdevs || seen[slot] || st == null) {
                return new Parsed(null, Invalid.BAD_FIELD, "base bdev entry " + i + " has slot " + slot
                        + " / state " + b.getInt(at + SLOT_OFF_STATE) + " out of range");
            }
            seen[slot] = true;
            Slot s = new Slot(slot, getUuid(b, at + SLOT_OFF_UUID), b.getLong(at + SLOT_OFF_DATA_OFFSET),
                    b.getLong(at + SLOT_OFF_DATA_SIZE), st);
            s.flags = b.getInt(at + SLOT_OFF_FLAGS);
            sb.slots.add(s);
            at += SLOT_SIZE;
        }
        return new Parsed(sb, null, null);
    }

    // ------------------------------------------------------------------ crc

    /**
     * SPDK's superblock crc: {@code spdk_crc32c_update(sb, length, 0)} computed with the crc field
     * zeroed, i.e. CRC-32C (polynomial 0x82F63B78, reflected) with initial value 0 and no final
     * XOR. {@code java.util.zip.CRC32C} starts from ~0 and inverts its result, and has no way to
     * set either. The register is linear over GF(2) in (initial value, data), so
     * reg(0, d) = reg(~0, d) ^ reg(~0, zeroes) = java(d) ^ java(zeroes of |d|): two runs of the
     * intrinsic-backed library instead of a hand-written table.
     */
    static int crc(byte[] sb, int length) {
        byte[] z = new byte[length];
        System.arraycopy(sb, 0, z, 0, length);
        Arrays.fill(z, OFF_CRC, OFF_CRC + 4, (byte) 0);
        CRC32C data = new CRC32C();
        data.update(z, 0, length);
        long d = data.getValue();
        Arrays.fill(z, (byte) 0);
        CRC32C zeroes = new CRC32C();
        zeroes.update(z, 0, length);
        return (int) (d ^ zeroes.getValue());
    }

    @Override
    public String toString() {
        return "Superblock{" + name + " " + uuid + " level " + level + " seq " + seqNumber + " " + slots + "}";
    }
}
