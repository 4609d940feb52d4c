package io.basalt.blob;

import java.lang.foreign.MemorySegment;
import java.util.UUID;

import static io.basalt.blob.MdFormat.U16;
import static io.basalt.blob.MdFormat.U32;
import static io.basalt.blob.MdFormat.U64;

/**
 * The root of a committed blobstore state: written alternately to slot A (page 0) and slot B
 * (page 1); the valid slot with the higher generation is the store. Layout (little-endian):
 *
 * <pre>
 * offset size field
 *   0     8   magic "BASALTBS"
 *   8     2   format version major (1): a reader refuses a major it does not know
 *  10     2   format version minor (0): additions a version-1 reader may ignore
 *  12     4   CRC32C of the whole page with this field 0
 *  16     8   generation: +1 per commit; slot = generation mod 2
 *  24    16   store uuid (most significant byte first)
 *  40     4   metadata page size in bytes
 *  44     4   device block size in bytes when formatted
 *  48     8   cluster size in bytes
 *  56     8   first page of the metadata region (2)
 *  64     8   metadata region length in pages
 *  72     8   data region offset in bytes (a multiple of the cluster size)
 *  80     8   data clusters (grows with bdev_lvol_grow_lvstore)
 *  88     8   next blob id to hand out
 *  96     8   super blob id (0 = none)
 * 104     4   blob table page count T
 * 108     4   reserved, 0
 * 112   4*T   blob table page numbers (u32)
 * </pre>
 */
record RootRecord(long generation, UUID uuid, int pageSize, int blockSize, long clusterSize, long mdFirstPage,
                  long mdPages, long dataOffset, long dataClusters, long nextBlobId, long superBlobId,
                  int[] tablePages) {
    static final long MAGIC = 0x5342544c41534142L; // "BASALTBS" little-endian
    static final int MAJOR = 1;
    static final int MINOR = 0;
    static final int TABLE_OFFSET = 112;
    /** The uuid is stored as its 16 bytes in the usual (big-endian) order. */
    private static final java.lang.foreign.ValueLayout.OfLong UUID_HALF =
            java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);

    /** Most blob table pages a root can list with this page size. */
    static int maxTablePages(int pageSize) {
        return (pageSize - TABLE_OFFSET) / 4;
    }

    RootRecord withGeneration(long g, int[] tables, long nextId, long superId, long clusters) {
        return new RootRecord(g, uuid, pageSize, blockSize, clusterSize, mdFirstPage, mdPages, dataOffset, clusters,
                nextId, superId, tables);
    }

    void encode(MemorySegment p) {
        p.asSlice(0, pageSize).fill((byte) 0);
        p.set(U64, 0, MAGIC);
        p.set(U16, 8, (short) MAJOR);
        p.set(U16, 10, (short) MINOR);
        p.set(U64, 16, generation);
        p.set(UUID_HALF, 24, uuid.getMostSignificantBits());
        p.set(UUID_HALF, 32, uuid.getLeastSignificantBits());
        p.set(U32, 40, pageSize);
        p.set(U32, 44, blockSize);
        p.set(U64, 48, clusterSize);
        p.set(U64, 56, mdFirstPage);
        p.set(U64, 64, mdPages);
        p.set(U64, 72, dataOffset);
        p.set(U64, 80, dataClusters);
        p.set(U64, 88, nextBlobId);
        p.set(U64, 96, superBlobId);
        p.set(U32, 104, tablePages.length);
        for (int i = 0; i < tablePages.length; i++) {
            p.set(U32, TABLE_OFFSET + 4L * i, tablePages[i]);
        }
        p.set(U32, 12, MdFormat.crc(p, pageSize, 12));
    }

    /** What a root slot holds. */
    sealed interface Slot permits Empty, Corrupt, Valid {
    }

    /** No blobstore magic: the slot never held a root (or was wiped). */
    record Empty() implements Slot {
    }

    /** The magic is there but the slot is unusable (torn write, other version, damage). */
    record Corrupt(String reason) implements Slot {
    }

    record Valid(RootRecord root) implements Slot {
    }

    /**
     * Decodes a slot read from page {@code slot}. The page size is not known before the first
     * read, so the slot is checked with the page size it states, which must be at least 4096,
     * a power of two, and at most {@code available} bytes (what was read).
     */
    static Slot decode(MemorySegment p, int available, int slot) {
        if (p.get(U64, 0) != MAGIC) {
            return new Empty();
        }
        int major = Short.toUnsignedInt(p.get(U16, 8));
        if (major != MAJOR) {
            return new Corrupt("root slot " + slot + " has format version " + major + "."
                    + Short.toUnsignedInt(p.get(U16, 10)) + "; this Basalt reads version " + MAJOR);
        }
        int pageSize = p.get(U32, 40);
        if (pageSize < MdFormat.MIN_PAGE_SIZE || Integer.bitCount(pageSize) != 1 || pageSize > available) {
            return new Corrupt("root slot " + slot + " states page size " + Integer.toUnsignedString(pageSize));
        }
        int stored = p.get(U32, 12);
        int actual = MdFormat.crc(p, pageSize, 12);
        if (stored != actual) {
            return new Corrupt(String.format("root slot %d: CRC32C 0x%08x stored, 0x%08x computed", slot, stored,
                    actual));
        }
        int count = p.get(U32, 104);
        if (count < 0 || count > maxTablePages(pageSize)) {
            return new Corrupt("root slot " + slot + " lists " + Integer.toUnsignedString(count) + " table pages");
        }
        int[] tables = new int[count];
        for (int i = 0; i < count; i++) {
            tables[i] = p.get(U32, TABLE_OFFSET + 4L * i);
        }
        RootRecord r = new RootRecord(p.get(U64, 16), new UUID(p.get(UUID_HALF, 24), p.get(UUID_HALF, 32)), pageSize,
                p.get(U32, 44), p.get(U64, 48), p.get(U64, 56), p.get(U64, 64), p.get(U64, 72), p.get(U64, 80),
                p.get(U64, 88), p.get(U64, 96), tables);
        String bad = r.geometryError();
        return bad == null ? new Valid(r) : new Corrupt("root slot " + slot + ": " + bad);
    }

    /** Internal consistency of the fields (not against a device); null when sound. */
    String geometryError() {
        if (blockSize < 512 || Integer.bitCount(blockSize) != 1 || blockSize > pageSize) {
            return "block size " + blockSize + " is not a power of two between 512 and the page size";
        }
        if (clusterSize < pageSize || clusterSize % pageSize != 0) {
            return "cluster size " + clusterSize + " is not a multiple of the page size " + pageSize;
        }
        if (mdFirstPage != 2 || mdPages < 1 || mdPages > 0xFFFF_FFFFL - 2) {
            return "metadata region [" + mdFirstPage + ", +" + mdPages + ") is invalid";
        }
        if (dataOffset < (mdFirstPage + mdPages) * pageSize || dataOffset % clusterSize != 0) {
            return "data region offset " + dataOffset + " overlaps the metadata or is not cluster aligned";
        }
        if (dataClusters < 0 || dataClusters > Integer.MAX_VALUE - 1) {
            return "data cluster count " + dataClusters + " out of range";
        }
        if (generation < 1 || nextBlobId < 1 || superBlobId < 0) {
            return "generation " + generation + " / next blob id " + nextBlobId + " invalid";
        }
        return null;
    }
}
