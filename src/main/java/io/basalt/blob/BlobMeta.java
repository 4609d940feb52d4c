package io.basalt.blob;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One committed version of a blob's persistent state: what its head and extent pages say.
 * Immutable; a metadata change makes a new one.
 *
 * @param flags    {@link #THIN}, {@link #READ_ONLY}, {@link #SNAPSHOT}
 * @param parentId the blob unallocated clusters are read from (0 = none: they read as zeroes)
 * @param xattrs   extended attributes, sorted by name
 */
record BlobMeta(long id, int flags, long parentId, ClusterMap map, SortedMap<String, String> xattrs) {
    /** Clusters are allocated on first write. */
    static final int THIN = 1;
    /** No writes from users (internal copies still fill unallocated clusters). */
    static final int READ_ONLY = 2;
    /** Made by a snapshot; its data is the point-in-time image of its origin. */
    static final int SNAPSHOT = 4;
    static final int KNOWN_FLAGS = THIN | READ_ONLY | SNAPSHOT;

    BlobMeta {
        xattrs = Collections.unmodifiableSortedMap(new TreeMap<>(xattrs));
    }

    long numClusters() {
        return map.numClusters;
    }

    boolean thin() {
        return (flags & THIN) != 0;
    }

    boolean readOnly() {
        return (flags & READ_ONLY) != 0;
    }

    boolean snapshot() {
        return (flags & SNAPSHOT) != 0;
    }

    BlobMeta withMap(ClusterMap m) {
        return new BlobMeta(id, flags, parentId, m, xattrs);
    }

    BlobMeta withParent(long p) {
        return new BlobMeta(id, flags, p, map, xattrs);
    }

    BlobMeta withFlags(int f) {
        return new BlobMeta(id, f, parentId, map, xattrs);
    }

    BlobMeta withXattrs(SortedMap<String, String> x) {
        return new BlobMeta(id, flags, parentId, map, x);
    }
}
