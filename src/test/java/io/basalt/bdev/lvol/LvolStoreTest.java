package io.basalt.bdev.lvol;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.blob.Blobstore;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.testing.BdevClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

import static io.basalt.bdev.lvol.LvolKit.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LvolStoreTest {
    private static final long CS = 1 << 20;
    private LvolKit kit;
    private LvolStore s;

    @BeforeEach
    void setUp() throws Exception {
        kit = new LvolKit(2);
        kit.malloc("m0", 64, 512);
        s = kit.store("m0", "lvs", CS);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    private static int errno(Throwable t) {
        Throwable c = LvolStore.cause(t);
        return c instanceof BasaltException b ? b.errno() : -1;
    }

    @Test
    void lvolIsABdevNamedByUuidWithAliasAndClaimsTheBase() throws Exception {
        Lvol l = kit.create(s, "vol", 5, true);
        Bdev b = kit.fx.bdevs.require("lvs/vol");
        assertThat(b).isSameAs(l);
        assertThat(l.name()).isEqualTo(l.uuid().toString());
        assertThat(l.aliases()).containsExactly("lvs/vol");
        assertThat(l.numBlocks()).isEqualTo(5 * MIB / 512);
        assertThat(kit.fx.bdevs.claimant(kit.fx.bdevs.require("m0"))).isSameAs(kit.lvol);
        assertThat(kit.on(() -> l.toJson().get("driver_specific").get("lvol").get("thin_provision").asBoolean())).isTrue();
    }

    @Test
    void dataThroughBdevSnapshotCloneAndRestart() throws Exception {
        Lvol v = kit.create(s, "vol", 4, true);
        MemorySegment a = BdevClient.pattern(MIB, 1);
        kit.write(v, 0, a);
        Lvol snap = kit.snapshot(v, "snap");
        MemorySegment b = BdevClient.pattern(4096, 2);
        kit.write(v, 8, b);
        Lvol c = kit.clone(snap, "clone");
        assertThat(kit.read(c, 0, MIB / 512).mismatch(a)).isEqualTo(-1);
        MemorySegment expect = BdevClient.buffer(MIB);
        MemorySegment.copy(a, 0, expect, 0, MIB);
        MemorySegment.copy(b, 0, expect, 8 * 512, 4096);
        assertThat(kit.read(v, 0, MIB / 512).mismatch(expect)).isEqualTo(-1);
        assertThat(kit.read(snap, 0, MIB / 512).mismatch(a)).isEqualTo(-1);
        assertThat(kit.on(() -> snap.supports(io.basalt.bdev.IoType.WRITE))).isFalse();

        LvolStore again = kit.restart(s);
        assertThat(again).isNotNull();
        Lvol v2 = again.lvol("vol");
        Lvol snap2 = again.lvol("snap");
        assertThat(v2.uuid()).isEqualTo(v.uuid());
        assertThat(kit.read(v2, 0, MIB / 512).mismatch(expect)).isEqualTo(-1);
        assertThat(kit.read(again.lvol("clone"), 0, MIB / 512).mismatch(a)).isEqualTo(-1);
        assertThat(kit.on(() -> snap2.blob().children().size())).isEqualTo(2);
    }

    @Test
    void thinCostsNothingUntilWrittenThickTakesAll() throws Exception {
        long free = kit.on(() -> s.blobstore.freeClusters());
        Lvol thin = kit.create(s, "thin", 10, true);
        assertThat(kit.on(() -> s.blobstore.freeClusters())).isEqualTo(free);
        kit.write(thin, 3 * MIB / 512, BdevClient.pattern(512, 1));
        kit.write(thin, 3 * MIB / 512 + 100, BdevClient.pattern(512, 2));
        kit.write(thin, 7 * MIB / 512, BdevClient.pattern(512, 3));
        assertThat(kit.on(() -> thin.blob().allocatedClusters())).isEqualTo(2);
        assertThat(kit.on(() -> s.blobstore.freeClusters())).isEqualTo(free - 2);
        Lvol thick = kit.create(s, "thick", 3, false);
        assertThat(kit.on(() -> thick.blob().allocatedClusters())).isEqualTo(3);
        assertThat(kit.on(() -> s.blobstore.freeClusters())).isEqualTo(free - 5);
        assertThat(kit.read(thick, 0, 3 * MIB / 512).mismatch(BdevClient.buffer(3 * MIB))).isEqualTo(-1);
        assertThatThrownBy(() -> kit.create(s, "huge", 1000, false)).satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.ENOSPC));
        assertThat(kit.on(() -> s.lvol("huge"))).isNull();
        assertThat(kit.fx.bdevs.lookup("lvs/huge")).isNull();
    }

    @Test
    void deleteOfAnOpenLvolFailsNamingTheHolderAndChangesNothing() throws Exception {
        Lvol v = kit.create(s, "vol", 2, true);
        kit.write(v, 0, BdevClient.pattern(4096, 1));
        Lvol snap = kit.snapshot(v, "snap");
        BdevClient user = kit.open(snap, 1);
        try {
            assertThatThrownBy(() -> kit.delete(snap))
                    .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EBUSY))
                    .hasMessageContaining("lvol lvs/snap is in use: open by 1 bdev descriptor(s)");
            // Exactly as before: registered, still the parent of vol, data readable, opens allowed.
            assertThat(kit.fx.bdevs.lookup("lvs/snap")).isSameAs(snap);
            assertThat(kit.on(() -> v.blob().parent())).isSameAs(snap.blob());
            assertThat(kit.on(() -> snap.busy)).isNull();
            kit.on(() -> kit.fx.bdevs.open("lvs/snap", false, BdevEventHandler.IGNORE)).close();
            assertThat(kit.read(v, 0, 8).mismatch(BdevClient.pattern(4096, 1))).isEqualTo(-1);
        } finally {
            user.close();
        }
        kit.delete(snap);
        assertThat(kit.fx.bdevs.lookup("lvs/snap")).isNull();
        assertThat(kit.on(() -> v.blob().parent())).isNull();
        assertThat(kit.read(v, 0, 8).mismatch(BdevClient.pattern(4096, 1))).isEqualTo(-1);
    }

    @Test
    void snapshotWithTwoClonesCannotBeDeletedWithOneItMerges() throws Exception {
        Lvol v = kit.create(s, "vol", 2, true);
        kit.write(v, 0, BdevClient.pattern(MIB, 4));
        Lvol snap = kit.snapshot(v, "snap");
        Lvol c = kit.clone(snap, "c");
        assertThatThrownBy(() -> kit.delete(snap))
                .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EPERM))
                .hasMessageContaining("2 clones").hasMessageContaining("lvs/vol").hasMessageContaining("lvs/c");
        kit.delete(c);
        long free = kit.on(() -> s.blobstore.freeClusters());
        kit.delete(snap);
        assertThat(kit.on(() -> List.of(v.blob().allocatedClusters(), s.blobstore.freeClusters())))
                .containsExactly(1L, free);
        assertThat(kit.read(v, 0, MIB / 512).mismatch(BdevClient.pattern(MIB, 4))).isEqualTo(-1);
    }

    @Test
    void snapshotUnderConcurrentWritesIsAPointInTime() throws Exception {
        Lvol v = kit.create(s, "vol", 8, true);
        BdevClient w = kit.open(v, 1);
        try {
            // Each write puts a generation number in every one of its blocks; a snapshot taken in the
            // middle must show each write entirely before or entirely after.
            List<java.util.concurrent.CompletableFuture<BdevClient.Result>> pending = new java.util.ArrayList<>();
            for (int i = 0; i < 64; i++) {
                pending.add(w.write(BdevClient.pattern(64 * 1024, 1), (i % 128) * 128L, 128));
            }
            Lvol snap = kit.snapshot(v, "snap");
            for (var p : pending) {
                assertThat(BdevClient.await(p).status()).isEqualTo(io.basalt.bdev.IoStatus.SUCCESS);
            }
            MemorySegment got = kit.read(snap, 0, 64 * 128);
            for (int i = 0; i < 64; i++) {
                MemorySegment slice = got.asSlice(i * 64 * 1024L, 64 * 1024);
                boolean written = slice.mismatch(BdevClient.pattern(64 * 1024, 1)) == -1;
                boolean empty = slice.mismatch(BdevClient.buffer(64 * 1024)) == -1;
                assertThat(written || empty).as("write " + i + " torn in the snapshot").isTrue();
            }
            for (int i = 0; i < 64; i++) {
                assertThat(kit.read(v, i * 128L, 128).mismatch(BdevClient.pattern(64 * 1024, 1))).isEqualTo(-1);
            }
        } finally {
            w.close();
        }
    }

    @Test
    void checksumRegisterGetStopAndDeleteWhileRunning() throws Exception {
        Lvol v = kit.create(s, "vol", 8, false);
        kit.write(v, 0, BdevClient.pattern(MIB, 9));
        Lvol snap = kit.snapshot(v, "snap");
        assertThatThrownBy(() -> kit.on(() -> {
            s.registerChecksum(v);
            return null;
        })).satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EINVAL));
        assertThatThrownBy(() -> kit.md(() -> s.stopChecksum(snap))).satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.ESRCH));
        kit.on(() -> {
            s.registerChecksum(snap);
            return null;
        });
        long sum = waitChecksum(snap);
        MemorySegment all = kit.read(snap, 0, 8 * MIB / 512);
        assertThat(sum).isEqualTo(new io.basalt.blob.Crc64().update(all, 0, all.byteSize()).value());
        assertThat(kit.on(() -> LvolRpc.lvolJson(snap).get("xattrs").get(Blobstore.CHECKSUM_XATTR).asText()))
                .isEqualTo(Long.toUnsignedString(sum));
        // Deleting a snapshot whose checksum runs stops the computation and succeeds.
        kit.md(() -> s.delete(snap).thenCompose(x -> java.util.concurrent.CompletableFuture.completedFuture(x)));
        assertThat(kit.fx.bdevs.lookup("lvs/snap")).isNull();
    }

    @Test
    void deleteRefusedWhileOpenLeavesARunningChecksumAloneAndOneThatSucceedsStopsIt() throws Exception {
        Lvol v = kit.create(s, "vol", 32, false);
        kit.write(v, 0, BdevClient.pattern(MIB, 5));
        Lvol snap = kit.snapshot(v, "snap");
        var holder = kit.on(() -> kit.fx.bdevs.open("lvs/snap", false, BdevEventHandler.IGNORE, "NBD export disk7"));
        try {
            // The delete is issued before the computation reads its first cluster and waits for the
            // descriptor in vain: it fails naming the holder, and the checksum is not a casualty.
            assertThatThrownBy(() -> kit.md(() -> {
                s.registerChecksum(snap);
                return s.delete(snap);
            })).satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EBUSY))
                    .hasMessageContaining("lvol lvs/snap is in use: open by 1 bdev descriptor(s) (NBD export disk7)")
                    .hasMessageNotContaining("snapshot checksum");
            long sum = waitChecksum(snap);
            MemorySegment all = kit.read(snap, 0, 32 * MIB / 512);
            assertThat(sum).isEqualTo(new io.basalt.blob.Crc64().update(all, 0, all.byteSize()).value());
            assertThat(kit.fx.bdevs.lookup("lvs/snap")).isSameAs(snap);
        } finally {
            kit.on(() -> {
                holder.close();
                return null;
            });
        }
        // Nobody holds it now: a delete issued while the checksum runs stops the computation and succeeds.
        kit.md(() -> {
            s.registerChecksum(snap);
            assertThat(snap.checksum).isNotNull();
            return s.delete(snap);
        });
        assertThat(kit.fx.bdevs.lookup("lvs/snap")).isNull();
        assertThat(kit.on(() -> v.blob().parent())).isNull();
        assertThat(kit.read(v, 0, 8).mismatch(BdevClient.pattern(4096, 5))).isEqualTo(-1);
    }

    @Test
    void aStoredChecksumIsDroppedWhenADecoupleOrAMergeChangesTheSnapshotsData() throws Exception {
        Lvol v = kit.create(s, "vol", 4, true);
        kit.write(v, 0, BdevClient.pattern(MIB, 11));
        Lvol snap1 = kit.snapshot(v, "snap1");
        kit.write(v, MIB / 512, BdevClient.pattern(MIB, 12));
        // snap2's parent is snap1; snap2 itself holds only what was written after snap1.
        Lvol snap2 = kit.snapshot(v, "snap2");
        kit.on(() -> {
            s.registerChecksum(snap2);
            return null;
        });
        long before = waitChecksum(snap2);
        kit.md(() -> s.copyParent(snap2, false));
        assertThat(storedChecksum(snap2)).as("decouple copied clusters into the snapshot").isNull();
        kit.on(() -> {
            s.registerChecksum(snap2);
            return null;
        });
        long after = waitChecksum(snap2);
        assertThat(after).isNotEqualTo(before);
        MemorySegment all = kit.read(snap2, 0, 2 * MIB / 512);
        assertThat(after).isEqualTo(new io.basalt.blob.Crc64().update(all, 0, all.byteSize()).value());

        // snap3 is snap2's only clone: deleting snap2 merges it into snap3, whose checksum goes.
        kit.write(v, 2 * MIB / 512, BdevClient.pattern(MIB, 13));
        Lvol snap3 = kit.snapshot(v, "snap3");
        kit.on(() -> {
            s.registerChecksum(snap3);
            return null;
        });
        waitChecksum(snap3);
        assertThat(storedChecksum(snap3)).isNotNull();
        kit.md(() -> s.delete(snap2));
        assertThat(storedChecksum(snap3)).as("snap2 merged into snap3").isNull();
        assertThat(storedChecksum(snap1)).isNull();
    }

    private String storedChecksum(Lvol l) throws Exception {
        return kit.on(() -> {
            var x = LvolRpc.lvolJson(l).get("xattrs").get(Blobstore.CHECKSUM_XATTR);
            return x == null ? null : x.asText();
        });
    }

    private long waitChecksum(Lvol l) throws Exception {
        for (int i = 0; i < 3000; i++) {
            try {
                return kit.on(() -> l.store.checksum(l));
            } catch (BasaltException e) {
                if (e.errno() != Errno.EBUSY) {
                    throw e;
                }
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("checksum never finished");
    }

    @Test
    void resizeRenameXattrsAndStoreRename() throws Exception {
        Lvol v = kit.create(s, "vol", 2, true);
        kit.md(() -> s.resize(v, 5 * MIB));
        assertThat(v.numBlocks()).isEqualTo(5 * MIB / 512);
        BdevClient user = kit.open(v, 0);
        try {
            assertThatThrownBy(() -> kit.md(() -> s.resize(v, MIB)))
                    .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EBUSY)).hasMessageContaining("cannot shrink");
        } finally {
            user.close();
        }
        kit.md(() -> s.resize(v, MIB));
        assertThat(v.numBlocks()).isEqualTo(MIB / 512);
        kit.md(() -> s.rename(v, "renamed"));
        assertThat(v.aliases()).containsExactly("lvs/renamed");
        kit.malloc("lvs/clash", 8, 512);
        assertThatThrownBy(() -> kit.md(() -> s.rename(v, "clash"))).satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EEXIST));
        assertThat(v.aliases()).containsExactly("lvs/renamed");
        assertThat(kit.on(() -> s.getXattr(v, "name"))).isEqualTo("renamed");
        kit.md(() -> s.setXattr(v, "k", "v"));
        assertThat(kit.on(() -> s.getXattr(v, "k"))).isEqualTo("v");
        assertThatThrownBy(() -> kit.md(() -> s.setXattr(v, "name", "x"))).satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EPERM));
        assertThatThrownBy(() -> kit.on(() -> s.getXattr(v, "nope"))).satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.ENOENT));
        kit.md(() -> s.rename("lvs2"));
        assertThat(v.aliases()).containsExactly("lvs2/renamed");
        LvolStore again = kit.restart(s);
        assertThat(again.name()).isEqualTo("lvs2");
        assertThat(kit.on(() -> again.getXattr(again.lvol("renamed"), "k"))).isEqualTo("v");
        assertThat(again.lvol("renamed").numBlocks()).isEqualTo(MIB / 512);
    }

    @Test
    void deleteStoreIsAllOrNothing() throws Exception {
        Lvol v = kit.create(s, "vol", 2, true);
        Lvol snap = kit.snapshot(v, "snap");
        BdevClient user = kit.open(v, 1);
        try {
            assertThatThrownBy(() -> kit.md(() -> s.destroy()))
                    .satisfies(t -> assertThat(errno(t)).isEqualTo(Errno.EBUSY)).hasMessageContaining("lvs/vol");
            assertThat(kit.fx.bdevs.lookup("lvs/vol")).isSameAs(v);
            assertThat(kit.fx.bdevs.lookup("lvs/snap")).isSameAs(snap);
            assertThat(kit.on(() -> kit.lvol.storeByName("lvs"))).isSameAs(s);
        } finally {
            user.close();
        }
        kit.on(() -> {
            s.registerChecksum(snap);
            return null;
        });
        kit.md(() -> s.destroy());
        assertThat(kit.fx.bdevs.lookup("lvs/vol")).isNull();
        assertThat(kit.on(() -> kit.lvol.stores())).isEmpty();
        assertThat(kit.fx.bdevs.claimant(kit.fx.bdevs.require("m0"))).isNull();
        // The base can carry a new store at once.
        LvolStore s2 = kit.store("m0", "again", CS);
        assertThat(s2.lvols()).isEmpty();
    }

    @Test
    void inflateDecoupleSetAndDetachParent() throws Exception {
        Lvol v = kit.create(s, "vol", 3, true);
        kit.write(v, 0, BdevClient.pattern(MIB, 5));
        Lvol snap = kit.snapshot(v, "snap");
        Lvol c = kit.clone(snap, "c");
        kit.md(() -> s.copyParent(c, true));
        assertThat(kit.on(() -> List.of(c.blob().allocatedClusters(), c.blob().parent() == null)))
                .containsExactly(3L, true);
        assertThat(kit.read(c, 0, MIB / 512).mismatch(BdevClient.pattern(MIB, 5))).isEqualTo(-1);
        Lvol other = kit.create(s, "other", 3, true);
        kit.md(() -> s.setParent(other, snap));
        assertThat(kit.read(other, 0, MIB / 512).mismatch(BdevClient.pattern(MIB, 5))).isEqualTo(-1);
        kit.md(() -> s.detachParent(other));
        assertThat(kit.read(other, 0, MIB / 512).mismatch(BdevClient.buffer(MIB))).isEqualTo(-1);
        kit.md(() -> s.copyParent(v, false));
        assertThat(kit.on(() -> List.of(v.blob().allocatedClusters(), v.blob().thin()))).containsExactly(1L, true);
        assertThat(kit.on(() -> snap.blob().children())).isEmpty();
    }
}
