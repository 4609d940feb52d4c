package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Shared pieces of the blobstore's on-disk format (docs/FORMATS.md, "Blobstore"): little-endian
 * field access, the CRC32C of a page, and the 32-byte header every metadata page except the root
 * slots starts with:
 *
 * <pre>
 * offset size field
 *   0     4   type magic: "BTBL" table, "BHED" blob head, "BEXT" extent, "BXAT" xattr continuation
 *   4     2   format version (1)
 *   6     2   reserved, 0
 *   8     4   CRC32C (java.util.zip.CRC32C: init ~0, final ~0) of the whole page with this field 0
 *  12     4   payload bytes used after the header
 *  16     8   generation of the commit that wrote the page
 *  24     8   owner: blob id (0 for table pages)
 * </pre>
 *
 * A page is only ever written to space no durable root references (copy-on-write), so a torn page
 * write can only hit a page that is not yet part of the store; the CRC and the owner and
 * generation fields catch a page that is not what its referrer expects (corruption, a bug).
 */
final class MdFormat {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Smallest metadata page; the page is max(this, device block size). */
    static final int MIN_PAGE_SIZE = 4096;
    static final int VERSION = 1;
    static final int PAGE_HEADER = 32;
    static final int CRC_OFFSET = 8;

    static final int TYPE_TABLE = magic("BTBL");
    static final int TYPE_HEAD = magic("BHED");
    static final int TYPE_EXTENT = magic("BEXT");
    static final int TYPE_XATTR = magic("BXAT");

    private MdFormat() {
    }

    /** Four ASCII characters as the little-endian int whose bytes they are on disk. */
    static int magic(String s) {
        return (s.charAt(0) & 0xFF) | (s.charAt(1) & 0xFF) << 8 | (s.charAt(2) & 0xFF) << 16 | (s.charAt(3) & 0xFF) << 24;
    }

    static String magicText(int m) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            int c = (m >>> (8 * i)) & 0xFF;
            sb.append(c >= 0x20 && c < 0x7F ? (char) c : '?');
        }
        return sb.toString();
    }

    static int crc(MemorySegment page, int pageSize, int crcOffset) {
        int saved = page.get(U32, crcOffset);
        page.set(U32, crcOffset, 0);
        CRC32C c = new CRC32C();
        c.update(page.asSlice(0, pageSize).asByteBuffer());
        page.set(U32, crcOffset, saved);
        return (int) c.getValue();
    }

    /** Clears the page and writes a header (CRC filled in by {@link #seal}). */
    static void header(MemorySegment page, int pageSize, int type, int payload, long generation, long owner) {
        page.asSlice(0, pageSize).fill((byte) 0);
        page.set(U32, 0, type);
        page.set(U16, 4, (short) VERSION);
        page.set(U32, 12, payload);
        page.set(U64, 16, generation);
        page.set(U64, 24, owner);
    }

    static void seal(MemorySegment page, int pageSize) {
        page.set(U32, CRC_OFFSET, crc(page, pageSize, CRC_OFFSET));
    }

    /**
     * Checks a metadata page read from {@code pageNo}: its type, version, CRC, owner and that it is
     * not newer than the root that references it. -EILSEQ naming the page and what was found.
     */
    static void check(MemorySegment page, int pageSize, long pageNo, int type, long owner, long maxGeneration) {
        int t = page.get(U32, 0);
        if (t != type) {
            throw corrupt("metadata page " + pageNo + ": expected a " + magicText(type) + " page, found type bytes '"
                    + magicText(t) + "'");
        }
        int v = Short.toUnsignedInt(page.get(U16, 4));
        if (v != VERSION) {
            throw corrupt("metadata page " + pageNo + " (" + magicText(type) + "): format version " + v
                    + ", this Basalt reads version " + VERSION);
        }
        int stored = page.get(U32, CRC_OFFSET);
        int actual = crc(page, pageSize, CRC_OFFSET);
        if (stored != actual) {
            throw corrupt(String.format("metadata page %d (%s): CRC32C 0x%08x stored, 0x%08x computed", pageNo,
                    magicText(type), stored, actual));
        }
        long o = page.get(U64, 24);
        if (o != owner) {
            throw corrupt("metadata page " + pageNo + " (" + magicText(type) + ") belongs to blob " + o
                    + ", expected " + owner);
        }
        long g = page.get(U64, 16);
        if (g > maxGeneration) {
            throw corrupt("metadata page " + pageNo + " (" + magicText(type) + ") has generation " + g
                    + ", newer than its root (" + maxGeneration + ")");
        }
        int payload = page.get(U32, 12);
        if (payload < 0 || payload > pageSize - PAGE_HEADER) {
            throw corrupt("metadata page " + pageNo + " (" + magicText(type) + "): payload length " + payload
                    + " out of range");
        }
    }

    static BasaltException corrupt(String what) {
        return new BasaltException(Errno.EILSEQ, "blobstore metadata is corrupt: " + what);
    }
}
