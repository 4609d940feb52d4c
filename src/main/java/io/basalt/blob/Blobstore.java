package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BooleanSupplier;

/**
 * Basalt's blobstore (the role of SPDK's lib/blob): blobs of clusters on a {@link BlobDevice}, thin
 * provisioning, snapshots, clones, xattrs, with a crash-consistent copy-on-write metadata format
 * (docs/FORMATS.md, "Blobstore").
 *
 * <p>Threading: every metadata operation runs on the metadata reactor {@link #md} (it asserts
 * so); the returned futures complete there. Operations are asynchronous state machines; each ends
 * in one atomic commit, so a crash leaves a store with the operation done or not done. Data I/O
 * runs on any reactor through a {@link BlobChannel}.
 *
 * <p>Contract with the caller: an operation that changes the cluster map of a writable blob
 * under its writers (snapshot of it, setParent/detachParent of it, deleting its parent so it
 * takes the parent's clusters) needs the writes to that blob held back for the duration (the
 * lvol module quiesces the bdev); with an allocation of the blob in flight the operation is
 * refused with -EBUSY. Deleting a blob needs it to have no users.
 */
public final class Blobstore {
    private static final System.Logger LOG = System.getLogger(Blobstore.class.getName());
    public static final long DEFAULT_CLUSTER_SIZE = 4L << 20;
    public static final int DEFAULT_MD_PAGES_PER_CLUSTER_RATIO = 100;
    /** The xattr holding a snapshot's stored checksum; dropped whenever the data it covers changes. */
    public static final String CHECKSUM_XATTR = "snapshot_checksum";
    private static final int ZERO_WINDOW = 32;

    /** How to format a store; uuid null = random. */
    public record Options(long clusterSize, int mdPagesPerClusterRatio, UUID uuid) {
        public static Options defaults() {
            return new Options(DEFAULT_CLUSTER_SIZE, DEFAULT_MD_PAGES_PER_CLUSTER_RATIO, null);
        }
    }

    /** What a device holds: a store (found), nothing, or a store that cannot be read (problem). */
    public record Probe(boolean found, String problem) {
    }

    final Reactor md;
    private final BlobDevice device;
    private final BufferPool pool;
    private final BlobChannel mdChannel;
    private final BlobChannel[] channels;
    volatile int epoch;
    private MetaStore meta;
    private ClusterAllocator allocator;
    private Reclaimer reclaimer;
    private final Map<Long, Blob> blobs = new HashMap<>();
    private final List<Long> clusterQuarantine = new ArrayList<>();
    private long clusterSize;
    private long dataOffset;
    private int blockSize;
    private boolean closed;

    private Blobstore(Reactor md, BlobDevice device, BufferPool pool) {
        this.md = md;
        this.device = device;
        this.pool = pool;
        this.channels = new BlobChannel[md.group().size()];
        this.mdChannel = new BlobChannel(this, md, device.openChannel());
        this.mdChannel.refs = 1;
        channels[md.id()] = mdChannel;
    }

    // ------------------------------------------------------------------ create, probe, load

    /** Formats {@code dev} and returns the empty store. Metadata reactor. */
    public static CompletableFuture<Blobstore> create(BlobDevice dev, Reactor md, BufferPool pool, Options o) {
        md.assertInReactor();
        RootRecord g;
        try {
            g = MetaStore.geometry(o.uuid() == null ? UUID.randomUUID() : o.uuid(), dev.blockSize(), dev.sizeBytes(),
                    o.clusterSize(), o.mdPagesPerClusterRatio());
        } catch (BasaltException e) {
            return CompletableFuture.failedFuture(e);
        }
        Blobstore s = new Blobstore(md, dev, pool);
        return s.started(MetaStore.format(md, pool, s.mdChannel.dev, g, s::installCommit));
    }

    /** Whether {@code dev} holds a blobstore. Metadata reactor. */
    public static CompletableFuture<Probe> probe(BlobDevice dev, Reactor md, BufferPool pool) {
        md.assertInReactor();
        DeviceChannel ch = dev.openChannel();
        return MetaStore.readRoot(pool, ch, dev.blockSize(), dev.sizeBytes()).handle((slot, t) -> {
            ch.close();
            if (t != null) {
                return new Probe(false, cause(t).getMessage());
            }
            return switch (slot) {
                case RootRecord.Empty e -> new Probe(false, null);
                case RootRecord.Corrupt c -> new Probe(true, c.reason());
                case RootRecord.Valid v -> new Probe(true, null);
            };
        });
    }

    /** Loads the store on {@code dev}: -ENODEV if there is none, -EILSEQ if it is damaged. */
    public static CompletableFuture<Blobstore> load(BlobDevice dev, Reactor md, BufferPool pool) {
        md.assertInReactor();
        Blobstore s = new Blobstore(md, dev, pool);
        CompletableFuture<MetaStore> m = MetaStore.readRoot(pool, s.mdChannel.dev, dev.blockSize(), dev.sizeBytes())
                .thenCompose(slot -> switch (slot) {
                    case RootRecord.Empty e -> CompletableFuture.failedFuture(
                            new BasaltException(Errno.ENODEV, "no blobstore on the device"));
                    case RootRecord.Corrupt c -> CompletableFuture.failedFuture(MdFormat.corrupt(c.reason()));
                    case RootRecord.Valid v -> MetaStore.load(md, pool, s.mdChannel.dev, v.root(), dev.sizeBytes(),
                            dev.blockSize(), s::installCommit);
                });
        return s.started(m);
    }

    private CompletableFuture<Blobstore> started(CompletableFuture<MetaStore> m) {
        CompletableFuture<Blobstore> f = new CompletableFuture<>();
        m.whenComplete((ms, t) -> {
            if (t == null) {
                try {
                    init(ms);
                } catch (RuntimeException e) {
                    t = e;
                }
            }
            if (t != null) {
                mdChannel.dev.close();
                f.completeExceptionally(cause(t));
            } else {
                f.complete(this);
            }
        });
        return f;
    }

    private void init(MetaStore m) {
        meta = m;
        RootRecord r = m.root();
        clusterSize = r.clusterSize();
        dataOffset = r.dataOffset();
        blockSize = r.blockSize();
        allocator = new ClusterAllocator(r.dataClusters());
        reclaimer = new Reclaimer(this);
        for (BlobMeta bm : m.metas().values()) {
            Blob b = new Blob(bm.id(), this);
            b.meta = bm;
            blobs.put(bm.id(), b);
            for (long k = 0; k < bm.numClusters(); k++) {
                long c = bm.map().get(k);
                if (c >= 0) {
                    allocator.own(c, false);
                }
            }
        }
        for (Blob b : blobs.values()) {
            if (b.meta.parentId() != 0) {
                b.parent = blobs.get(b.meta.parentId());
                b.parent.children.add(b);
            }
        }
        for (Blob b : blobs.values()) {
            b.view = new Blob.View(b.meta, b.parent);
        }
    }

    // ------------------------------------------------------------------ properties

    public UUID uuid() {
        return meta.root().uuid();
    }

    public long clusterSize() {
        return clusterSize;
    }

    public int blockSize() {
        return blockSize;
    }

    public int pageSize() {
        return meta.pageSize;
    }

    long dataOffset() {
        return dataOffset;
    }

    BufferPool pool() {
        return pool;
    }

    ClusterAllocator allocator() {
        return allocator;
    }

    BlobChannel mdChannel() {
        return mdChannel;
    }

    BlobChannel channelOf(Reactor r) {
        return channels[r.id()];
    }

    public BlobDevice device() {
        return device;
    }

    public Reactor mdReactor() {
        return md;
    }

    /** Data clusters of the store. */
    public long totalClusters() {
        return allocator.total();
    }

    /** Clusters no blob holds (clusters being reclaimed after a delete count as free). */
    public long freeClusters() {
        return allocator.free();
    }

    /** Metadata commits since the store was opened (for tests and statistics). */
    public long commits() {
        return meta.commits();
    }

    /** Metadata pages in use, including the two root slots. */
    public int metadataPagesUsed() {
        return meta.usedPages();
    }

    public long metadataPages() {
        return meta.root().mdPages() + 2;
    }

    public Blob blob(long id) {
        return blobs.get(id);
    }

    /** Every blob, including the super blob. Metadata reactor. */
    public Collection<Blob> blobs() {
        return List.copyOf(blobs.values());
    }

    /** The blob the store's user keeps its own metadata in, or null. */
    public Blob superBlob() {
        long id = meta.root().superBlobId();
        return id == 0 ? null : blobs.get(id);
    }

    /** True once no commit is in flight or queued and no cluster waits to be reclaimed. */
    public boolean idle() {
        boolean[] idle = {false};
        meta.whenIdle(() -> idle[0] = true);
        return idle[0] && reclaimer.idle();
    }

    // ------------------------------------------------------------------ channels

    /** The calling reactor's channel (created on first use); give it back with {@link #putChannel}. */
    public BlobChannel channel() {
        Reactor r = Reactor.current();
        if (r == null || r.group() != md.group()) {
            throw new IllegalStateException("blob channels exist only on the store's reactors");
        }
        BlobChannel ch = channels[r.id()];
        if (ch == null) {
            ch = new BlobChannel(this, r, device.openChannel());
            channels[r.id()] = ch;
        }
        ch.refs++;
        return ch;
    }

    public void putChannel(BlobChannel ch) {
        ch.reactor.assertInReactor();
        if (--ch.refs == 0) {
            channels[ch.reactor.id()] = null;
            ch.dev.close();
        }
    }

    // ------------------------------------------------------------------ commit plumbing

    CompletableFuture<Void> commit(Change c) {
        if (closed) {
            return CompletableFuture.failedFuture(new BasaltException(Errno.ENODEV, "blobstore is closed"));
        }
        return meta.submit(c);
    }

    static Throwable cause(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static boolean commitFailed(Throwable t) {
        return cause(t) instanceof MetaStore.CommitFailed;
    }

    /** After a durable commit: cluster ownership, runtime blobs, parent links, views. */
    private void installCommit(Txn t, Map<Long, BlobMeta> before) {
        Set<Long> added = new HashSet<>();
        Map<Long, ClearMethod> removed = new HashMap<>();
        for (var e : before.entrySet()) {
            BlobMeta nw = t.put.get(e.getKey());
            diff(e.getValue(), nw, added, removed, t.clear.getOrDefault(e.getKey(), ClearMethod.NONE));
        }
        for (long c : added) {
            if (removed.remove(c) == null) {
                allocator.own(c, true);
            }
        }
        for (var e : removed.entrySet()) {
            allocator.toLimbo(e.getKey());
            reclaimer.free(e.getKey(), e.getValue());
        }
        List<Blob> changed = new ArrayList<>();
        for (BlobMeta m : t.put.values()) {
            Blob b = blobs.computeIfAbsent(m.id(), id -> new Blob(id, this));
            b.meta = m;
            changed.add(b);
        }
        for (long id : t.removed) {
            Blob b = blobs.remove(id);
            if (b != null) {
                b.deleted = true;
                if (b.parent != null) {
                    b.parent.children.remove(b);
                }
            }
        }
        for (Blob b : changed) {
            Blob np = b.meta.parentId() == 0 ? null : blobs.get(b.meta.parentId());
            if (b.parent != np) {
                if (b.parent != null) {
                    b.parent.children.remove(b);
                }
                if (np != null) {
                    np.children.add(b);
                }
                b.parent = np;
            }
        }
        // New blobs first: a changed blob's view may name one as its parent.
        for (Blob b : changed) {
            if (before.get(b.id) == null) {
                b.view = new Blob.View(b.meta, b.parent);
            }
        }
        for (Blob b : changed) {
            if (before.get(b.id) != null) {
                b.view = new Blob.View(b.meta, b.parent);
            }
        }
        if (t.dataClusters > allocator.total()) {
            allocator.grow(t.dataClusters);
        }
        for (long c : clusterQuarantine) {
            allocator.unreserve(c);
        }
        clusterQuarantine.clear();
    }

    private static void diff(BlobMeta old, BlobMeta nw, Set<Long> added, Map<Long, ClearMethod> removed,
                             ClearMethod how) {
        int n = Math.max(old == null ? 0 : old.map().chunkCount(), nw == null ? 0 : nw.map().chunkCount());
        for (int i = 0; i < n; i++) {
            int[] a = old == null || i >= old.map().chunkCount() ? null : old.map().chunk(i);
            int[] b = nw == null || i >= nw.map().chunkCount() ? null : nw.map().chunk(i);
            if (a == b) {
                continue;
            }
            int len = Math.max(a == null ? 0 : a.length, b == null ? 0 : b.length);
            for (int j = 0; j < len; j++) {
                int x = a == null ? 0 : a[j];
                int y = b == null ? 0 : b[j];
                if (x != y) {
                    if (x != 0) {
                        removed.put(x - 1L, how);
                    }
                    if (y != 0) {
                        added.add(y - 1L);
                    }
                }
            }
        }
    }

    /** A reservation whose commit failed: the commit's root may be on disk, so hold it until one succeeds. */
    private void dropReservation(long c, Throwable t) {
        if (commitFailed(t)) {
            clusterQuarantine.add(c);
        } else {
            allocator.unreserve(c);
        }
    }

    // ------------------------------------------------------------------ allocation (data path)

    /** Device cluster holding logical cluster {@code k} in an ancestor of the view's blob, or -1 (zeroes). */
    long ancestorCluster(Blob.View v, long k) {
        for (Blob p = v.parent(); p != null; ) {
            Blob.View pv = p.view;
            if (pv == null || k >= pv.meta().numClusters()) {
                return -1;
            }
            long c = pv.meta().map().get(k);
            if (c >= 0) {
                return c;
            }
            p = pv.parent();
        }
        return -1;
    }

    /** An allocation request arrives (metadata reactor). */
    void grant(AllocRequest r) {
        Blob b = r.blob;
        if (closed || b.deleted) {
            r.reply(Errno.ENODEV);
            return;
        }
        Blob.View v = b.view;
        if (r.k >= v.meta().numClusters()) {
            r.reply(Errno.EINVAL);
            return;
        }
        if (v.meta().map().allocated(r.k)) {
            r.reply(AllocRequest.REDO);
            return;
        }
        Allocation a = b.allocations.get(r.k);
        if (a != null) {
            a.waiters.add(r);
            return;
        }
        long c = allocator.reserve();
        if (c < 0) {
            if (allocator.limbo() > 0) {
                reclaimer.afterGrace(() -> grant(r));
            } else {
                r.reply(Errno.ENOSPC);
            }
            return;
        }
        a = new Allocation(r.k, c, r);
        b.allocations.put(r.k, a);
        r.cluster = c;
        r.ch.reactor.send(r::fill);
    }

    /** The requester filled the granted cluster (or failed to): commit the mapping. */
    void allocFilled(AllocRequest r, int errno) {
        Blob b = r.blob;
        Allocation a = b.allocations.get(r.k);
        if (errno != 0) {
            allocator.unreserve(a.cluster);
            endAllocation(b, a, errno);
            return;
        }
        commit(t -> {
            BlobMeta m = t.get(b.id);
            if (m == null) {
                throw new BasaltException(Errno.ENODEV, "blob " + b.id + " was deleted");
            }
            if (a.k >= m.numClusters() || m.map().allocated(a.k)) {
                throw new BasaltException(Errno.EINVAL, "cluster " + a.k + " of blob " + b.id + " changed meanwhile");
            }
            t.put(m.withMap(m.map().edit().set(a.k, a.cluster).build()));
        }).whenComplete((v, t) -> {
            if (t != null) {
                dropReservation(a.cluster, t);
                Throwable c = cause(t);
                endAllocation(b, a, c instanceof BasaltException be ? be.errno() : Errno.EIO);
            } else {
                endAllocation(b, a, 0);
            }
        });
    }

    private void endAllocation(Blob b, Allocation a, int result) {
        b.allocations.remove(a.k);
        a.owner.reply(result);
        for (AllocRequest w : a.waiters) {
            w.reply(AllocRequest.REDO);
        }
    }

    // ------------------------------------------------------------------ metadata operations

    private void check() {
        md.assertInReactor();
        if (closed) {
            throw new BasaltException(Errno.ENODEV, "blobstore is closed");
        }
    }

    /**
     * Runs an operation's checks and start on the metadata reactor: a check that throws becomes
     * the failed future (every check runs before anything changes).
     */
    private <T> CompletableFuture<T> guarded(java.util.function.Supplier<CompletableFuture<T>> op) {
        try {
            check();
            return op.get();
        } catch (BasaltException e) {
            return failed(e);
        }
    }

    private static <T> CompletableFuture<T> failed(Throwable t) {
        return CompletableFuture.failedFuture(t);
    }

    private Blob live(Blob b) {
        if (b == null || b.deleted || b.store != this) {
            throw new BasaltException(Errno.ENOENT, "blob " + (b == null ? "?" : b.id) + " does not exist");
        }
        return b;
    }

    private static void checkXattrs(Map<String, String> x) {
        for (var e : x.entrySet()) {
            BlobCodec.checkXattr(e.getKey(), e.getValue());
        }
    }

    private static void notBusy(Blob b, String op) {
        if (b.holder != null) {
            throw new BasaltException(Errno.EBUSY, "blob " + b.id + " is busy (" + b.holder + " in progress); cannot "
                    + op);
        }
    }

    private static void noAllocations(Blob b, String op) {
        if (!b.allocations.isEmpty()) {
            throw new BasaltException(Errno.EBUSY, "blob " + b.id + " has " + b.allocations.size()
                    + " cluster allocation(s) in flight; hold its writes before " + op);
        }
    }

    static BlobMeta withoutChecksum(BlobMeta m) {
        if (!m.xattrs().containsKey(CHECKSUM_XATTR)) {
            return m;
        }
        SortedMap<String, String> x = new TreeMap<>(m.xattrs());
        x.remove(CHECKSUM_XATTR);
        return m.withXattrs(x);
    }

    /** Creates a blob of {@code numClusters}; a thick one gets every cluster now, zeroed. */
    public CompletableFuture<Blob> createBlob(long numClusters, boolean thin, Map<String, String> xattrs) {
        return guarded(() -> {
            if (numClusters < 0 || numClusters > Integer.MAX_VALUE - 1) {
                throw new BasaltException(Errno.EINVAL, "blob size " + numClusters + " clusters out of range");
            }
            checkXattrs(xattrs);
            long[] id = {0};
            CompletableFuture<long[]> clusters = thin ? CompletableFuture.completedFuture(new long[0])
                    : reserveZeroed(numClusters);
            return clusters.thenCompose(cs -> commit(t -> {
                ClusterMap.Builder mb = ClusterMap.empty(meta.extentEntries, numClusters).edit();
                for (int k = 0; k < cs.length; k++) {
                    mb.set(k, cs[k]);
                }
                id[0] = t.newBlobId();
                t.put(new BlobMeta(id[0], thin ? BlobMeta.THIN : 0, 0, mb.build(), new TreeMap<>(xattrs)));
            }).whenComplete((v, t) -> {
                if (t != null) {
                    for (long c : cs) {
                        dropReservation(c, t);
                    }
                }
            })).thenApply(v -> blobs.get(id[0]));
        });
    }

    /** Reserves {@code n} clusters and zeroes them (waiting for reclaimed clusters if need be). */
    private CompletableFuture<long[]> reserveZeroed(long n) {
        CompletableFuture<long[]> f = new CompletableFuture<>();
        reserveOrWait(n, f);
        return f.thenCompose(cs -> zero(cs).handle((v, t) -> {
            if (t != null) {
                for (long c : cs) {
                    allocator.unreserve(c);
                }
                throw new CompletionException(cause(t));
            }
            return cs;
        }));
    }

    private void reserveOrWait(long n, CompletableFuture<long[]> f) {
        long[] cs = allocator.reserve(n);
        if (cs != null) {
            f.complete(cs);
        } else if (allocator.available() + allocator.limbo() >= n && allocator.limbo() > 0) {
            reclaimer.afterGrace(() -> reserveOrWait(n, f));
        } else {
            f.completeExceptionally(new BasaltException(Errno.ENOSPC, "needs " + n + " clusters, "
                    + allocator.free() + " free"));
        }
    }

    private CompletableFuture<Void> zero(long[] cs) {
        return Window.run(cs.length, ZERO_WINDOW, "zeroing new clusters",
                (i, done) -> mdChannel.dev.writeZeroes(dataOffset + cs[i] * clusterSize, clusterSize, done, null));
    }

    /**
     * Changes the size. Growing a thick blob allocates (and zeroes) the new clusters; shrinking
     * gives back the clusters past the end (cleared per {@code clear}). Read-only blobs cannot
     * be resized (-EPERM).
     */
    public CompletableFuture<Void> resize(Blob blob, long numClusters, ClearMethod clear) {
        return guarded(() -> {
            live(blob);
            if (blob.meta.readOnly()) {
                throw new BasaltException(Errno.EPERM, "blob " + blob.id + " is read-only; it cannot be resized");
            }
            if (numClusters < 0 || numClusters > Integer.MAX_VALUE - 1) {
                throw new BasaltException(Errno.EINVAL, "blob size " + numClusters + " clusters out of range");
            }
            notBusy(blob, "resize");
            return resized(blob, numClusters, clear, blob.meta.thin() ? 0
                    : Math.max(0, numClusters - blob.meta.numClusters()));
        });
    }

    private CompletableFuture<Void> resized(Blob blob, long numClusters, ClearMethod clear, long grow) {
        CompletableFuture<long[]> clusters = grow == 0 ? CompletableFuture.completedFuture(new long[0])
                : reserveZeroed(grow);
        return clusters.thenCompose(cs -> commit(t -> {
            BlobMeta m = t.require(blob.id);
            long old = m.numClusters();
            if (numClusters < old) {
                for (Long k : blob.allocations.keySet()) {
                    if (k >= numClusters) {
                        throw new BasaltException(Errno.EBUSY, "blob " + blob.id + " has writes in flight past the new end");
                    }
                }
            }
            ClusterMap.Builder mb = m.map().edit().resize(numClusters);
            if (!m.thin() && numClusters > old) {
                if (cs.length != numClusters - old) {
                    throw new BasaltException(Errno.EAGAIN, "blob " + blob.id + " changed size meanwhile");
                }
                for (int i = 0; i < cs.length; i++) {
                    mb.set(old + i, cs[i]);
                }
            }
            t.put(m.withMap(mb.build()));
            t.setClear(blob.id, clear);
        }).whenComplete((v, t) -> {
            if (t != null) {
                for (long c : cs) {
                    dropReservation(c, t);
                }
            }
        }));
    }

    /**
     * Snapshots {@code origin}: a new read-only blob takes over the origin's clusters and parent;
     * the origin becomes a thin clone of it (so it reads the same). One commit. The caller holds
     * the origin's writes for the switch.
     */
    public CompletableFuture<Blob> snapshot(Blob origin, Map<String, String> xattrs) {
        return guarded(() -> {
            live(origin);
            checkXattrs(xattrs);
            if (origin.meta.readOnly()) {
                throw new BasaltException(Errno.EINVAL, "blob " + origin.id + " is read-only; snapshot a writable blob");
            }
            notBusy(origin, "snapshot");
            long[] id = {0};
            return commit(t -> {
                BlobMeta o = t.require(origin.id);
                notBusy(origin, "snapshot");
                noAllocations(origin, "a snapshot");
                id[0] = t.newBlobId();
                int flags = BlobMeta.READ_ONLY | BlobMeta.SNAPSHOT | (o.thin() ? BlobMeta.THIN : 0);
                t.put(new BlobMeta(id[0], flags, o.parentId(), o.map(), new TreeMap<>(xattrs)));
                t.put(o.withMap(ClusterMap.empty(meta.extentEntries, o.numClusters())).withParent(id[0])
                        .withFlags(o.flags() | BlobMeta.THIN));
            }).thenApply(v -> {
                origin.dataGeneration++;
                return blobs.get(id[0]);
            });
        });
    }

    /** A thin writable blob reading from snapshot {@code snap}. */
    public CompletableFuture<Blob> clone(Blob snap, Map<String, String> xattrs) {
        return guarded(() -> {
            live(snap);
            checkXattrs(xattrs);
            if (!snap.meta.readOnly()) {
                throw new BasaltException(Errno.EINVAL, "blob " + snap.id + " is not a snapshot (read-only); only "
                        + "snapshots can be cloned");
            }
            long[] id = {0};
            return commit(t -> {
                BlobMeta s = t.require(snap.id);
                id[0] = t.newBlobId();
                t.put(new BlobMeta(id[0], BlobMeta.THIN, s.id(), ClusterMap.empty(meta.extentEntries, s.numClusters()),
                        new TreeMap<>(xattrs)));
            }).thenApply(v -> blobs.get(id[0]));
        });
    }

    /**
     * Deletes a blob. With one child, the child takes the clusters it does not have itself and the
     * blob's parent (a merge: no data moves); with more than one, -EPERM. The blob must have no
     * users; a writable child's writes must be held by the caller.
     */
    public CompletableFuture<Void> delete(Blob blob, ClearMethod clear) {
        return guarded(() -> {
            live(blob);
            notBusy(blob, "delete it");
            Blob[] heir = {null};
            return commit(t -> {
                BlobMeta m = t.require(blob.id);
                notBusy(blob, "delete it");
                noAllocations(blob, "deleting it");
                List<BlobMeta> kids = t.children(blob.id);
                if (kids.size() > 1) {
                    StringBuilder names = new StringBuilder();
                    for (BlobMeta k : kids) {
                        names.append(names.isEmpty() ? "" : ", ").append(k.id());
                    }
                    throw new BasaltException(Errno.EPERM, "blob " + blob.id + " has " + kids.size() + " clones (blobs "
                            + names + "); delete all but one first");
                }
                if (kids.size() == 1) {
                    BlobMeta x = kids.get(0);
                    Blob xb = blobs.get(x.id());
                    notBusy(xb, "take over its parent's clusters");
                    noAllocations(xb, "its parent is merged into it");
                    ClusterMap.Builder mb = x.map().edit();
                    for (long k = 0; k < x.numClusters(); k++) {
                        long c = m.map().get(k);
                        if (c >= 0 && mb.get(k) < 0) {
                            mb.set(k, c);
                        }
                    }
                    t.put(withoutChecksum(x.withMap(mb.build()).withParent(m.parentId())));
                    heir[0] = xb;
                }
                t.remove(blob.id, clear);
            }).thenApply(v -> {
                if (heir[0] != null) {
                    heir[0].dataGeneration++;
                }
                return null;
            });
        });
    }

    /** Sets and removes xattrs in one commit. */
    public CompletableFuture<Void> setXattrs(Blob blob, Map<String, String> set, Collection<String> remove) {
        return guarded(() -> {
            live(blob);
            checkXattrs(set);
            return commit(t -> {
                BlobMeta m = t.require(blob.id);
                SortedMap<String, String> x = new TreeMap<>(m.xattrs());
                x.putAll(set);
                remove.forEach(x::remove);
                t.put(m.withXattrs(x));
            });
        });
    }

    /**
     * Stores a checksum computed for data generation {@code generation}; refused (-ESTALE) if the
     * blob's data changed since.
     */
    public CompletableFuture<Void> storeChecksum(Blob blob, long generation, long checksum) {
        return guarded(() -> {
            live(blob);
            return commit(t -> {
                BlobMeta m = t.require(blob.id);
                if (blob.dataGeneration != generation) {
                    throw new BasaltException(Errno.ESTALE, "data of blob " + blob.id + " changed during the checksum");
                }
                SortedMap<String, String> x = new TreeMap<>(m.xattrs());
                x.put(CHECKSUM_XATTR, Long.toUnsignedString(checksum));
                t.put(m.withXattrs(x));
            });
        });
    }

    CompletableFuture<Void> dropChecksum(Blob blob) {
        if (!blob.meta.xattrs().containsKey(CHECKSUM_XATTR)) {
            return CompletableFuture.completedFuture(null);
        }
        return commit(t -> t.put(withoutChecksum(t.require(blob.id)))).thenRun(() -> blob.dataGeneration++);
    }

    /** Marks the blob the store's user keeps its own metadata in. */
    public CompletableFuture<Void> setSuperBlob(Blob blob) {
        return guarded(() -> {
            live(blob);
            return commit(t -> {
                t.require(blob.id);
                t.setSuperBlob(blob.id);
            });
        });
    }

    /**
     * Makes snapshot {@code parent} the parent of {@code blob}: both the same size, the blob thin
     * or a clone and not a snapshot, no cycle. The caller holds the blob's writes.
     */
    public CompletableFuture<Void> setParent(Blob blob, Blob parent) {
        return guarded(() -> {
            live(blob);
            live(parent);
            notBusy(blob, "change its parent");
            return commit(t -> {
                BlobMeta m = t.require(blob.id);
                BlobMeta p = t.require(parent.id);
                if (!p.snapshot()) {
                    throw new BasaltException(Errno.EINVAL, "blob " + parent.id + " is not a snapshot");
                }
                if (m.snapshot()) {
                    throw new BasaltException(Errno.EINVAL, "blob " + blob.id + " is a snapshot; its parent cannot be set");
                }
                if (!m.thin() && m.parentId() == 0) {
                    throw new BasaltException(Errno.EINVAL, "blob " + blob.id + " is thick and has no parent; only a thin "
                            + "blob or a clone can get a parent");
                }
                if (p.numClusters() != m.numClusters()) {
                    throw new BasaltException(Errno.EINVAL, "blob " + blob.id + " has " + m.numClusters() + " clusters, "
                            + "snapshot " + parent.id + " has " + p.numClusters() + "; they must be the same size");
                }
                for (BlobMeta a = p; a != null; a = a.parentId() == 0 ? null : t.get(a.parentId())) {
                    if (a.id() == blob.id) {
                        throw new BasaltException(Errno.EINVAL, "blob " + parent.id + " descends from blob " + blob.id
                                + "; that would make a cycle");
                    }
                }
                noAllocations(blob, "changing its parent");
                if (m.parentId() != parent.id) {
                    t.put(m.withParent(parent.id));
                }
            });
        });
    }

    /** Drops the parent link: the blob's own clusters stay, the rest reads as zeroes. */
    public CompletableFuture<Void> detachParent(Blob blob) {
        return guarded(() -> {
            live(blob);
            notBusy(blob, "detach its parent");
            return commit(t -> {
                BlobMeta m = t.require(blob.id);
                if (m.parentId() == 0) {
                    throw new BasaltException(Errno.EINVAL, "blob " + blob.id + " has no parent");
                }
                noAllocations(blob, "detaching its parent");
                t.put(m.withParent(0).withFlags(m.flags() | BlobMeta.THIN));
            });
        });
    }

    /** Allocates every unallocated cluster (copied from the parent chain or zeroed), then drops the parent. */
    public CompletableFuture<Void> inflate(Blob blob) {
        return guarded(() -> {
            live(blob);
            notBusy(blob, "inflate it");
            if (blob.parent == null && !blob.meta.thin()) {
                throw new BasaltException(Errno.EINVAL, "blob " + blob.id + " is thick and has no parent; nothing to inflate");
            }
            return new CopyJob(this, blob, true).start();
        });
    }

    /** Copies the clusters the parent chain holds, then drops the parent (the rest stays thin). */
    public CompletableFuture<Void> decoupleParent(Blob blob) {
        return guarded(() -> {
            live(blob);
            notBusy(blob, "decouple it");
            if (blob.parent == null) {
                throw new BasaltException(Errno.EINVAL, "blob " + blob.id + " has no parent");
            }
            return new CopyJob(this, blob, false).start();
        });
    }

    /**
     * CRC-64/NVME over the blob's allocated clusters (see {@link ChecksumJob}); completes with the
     * value, -ECANCELED when {@code cancelled} turned true, -ESTALE if the data changed meanwhile.
     * The caller pairs it with {@link #storeChecksum} using {@link Blob#dataGeneration()} read
     * before starting.
     */
    public CompletableFuture<Long> checksum(Blob blob, BooleanSupplier cancelled) {
        return guarded(() -> {
            live(blob);
            return new ChecksumJob(this, blob, cancelled).start();
        });
    }

    /**
     * Clears the whole data region per {@code how} (SPDK clears it when an lvol store is made).
     * Only for a store that holds no clusters yet; in chunks, a few at a time.
     */
    public CompletableFuture<Void> clearDataRegion(ClearMethod how) {
        return guarded(() -> {
            if (allocator.owned() > 0 || allocator.free() != allocator.total()) {
                throw new BasaltException(Errno.EBUSY, "the data region holds clusters; it cannot be cleared");
            }
            if (how == ClearMethod.NONE) {
                return CompletableFuture.completedFuture(null);
            }
            long chunk = Math.max(clusterSize, (64L << 20) / clusterSize * clusterSize);
            long end = dataOffset + allocator.total() * clusterSize;
            int chunks = (int) ((end - dataOffset + chunk - 1) / chunk);
            return Window.run(chunks, 4, "clearing the data region", (i, done) -> {
                long off = dataOffset + i * chunk;
                long len = Math.min(chunk, end - off);
                if (how == ClearMethod.UNMAP) {
                    mdChannel.dev.unmap(off, len, done, null);
                } else {
                    mdChannel.dev.writeZeroes(off, len, done, null);
                }
            });
        });
    }

    /** Takes in clusters the device grew by; returns the new count of data clusters. */
    public CompletableFuture<Long> grow() {
        return guarded(() -> {
            long bytes = device.sizeBytes();
            long n = Math.min(bytes > dataOffset ? (bytes - dataOffset) / clusterSize : 0, Integer.MAX_VALUE - 1);
            if (n <= allocator.total()) {
                return CompletableFuture.completedFuture(allocator.total());
            }
            return commit(t -> t.setDataClusters(n)).thenApply(v -> allocator.total());
        });
    }

    /**
     * Erases the store from the device (both root slots, in an order where a crash leaves the
     * whole store or none), then closes it. On failure the store stays open as it was.
     */
    public CompletableFuture<Void> destroy() {
        return guarded(() -> {
            return meta.wipe().handle((v, t) -> {
                if (t != null) {
                    meta.reopen();
                    throw new CompletionException(cause(t));
                }
                shut();
                return null;
            });
        });
    }

    /** Finishes the commits in flight and closes the store (nothing is lost: commits are durable). */
    public CompletableFuture<Void> close() {
        md.assertInReactor();
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (closed) {
            f.complete(null);
            return f;
        }
        meta.close();
        meta.whenIdle(() -> {
            shut();
            f.complete(null);
        });
        return f;
    }

    private void shut() {
        closed = true;
        meta.close();
        for (Blob b : blobs.values()) {
            b.deleted = true;
        }
        if (--mdChannel.refs == 0) {
            channels[md.id()] = null;
            mdChannel.dev.close();
        }
        LOG.log(System.Logger.Level.DEBUG, "blobstore " + uuid() + " closed");
    }

    public boolean closed() {
        return closed;
    }
}
