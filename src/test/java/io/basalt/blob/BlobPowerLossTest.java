package io.basalt.blob;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash consistency: every metadata operation is cut after each of its device writes in turn, the
 * device then loses power (unflushed writes land block by block at random, so pages and the root
 * tear), and the store must load as exactly the state before or the state after the operation.
 */
class BlobPowerLossTest {
    private static final int BS = 512;
    private static final long CS = 32 * 1024;
    private BlobKit kit;

    @BeforeEach
    void setUp() {
        kit = new BlobKit(2);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    /** One operation on a store loaded from the base image; ids are looked up by name xattr. */
    @FunctionalInterface
    interface Op {
        CompletableFuture<?> run(Blobstore s, Map<String, Blob> byName);
    }

    private static Map<String, Blob> byName(Blobstore s) {
        Map<String, Blob> out = new TreeMap<>();
        for (Blob b : s.blobs()) {
            out.put(b.xattr("name"), b);
        }
        return out;
    }

    /** The whole metadata state in a comparable form. */
    private String describe(Blobstore s) throws Exception {
        return kit.onMd(() -> {
            Map<Long, String> out = new TreeMap<>();
            for (Blob b : s.blobs()) {
                StringBuilder m = new StringBuilder();
                for (long k = 0; k < b.numClusters(); k++) {
                    m.append(b.meta.map().get(k)).append(',');
                }
                StringBuilder x = new StringBuilder();
                b.xattrs().forEach((k, v) -> x.append(k).append('=').append(v.length() > 20
                        ? v.length() + "#" + v.hashCode() : v).append(';'));
                out.put(b.id(), "n=" + b.numClusters() + " f=" + b.meta.flags() + " p=" + b.meta.parentId() + " x="
                        + x + " m=" + m);
            }
            return out + " super=" + (s.superBlob() == null ? 0 : s.superBlob().id()) + " total=" + s.totalClusters();
        });
    }

    /** A base store: a written thin blob a, its snapshot sa with one clone c, and a thick blob t. */
    private MemoryBlobDevice base() throws Exception {
        MemoryBlobDevice dev = new MemoryBlobDevice(BS, 2L << 20);
        Blobstore s = kit.create(dev, CS);
        Blob a = kit.md(() -> s.createBlob(4, true, Map.of("name", "a")));
        kit.write(s, a, 0, BlobKit.pattern((int) (3 * CS), 1));
        Blob sa = kit.md(() -> s.snapshot(a, Map.of("name", "sa")));
        Blob c = kit.md(() -> s.clone(sa, Map.of("name", "c")));
        kit.write(s, c, CS, BlobKit.pattern(1024, 2));
        kit.md(() -> s.delete(a, ClearMethod.NONE));
        kit.md(() -> s.createBlob(2, false, Map.of("name", "t")));
        kit.md(s::close);
        return dev;
    }

    private void checkEveryCut(String what, Op op) throws Exception {
        MemoryBlobDevice base = base();
        String before = describe(kit.load(base.copy()));
        MemoryBlobDevice full = base.copy();
        Blobstore fs = kit.load(full);
        long w0 = full.writes();
        kit.md(() -> op.run(fs, byName(fs)).thenApply(x -> null));
        long writes = full.writes() - w0;
        String after = describe(fs);
        assertThat(after).as(what + " changes the state").isNotEqualTo(before);
        assertThat(writes).as(what + " writes").isPositive();
        Random rnd = new Random(what.hashCode());
        int sawOld = 0;
        int sawNew = 0;
        for (long cut = 0; cut <= writes; cut++) {
            for (int rep = 0; rep < 3; rep++) {
                MemoryBlobDevice dev = base.copy();
                Blobstore s = kit.load(dev);
                dev.cutAfterWrites(cut);
                CompletableFuture<Object> done = new CompletableFuture<>();
                kit.fx.app().send(() -> op.run(s, byName(s)).whenComplete((v, t) -> done.complete(null)));
                done.get(30, TimeUnit.SECONDS);
                MemoryBlobDevice crashed = dev.powerLoss(rnd);
                String got = describe(kit.load(crashed));
                assertThat(got).as(what + ", cut after " + cut + " of " + writes + " writes").isIn(before, after);
                if (got.equals(before)) {
                    sawOld++;
                } else {
                    sawNew++;
                }
            }
        }
        assertThat(sawOld).as(what + ": some cut leaves the old state").isPositive();
        assertThat(sawNew).as(what + ": the full run leaves the new state").isPositive();
    }

    @Test
    void createThin() throws Exception {
        checkEveryCut("create thin", (s, n) -> s.createBlob(8, true, Map.of("name", "new", "k", "v")));
    }

    @Test
    void createThick() throws Exception {
        checkEveryCut("create thick", (s, n) -> s.createBlob(3, false, Map.of("name", "new")));
    }

    @Test
    void snapshot() throws Exception {
        checkEveryCut("snapshot", (s, n) -> s.snapshot(n.get("c"), Map.of("name", "s2")));
    }

    @Test
    void cloneOfSnapshot() throws Exception {
        checkEveryCut("clone", (s, n) -> s.clone(n.get("sa"), Map.of("name", "c2")));
    }

    @Test
    void deleteMergesSnapshotIntoItsClone() throws Exception {
        checkEveryCut("delete merge", (s, n) -> s.delete(n.get("sa"), ClearMethod.UNMAP));
    }

    @Test
    void resizeShrinkAndGrowThick() throws Exception {
        checkEveryCut("shrink", (s, n) -> s.resize(n.get("c"), 1, ClearMethod.NONE));
        checkEveryCut("grow thick", (s, n) -> s.resize(n.get("t"), 5, ClearMethod.NONE));
    }

    @Test
    void largeXattrsOverSeveralPages() throws Exception {
        checkEveryCut("xattrs", (s, n) -> s.setXattrs(n.get("t"), Map.of("big", "y".repeat(9000)), Set.of("k")));
        checkEveryCut("super blob", (s, n) -> s.setSuperBlob(n.get("c")));
    }

    @Test
    void allocatingWriteIsDurableOnceAcknowledged() throws Exception {
        checkEveryCut("allocating write", (s, n) -> {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            BlobChannel ch = s.channel();
            byte[] data = BlobKit.pattern(2048, 5);
            ch.submit(new BlobIo().set(n.get("c"), BlobIo.Op.WRITE, java.lang.foreign.MemorySegment.ofArray(data), 0,
                    3 * CS + 512, 2048, (io, e, a) -> {
                        s.putChannel(ch);
                        f.complete(e);
                    }, null));
            return f;
        });
        // And the data itself: acknowledged means the data is on the device after a power loss.
        MemoryBlobDevice dev = base();
        Blobstore s = kit.load(dev);
        Blob c = byName(s).get("c");
        kit.write(s, c, 3 * CS + 512, BlobKit.pattern(2048, 5));
        Blobstore after = kit.load(dev.powerLoss(new Random(7)));
        Blob c2 = after.blob(c.id());
        byte[] got = kit.read(after, c2, 3 * CS, (int) CS);
        assertThat(Arrays.copyOfRange(got, 512, 2560)).isEqualTo(BlobKit.pattern(2048, 5));
        assertThat(Arrays.copyOfRange(got, 0, 512)).containsOnly(0);
    }

    @Test
    void randomOperationsThenPowerLossAlwaysLoadTheLastCommit() throws Exception {
        Random rnd = new Random(42);
        MemoryBlobDevice dev = new MemoryBlobDevice(BS, 4L << 20);
        Blobstore s = kit.create(dev, CS);
        List<Blob> live = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            int step = i;
            int pick = rnd.nextInt(7);
            Blob any = live.isEmpty() ? null : live.get(rnd.nextInt(live.size()));
            try {
                switch (pick) {
                    case 0, 1 -> live.add(kit.md(() -> s.createBlob(1 + rnd.nextInt(4), rnd.nextBoolean(),
                            Map.of("name", "b" + rnd.nextInt(1000)))));
                    case 2 -> {
                        if (any != null && !any.readOnly()) {
                            live.add(kit.md(() -> s.snapshot(any, Map.of())));
                        }
                    }
                    case 3 -> {
                        if (any != null && any.readOnly()) {
                            live.add(kit.md(() -> s.clone(any, Map.of())));
                        }
                    }
                    case 4 -> {
                        if (any != null && !any.readOnly()) {
                            kit.write(s, any, rnd.nextInt(kit.onMd(any::numClusters).intValue()) * CS, BlobKit.pattern(512, step));
                        }
                    }
                    case 5 -> {
                        if (any != null) {
                            kit.md(() -> s.delete(any, ClearMethod.NONE));
                            live.remove(any);
                        }
                    }
                    default -> {
                        if (any != null) {
                            kit.md(() -> s.setXattrs(any, Map.of("step", "" + step), Set.of()));
                        }
                    }
                }
            } catch (Exception e) {
                // Refusals (more than one clone, no space) are part of the walk.
            }
            String now = describe(s);
            assertThat(describe(kit.load(dev.powerLoss(rnd)))).as("step " + step).isEqualTo(now);
        }
    }
}
