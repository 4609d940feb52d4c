package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The working state of one commit: an overlay of blob versions added, changed and removed over the
 * committed state, plus the root fields. Each {@link Change} of a batch runs in a child overlay that
 * is merged only when the change succeeds, so one failing change leaves the others' effects
 * intact. Metadata reactor only.
 */
final class Txn {
    private final Map<Long, BlobMeta> base;
    private final Txn parent;
    final Map<Long, BlobMeta> put = new LinkedHashMap<>();
    final Set<Long> removed = new LinkedHashSet<>();
    /** How to clear clusters a blob gives back in this commit (blob id to method). */
    final Map<Long, ClearMethod> clear = new HashMap<>();
    long nextBlobId;
    long superBlobId;
    long dataClusters;
    private boolean rootChanged;

    Txn(Map<Long, BlobMeta> committed, long nextBlobId, long superBlobId, long dataClusters) {
        this.base = committed;
        this.parent = null;
        this.nextBlobId = nextBlobId;
        this.superBlobId = superBlobId;
        this.dataClusters = dataClusters;
    }

    private Txn(Txn parent) {
        this.base = parent.base;
        this.parent = parent;
        this.nextBlobId = parent.nextBlobId;
        this.superBlobId = parent.superBlobId;
        this.dataClusters = parent.dataClusters;
    }

    Txn child() {
        return new Txn(this);
    }

    /** Applies a successful child's effects to this overlay. */
    void merge(Txn c) {
        for (Long id : c.removed) {
            put.remove(id);
            removed.add(id);
        }
        for (var e : c.put.entrySet()) {
            removed.remove(e.getKey());
            put.put(e.getKey(), e.getValue());
        }
        clear.putAll(c.clear);
        rootChanged |= c.rootChanged;
        nextBlobId = c.nextBlobId;
        superBlobId = c.superBlobId;
        dataClusters = c.dataClusters;
    }

    /** The blob's version in this overlay, or null if it does not exist (or was removed). */
    BlobMeta get(long id) {
        if (removed.contains(id)) {
            return null;
        }
        BlobMeta m = put.get(id);
        if (m != null) {
            return m;
        }
        return parent != null ? parent.get(id) : base.get(id);
    }

    /** Like {@link #get} but -ENOENT naming the blob. */
    BlobMeta require(long id) {
        BlobMeta m = get(id);
        if (m == null) {
            throw new BasaltException(Errno.ENOENT, "blob " + id + " does not exist");
        }
        return m;
    }

    void put(BlobMeta m) {
        removed.remove(m.id());
        put.put(m.id(), m);
    }

    void remove(long id, ClearMethod how) {
        put.remove(id);
        removed.add(id);
        clear.put(id, how);
        if (superBlobId == id) {
            superBlobId = 0;
            rootChanged = true;
        }
    }

    long newBlobId() {
        rootChanged = true;
        return nextBlobId++;
    }

    void setSuperBlob(long id) {
        superBlobId = id;
        rootChanged = true;
    }

    void setDataClusters(long n) {
        dataClusters = n;
        rootChanged = true;
    }

    void setClear(long id, ClearMethod how) {
        clear.put(id, how);
    }

    boolean dirty() {
        return rootChanged || !put.isEmpty() || !removed.isEmpty();
    }

    /** Ids of every blob in this overlay (committed, added, minus removed). */
    List<Long> ids() {
        Set<Long> out = new LinkedHashSet<>(parent != null ? parent.ids() : base.keySet());
        out.removeAll(removed);
        out.addAll(put.keySet());
        return new ArrayList<>(out);
    }

    /** The blobs whose parent is {@code id}, in this overlay. */
    List<BlobMeta> children(long id) {
        List<BlobMeta> out = new ArrayList<>();
        for (long i : ids()) {
            BlobMeta m = get(i);
            if (m.parentId() == id) {
                out.add(m);
            }
        }
        return out;
    }

    /** Device cluster holding logical cluster k for blob {@code m}: its own, else an ancestor's; -1 = zeroes. */
    long resolve(BlobMeta m, long k) {
        for (BlobMeta b = m; b != null; b = b.parentId() == 0 ? null : get(b.parentId())) {
            if (k >= b.numClusters()) {
                return -1;
            }
            long c = b.map().get(k);
            if (c >= 0) {
                return c;
            }
        }
        return -1;
    }
}
