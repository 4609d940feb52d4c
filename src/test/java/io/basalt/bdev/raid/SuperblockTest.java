package io.basalt.bdev.raid;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The superblock codec against bytes laid out by hand from SPDK's struct raid_bdev_superblock
 * (module/bdev/raid/bdev_raid.h) and checksummed with SPDK's own table algorithm
 * (lib/util/crc32.c: spdk_crc32_table_init with the reflected polynomial, spdk_crc32_update),
 * called as raid_bdev_sb_update_crc does: crc field zeroed, initial value 0, no final XOR.
 */
class SuperblockTest {
    private static final UUID RAID = UUID.fromString("fffd82df-c882-4fe5-bebc-9e05c01fad00");
    private static final UUID M0 = UUID.fromString("11111111-2222-3333-4444-555555555555");
    private static final UUID M1 = UUID.fromString("66666666-7777-8888-9999-aaaaaaaaaaaa");

    /** SPDK's spdk_crc32_table_init(SPDK_CRC32C_POLYNOMIAL_REFLECT) + spdk_crc32_update, byte by byte. */
    static int spdkCrc32cUpdate(byte[] buf, int len, int crc) {
        int[] table = new int[256];
        for (int i = 0; i < 256; i++) {
            int val = i;
            for (int j = 0; j < 8; j++) {
                val = (val & 1) != 0 ? (val >>> 1) ^ 0x82F63B78 : val >>> 1;
            }
            table[i] = val;
        }
        for (int i = 0; i < len; i++) {
            crc = (crc >>> 8) ^ table[(crc ^ buf[i]) & 0xff];
        }
        return crc;
    }

    private static void uuid(ByteBuffer b, int at, UUID u) {
        // spdk_uuid is libuuid's uuid_t: the 16 bytes in the order the text shows them.
        byte[] raw = HexFormat.of().parseHex(u.toString().replace("-", ""));
        b.put(at, raw);
    }

    /** A raid1 superblock of two members, field by field at SPDK's offsets. */
    static byte[] spdkBytes(long seq, int crcOverride) {
        int len = 256 + 2 * 64;
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, "SPDKRAID".getBytes(StandardCharsets.US_ASCII));
        b.putShort(8, (short) 1);
        b.putShort(10, (short) 0);
        b.putInt(12, len);
        b.putInt(16, 0);
        b.putInt(20, 0);
        uuid(b, 24, RAID);
        b.put(40, "mir0".getBytes(StandardCharsets.US_ASCII));
        b.putLong(104, 129024);
        b.putInt(112, 4096);
        b.putInt(116, 1);
        b.putInt(120, 0);
        b.putInt(124, 0);
        b.putLong(128, seq);
        b.put(136, (byte) 2);
        b.put(255, (byte) 2);
        uuid(b, 256, M0);
        b.putLong(256 + 16, 256);
        b.putLong(256 + 24, 129024);
        b.putInt(256 + 32, 1);
        b.putInt(256 + 36, 0);
        b.put(256 + 40, (byte) 0);
        uuid(b, 320, M1);
        b.putLong(320 + 16, 256);
        b.putLong(320 + 24, 129024);
        b.putInt(320 + 32, 2);
        b.put(320 + 40, (byte) 1);
        byte[] out = b.array();
        int crc = crcOverride != 0 ? crcOverride : spdkCrc32cUpdate(out, len, 0);
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(16, crc);
        return out;
    }

    private static Superblock ours(long seq) {
        Superblock sb = new Superblock();
        sb.uuid = RAID;
        sb.name = "mir0";
        sb.raidSize = 129024;
        sb.blockSize = 4096;
        sb.level = RaidLevel.RAID1.code;
        sb.stripSize = 0;
        sb.seqNumber = seq;
        sb.numBaseBdevs = 2;
        sb.slots.add(new Superblock.Slot(0, M0, 256, 129024, Superblock.SlotState.CONFIGURED));
        sb.slots.add(new Superblock.Slot(1, M1, 256, 129024, Superblock.SlotState.FAILED));
        return sb;
    }

    @Test
    void encodesSpdksLayoutByteForByte() {
        byte[] expected = spdkBytes(7, 0);
        assertThat(ours(7).encode()).isEqualTo(expected);
    }

    @Test
    void crcIsSpdksConventionNotJavasCrc32c() {
        byte[] data = "123456789".getBytes(StandardCharsets.US_ASCII);
        byte[] withField = new byte[20 + data.length];
        System.arraycopy(data, 0, withField, 20, data.length);
        // Superblock.crc zeroes bytes 16..19 itself; the rest must match SPDK's update from 0.
        assertThat(Superblock.crc(withField, withField.length)).isEqualTo(spdkCrc32cUpdate(withField, withField.length, 0));
        var j = new java.util.zip.CRC32C();
        j.update(withField);
        assertThat(Superblock.crc(withField, withField.length)).isNotEqualTo((int) j.getValue());
        // The standard CRC-32C check value comes out of SPDK's algorithm with the usual pre/post inversion.
        assertThat(~spdkCrc32cUpdate(data, data.length, ~0)).isEqualTo(0xE3069283);
        // A fixed vector of the convention itself: the SPDK superblock above, checksummed.
        byte[] sb = spdkBytes(7, 0);
        int stored = ByteBuffer.wrap(sb).order(ByteOrder.LITTLE_ENDIAN).getInt(16);
        assertThat(stored).isEqualTo(Superblock.crc(sb, sb.length));
    }

    @Test
    void decodesSpdksBytes() {
        byte[] raw = spdkBytes(42, 0);
        byte[] block = new byte[4096];
        System.arraycopy(raw, 0, block, 0, raw.length);
        Superblock.Parsed p = Superblock.decode(block, block.length);
        assertThat(p.valid()).as(p.reason()).isTrue();
        Superblock sb = p.sb();
        assertThat(sb.uuid).isEqualTo(RAID);
        assertThat(sb.name).isEqualTo("mir0");
        assertThat(sb.raidSize).isEqualTo(129024);
        assertThat(sb.blockSize).isEqualTo(4096);
        assertThat(sb.level).isEqualTo(1);
        assertThat(sb.seqNumber).isEqualTo(42);
        assertThat(sb.numBaseBdevs).isEqualTo(2);
        assertThat(sb.slots).hasSize(2);
        assertThat(sb.slot(0).uuid).isEqualTo(M0);
        assertThat(sb.slot(0).dataOffset).isEqualTo(256);
        assertThat(sb.slot(0).dataSize).isEqualTo(129024);
        assertThat(sb.slot(0).state).isEqualTo(Superblock.SlotState.CONFIGURED);
        assertThat(sb.slot(1).uuid).isEqualTo(M1);
        assertThat(sb.slot(1).state).isEqualTo(Superblock.SlotState.FAILED);
        assertThat(sb.slotOf(M1).slot).isEqualTo(1);
        // And back: the same bytes.
        assertThat(sb.encode()).isEqualTo(raw);
    }

    @Test
    void rejectsWhatSpdkRejects() {
        byte[] zeroes = new byte[4096];
        assertThat(Superblock.decode(zeroes, zeroes.length).invalid()).isEqualTo(Superblock.Invalid.NO_SIGNATURE);

        byte[] badCrc = spdkBytes(1, 0x12345678);
        assertThat(Superblock.decode(badCrc, badCrc.length).invalid()).isEqualTo(Superblock.Invalid.BAD_CRC);
        assertThat(Superblock.decode(badCrc, badCrc.length).reason()).contains("0x12345678");

        byte[] flipped = spdkBytes(1, 0);
        flipped[300] ^= 1;
        assertThat(Superblock.decode(flipped, flipped.length).invalid()).isEqualTo(Superblock.Invalid.BAD_CRC);

        byte[] major = spdkBytes(1, 0);
        ByteBuffer.wrap(major).order(ByteOrder.LITTLE_ENDIAN).putShort(8, (short) 2);
        fixCrc(major);
        assertThat(Superblock.decode(major, major.length).invalid()).isEqualTo(Superblock.Invalid.BAD_VERSION);

        byte[] longer = spdkBytes(1, 0);
        ByteBuffer.wrap(longer).order(ByteOrder.LITTLE_ENDIAN).putInt(12, Superblock.MAX_LENGTH + 64);
        assertThat(Superblock.decode(longer, longer.length).invalid()).isEqualTo(Superblock.Invalid.BAD_LENGTH);

        byte[] truncated = spdkBytes(1, 0);
        assertThat(Superblock.decode(truncated, 300).invalid()).isEqualTo(Superblock.Invalid.BAD_LENGTH);

        byte[] level = spdkBytes(1, 0);
        ByteBuffer.wrap(level).order(ByteOrder.LITTLE_ENDIAN).putInt(116, 6);
        fixCrc(level);
        assertThat(Superblock.decode(level, level.length).invalid()).isEqualTo(Superblock.Invalid.BAD_FIELD);

        byte[] slot = spdkBytes(1, 0);
        slot[320 + 40] = 5;
        fixCrc(slot);
        assertThat(Superblock.decode(slot, slot.length).invalid()).isEqualTo(Superblock.Invalid.BAD_FIELD);
    }

    @Test
    void newerMinorVersionsAreRead() {
        byte[] minor = spdkBytes(3, 0);
        ByteBuffer.wrap(minor).order(ByteOrder.LITTLE_ENDIAN).putShort(10, (short) 4);
        fixCrc(minor);
        Superblock.Parsed p = Superblock.decode(minor, minor.length);
        assertThat(p.valid()).isTrue();
        assertThat(p.sb().versionMinor).isEqualTo(4);
    }

    @Test
    void ioSizeIsLengthRoundedUpToBlocks() {
        assertThat(Superblock.ioSize(384, 512)).isEqualTo(512);
        assertThat(Superblock.ioSize(384, 4096)).isEqualTo(4096);
        assertThat(Superblock.ioSize(Superblock.MAX_LENGTH, 512)).isEqualTo(16896);
        assertThat(Superblock.MAX_LENGTH).isEqualTo(16576);
    }

    private static void fixCrc(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        bb.putInt(16, 0);
        bb.putInt(16, spdkCrc32cUpdate(b, bb.getInt(12), 0));
    }
}
