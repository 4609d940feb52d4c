package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BlobstoreTest {
    private static final int BS = 512;
    private static final long CS = 64 * 1024;
    private BlobKit kit;
    private MemoryBlobDevice dev;
    private Blobstore s;

    @BeforeEach
    void setUp() throws Exception {
        kit = new BlobKit(2);
        dev = new MemoryBlobDevice(BS, 8L << 20);
        s = kit.create(dev, CS);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    private static int errno(Throwable t) {
        Throwable c = Blobstore.cause(t);
        return c instanceof BasaltException b ? b.errno() : -1;
    }

    @Test
    void formatGeometryAndReload() throws Exception {
        assertThat(s.clusterSize()).isEqualTo(CS);
        assertThat(s.blockSize()).isEqualTo(BS);
        assertThat(s.pageSize()).isEqualTo(4096);
        // 8 MiB = 128 clusters; 128 metadata pages (ratio 100) + 2 slots = 520 KiB -> data from cluster 9.
        assertThat(s.totalClusters()).isEqualTo(128 - 9);
        assertThat(s.freeClusters()).isEqualTo(s.totalClusters());
        var uuid = s.uuid();
        kit.md(s::close);
        Blobstore again = kit.load(dev);
        assertThat(again.uuid()).isEqualTo(uuid);
        assertThat(again.blobs()).isEmpty();
    }

    @Test
    void thinBlobCostsNothingUntilWrittenAndCountsExactly() throws Exception {
        long free = s.freeClusters();
        Blob b = kit.md(() -> s.createBlob(10, true, Map.of("name", "t")));
        assertThat(kit.onMd(b::allocatedClusters)).isZero();
        assertThat(s.freeClusters()).isEqualTo(free);
        assertThat(kit.read(s, b, 0, (int) (10 * CS))).containsOnly(0);

        byte[] data = BlobKit.pattern(4096, 1);
        kit.write(s, b, 3 * CS + 8192, data);
        assertThat(kit.onMd(b::allocatedClusters)).isEqualTo(1);
        assertThat(kit.onMd(() -> s.freeClusters())).isEqualTo(free - 1);
        // Same cluster again: no new allocation; the rest of the cluster reads as zeroes.
        kit.write(s, b, 3 * CS, BlobKit.pattern(512, 2));
        assertThat(kit.onMd(b::allocatedClusters)).isEqualTo(1);
        byte[] cl = kit.read(s, b, 3 * CS, (int) CS);
        assertThat(java.util.Arrays.copyOfRange(cl, 0, 512)).isEqualTo(BlobKit.pattern(512, 2));
        assertThat(java.util.Arrays.copyOfRange(cl, 512, 8192)).containsOnly(0);
        assertThat(java.util.Arrays.copyOfRange(cl, 8192, 8192 + 4096)).isEqualTo(data);
        assertThat(java.util.Arrays.copyOfRange(cl, 8192 + 4096, (int) CS)).containsOnly(0);

        // A write across a cluster boundary allocates both clusters.
        kit.write(s, b, 5 * CS - 1024, BlobKit.pattern(2048, 3));
        assertThat(kit.onMd(b::allocatedClusters)).isEqualTo(3);
        assertThat(kit.read(s, b, 5 * CS - 1024, 2048)).isEqualTo(BlobKit.pattern(2048, 3));

        kit.md(s::close);
        Blobstore again = kit.load(dev);
        Blob b2 = again.blob(b.id());
        assertThat(kit.onMd(b2::allocatedClusters)).isEqualTo(3);
        assertThat(again.freeClusters()).isEqualTo(free - 3);
        assertThat(kit.onMd(() -> b2.xattr("name"))).isEqualTo("t");
        assertThat(kit.read(again, b2, 3 * CS + 8192, 4096)).isEqualTo(data);
    }

    @Test
    void thickBlobTakesEveryClusterZeroedAndEnospc() throws Exception {
        kit.write(s, kit.md(() -> s.createBlob(2, false, Map.of())), 0, BlobKit.pattern((int) (2 * CS), 9));
        Blob old = s.blobs().iterator().next();
        kit.md(() -> s.delete(old, ClearMethod.NONE));
        kit.settle(s);
        long free = s.freeClusters();
        Blob b = kit.md(() -> s.createBlob(4, false, Map.of()));
        assertThat(kit.onMd(b::allocatedClusters)).isEqualTo(4);
        assertThat(kit.onMd(() -> s.freeClusters())).isEqualTo(free - 4);
        // Clusters the deleted blob left (ClearMethod.NONE) are zeroed when handed out again.
        assertThat(kit.read(s, b, 0, (int) (4 * CS))).containsOnly(0);
        long left = kit.onMd(() -> s.freeClusters());
        assertThatThrownBy(() -> kit.md(() -> s.createBlob(left + 1, false, Map.of())))
                .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.ENOSPC));
        assertThat(kit.onMd(() -> s.freeClusters())).isEqualTo(left);
    }

    @Test
    void snapshotCloneCopyOnWriteAndParentChainReads() throws Exception {
        Blob o = kit.thin(s, 4);
        kit.write(s, o, 0, BlobKit.pattern((int) (2 * CS), 1));
        Blob snap = kit.md(() -> s.snapshot(o, Map.of("k", "v")));
        assertThat(kit.onMd(() -> List.of(snap.readOnly(), snap.snapshot(), snap.allocatedClusters(), o.allocatedClusters())))
                .containsExactly(true, true, 2L, 0L);
        assertThat(kit.onMd(o::parent)).isSameAs(snap);
        assertThat(kit.read(s, o, 0, (int) (2 * CS))).isEqualTo(BlobKit.pattern((int) (2 * CS), 1));

        Blob c = kit.md(() -> s.clone(snap, Map.of()));
        // Write 512 bytes into cluster 1 of the clone: the whole cluster is copied first.
        kit.write(s, c, CS + 1024, BlobKit.pattern(512, 7));
        assertThat(kit.onMd(c::allocatedClusters)).isEqualTo(1);
        byte[] expect = BlobKit.pattern((int) (2 * CS), 1);
        System.arraycopy(BlobKit.pattern(512, 7), 0, expect, (int) CS + 1024, 512);
        assertThat(kit.read(s, c, 0, (int) (2 * CS))).isEqualTo(expect);
        // The snapshot and the origin did not change.
        assertThat(kit.read(s, snap, 0, (int) (2 * CS))).isEqualTo(BlobKit.pattern((int) (2 * CS), 1));
        assertThat(kit.io(s, 0, snap, BlobIo.Op.WRITE, new byte[512], 0, 512)).isEqualTo(Errno.EROFS);

        // Snapshot of a clone: a chain of three.
        Blob snap2 = kit.md(() -> s.snapshot(c, Map.of()));
        assertThat(kit.onMd(() -> snap2.parent())).isSameAs(snap);
        assertThat(kit.onMd(() -> c.parent())).isSameAs(snap2);
        assertThat(kit.read(s, c, 0, (int) (2 * CS))).isEqualTo(expect);

        kit.md(s::close);
        Blobstore again = kit.load(dev);
        Blob c2 = again.blob(c.id());
        assertThat(kit.read(again, c2, 0, (int) (2 * CS))).isEqualTo(expect);
        assertThat(kit.onMd(() -> c2.parent().parent().id())).isEqualTo(snap.id());
        assertThat(kit.onMd(() -> again.blob(snap.id()).xattr("k"))).isEqualTo("v");
    }

    @Test
    void deleteRulesMergeIntoTheOnlyClone() throws Exception {
        Blob o = kit.thin(s, 4);
        kit.write(s, o, 0, BlobKit.pattern((int) (4 * CS), 1));
        Blob snap = kit.md(() -> s.snapshot(o, Map.of()));
        Blob c1 = kit.md(() -> s.clone(snap, Map.of()));
        // o and c1 are both clones of snap.
        assertThatThrownBy(() -> kit.md(() -> s.delete(snap, ClearMethod.NONE)))
                .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EPERM))
                .hasMessageContaining("has 2 clones");
        assertThat(kit.onMd(() -> snap.deleted())).isFalse();
        kit.md(() -> s.delete(c1, ClearMethod.UNMAP));
        kit.write(s, o, CS, BlobKit.pattern(512, 5));
        long free = kit.onMd(() -> s.freeClusters());
        kit.md(() -> s.delete(snap, ClearMethod.NONE));
        // o took the 3 clusters it did not have; the snapshot's copy of cluster 1 is freed.
        assertThat(kit.onMd(o::allocatedClusters)).isEqualTo(4);
        assertThat(kit.onMd(o::parent)).isNull();
        assertThat(kit.onMd(() -> s.freeClusters())).isEqualTo(free + 1);
        byte[] expect = BlobKit.pattern((int) (4 * CS), 1);
        System.arraycopy(BlobKit.pattern(512, 5), 0, expect, (int) CS, 512);
        assertThat(kit.read(s, o, 0, (int) (4 * CS))).isEqualTo(expect);
        kit.md(s::close);
        Blobstore again = kit.load(dev);
        assertThat(kit.read(again, again.blob(o.id()), 0, (int) (4 * CS))).isEqualTo(expect);
        assertThat(again.blobs()).hasSize(1);
    }

    @Test
    void inflateAndDecoupleCopyWhatTheyShould() throws Exception {
        Blob o = kit.thin(s, 4);
        kit.write(s, o, 0, BlobKit.pattern((int) CS, 1));
        Blob snap = kit.md(() -> s.snapshot(o, Map.of()));
        kit.md(() -> s.storeChecksum(snap, snap.dataGeneration(), 42));
        Blob a = kit.md(() -> s.clone(snap, Map.of()));
        Blob d = kit.md(() -> s.clone(snap, Map.of()));
        kit.md(() -> s.decoupleParent(d));
        assertThat(kit.onMd(() -> List.of(d.allocatedClusters(), d.thin(), d.parent() == null))).containsExactly(1L, true, true);
        kit.md(() -> s.inflate(a));
        assertThat(kit.onMd(() -> List.of(a.allocatedClusters(), a.thin(), a.parent() == null))).containsExactly(4L, false, true);
        assertThat(kit.read(s, a, 0, (int) (4 * CS))).startsWith(BlobKit.pattern((int) CS, 1));
        assertThat(kit.read(s, d, 0, (int) CS)).isEqualTo(BlobKit.pattern((int) CS, 1));
        assertThat(kit.onMd(snap::children)).extracting(Blob::id).containsExactly(o.id());
        // Inflating the snapshot itself drops its stored checksum.
        assertThat(kit.onMd(() -> snap.xattr(Blobstore.CHECKSUM_XATTR))).isEqualTo("42");
        kit.md(() -> s.inflate(snap));
        assertThat(kit.onMd(() -> snap.xattr(Blobstore.CHECKSUM_XATTR))).isNull();
        assertThatThrownBy(() -> kit.md(() -> s.decoupleParent(a)))
                .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EINVAL));
    }

    @Test
    void setParentDetachParentAndTheirRules() throws Exception {
        Blob o = kit.thin(s, 2);
        kit.write(s, o, 0, BlobKit.pattern((int) CS, 1));
        Blob snap = kit.md(() -> s.snapshot(o, Map.of()));
        Blob other = kit.thin(s, 2);
        kit.md(() -> s.setParent(other, snap));
        assertThat(kit.read(s, other, 0, (int) CS)).isEqualTo(BlobKit.pattern((int) CS, 1));
        kit.md(() -> s.detachParent(other));
        assertThat(kit.read(s, other, 0, (int) CS)).containsOnly(0);
        Blob small = kit.thin(s, 1);
        assertThatThrownBy(() -> kit.md(() -> s.setParent(small, snap))).hasMessageContaining("same size");
        Blob thick = kit.md(() -> s.createBlob(2, false, Map.of()));
        assertThatThrownBy(() -> kit.md(() -> s.setParent(thick, snap))).hasMessageContaining("thick");
        assertThatThrownBy(() -> kit.md(() -> s.setParent(o, o))).hasMessageContaining("not a snapshot");
        Blob snap2 = kit.md(() -> s.snapshot(o, Map.of()));
        // snap2's parent is snap; making snap a child of ... snap is a snapshot: refused.
        assertThatThrownBy(() -> kit.md(() -> s.setParent(snap, snap2))).hasMessageContaining("is a snapshot");
    }

    @Test
    void resizeGrowsAndShrinksAndReadOnlyCannot() throws Exception {
        Blob b = kit.thin(s, 2);
        kit.write(s, b, 0, BlobKit.pattern((int) (2 * CS), 1));
        long free = kit.onMd(() -> s.freeClusters());
        kit.md(() -> s.resize(b, 5, ClearMethod.NONE));
        assertThat(kit.onMd(b::numClusters)).isEqualTo(5);
        assertThat(kit.onMd(() -> s.freeClusters())).isEqualTo(free);
        kit.md(() -> s.resize(b, 1, ClearMethod.WRITE_ZEROES));
        assertThat(kit.onMd(() -> List.of(b.numClusters(), b.allocatedClusters()))).containsExactly(1L, 1L);
        assertThat(kit.onMd(() -> s.freeClusters())).isEqualTo(free + 1);
        assertThat(kit.io(s, 0, b, BlobIo.Op.READ, new byte[512], CS, 512)).isEqualTo(Errno.EINVAL);
        Blob snap = kit.md(() -> s.snapshot(b, Map.of()));
        assertThatThrownBy(() -> kit.md(() -> s.resize(snap, 3, ClearMethod.NONE)))
                .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EPERM));
        Blob thick = kit.md(() -> s.createBlob(1, false, Map.of()));
        long f2 = kit.onMd(() -> s.freeClusters());
        kit.md(() -> s.resize(thick, 3, ClearMethod.NONE));
        assertThat(kit.onMd(() -> List.of(thick.allocatedClusters(), s.freeClusters()))).containsExactly(3L, f2 - 2);
    }

    @Test
    void xattrsLargeAndManySurviveReload() throws Exception {
        String big = "x".repeat(20000);
        Blob b = kit.md(() -> s.createBlob(3, true, Map.of("big", big, "a", "1")));
        kit.md(() -> s.setXattrs(b, Map.of("b", "2"), Set.of("a")));
        kit.md(() -> s.setSuperBlob(b));
        kit.md(s::close);
        Blobstore again = kit.load(dev);
        Blob b2 = again.superBlob();
        assertThat(b2.id()).isEqualTo(b.id());
        assertThat(kit.onMd(b2::xattrs)).containsOnly(Map.entry("big", big), Map.entry("b", "2"));
        assertThatThrownBy(() -> kit.md(() -> again.setXattrs(b2, Map.of("", "v"), Set.of())))
                .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EINVAL));
    }

    @Test
    void checksumCoversAllocatedClustersAndStops() throws Exception {
        Blob o = kit.thin(s, 4);
        byte[] c0 = BlobKit.pattern((int) CS, 3);
        byte[] c2 = BlobKit.pattern((int) CS, 4);
        kit.write(s, o, 0, c0);
        kit.write(s, o, 2 * CS, c2);
        Blob snap = kit.md(() -> s.snapshot(o, Map.of()));
        long sum = kit.md(() -> s.checksum(snap, () -> false));
        assertThat(sum).isEqualTo(new Crc64().update(c0).update(c2).value());
        assertThatThrownBy(() -> kit.md(() -> s.checksum(snap, () -> true)))
                .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.ECANCELED));
    }

    @Test
    void concurrentAllocatingWritesToOneClusterAllAllocateOnce() throws Exception {
        Blob b = kit.thin(s, 1);
        List<java.util.concurrent.CompletableFuture<Integer>> fs = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int seed = i;
            fs.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return kit.io(s, seed % 2, b, BlobIo.Op.WRITE, BlobKit.pattern(512, seed), seed * 512L, 512);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        for (var f : fs) {
            assertThat(f.get()).isZero();
        }
        assertThat(kit.onMd(b::allocatedClusters)).isEqualTo(1);
        for (int i = 0; i < 8; i++) {
            assertThat(kit.read(s, b, i * 512L, 512)).isEqualTo(BlobKit.pattern(512, i));
        }
    }

    @Test
    void growTakesInWhatTheDeviceGrewBy() throws Exception {
        long before = s.totalClusters();
        assertThat(kit.md(s::grow)).isEqualTo(before);
        dev.grow(12L << 20);
        assertThat(kit.md(s::grow)).isEqualTo(before + (4L << 20) / CS);
        Blob b = kit.md(() -> s.createBlob(s.totalClusters(), false, Map.of()));
        assertThat(kit.onMd(() -> s.freeClusters())).isZero();
        kit.md(s::close);
        Blobstore again = kit.load(dev);
        assertThat(again.totalClusters()).isEqualTo(before + 64);
        assertThat(kit.onMd(() -> again.blob(b.id()).allocatedClusters())).isEqualTo(before + 64);
    }

    @Test
    void destroyWipesTheStore() throws Exception {
        kit.thin(s, 1);
        kit.md(s::destroy);
        assertThat(kit.md(() -> Blobstore.probe(dev, kit.fx.app(), kit.fx.reactors.buffers())).found()).isFalse();
        assertThatThrownBy(() -> kit.load(dev)).satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.ENODEV));
    }
}
