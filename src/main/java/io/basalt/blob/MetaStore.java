package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntConsumer;

/**
 * The persistent half of a blobstore: the committed blob versions, where their pages are, and the
 * copy-on-write commit that moves the store from one root to the next.
 *
 * <p>A commit writes every changed page to metadata pages that the durable root does not
 * reference, flushes, writes the new root into the other slot, and flushes again. A crash at any
 * point leaves the old root (with all its pages intact) or the new one. Pages the old root used
 * and the new one does not are reused only once the new root is durable. When a commit fails, the
 * pages it wrote stay reserved until a later commit succeeds (its root may have reached the disk
 * even though the write reported an error).
 *
 * <p>Changes submitted while a commit is in flight are batched into the next one, so concurrent
 * cluster allocations share one metadata write.
 *
 * <p>Threading: everything runs on the metadata reactor; device completions arrive there too.
 */
final class MetaStore {
    private static final System.Logger LOG = System.getLogger(MetaStore.class.getName());
    /** Smallest metadata region, whatever the ratio asks for. */
    static final long MIN_MD_PAGES = 64;
    private static final int READ_WINDOW = 64;

    /** Told after a commit is durable, before the changes' futures complete. */
    interface Listener {
        /** @param before the committed versions of every blob the commit changed or removed (null = new) */
        void committed(Txn t, Map<Long, BlobMeta> before);
    }

    private record Layout(int head, int[] xattr, int[] extents, int[][] refs) {
        void pages(List<Integer> out) {
            out.add(head);
            for (int x : xattr) {
                out.add(x);
            }
            for (int e : extents) {
                if (e != 0) {
                    out.add(e);
                }
            }
        }
    }

    private record Pending(Change change, CompletableFuture<Void> future) {
    }

    /** A commit's I/O failed: its root may or may not be on the device. */
    static final class CommitFailed extends BasaltException {
        CommitFailed(int errno, String detail) {
            super(errno, detail);
        }
    }

    private record PageWrite(int page, Encoder encoder) {
    }

    @FunctionalInterface
    private interface Encoder {
        void encode(MemorySegment page);
    }

    private static final class Plan {
        RootRecord root;
        final List<PageWrite> writes = new ArrayList<>();
        final List<Integer> allocated = new ArrayList<>();
        final List<Integer> superseded = new ArrayList<>();
        final Map<Long, Layout> layouts = new HashMap<>();
        long[] tableIds;
        int[] tableHeads;
        int[] tablePages;
    }

    final Reactor md;
    final BufferPool pool;
    final DeviceChannel dev;
    final int pageSize;
    final int extentEntries;
    private final int tableEntries;
    private RootRecord root;
    private final Listener listener;

    private final Map<Long, BlobMeta> metas = new HashMap<>();
    private final Map<Long, Layout> layouts = new HashMap<>();
    private final Map<Long, Integer> slotOf = new HashMap<>();
    private long[] tableIds;
    private int[] tableHeads;
    private int[] tablePages;
    private final BitSet usedPages = new BitSet();
    private final List<Integer> quarantine = new ArrayList<>();
    private int pageHint;

    private List<Pending> queue = new ArrayList<>();
    private boolean inFlight;
    private boolean closed;
    private final List<Runnable> idleWaiters = new ArrayList<>();
    private long commits;

    private MetaStore(Reactor md, BufferPool pool, DeviceChannel dev, RootRecord root, Listener listener) {
        this.md = md;
        this.pool = pool;
        this.dev = dev;
        this.root = root;
        this.pageSize = root.pageSize();
        this.extentEntries = BlobCodec.extentEntries(pageSize);
        this.tableEntries = BlobCodec.tableEntries(pageSize);
        this.listener = listener;
        this.tablePages = root.tablePages().clone();
        this.tableIds = new long[tablePages.length * tableEntries];
        this.tableHeads = new int[tablePages.length * tableEntries];
        usedPages.set(0, 2);
        for (int p : tablePages) {
            usedPages.set(p);
        }
        pageHint = 2;
    }

    RootRecord root() {
        return root;
    }

    /** Committed blob versions (live map: do not modify). */
    Map<Long, BlobMeta> metas() {
        return metas;
    }

    long commits() {
        return commits;
    }

    /** Metadata pages in use (committed, in flight, quarantined), counting the two root slots. */
    int usedPages() {
        return usedPages.cardinality();
    }

    // ------------------------------------------------------------------ geometry and format

    /** The geometry a new store on a device of {@code devBytes} would get; -ENOSPC if it is too small. */
    static RootRecord geometry(UUID uuid, int blockSize, long devBytes, long clusterSize, int mdPagesPerClusterRatio) {
        int page = Math.max(MdFormat.MIN_PAGE_SIZE, blockSize);
        if (clusterSize < page || clusterSize % page != 0) {
            throw new BasaltException(Errno.EINVAL, "cluster size " + clusterSize + " must be a multiple of the "
                    + page + "-byte metadata page");
        }
        long clusters0 = devBytes / clusterSize;
        long md = Math.max(MIN_MD_PAGES, (clusters0 * mdPagesPerClusterRatio + 99) / 100);
        long dataOffset = ((2 + md) * page + clusterSize - 1) / clusterSize * clusterSize;
        long dataClusters = devBytes > dataOffset ? (devBytes - dataOffset) / clusterSize : 0;
        if (dataClusters < 1) {
            throw new BasaltException(Errno.ENOSPC, "device of " + devBytes + " bytes is too small for a blobstore with "
                    + clusterSize + "-byte clusters (metadata needs " + dataOffset + " bytes, then at least one cluster)");
        }
        if (dataClusters > Integer.MAX_VALUE - 1) {
            throw new BasaltException(Errno.EINVAL, dataClusters + " clusters are more than a blobstore addresses; "
                    + "use a larger cluster size");
        }
        return new RootRecord(1, uuid, page, blockSize, clusterSize, 2, md, dataOffset, dataClusters, 1, 0, new int[0]);
    }

    /**
     * Formats the device: wipes slot 0, then writes generation 1 (no blobs) into slot 1, each
     * followed by a flush, so a crash leaves either no store or the empty one.
     */
    static CompletableFuture<MetaStore> format(Reactor md, BufferPool pool, DeviceChannel dev, RootRecord geometry,
                                               Listener listener) {
        MetaStore s = new MetaStore(md, pool, dev, geometry, listener);
        CompletableFuture<MetaStore> f = new CompletableFuture<>();
        s.writeSlot(0, null, e0 -> {
            if (e0 != 0) {
                f.completeExceptionally(ioError("formatting (wiping root slot 0)", e0));
                return;
            }
            s.writeSlot(1, geometry, e1 -> {
                if (e1 != 0) {
                    f.completeExceptionally(ioError("formatting (writing root slot 1)", e1));
                } else {
                    f.complete(s);
                }
            });
        });
        return f;
    }

    /** Writes a root (or zeroes, for null) into a slot and flushes. */
    private void writeSlot(int slot, RootRecord r, IntConsumer done) {
        DmaBuffer b = pool.get(pageSize);
        if (b == null) {
            done.accept(Errno.ENOMEM);
            return;
        }
        MemorySegment p = b.segment();
        if (r == null) {
            p.asSlice(0, pageSize).fill((byte) 0);
        } else {
            r.encode(p);
        }
        dev.write(p, 0, (long) slot * pageSize, pageSize, (e, a) -> {
            pool.put(b);
            if (e != 0) {
                done.accept(e);
                return;
            }
            dev.flush((e2, a2) -> done.accept(e2), null);
        }, null);
    }

    static BasaltException ioError(String what, int errno) {
        return new BasaltException(errno == Errno.ENOMEM ? Errno.ENOMEM : Errno.EIO, "blobstore metadata I/O failed "
                + what + ": " + Errno.text(errno));
    }

    // ------------------------------------------------------------------ commit

    /** Queues a change for the next commit; the future completes (on this reactor) once it is durable. */
    CompletableFuture<Void> submit(Change c) {
        md.assertInReactor();
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (closed) {
            f.completeExceptionally(new BasaltException(Errno.ENODEV, "blobstore is closed"));
            return f;
        }
        queue.add(new Pending(c, f));
        kick();
        return f;
    }

    /** Runs {@code r} once no commit is in flight or queued. */
    void whenIdle(Runnable r) {
        if (!inFlight && queue.isEmpty()) {
            r.run();
        } else {
            idleWaiters.add(r);
        }
    }

    /** Refuses new changes (those queued still commit). */
    void close() {
        closed = true;
    }

    private void kick() {
        if (inFlight) {
            return;
        }
        if (queue.isEmpty()) {
            List<Runnable> w = new ArrayList<>(idleWaiters);
            idleWaiters.clear();
            w.forEach(Runnable::run);
            return;
        }
        List<Pending> batch = queue;
        queue = new ArrayList<>();
        Txn t = new Txn(metas, root.nextBlobId(), root.superBlobId(), root.dataClusters());
        List<Pending> ok = new ArrayList<>();
        for (Pending p : batch) {
            Txn c = t.child();
            try {
                p.change.apply(c);
                t.merge(c);
                ok.add(p);
            } catch (BasaltException e) {
                p.future.completeExceptionally(e);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "blobstore change failed", e);
                p.future.completeExceptionally(new BasaltException(Errno.EIO, "internal error: " + e));
            }
        }
        if (!t.dirty()) {
            ok.forEach(p -> p.future.complete(null));
            kick();
            return;
        }
        Plan plan;
        try {
            plan = plan(t);
        } catch (BasaltException e) {
            ok.forEach(p -> p.future.completeExceptionally(e));
            kick();
            return;
        }
        inFlight = true;
        write(plan, errno -> finish(plan, t, ok, errno));
    }

    private int allocPage(Plan plan) {
        long end = root.mdFirstPage() + root.mdPages();
        int p = usedPages.nextClearBit(pageHint);
        if (p >= end) {
            p = usedPages.nextClearBit((int) root.mdFirstPage());
        }
        if (p >= end) {
            throw new BasaltException(Errno.ENOSPC, "blobstore metadata region is full (" + root.mdPages() + " pages)");
        }
        usedPages.set(p);
        pageHint = p + 1;
        plan.allocated.add(p);
        return p;
    }

    private Plan plan(Txn t) {
        Plan plan = new Plan();
        try {
            return plan(t, plan);
        } catch (BasaltException | IllegalArgumentException e) {
            for (int p : plan.allocated) {
                usedPages.clear(p);
            }
            throw e instanceof BasaltException b ? b : new BasaltException(Errno.EINVAL, e.getMessage());
        }
    }

    private Plan plan(Txn t, Plan plan) {
        long gen = root.generation() + 1;
        long[] ids = tableIds.clone();
        int[] heads = tableHeads.clone();
        int[] tpages = tablePages.clone();
        BitSet dirtyTables = new BitSet();
        Map<Long, Integer> newSlots = new HashMap<>();
        for (long id : t.removed) {
            Layout l = layouts.get(id);
            if (l == null) {
                continue;
            }
            l.pages(plan.superseded);
            int slot = slotOf.get(id);
            ids[slot] = 0;
            heads[slot] = 0;
            dirtyTables.set(slot / tableEntries);
        }
        for (BlobMeta m : t.put.values()) {
            Layout old = layouts.get(m.id());
            int x = m.map().chunkCount();
            int[] ext = new int[x];
            int[][] refs = new int[x][];
            for (int i = 0; i < x; i++) {
                int[] ch = m.map().chunk(i);
                refs[i] = ch;
                if (ch == null) {
                    continue;
                }
                if (old != null && i < old.refs.length && old.refs[i] == ch) {
                    ext[i] = old.extents[i];
                } else {
                    int page = allocPage(plan);
                    ext[i] = page;
                    int index = i;
                    plan.writes.add(new PageWrite(page, p -> BlobCodec.encodeExtent(p, pageSize, gen, m.id(), index, ch)));
                }
            }
            if (old != null) {
                for (int i = 0; i < old.extents.length; i++) {
                    if (old.extents[i] != 0 && (i >= x || ext[i] != old.extents[i])) {
                        plan.superseded.add(old.extents[i]);
                    }
                }
                plan.superseded.add(old.head);
                for (int xp : old.xattr) {
                    plan.superseded.add(xp);
                }
            }
            byte[] stream = BlobCodec.xattrStream(m.xattrs());
            int y = BlobCodec.xattrPagesNeeded(pageSize, x, stream.length);
            if (y < 0) {
                throw new BasaltException(Errno.EFBIG, "blob " + m.id() + " of " + m.numClusters()
                        + " clusters does not fit one metadata head page (at most "
                        + (long) (pageSize - BlobCodec.HEAD_FIXED) / 4 * extentEntries + " clusters)");
            }
            int head = allocPage(plan);
            int[] xp = new int[y];
            for (int i = 0; i < y; i++) {
                xp[i] = allocPage(plan);
            }
            plan.writes.add(new PageWrite(head, p -> {
                MemorySegment[] more = new MemorySegment[y];
                for (int i = 0; i < y; i++) {
                    more[i] = MemorySegment.ofArray(new byte[pageSize]);
                }
                BlobCodec.encodeHead(p, more, pageSize, gen, m, ext, xp, stream);
                for (int i = 0; i < y; i++) {
                    byte[] copy = more[i].toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    int page = xp[i];
                    plan.writes.add(new PageWrite(page, q -> MemorySegment.copy(MemorySegment.ofArray(copy), 0, q, 0,
                            pageSize)));
                }
            }));
            Integer slot = slotOf.get(m.id());
            if (slot == null) {
                slot = newSlots.get(m.id());
            }
            if (slot == null) {
                slot = freeSlot(ids, newSlots);
                if (slot >= ids.length) {
                    if (tpages.length >= RootRecord.maxTablePages(pageSize)) {
                        throw new BasaltException(Errno.ENOSPC, "blobstore blob table is full");
                    }
                    ids = Arrays.copyOf(ids, ids.length + tableEntries);
                    heads = Arrays.copyOf(heads, heads.length + tableEntries);
                    tpages = Arrays.copyOf(tpages, tpages.length + 1);
                }
                newSlots.put(m.id(), slot);
            }
            ids[slot] = m.id();
            heads[slot] = head;
            dirtyTables.set(slot / tableEntries);
            plan.layouts.put(m.id(), new Layout(head, xp, ext, refs));
        }
        for (int j = dirtyTables.nextSetBit(0); j >= 0; j = dirtyTables.nextSetBit(j + 1)) {
            int page = allocPage(plan);
            if (j < tablePages.length) {
                plan.superseded.add(tablePages[j]);
            }
            tpages[j] = page;
            long[] fids = ids;
            int[] fheads = heads;
            int from = j * tableEntries;
            plan.writes.add(new PageWrite(page, p -> BlobCodec.encodeTable(p, pageSize, gen, fids, fheads, from)));
        }
        plan.tableIds = ids;
        plan.tableHeads = heads;
        plan.tablePages = tpages;
        plan.root = root.withGeneration(gen, tpages, t.nextBlobId, t.superBlobId, t.dataClusters);
        return plan;
    }

    private int freeSlot(long[] ids, Map<Long, Integer> taken) {
        Set<Integer> used = new HashSet<>(taken.values());
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == 0 && !used.contains(i)) {
                return i;
            }
        }
        return ids.length;
    }

    /** Pages (in parallel), flush, root, flush; then {@code done} with 0 or the first errno. */
    private void write(Plan plan, IntConsumer done) {
        int[] pending = {1};
        int[] first = {0};
        Runnable afterPages = () -> {
            if (first[0] != 0) {
                done.accept(first[0]);
                return;
            }
            dev.flush((e, a) -> {
                if (e != 0) {
                    done.accept(e);
                    return;
                }
                writeSlot((int) (plan.root.generation() % 2), plan.root, done);
            }, null);
        };
        DeviceCallback cb = (e, a) -> {
            if (a instanceof DmaBuffer b) {
                pool.put(b);
            }
            if (e != 0 && first[0] == 0) {
                first[0] = e;
            }
            if (--pending[0] == 0) {
                afterPages.run();
            }
        };
        // Head pages add their continuation pages while encoding, so the list may grow.
        for (int i = 0; i < plan.writes.size(); i++) {
            PageWrite w = plan.writes.get(i);
            DmaBuffer b = pool.get(pageSize);
            if (b == null) {
                if (first[0] == 0) {
                    first[0] = Errno.ENOMEM;
                }
                continue;
            }
            w.encoder.encode(b.segment());
            pending[0]++;
            dev.write(b.segment(), 0, (long) w.page * pageSize, pageSize, cb, b);
        }
        if (--pending[0] == 0) {
            afterPages.run();
        }
    }

    private void finish(Plan plan, Txn t, List<Pending> ok, int errno) {
        inFlight = false;
        if (errno != 0) {
            quarantine.addAll(plan.allocated);
            BasaltException io = ioError("committing generation " + plan.root.generation(), errno);
            BasaltException e = new CommitFailed(io.errno(), io.getMessage());
            LOG.log(System.Logger.Level.ERROR, e.describe());
            ok.forEach(p -> p.future.completeExceptionally(e));
            kick();
            return;
        }
        commits++;
        Map<Long, BlobMeta> before = new HashMap<>();
        for (long id : t.removed) {
            before.put(id, metas.get(id));
        }
        for (long id : t.put.keySet()) {
            before.put(id, metas.get(id));
        }
        root = plan.root;
        for (long id : t.removed) {
            metas.remove(id);
            layouts.remove(id);
            slotOf.remove(id);
        }
        for (BlobMeta m : t.put.values()) {
            metas.put(m.id(), m);
        }
        layouts.putAll(plan.layouts);
        tableIds = plan.tableIds;
        tableHeads = plan.tableHeads;
        tablePages = plan.tablePages;
        for (int i = 0; i < tableIds.length; i++) {
            if (tableIds[i] != 0) {
                slotOf.put(tableIds[i], i);
            }
        }
        for (int p : plan.superseded) {
            usedPages.clear(p);
        }
        for (int p : quarantine) {
            usedPages.clear(p);
        }
        quarantine.clear();
        try {
            listener.committed(t, before);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "blobstore commit listener failed", e);
        }
        ok.forEach(p -> p.future.complete(null));
        kick();
    }

    // ------------------------------------------------------------------ wipe

    /**
     * Makes the device hold no blobstore: once no commit is in flight, zeroes the slot the next
     * commit would use, flushes, then the current slot, flushes. A crash in between leaves the
     * whole store (the current slot still valid), never part of it.
     */
    CompletableFuture<Void> wipe() {
        closed = true;
        CompletableFuture<Void> f = new CompletableFuture<>();
        whenIdle(() -> {
            int cur = (int) (root.generation() % 2);
            writeSlot(1 - cur, null, e -> {
                if (e != 0) {
                    f.completeExceptionally(ioError("wiping root slot " + (1 - cur), e));
                    return;
                }
                writeSlot(cur, null, e2 -> {
                    if (e2 != 0) {
                        f.completeExceptionally(ioError("wiping root slot " + cur, e2));
                    } else {
                        f.complete(null);
                    }
                });
            });
        });
        return f;
    }

    /** Lets a store whose wipe failed take changes again. */
    void reopen() {
        closed = false;
    }

    // ------------------------------------------------------------------ load

    /** Reads both root slots: the valid one with the higher generation, or why there is none. */
    static CompletableFuture<RootRecord.Slot> readRoot(BufferPool pool, DeviceChannel dev, int blockSize,
                                                      long devBytes) {
        CompletableFuture<RootRecord.Slot> f = new CompletableFuture<>();
        int span = 2 * Math.max(MdFormat.MIN_PAGE_SIZE, blockSize);
        if (devBytes < span) {
            f.complete(new RootRecord.Empty());
            return f;
        }
        DmaBuffer b = pool.get(span);
        if (b == null) {
            f.completeExceptionally(new BasaltException(Errno.ENOMEM, "no buffer to read the blobstore root"));
            return f;
        }
        dev.read(b.segment(), 0, 0, span, (e, a) -> {
            try {
                if (e != 0) {
                    f.completeExceptionally(ioError("reading the root slots", e));
                    return;
                }
                int half = span / 2;
                MemorySegment s0 = MemorySegment.ofArray(b.segment().asSlice(0, half).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                MemorySegment s1 = MemorySegment.ofArray(b.segment().asSlice(half, half).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                RootRecord.Slot a0 = RootRecord.decode(s0, half, 0);
                RootRecord.Slot a1 = RootRecord.decode(s1, half, 1);
                f.complete(pick(a0, a1));
            } finally {
                pool.put(b);
            }
        }, null);
        return f;
    }

    private static RootRecord.Slot pick(RootRecord.Slot a, RootRecord.Slot b) {
        if (a instanceof RootRecord.Valid va && b instanceof RootRecord.Valid vb) {
            if (!va.root().uuid().equals(vb.root().uuid())) {
                // Slot 1 of a store formatted over an older one: the older slot 0 was wiped first,
                // so two different stores can only meet here through damage.
                return new RootRecord.Corrupt("root slots name different stores (" + va.root().uuid() + ", "
                        + vb.root().uuid() + ")");
            }
            return va.root().generation() >= vb.root().generation() ? a : b;
        }
        if (a instanceof RootRecord.Valid) {
            return a;
        }
        if (b instanceof RootRecord.Valid) {
            return b;
        }
        if (a instanceof RootRecord.Corrupt) {
            return a;
        }
        return b;
    }

    /** Loads the state {@code root} describes, checking every page and cross-reference. */
    static CompletableFuture<MetaStore> load(Reactor md, BufferPool pool, DeviceChannel dev, RootRecord root,
                                             long devBytes, int blockSize, Listener listener) {
        CompletableFuture<MetaStore> f = new CompletableFuture<>();
        if (root.blockSize() != blockSize) {
            f.completeExceptionally(new BasaltException(Errno.EINVAL, "blobstore was formatted with " + root.blockSize()
                    + "-byte blocks, the device now has " + blockSize));
            return f;
        }
        long need = root.dataOffset() + root.dataClusters() * root.clusterSize();
        if (devBytes < need) {
            f.completeExceptionally(new BasaltException(Errno.EINVAL, "device has " + devBytes
                    + " bytes, the blobstore needs " + need + " (did the device shrink?)"));
            return f;
        }
        MetaStore s = new MetaStore(md, pool, dev, root, listener);
        s.loadTables().thenCompose(v -> s.loadBlobs()).whenComplete((v, t) -> {
            if (t != null) {
                f.completeExceptionally(t instanceof java.util.concurrent.CompletionException ce && ce.getCause() != null
                        ? ce.getCause() : t);
            } else {
                f.complete(s);
            }
        });
        return f;
    }

    private void checkMdPage(long p, String what) {
        if (p < root.mdFirstPage() || p >= root.mdFirstPage() + root.mdPages()) {
            throw MdFormat.corrupt(what + " points to page " + p + ", outside the metadata region");
        }
        if (usedPages.get((int) p)) {
            throw MdFormat.corrupt(what + " points to page " + p + ", which is already in use");
        }
        usedPages.set((int) p);
    }

    private CompletableFuture<Void> loadTables() {
        usedPages.clear(2, Integer.MAX_VALUE);
        for (int i = 0; i < tablePages.length; i++) {
            checkMdPage(Integer.toUnsignedLong(tablePages[i]), "root table entry " + i);
        }
        return readPages(tablePages).thenAccept(pages -> {
            for (int j = 0; j < pages.length; j++) {
                MdFormat.check(pages[j], pageSize, tablePages[j], MdFormat.TYPE_TABLE, 0, root.generation());
                BlobCodec.decodeTable(pages[j], pageSize, tableIds, tableHeads, j * tableEntries);
            }
        });
    }

    private CompletableFuture<Void> loadBlobs() {
        List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < tableIds.length; i++) {
            long id = tableIds[i];
            if (id == 0) {
                continue;
            }
            if (id < 0 || id >= root.nextBlobId()) {
                throw MdFormat.corrupt("blob table names blob " + id + ", next id is " + root.nextBlobId());
            }
            if (slotOf.put(id, i) != null) {
                throw MdFormat.corrupt("blob " + id + " is listed twice in the blob table");
            }
            checkMdPage(Integer.toUnsignedLong(tableHeads[i]), "head of blob " + id);
            slots.add(i);
        }
        int[] headPages = slots.stream().mapToInt(i -> tableHeads[i]).toArray();
        return readPages(headPages).thenCompose(heads -> {
            List<Integer> more = new ArrayList<>();
            List<BlobCodec.Head> decoded = new ArrayList<>();
            for (int j = 0; j < heads.length; j++) {
                long id = tableIds[slots.get(j)];
                MdFormat.check(heads[j], pageSize, headPages[j], MdFormat.TYPE_HEAD, id, root.generation());
                BlobCodec.Head h = BlobCodec.decodeHead(heads[j], pageSize, headPages[j], extentEntries);
                for (int e : h.extentPages()) {
                    if (e != 0) {
                        checkMdPage(Integer.toUnsignedLong(e), "extent of blob " + id);
                        more.add(e);
                    }
                }
                for (int x : h.xattrPages()) {
                    checkMdPage(Integer.toUnsignedLong(x), "xattr page of blob " + id);
                    more.add(x);
                }
                decoded.add(h);
            }
            int[] pages = more.stream().mapToInt(Integer::intValue).toArray();
            return readPages(pages).thenAccept(rest -> {
                Map<Integer, MemorySegment> byPage = new HashMap<>();
                for (int j = 0; j < pages.length; j++) {
                    byPage.put(pages[j], rest[j]);
                }
                for (int j = 0; j < decoded.size(); j++) {
                    int slot = slots.get(j);
                    build(tableIds[slot], tableHeads[slot], decoded.get(j), byPage);
                }
                checkGraph();
            });
        });
    }

    private void build(long id, int headPage, BlobCodec.Head h, Map<Integer, MemorySegment> pages) {
        int[][] chunks = new int[h.extentPages().length][];
        int[][] refs = new int[chunks.length][];
        for (int i = 0; i < chunks.length; i++) {
            int p = h.extentPages()[i];
            if (p == 0) {
                continue;
            }
            MemorySegment seg = pages.get(p);
            MdFormat.check(seg, pageSize, p, MdFormat.TYPE_EXTENT, id, root.generation());
            int[] e = BlobCodec.decodeExtent(seg, pageSize, p, i);
            for (int k = 0; k < e.length; k++) {
                long logical = (long) i * extentEntries + k;
                if (e[k] != 0 && (logical >= h.numClusters() || Integer.toUnsignedLong(e[k]) > root.dataClusters())) {
                    throw MdFormat.corrupt("blob " + id + " maps cluster " + logical + " to device cluster "
                            + (Integer.toUnsignedLong(e[k]) - 1) + " (size " + h.numClusters() + ", data clusters "
                            + root.dataClusters() + ")");
                }
            }
            chunks[i] = e;
            refs[i] = e;
        }
        byte[] stream = new byte[h.streamLength()];
        System.arraycopy(h.inline(), 0, stream, 0, h.inline().length);
        int done = h.inline().length;
        for (int x : h.xattrPages()) {
            MemorySegment seg = pages.get(x);
            MdFormat.check(seg, pageSize, x, MdFormat.TYPE_XATTR, id, root.generation());
            int n = Math.min(seg.get(MdFormat.U32, 12), stream.length - done);
            MemorySegment.copy(seg, MdFormat.PAGE_HEADER, MemorySegment.ofArray(stream), done, n);
            done += n;
        }
        if (done != stream.length) {
            throw MdFormat.corrupt("blob " + id + ": xattr pages hold " + done + " of " + stream.length + " bytes");
        }
        SortedMap<String, String> x = BlobCodec.parseXattrs(stream, id);
        BlobMeta m = new BlobMeta(id, h.flags(), h.parentId(), ClusterMap.of(extentEntries, h.numClusters(), chunks), x);
        metas.put(id, m);
        layouts.put(id, new Layout(headPage, h.xattrPages(), h.extentPages(), refs));
    }

    /** Parents exist, no cycles, the super blob exists, no device cluster has two owners. */
    private void checkGraph() {
        for (BlobMeta m : metas.values()) {
            if (m.parentId() != 0 && !metas.containsKey(m.parentId())) {
                throw MdFormat.corrupt("blob " + m.id() + " has parent " + m.parentId() + ", which does not exist");
            }
            int depth = 0;
            for (BlobMeta p = m; p.parentId() != 0; p = metas.get(p.parentId())) {
                if (++depth > metas.size()) {
                    throw MdFormat.corrupt("blob " + m.id() + " is in a parent cycle");
                }
            }
        }
        if (root.superBlobId() != 0 && !metas.containsKey(root.superBlobId())) {
            throw MdFormat.corrupt("super blob " + root.superBlobId() + " does not exist");
        }
        BitSet owned = new BitSet();
        for (BlobMeta m : metas.values()) {
            for (long k = 0; k < m.numClusters(); k++) {
                long c = m.map().get(k);
                if (c >= 0) {
                    if (owned.get((int) c)) {
                        throw MdFormat.corrupt("device cluster " + c + " is mapped twice (again by blob " + m.id() + ")");
                    }
                    owned.set((int) c);
                }
            }
        }
    }

    /** Reads pages into heap copies, a window at a time. */
    private CompletableFuture<MemorySegment[]> readPages(int[] pages) {
        MemorySegment[] out = new MemorySegment[pages.length];
        return Window.run(pages.length, READ_WINDOW, "reading metadata pages", (j, done) -> {
            DmaBuffer b = pool.get(pageSize);
            if (b == null) {
                md.deferTask(() -> done.ioDone(Errno.ENOMEM, null));
                return;
            }
            dev.read(b.segment(), 0, Integer.toUnsignedLong(pages[j]) * pageSize, pageSize, (e, a) -> {
                if (e == 0) {
                    out[j] = MemorySegment.ofArray(b.segment().asSlice(0, pageSize)
                            .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                }
                pool.put(b);
                done.ioDone(e, null);
            }, null);
        }).thenApply(v -> out);
    }
}
