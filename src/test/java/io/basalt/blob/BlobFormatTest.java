package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.TreeMap;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The on-disk codecs against fixed bytes, and their refusal of damaged pages. */
class BlobFormatTest {
    private static final int P = 4096;
    private static final UUID U = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");

    private static MemorySegment page() {
        return MemorySegment.ofArray(new byte[P]);
    }

    private static String hex(MemorySegment p, long off, int len) {
        return HexFormat.of().formatHex(p.asSlice(off, len).toArray(ValueLayout.JAVA_BYTE));
    }

    private static RootRecord root() {
        return new RootRecord(7, U, P, 512, 1 << 20, 2, 100, 1 << 20, 30, 12, 5, new int[] {2, 9});
    }

    @Test
    void rootRecordBytes() {
        MemorySegment p = page();
        root().encode(p);
        assertThat(hex(p, 0, 8)).isEqualTo("424153414c544253"); // "BASALTBS"
        assertThat(hex(p, 8, 4)).isEqualTo("01000000"); // version 1.0
        assertThat(hex(p, 16, 8)).isEqualTo("0700000000000000"); // generation
        assertThat(hex(p, 24, 16)).isEqualTo("00112233445566778899aabbccddeeff");
        assertThat(hex(p, 40, 4)).isEqualTo("00100000"); // page size 4096
        assertThat(hex(p, 44, 4)).isEqualTo("00020000"); // block size 512
        assertThat(hex(p, 48, 8)).isEqualTo("0000100000000000"); // cluster 1 MiB
        assertThat(hex(p, 56, 8)).isEqualTo("0200000000000000");
        assertThat(hex(p, 64, 8)).isEqualTo("6400000000000000"); // 100 md pages
        assertThat(hex(p, 72, 8)).isEqualTo("0000100000000000"); // data at 1 MiB
        assertThat(hex(p, 80, 8)).isEqualTo("1e00000000000000"); // 30 clusters
        assertThat(hex(p, 88, 8)).isEqualTo("0c00000000000000"); // next id 12
        assertThat(hex(p, 96, 8)).isEqualTo("0500000000000000"); // super blob 5
        assertThat(hex(p, 104, 16)).isEqualTo("02000000" + "00000000" + "02000000" + "09000000");
        assertThat(hex(p, 120, 16)).isEqualTo("00".repeat(16));
        // CRC32C of the page with bytes 12..15 zero, stored little-endian at 12.
        int crc = p.get(MdFormat.U32, 12);
        p.set(MdFormat.U32, 12, 0);
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(p.toArray(ValueLayout.JAVA_BYTE));
        assertThat(crc).isEqualTo((int) c.getValue());
    }

    @Test
    void rootRecordDecodesAndRefusesDamage() {
        MemorySegment p = page();
        root().encode(p);
        RootRecord.Slot s = RootRecord.decode(p, P, 0);
        assertThat(s).isInstanceOf(RootRecord.Valid.class);
        RootRecord r = ((RootRecord.Valid) s).root();
        assertThat(r.generation()).isEqualTo(7);
        assertThat(r.uuid()).isEqualTo(U);
        assertThat(r.tablePages()).containsExactly(2, 9);
        assertThat(RootRecord.decode(page(), P, 1)).isInstanceOf(RootRecord.Empty.class);
        p.set(ValueLayout.JAVA_BYTE, 200, (byte) 1);
        assertThat(RootRecord.decode(p, P, 0)).isInstanceOfSatisfying(RootRecord.Corrupt.class,
                c -> assertThat(c.reason()).contains("CRC32C"));
        MemorySegment v2 = page();
        root().encode(v2);
        v2.set(MdFormat.U16, 8, (short) 2);
        assertThat(RootRecord.decode(v2, P, 1)).isInstanceOfSatisfying(RootRecord.Corrupt.class,
                c -> assertThat(c.reason()).contains("format version 2.0"));
    }

    @Test
    void geometryIsCheckedBeforeUse() {
        RootRecord bad = new RootRecord(1, U, P, 512, 1000, 2, 100, 1 << 20, 30, 1, 0, new int[0]);
        assertThat(bad.geometryError()).contains("cluster size 1000");
        RootRecord overlap = new RootRecord(1, U, P, 512, 4096, 2, 100, 8192, 30, 1, 0, new int[0]);
        assertThat(overlap.geometryError()).contains("overlaps");
        assertThatThrownBy(() -> MetaStore.geometry(U, 512, 256 * 1024, 1 << 20, 100))
                .isInstanceOf(BasaltException.class).hasMessageContaining("too small");
    }

    @Test
    void pageHeaderAndTableBytes() {
        MemorySegment p = page();
        int n = BlobCodec.tableEntries(P);
        long[] ids = new long[n];
        int[] heads = new int[n];
        ids[0] = 3;
        heads[0] = 17;
        ids[253] = 0x0102030405060708L;
        heads[253] = 99;
        BlobCodec.encodeTable(p, P, 4, ids, heads, 0);
        assertThat(n).isEqualTo(254);
        assertThat(hex(p, 0, 8)).isEqualTo("4254424c" + "0100" + "0000"); // "BTBL", version 1
        assertThat(hex(p, 12, 4)).isEqualTo("e00f0000"); // payload 254 * 16 = 4064
        assertThat(hex(p, 16, 16)).isEqualTo("0400000000000000" + "0000000000000000");
        assertThat(hex(p, 32, 16)).isEqualTo("0300000000000000" + "11000000" + "00000000");
        assertThat(hex(p, 32 + 253 * 16, 12)).isEqualTo("0807060504030201" + "63000000");
        MdFormat.check(p, P, 9, MdFormat.TYPE_TABLE, 0, 4);
        long[] ids2 = new long[n];
        int[] heads2 = new int[n];
        BlobCodec.decodeTable(p, P, ids2, heads2, 0);
        assertThat(ids2).isEqualTo(ids);
        assertThat(heads2).isEqualTo(heads);
        assertThatThrownBy(() -> MdFormat.check(p, P, 9, MdFormat.TYPE_TABLE, 0, 3))
                .hasMessageContaining("generation 4, newer than its root (3)");
        assertThatThrownBy(() -> MdFormat.check(p, P, 9, MdFormat.TYPE_HEAD, 0, 4))
                .hasMessageContaining("expected a BHED page, found type bytes 'BTBL'");
        p.set(ValueLayout.JAVA_BYTE, 1000, (byte) 0x55);
        assertThatThrownBy(() -> MdFormat.check(p, P, 9, MdFormat.TYPE_TABLE, 0, 4))
                .hasMessageContaining("metadata page 9 (BTBL): CRC32C");
    }

    @Test
    void extentPageBytes() {
        MemorySegment p = page();
        int n = BlobCodec.extentEntries(P);
        int[] e = new int[n];
        e[0] = 1;
        e[n - 1] = 0x7ffffffe;
        BlobCodec.encodeExtent(p, P, 2, 42, 3, e);
        assertThat(n).isEqualTo(1014);
        assertThat(hex(p, 0, 4)).isEqualTo("42455854"); // "BEXT"
        assertThat(hex(p, 24, 8)).isEqualTo("2a00000000000000"); // owner 42
        assertThat(hex(p, 32, 12)).isEqualTo("03000000" + "00000000" + "01000000");
        assertThat(hex(p, P - 4, 4)).isEqualTo("feffff7f");
        MdFormat.check(p, P, 5, MdFormat.TYPE_EXTENT, 42, 2);
        assertThat(BlobCodec.decodeExtent(p, P, 5, 3)).isEqualTo(e);
        assertThatThrownBy(() -> BlobCodec.decodeExtent(p, P, 5, 4)).hasMessageContaining("holds extent 3, expected 4");
        assertThatThrownBy(() -> MdFormat.check(p, P, 5, MdFormat.TYPE_EXTENT, 43, 2))
                .hasMessageContaining("belongs to blob 42, expected 43");
    }

    @Test
    void xattrStreamBytesAndHeadRoundTrip() {
        TreeMap<String, String> x = new TreeMap<>();
        x.put("a", "b");
        assertThat(HexFormat.of().formatHex(BlobCodec.xattrStream(x))).isEqualTo("01000000" + "0100" + "61"
                + "01000000" + "62");
        x.put("big", "z".repeat(10000));
        byte[] stream = BlobCodec.xattrStream(x);
        int y = BlobCodec.xattrPagesNeeded(P, 2, stream.length);
        assertThat(y).isEqualTo(2);
        ClusterMap map = ClusterMap.empty(BlobCodec.extentEntries(P), 1500).edit().set(1499, 7).build();
        BlobMeta m = new BlobMeta(9, BlobMeta.THIN | BlobMeta.SNAPSHOT, 4, map, x);
        MemorySegment head = page();
        MemorySegment[] more = {page(), page()};
        BlobCodec.encodeHead(head, more, P, 3, m, new int[] {0, 77}, new int[] {80, 81}, stream);
        assertThat(hex(head, 32, 32)).isEqualTo("dc05000000000000" + "05000000" + "02000000" + "0400000000000000"
                + String.format("%08x", Integer.reverseBytes(stream.length)) + "02000000");
        assertThat(hex(head, 64, 16)).isEqualTo("00000000" + "4d000000" + "50000000" + "51000000");
        MdFormat.check(head, P, 70, MdFormat.TYPE_HEAD, 9, 3);
        MdFormat.check(more[0], P, 80, MdFormat.TYPE_XATTR, 9, 3);
        BlobCodec.Head h = BlobCodec.decodeHead(head, P, 70, BlobCodec.extentEntries(P));
        assertThat(h.numClusters()).isEqualTo(1500);
        assertThat(h.extentPages()).containsExactly(0, 77);
        assertThat(h.xattrPages()).containsExactly(80, 81);
        byte[] all = new byte[h.streamLength()];
        System.arraycopy(h.inline(), 0, all, 0, h.inline().length);
        int at = h.inline().length;
        for (MemorySegment mp : more) {
            int len = mp.get(MdFormat.U32, 12);
            MemorySegment.copy(mp, 32, MemorySegment.ofArray(all), at, len);
            at += len;
        }
        assertThat(BlobCodec.parseXattrs(all, 9)).isEqualTo(x);
        assertThatThrownBy(() -> BlobCodec.parseXattrs(java.util.Arrays.copyOf(all, all.length - 1), 9))
                .hasMessageContaining("truncated");
    }

    @Test
    void clusterMapSharesUnchangedChunks() {
        ClusterMap a = ClusterMap.empty(10, 35);
        assertThat(a.chunkCount()).isEqualTo(4);
        ClusterMap b = a.edit().set(3, 100).set(33, 5).build();
        assertThat(b.get(3)).isEqualTo(100);
        assertThat(b.get(4)).isEqualTo(-1);
        assertThat(b.allocatedCount()).isEqualTo(2);
        ClusterMap c = b.edit().set(12, 1).build();
        assertThat(c.chunk(0)).isSameAs(b.chunk(0));
        assertThat(c.chunk(3)).isSameAs(b.chunk(3));
        assertThat(c.chunk(1)).isNotNull();
        assertThat(b.get(12)).isEqualTo(-1);
        ClusterMap d = c.edit().resize(31).build();
        assertThat(d.chunkCount()).isEqualTo(4);
        assertThat(d.get(33)).isEqualTo(-1);
        assertThat(d.chunk(3)).containsOnly(0);
        assertThat(c.get(33)).isEqualTo(5);
        assertThat(d.edit().resize(50).build().get(3)).isEqualTo(100);
        assertThatThrownBy(() -> a.edit().set(35, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void crc64NvmeVectors() {
        assertThat(new Crc64().update("123456789".getBytes()).value()).isEqualTo(0xAE8B14860A799888L);
        assertThat(new Crc64().update(new byte[4096]).value()).isEqualTo(0x6482D367EB22B64EL);
        byte[] ff = new byte[4096];
        java.util.Arrays.fill(ff, (byte) 0xFF);
        assertThat(new Crc64().update(ff).value()).isEqualTo(0xC0DDBA7302ECA3ACL);
        byte[] inc = new byte[4096];
        for (int i = 0; i < inc.length; i++) {
            inc[i] = (byte) i;
        }
        MemorySegment s = MemorySegment.ofArray(inc);
        long whole = new Crc64().update(inc).value();
        assertThat(new Crc64().update(s, 0, 13).update(s, 13, 4000).update(s, 4013, 83).value()).isEqualTo(whole);
    }

    @Test
    void clusterAllocatorStates() {
        ClusterAllocator a = new ClusterAllocator(4);
        long c0 = a.reserve();
        long[] more = a.reserve(3);
        assertThat(more).hasSize(3);
        assertThat(a.reserve()).isEqualTo(-1);
        assertThat(a.reserve(1)).isNull();
        assertThat(a.free()).isZero();
        a.own(c0, true);
        a.unreserve(more[0]);
        assertThat(a.free()).isEqualTo(1);
        a.toLimbo(c0);
        assertThat(a.free()).isEqualTo(2);
        assertThat(a.available()).isEqualTo(1);
        a.release(c0);
        assertThat(a.available()).isEqualTo(2);
        assertThatThrownBy(() -> a.release(c0)).isInstanceOf(IllegalStateException.class);
        ClusterAllocator b = new ClusterAllocator(2);
        b.own(1, false);
        assertThatThrownBy(() -> b.own(1, false)).hasMessageContaining("owned twice");
        b.grow(3);
        assertThat(b.free()).isEqualTo(2);
    }
}
