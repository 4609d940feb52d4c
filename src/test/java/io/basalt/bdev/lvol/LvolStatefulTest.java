package io.basalt.bdev.lvol;

import io.basalt.bdev.IoStatus;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.testing.BdevClient;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterTry;
import net.jqwik.api.lifecycle.BeforeTry;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * S3's stress test, model-based: random create / snapshot / clone / resize / inflate / decouple /
 * set and detach parent / delete / write / zero / read operations, with I/O from another reactor
 * running while each metadata operation runs, and restarts in between; after every step the
 * store is compared with {@link LvolModel}: the volumes, their sizes, flags, parents, allocated
 * clusters, free clusters, and the data of the volumes the step touched.
 *
 * <p>The default (three chains of 1000 steps, with restarts) takes seconds on two cores;
 * {@code -Dbasalt.lvol.soak.steps=N} (scripts/lvol-soak.sh) runs longer chains.
 */
class LvolStatefulTest {
    private static final int STEPS = Integer.getInteger("basalt.lvol.soak.steps", 1000);
    private static final int BS = 4096;
    private static final long CS = 64 * 1024;
    private static final int CB = (int) (CS / BS);
    /** Every harness of the current try (shrinking runs the chain again), closed after it. */
    private static final List<Harness> HARNESSES = new ArrayList<>();

    private static String savedWait;

    /**
     * Shrinking is off: every run drives real reactors, so shrinking would take minutes, and the
     * failure report already lists each step with the seed that reproduces it.
     */
    @Property(tries = 3, shrinking = ShrinkingMode.OFF)
    void storeAlwaysMatchesTheModel(@ForAll("chains") ActionChain<Harness> chain) {
        chain.run();
        System.out.println("LvolStatefulTest: " + chain.transformations().size() + " steps");
    }

    @BeforeTry
    void shortUserWait() {
        // A delete of an open volume waits this long for its users before it fails.
        savedWait = System.getProperty("basalt.lvol.userWaitMs");
        System.setProperty("basalt.lvol.userWaitMs", "30");
    }

    @AfterTry
    void closeHarness() {
        if (savedWait == null) {
            System.clearProperty("basalt.lvol.userWaitMs");
        } else {
            System.setProperty("basalt.lvol.userWaitMs", savedWait);
        }
        HARNESSES.forEach(Harness::close);
        HARNESSES.clear();
    }

    @Provide
    Arbitrary<ActionChain<Harness>> chains() {
        return ActionChain.startWith(Harness::new)
                .withAction(6, step("create", h -> h.model.sizeSum() + 8 <= h.model.capacity, Harness::create))
                .withAction(10, step("write", h -> !h.writable().isEmpty(), Harness::write))
                .withAction(3, step("zeroes", h -> !h.writable().isEmpty(), Harness::zeroes))
                .withAction(3, step("read", h -> !h.model.vols.isEmpty(), Harness::read))
                .withAction(5, step("snapshot", h -> !h.writable().isEmpty() && h.room(8), Harness::snapshot))
                .withAction(4, step("clone", h -> !h.snapshots().isEmpty() && h.room(8), Harness::clone))
                .withAction(3, step("resize", h -> !h.writable().isEmpty() && h.room(8), Harness::resize))
                .withAction(5, step("delete", h -> !h.model.vols.isEmpty(), Harness::delete))
                .withAction(2, step("inflate", h -> !h.writable().isEmpty(), Harness::inflate))
                .withAction(2, step("decouple", h -> !h.clones().isEmpty(), Harness::decouple))
                .withAction(2, step("set_parent", h -> !h.snapshots().isEmpty() && !h.writable().isEmpty(), Harness::setParent))
                .withAction(2, step("detach_parent", h -> !h.clones().isEmpty(), Harness::detachParent))
                .withAction(1, step("delete_while_open", h -> !h.model.vols.isEmpty(), Harness::deleteWhileOpen))
                .withAction(1, step("restart", h -> true, Harness::restart))
                .withMaxTransformations(STEPS);
    }

    private static Action.Dependent<Harness> step(String name, Predicate<Harness> pre, BiConsumer<Harness, Random> op) {
        return new Action.Dependent<>() {
            @Override
            public boolean precondition(Harness h) {
                return pre.test(h);
            }

            @Override
            public Arbitrary<Transformer<Harness>> transformer(Harness h) {
                return Arbitraries.longs().map(seed -> Transformer.mutate(name + "#" + seed, s -> {
                    s.history.add(name + "#" + seed);
                    op.accept(s, new Random(seed));
                    s.check();
                }));
            }
        };
    }

    /** The system under test and its model. */
    static final class Harness implements AutoCloseable {
        final LvolKit kit = new LvolKit(2);
        LvolStore store;
        final LvolModel model;
        final List<String> history = new ArrayList<>();
        private long seeds = 1;
        private int names;
        private final Set<String> touched = new HashSet<>();

        Harness() {
            HARNESSES.add(this);
            try {
                kit.malloc("m0", 64, BS);
                store = kit.store("m0", "lvs", CS);
                model = new LvolModel(CB, kit.on(() -> store.blobstore.totalClusters()));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
            kit.close();
        }

        @Override
        public String toString() {
            return "store with " + model.vols.keySet();
        }

        private String last() {
            return history.isEmpty() ? "?" : history.get(history.size() - 1);
        }

        // ------------------------------------------------------------------ choices

        boolean room(int clusters) {
            return model.sizeSum() + clusters <= model.capacity;
        }

        List<LvolModel.Vol> writable() {
            return model.vols.values().stream().filter(v -> !v.snapshot).toList();
        }

        List<LvolModel.Vol> snapshots() {
            return model.vols.values().stream().filter(v -> v.snapshot).toList();
        }

        List<LvolModel.Vol> clones() {
            return model.vols.values().stream().filter(v -> v.parent != null).toList();
        }

        static <T> T pick(Random r, List<T> l) {
            return l.get(r.nextInt(l.size()));
        }

        Lvol lvol(LvolModel.Vol v) {
            if (io.basalt.runtime.Reactor.current() != null) {
                // Called inside an operation that already runs on the metadata reactor.
                return store.lvol(v.name);
            }
            try {
                Lvol l = kit.on(() -> store.lvol(v.name));
                if (l == null) {
                    throw new AssertionError("no lvol " + v.name + " in the store; it has "
                            + kit.on(() -> store.lvols().stream().map(Lvol::lvolName).toList()) + " after " + history);
                }
                return l;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        <T> T md(java.util.concurrent.Callable<CompletableFuture<T>> op) {
            try {
                return kit.md(op);
            } catch (Exception e) {
                throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
            }
        }

        static int errno(Throwable t) {
            Throwable c = LvolStore.cause(t);
            return c instanceof BasaltException b ? b.errno() : -1;
        }

        // ------------------------------------------------------------------ data

        static MemorySegment data(long seed, long firstBlock, int n) {
            MemorySegment m = BdevClient.buffer((long) n * BS);
            for (int i = 0; i < n; i++) {
                fill(m, (long) i * BS, seed, firstBlock + i);
            }
            return m;
        }

        private static void fill(MemorySegment m, long off, long seed, long block) {
            if (seed == 0) {
                m.asSlice(off, BS).fill((byte) 0);
                return;
            }
            for (int j = 0; j < BS / 8; j++) {
                m.set(ValueLayout.JAVA_LONG_UNALIGNED, off + 8L * j, seed * 0x9E3779B97F4A7C15L + block * 1000003L + j);
            }
        }

        /** Reads the whole volume and compares every block with the model. */
        void verifyData(LvolModel.Vol v) {
            Lvol l = lvol(v);
            MemorySegment got;
            try {
                got = kit.read(l, 0, (long) v.clusters * CB);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            compare(v, got, 0, v.clusters * CB, "volume " + v.name);
        }

        private void compare(LvolModel.Vol v, MemorySegment got, long first, int n, String what) {
            MemorySegment want = BdevClient.buffer(BS);
            for (int i = 0; i < n; i++) {
                fill(want, 0, model.visible(v, first + i), first + i);
                long mm = got.asSlice((long) i * BS, BS).mismatch(want);
                assertThat(mm).as(what + ": block " + (first + i) + " differs at byte " + mm + " (history "
                        + history + ")").isEqualTo(-1);
            }
        }

        // ------------------------------------------------------------------ I/O alongside a metadata operation

        private record Pending(LvolModel.Vol vol, boolean write, long block, int n, long seed,
                               CompletableFuture<BdevClient.Result> result, MemorySegment buf) {
        }

        /**
         * Submits a few reads and writes from reactor 1, then runs {@code op} on reactor 0 while they
         * are in flight. Writes go only to volumes in {@code writeOk}; reads only to volumes whose
         * content the operation does not change and that are not written here.
         */
        private List<Pending> alongside(Random r, Predicate<LvolModel.Vol> writeOk, Predicate<LvolModel.Vol> readOk,
                                        Runnable op) {
            List<Pending> ps = new ArrayList<>();
            Map<String, BdevClient> clients = new HashMap<>();
            Set<String> written = new HashSet<>();
            try {
                List<LvolModel.Vol> ws = writable().stream().filter(writeOk).toList();
                for (int i = 0; i < r.nextInt(4) && !ws.isEmpty(); i++) {
                    LvolModel.Vol v = pick(r, ws);
                    int n = 1 + r.nextInt(CB);
                    long block = r.nextInt(v.clusters * CB - n + 1);
                    long seed = seeds++;
                    written.add(v.name);
                    ps.add(new Pending(v, true, block, n, seed, null, data(seed, block, n)));
                }
                List<LvolModel.Vol> rs = model.vols.values().stream()
                        .filter(v -> readOk.test(v) && !written.contains(v.name)).toList();
                for (int i = 0; i < r.nextInt(3) && !rs.isEmpty(); i++) {
                    LvolModel.Vol v = pick(r, rs);
                    int n = 1 + r.nextInt(2 * CB);
                    n = Math.min(n, v.clusters * CB);
                    long block = r.nextInt(v.clusters * CB - n + 1);
                    ps.add(new Pending(v, false, block, n, 0, null, BdevClient.buffer((long) n * BS)));
                }
                List<Pending> started = new ArrayList<>();
                for (Pending p : ps) {
                    BdevClient c = clients.get(p.vol.name);
                    if (c == null) {
                        c = kit.open(lvol(p.vol), 1);
                        clients.put(p.vol.name, c);
                    }
                    CompletableFuture<BdevClient.Result> f = p.write ? c.write(p.buf, p.block, p.n)
                            : c.read(p.buf, p.block, p.n);
                    started.add(new Pending(p.vol, p.write, p.block, p.n, p.seed, f, p.buf));
                }
                RuntimeException failed = null;
                try {
                    op.run();
                } catch (RuntimeException e) {
                    failed = e;
                }
                // The I/O ran whatever the operation did: wait for it, and keep the model in step.
                for (Pending p : started) {
                    BdevClient.Result res = BdevClient.await(p.result);
                    assertThat(res.status()).as((p.write ? "write" : "read") + " of " + p.vol.name + " alongside "
                            + last()).isEqualTo(IoStatus.SUCCESS);
                }
                if (failed != null) {
                    checkReads(started);
                    settle(started);
                    throw failed;
                }
                return started;
            } catch (Exception e) {
                throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
            } finally {
                clients.values().forEach(BdevClient::close);
            }
        }

        /** Applies the writes that ran alongside to the model and checks the reads. */
        private void settle(List<Pending> ps) {
            for (Pending p : ps) {
                if (p.write) {
                    model.write(p.vol, p.block, p.n, p.seed);
                    touched.add(p.vol.name);
                }
            }
        }

        private void checkReads(List<Pending> ps) {
            for (Pending p : ps) {
                if (!p.write) {
                    compare(p.vol, p.buf, p.block, p.n, "read alongside " + last() + " of " + p.vol.name);
                }
            }
        }

        // ------------------------------------------------------------------ operations

        void create(Random r) {
            String n = "v" + names++;
            int clusters = 1 + r.nextInt(8);
            boolean thin = r.nextInt(3) > 0;
            List<Pending> ps = alongside(r, v -> true, v -> true,
                    () -> md(() -> store.create(n, clusters * CS, thin, null)));
            checkReads(ps);
            model.create(n, clusters, thin);
            settle(ps);
            touched.add(n);
        }

        void write(Random r) {
            LvolModel.Vol v = pick(r, writable());
            int n = 1 + r.nextInt(2 * CB);
            n = Math.min(n, v.clusters * CB);
            long block = r.nextInt(v.clusters * CB - n + 1);
            long seed = seeds++;
            try {
                kit.write(lvol(v), block, data(seed, block, n));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            model.write(v, block, n, seed);
            touched.add(v.name);
        }

        void zeroes(Random r) {
            LvolModel.Vol v = pick(r, writable());
            int n = 1 + r.nextInt(2 * CB);
            n = Math.min(n, v.clusters * CB);
            long block = r.nextInt(v.clusters * CB - n + 1);
            boolean unmap = r.nextBoolean();
            int count = n;
            try (BdevClient c = kit.open(lvol(v), 1)) {
                BdevClient.Result res = BdevClient.await(c.submit((d, ch, cb) -> unmap
                        ? d.unmap(ch, block, count, cb, null) : d.writeZeroes(ch, block, count, cb, null)));
                assertThat(res.status()).isEqualTo(IoStatus.SUCCESS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            model.writeZeroes(v, block, n);
            touched.add(v.name);
        }

        void read(Random r) {
            touched.add(pick(r, new ArrayList<>(model.vols.values())).name);
        }

        void snapshot(Random r) {
            LvolModel.Vol o = pick(r, writable());
            String n = "s" + names++;
            // Writes to the origin during the snapshot land entirely before or after it: one per
            // cluster, so the snapshot shows which.
            List<Pending> ow = new ArrayList<>();
            List<Integer> ks = new ArrayList<>();
            for (int k = 0; k < o.clusters; k++) {
                ks.add(k);
            }
            java.util.Collections.shuffle(ks, r);
            for (int i = 0; i < Math.min(ks.size(), r.nextInt(4)); i++) {
                int k = ks.get(i);
                int len = 1 + r.nextInt(CB);
                long block = (long) k * CB + r.nextInt(CB - len + 1);
                long seed = seeds++;
                ow.add(new Pending(o, true, block, len, seed, null, data(seed, block, len)));
            }
            List<CompletableFuture<BdevClient.Result>> fs = new ArrayList<>();
            List<Pending> others;
            try (BdevClient oc = kit.open(lvol(o), 1)) {
                for (Pending p : ow) {
                    fs.add(oc.write(p.buf, p.block, p.n));
                }
                others = alongside(r, v -> v != o, v -> v != o, () -> md(() -> store.snapshot(lvol(o), n,
                        Map.of("created_by", "stateful"))));
                for (var f : fs) {
                    assertThat(BdevClient.await(f).status()).isEqualTo(IoStatus.SUCCESS);
                }
            } catch (Exception e) {
                throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
            }
            checkReads(others);
            // Which origin writes made it into the snapshot?
            MemorySegment snapData;
            try {
                snapData = kit.read(kit.on(() -> store.lvol(n)), 0, (long) o.clusters * CB);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            List<Pending> before = new ArrayList<>();
            List<Pending> after = new ArrayList<>();
            for (Pending p : ow) {
                MemorySegment region = snapData.asSlice(p.block * BS, (long) p.n * BS);
                if (region.mismatch(p.buf) == -1) {
                    before.add(p);
                } else {
                    compare(o, region, p.block, p.n, "snapshot " + n + " region of a write that came after it");
                    after.add(p);
                }
            }
            settle(before);
            model.snapshot(o, n);
            settle(after);
            settle(others);
            touched.add(n);
            touched.add(o.name);
        }

        void clone(Random r) {
            LvolModel.Vol s = pick(r, snapshots());
            String n = "c" + names++;
            List<Pending> ps = alongside(r, v -> true, v -> true, () -> md(() -> store.clone(lvol(s), n)));
            checkReads(ps);
            model.clone(s, n);
            settle(ps);
            touched.add(n);
        }

        void resize(Random r) {
            LvolModel.Vol v = pick(r, writable());
            int n = 1 + r.nextInt(8);
            boolean shrink = n < v.clusters;
            List<Pending> ps;
            try {
                ps = alongside(r, x -> x != v || !shrink, x -> x != v,
                        () -> md(() -> store.resize(lvol(v), n * CS)));
            } catch (RuntimeException e) {
                // Growing a thick volume needs free clusters.
                if (errno(e) != Errno.ENOSPC) {
                    throw e;
                }
                return;
            }
            checkReads(ps);
            model.resize(v, n);
            settle(ps);
            touched.add(v.name);
        }

        void delete(Random r) {
            LvolModel.Vol v = pick(r, new ArrayList<>(model.vols.values()));
            List<LvolModel.Vol> kids = model.children(v);
            if (kids.size() > 1) {
                try {
                    md(() -> store.delete(lvol(v)));
                    throw new AssertionError("deleting " + v.name + " with clones " + kids + " succeeded");
                } catch (RuntimeException e) {
                    assertThat(errno(e)).isEqualTo(Errno.EPERM);
                }
                return;
            }
            LvolModel.Vol heir = kids.isEmpty() ? null : kids.get(0);
            List<Pending> ps = alongside(r, x -> x != v, x -> x != v, () -> md(() -> store.delete(lvol(v))));
            checkReads(ps);
            model.delete(v);
            settle(ps);
            if (heir != null) {
                touched.add(heir.name);
            }
        }

        void inflate(Random r) {
            LvolModel.Vol v = pick(r, writable());
            if (v.parent == null && !v.thin) {
                try {
                    md(() -> store.copyParent(lvol(v), true));
                    throw new AssertionError("inflating thick " + v.name + " succeeded");
                } catch (RuntimeException e) {
                    assertThat(errno(e)).isEqualTo(Errno.EINVAL);
                }
                return;
            }
            copy(r, v, true);
        }

        void decouple(Random r) {
            copy(r, pick(r, clones()), false);
        }

        /** Inflate or decouple, with writes to the volume itself alongside (the copy and they must agree). */
        private void copy(Random r, LvolModel.Vol v, boolean inflate) {
            List<Pending> ps = alongside(r, x -> true, x -> true, () -> md(() -> store.copyParent(lvol(v), inflate)));
            checkReads(ps);
            if (inflate) {
                model.inflate(v);
            } else {
                model.decouple(v);
            }
            settle(ps);
            if (!inflate && v.thin && allOwned(v)) {
                // A write alongside may have allocated the last missing cluster before the decouple
                // committed: then the store rightly found the volume full and made it thick. Both
                // orders are correct; the store's choice is only legal because the model is full now.
                Lvol l = lvol(v);
                try {
                    v.thin = kit.on(() -> l.blob().thin());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            touched.add(v.name);
        }

        private static boolean allOwned(LvolModel.Vol v) {
            for (int k = 0; k < v.clusters; k++) {
                if (!v.owned[k]) {
                    return false;
                }
            }
            return true;
        }

        void setParent(Random r) {
            LvolModel.Vol v = pick(r, writable());
            LvolModel.Vol s = pick(r, snapshots());
            boolean valid = v.clusters == s.clusters && (v.thin || v.parent != null);
            try {
                List<Pending> ps = alongside(r, x -> x != v, x -> x != v, () -> md(() -> store.setParent(lvol(v), lvol(s))));
                assertThat(valid).as("set_parent " + v.name + " " + s.name + " succeeded").isTrue();
                checkReads(ps);
                model.setParent(v, s);
                settle(ps);
                touched.add(v.name);
            } catch (RuntimeException e) {
                if (valid) {
                    throw e;
                }
                assertThat(errno(e)).isEqualTo(Errno.EINVAL);
            }
        }

        void detachParent(Random r) {
            LvolModel.Vol v = pick(r, clones());
            List<Pending> ps = alongside(r, x -> x != v, x -> x != v, () -> md(() -> store.detachParent(lvol(v))));
            checkReads(ps);
            model.detachParent(v);
            settle(ps);
            touched.add(v.name);
        }

        /** S3: a delete of an open volume fails with -EBUSY and changes nothing. */
        void deleteWhileOpen(Random r) {
            LvolModel.Vol v = pick(r, new ArrayList<>(model.vols.values()));
            if (model.children(v).size() > 1) {
                return;
            }
            try (BdevClient c = kit.open(lvol(v), r.nextInt(2))) {
                try {
                    md(() -> store.delete(lvol(v)));
                    throw new AssertionError("deleting open " + v.name + " succeeded");
                } catch (RuntimeException e) {
                    assertThat(errno(e)).isEqualTo(Errno.EBUSY);
                    assertThat(e).hasMessageContaining("lvs/" + v.name);
                }
            } catch (Exception e) {
                throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
            }
            touched.add(v.name);
        }

        void restart(Random r) {
            try {
                store = kit.restart(store);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            touched.addAll(model.vols.keySet());
        }

        // ------------------------------------------------------------------ the check after every step

        void check() {
            try {
                kit.on(() -> {
                    assertThat(store.lvols()).extracting(Lvol::lvolName)
                            .as("volumes after " + history).containsExactlyInAnyOrderElementsOf(model.vols.keySet());
                    for (LvolModel.Vol v : model.vols.values()) {
                        Lvol l = store.lvol(v.name);
                        String what = v.name + " after " + history;
                        assertThat(l.blob().numClusters()).as("size of " + what).isEqualTo(v.clusters);
                        assertThat(l.numBlocks()).as("blocks of " + what).isEqualTo((long) v.clusters * CB);
                        assertThat(l.blob().snapshot()).as("snapshot flag of " + what).isEqualTo(v.snapshot);
                        assertThat(l.blob().thin()).as("thin flag of " + what).isEqualTo(v.thin);
                        assertThat(l.blob().allocatedClusters()).as("allocated clusters of " + what)
                                .isEqualTo(v.allocated());
                        Lvol p = store.lvolOf(l.blob().parent());
                        assertThat(p == null ? null : p.lvolName()).as("parent of " + what)
                                .isEqualTo(v.parent == null ? null : v.parent.name);
                        assertThat(l.busy).isNull();
                        assertThat(l.users).isEmpty();
                    }
                    return null;
                });
                // Freed clusters come back once their grace period ends.
                long want = model.capacity - model.ownedSum();
                for (int i = 0; i < 2000 && kit.on(() -> store.blobstore.freeClusters()) != want; i++) {
                    Thread.sleep(2);
                }
                assertThat(kit.on(() -> store.blobstore.freeClusters())).as("free clusters after " + history)
                        .isEqualTo(want);
            } catch (Exception e) {
                throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
            }
            for (String n : touched) {
                LvolModel.Vol v = model.vols.get(n);
                if (v != null) {
                    verifyData(v);
                }
            }
            touched.clear();
        }
    }
}
