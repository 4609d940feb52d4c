package io.basalt.blob;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * A blob of a {@link Blobstore}: a thin or thick array of clusters with a parent, flags and
 * xattrs. The accessors read the committed state and must be called on the metadata reactor; the
 * data path reads only {@link #view}, an immutable version published after each commit.
 */
public final class Blob {
    /** What the data path sees: a committed version and the parent to read unallocated clusters from. */
    record View(BlobMeta meta, Blob parent) {
    }

    final long id;
    final Blobstore store;
    volatile View view;
    BlobMeta meta;
    Blob parent;
    final List<Blob> children = new ArrayList<>();
    boolean deleted;
    /** Allocations in flight, by logical cluster (metadata reactor). */
    final Map<Long, Allocation> allocations = new HashMap<>();
    /** Bumped whenever the set of allocated clusters changes other than by writes (merge, inflate). */
    long dataGeneration;
    /** What holds the blob for a long metadata operation ("inflate", "decouple"), or null. */
    String holder;

    Blob(long id, Blobstore store) {
        this.id = id;
        this.store = store;
    }

    public long id() {
        return id;
    }

    public Blobstore store() {
        return store;
    }

    public long numClusters() {
        return meta.numClusters();
    }

    public long sizeBytes() {
        return meta.numClusters() * store.clusterSize();
    }

    public boolean thin() {
        return meta.thin();
    }

    public boolean readOnly() {
        return meta.readOnly();
    }

    public boolean snapshot() {
        return meta.snapshot();
    }

    /** The blob unallocated clusters read from, or null. */
    public Blob parent() {
        return parent;
    }

    public List<Blob> children() {
        return List.copyOf(children);
    }

    public boolean deleted() {
        return deleted;
    }

    public String xattr(String name) {
        return meta.xattrs().get(name);
    }

    public SortedMap<String, String> xattrs() {
        return meta.xattrs();
    }

    /** Clusters this blob holds itself (not through its parent). */
    public long allocatedClusters() {
        return meta.map().allocatedCount();
    }

    /** Whether logical cluster {@code k} is allocated in this blob. */
    public boolean allocated(long k) {
        return meta.map().allocated(k);
    }

    /** The data generation: changes whenever the allocated data changes other than by writes. */
    public long dataGeneration() {
        return dataGeneration;
    }

    /** What holds the blob for a long metadata operation, or null. */
    public String holder() {
        return holder;
    }

    @Override
    public String toString() {
        return "blob " + id;
    }
}
