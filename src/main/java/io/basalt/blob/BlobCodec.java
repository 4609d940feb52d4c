package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.SortedMap;
import java.util.TreeMap;

import static io.basalt.blob.MdFormat.PAGE_HEADER;
import static io.basalt.blob.MdFormat.U32;
import static io.basalt.blob.MdFormat.U64;

/**
 * Codecs of the metadata pages below the root (each after the 32-byte header of {@link MdFormat}).
 *
 * <p>Blob table page ("BTBL", owner 0): {@code (pageSize - 32) / 16} entries of
 * <pre>
 *   0  8  blob id (0 = free entry)
 *   8  4  page number of the blob's head page
 *  12  4  reserved, 0
 * </pre>
 *
 * <p>Blob head page ("BHED", owner = blob id):
 * <pre>
 *  32  8  size in clusters N
 *  40  4  flags: 1 thin, 2 read-only, 4 snapshot
 *  44  4  extent page count X = ceil(N / entries per extent page)
 *  48  8  parent blob id (0 = none)
 *  56  4  xattr stream length L in bytes
 *  60  4  xattr continuation page count Y
 *  64 4*X extent page numbers (0 = every cluster of that extent unallocated, no page)
 *     4*Y xattr continuation page numbers
 *         the first bytes of the xattr stream, the rest in the continuation pages in order
 * </pre>
 * xattr stream: u32 count, then per attribute (sorted by name) u16 name length, name (UTF-8),
 * u32 value length, value (UTF-8).
 *
 * <p>Extent page ("BEXT", owner = blob id): at 32 u32 extent index, u32 reserved, then at 40
 * {@code (pageSize - 40) / 4} u32 entries: device cluster + 1 (0 = unallocated).
 *
 * <p>Xattr continuation page ("BXAT", owner = blob id): the next payload-length bytes of the
 * stream at 32.
 */
final class BlobCodec {
    static final int HEAD_FIXED = 64;
    static final int EXTENT_ENTRIES_AT = 40;
    /** Longest xattr name and value, in UTF-8 bytes. */
    static final int MAX_XATTR_NAME = 255;
    static final int MAX_XATTR_VALUE = 65536;

    private BlobCodec() {
    }

    static int tableEntries(int pageSize) {
        return (pageSize - PAGE_HEADER) / 16;
    }

    static int extentEntries(int pageSize) {
        return (pageSize - EXTENT_ENTRIES_AT) / 4;
    }

    // ------------------------------------------------------------------ table

    static void encodeTable(MemorySegment p, int pageSize, long gen, long[] ids, int[] heads, int from) {
        int n = tableEntries(pageSize);
        MdFormat.header(p, pageSize, MdFormat.TYPE_TABLE, n * 16, gen, 0);
        for (int i = 0; i < n; i++) {
            p.set(U64, PAGE_HEADER + 16L * i, ids[from + i]);
            p.set(U32, PAGE_HEADER + 16L * i + 8, heads[from + i]);
        }
        MdFormat.seal(p, pageSize);
    }

    /** Fills ids/heads at {@code from} from a checked table page. */
    static void decodeTable(MemorySegment p, int pageSize, long[] ids, int[] heads, int from) {
        int n = tableEntries(pageSize);
        for (int i = 0; i < n; i++) {
            ids[from + i] = p.get(U64, PAGE_HEADER + 16L * i);
            heads[from + i] = p.get(U32, PAGE_HEADER + 16L * i + 8);
        }
    }

    // ------------------------------------------------------------------ extents

    static void encodeExtent(MemorySegment p, int pageSize, long gen, long owner, int index, int[] entries) {
        int n = extentEntries(pageSize);
        MdFormat.header(p, pageSize, MdFormat.TYPE_EXTENT, 8 + 4 * n, gen, owner);
        p.set(U32, PAGE_HEADER, index);
        for (int i = 0; i < n; i++) {
            p.set(U32, EXTENT_ENTRIES_AT + 4L * i, entries[i]);
        }
        MdFormat.seal(p, pageSize);
    }

    /** The entries of a checked extent page; -EILSEQ if it is not extent {@code index}. */
    static int[] decodeExtent(MemorySegment p, int pageSize, long pageNo, int index) {
        int got = p.get(U32, PAGE_HEADER);
        if (got != index) {
            throw MdFormat.corrupt("extent page " + pageNo + " holds extent " + got + ", expected " + index);
        }
        int n = extentEntries(pageSize);
        int[] e = new int[n];
        for (int i = 0; i < n; i++) {
            e[i] = p.get(U32, EXTENT_ENTRIES_AT + 4L * i);
        }
        return e;
    }

    // ------------------------------------------------------------------ heads and xattrs

    /** Checks a name and value against the format's limits; -EINVAL naming the attribute. */
    static void checkXattr(String name, String value) {
        if (name == null || name.isEmpty()) {
            throw new BasaltException(Errno.EINVAL, "xattr name must not be empty");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_XATTR_NAME) {
            throw new BasaltException(Errno.EINVAL, "xattr name '" + name + "' is longer than " + MAX_XATTR_NAME
                    + " bytes");
        }
        if (value == null || value.getBytes(StandardCharsets.UTF_8).length > MAX_XATTR_VALUE) {
            throw new BasaltException(Errno.EINVAL, "value of xattr '" + name + "' is missing or longer than "
                    + MAX_XATTR_VALUE + " bytes");
        }
    }

    static byte[] xattrStream(SortedMap<String, String> x) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        out.writeBytes(b.putInt(0, x.size()).array());
        for (var e : x.entrySet()) {
            byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
            byte[] v = e.getValue().getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) k.length).array());
            out.writeBytes(k);
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, v.length).array());
            out.writeBytes(v);
        }
        return out.toByteArray();
    }

    static SortedMap<String, String> parseXattrs(byte[] s, long blobId) {
        ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
        SortedMap<String, String> out = new TreeMap<>();
        try {
            int n = b.getInt();
            for (int i = 0; i < n; i++) {
                byte[] k = new byte[Short.toUnsignedInt(b.getShort())];
                b.get(k);
                int vl = b.getInt();
                if (vl < 0 || vl > MAX_XATTR_VALUE) {
                    throw MdFormat.corrupt("blob " + blobId + ": xattr value length " + vl);
                }
                byte[] v = new byte[vl];
                b.get(v);
                out.put(new String(k, StandardCharsets.UTF_8), new String(v, StandardCharsets.UTF_8));
            }
        } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
            throw MdFormat.corrupt("blob " + blobId + ": xattr stream is truncated");
        }
        if (b.hasRemaining()) {
            throw MdFormat.corrupt("blob " + blobId + ": " + b.remaining() + " bytes after the xattr stream");
        }
        return out;
    }

    /** Bytes of the xattr stream that fit in the head page after X extent and Y xattr page numbers. */
    static int inlineRoom(int pageSize, int extentPages, int xattrPages) {
        return pageSize - HEAD_FIXED - 4 * extentPages - 4 * xattrPages;
    }

    /**
     * How many continuation pages a head needs for {@code streamLength} bytes of xattrs, or -1 if
     * the extent page numbers alone do not fit in the head page (the blob is too large).
     */
    static int xattrPagesNeeded(int pageSize, int extentPages, int streamLength) {
        int per = pageSize - PAGE_HEADER;
        for (int y = 0; ; y++) {
            int room = inlineRoom(pageSize, extentPages, y);
            if (room < 0) {
                return -1;
            }
            if ((long) room + (long) y * per >= streamLength) {
                return y;
            }
        }
    }

    /**
     * Writes a head page into {@code head} and the continuation pages into {@code xattrPages}
     * (one segment per page number in {@code xattrPageNos}).
     */
    static void encodeHead(MemorySegment head, MemorySegment[] xattrPages, int pageSize, long gen, BlobMeta m,
                           int[] extentPageNos, int[] xattrPageNos, byte[] stream) {
        int x = extentPageNos.length;
        int y = xattrPageNos.length;
        int inline = Math.min(stream.length, inlineRoom(pageSize, x, y));
        MdFormat.header(head, pageSize, MdFormat.TYPE_HEAD, HEAD_FIXED - PAGE_HEADER + 4 * x + 4 * y + inline, gen,
                m.id());
        head.set(U64, 32, m.numClusters());
        head.set(U32, 40, m.flags());
        head.set(U32, 44, x);
        head.set(U64, 48, m.parentId());
        head.set(U32, 56, stream.length);
        head.set(U32, 60, y);
        long off = HEAD_FIXED;
        for (int e : extentPageNos) {
            head.set(U32, off, e);
            off += 4;
        }
        for (int e : xattrPageNos) {
            head.set(U32, off, e);
            off += 4;
        }
        MemorySegment.copy(MemorySegment.ofArray(stream), 0, head, off, inline);
        MdFormat.seal(head, pageSize);
        int done = inline;
        int per = pageSize - PAGE_HEADER;
        for (int i = 0; i < y; i++) {
            int n = Math.min(per, stream.length - done);
            MdFormat.header(xattrPages[i], pageSize, MdFormat.TYPE_XATTR, n, gen, m.id());
            MemorySegment.copy(MemorySegment.ofArray(stream), done, xattrPages[i], PAGE_HEADER, n);
            MdFormat.seal(xattrPages[i], pageSize);
            done += n;
        }
    }

    /** What a checked head page says; the xattr stream is completed from continuation pages. */
    record Head(long numClusters, int flags, long parentId, int[] extentPages, int[] xattrPages, int streamLength,
                byte[] inline) {
    }

    static Head decodeHead(MemorySegment p, int pageSize, long pageNo, int extentEntries) {
        long n = p.get(U64, 32);
        int flags = p.get(U32, 40);
        int x = p.get(U32, 44);
        long parent = p.get(U64, 48);
        int len = p.get(U32, 56);
        int y = p.get(U32, 60);
        if (n < 0 || n > Integer.MAX_VALUE) {
            throw MdFormat.corrupt("head page " + pageNo + ": size " + n + " clusters out of range");
        }
        if ((flags & ~BlobMeta.KNOWN_FLAGS) != 0) {
            throw MdFormat.corrupt("head page " + pageNo + ": unknown flags 0x" + Integer.toHexString(flags));
        }
        if (x != ClusterMap.chunkCount(extentEntries, n) || y < 0 || len < 4 || len > Integer.MAX_VALUE / 2) {
            throw MdFormat.corrupt("head page " + pageNo + ": " + x + " extent pages for " + n + " clusters, " + y
                    + " xattr pages for " + len + " bytes");
        }
        int room = inlineRoom(pageSize, x, y);
        if (room < 0 || (long) room + (long) y * (pageSize - PAGE_HEADER) < len) {
            throw MdFormat.corrupt("head page " + pageNo + ": lengths do not fit the page");
        }
        int[] ext = new int[x];
        int[] xat = new int[y];
        long off = HEAD_FIXED;
        for (int i = 0; i < x; i++, off += 4) {
            ext[i] = p.get(U32, off);
        }
        for (int i = 0; i < y; i++, off += 4) {
            xat[i] = p.get(U32, off);
        }
        byte[] inline = new byte[Math.min(len, room)];
        MemorySegment.copy(p, off, MemorySegment.ofArray(inline), 0, inline.length);
        return new Head(n, flags, parent, ext, xat, len, inline);
    }
}
