package io.basalt.bdev.lvol;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The independent model of an lvol store for the stateful test: per volume its size, flags,
 * parent, which clusters it holds itself, and the seed of every 4 KiB block it holds (0 =
 * zeroes). What a volume reads is its own block where it holds the cluster, else its parent's
 * where the parent is that large, else zeroes. Every operation is written here from the rules in
 * docs/RPC.md, not from the implementation.
 */
public final class LvolModel {
    final int clusterBlocks;
    public final long capacity;
    public final Map<String, Vol> vols = new LinkedHashMap<>();

    public static final class Vol {
        public final String name;
        public boolean snapshot;
        public boolean thin;
        public Vol parent;
        public int clusters;
        long[] own;
        boolean[] owned;
        /** Attributes a client set (xattrs of snapshots, bdev_lvol_set_xattr). */
        public final Map<String, String> xattrs = new java.util.TreeMap<>();

        Vol(String name, int clusters, int clusterBlocks) {
            this.name = name;
            this.clusters = clusters;
            this.own = new long[clusters * clusterBlocks];
            this.owned = new boolean[clusters];
        }

        public long allocated() {
            long n = 0;
            for (boolean b : owned) {
                if (b) {
                    n++;
                }
            }
            return n;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    public LvolModel(int clusterBlocks, long capacity) {
        this.clusterBlocks = clusterBlocks;
        this.capacity = capacity;
    }

    /** A deep copy (volumes, links and data). */
    public LvolModel copy() {
        LvolModel m = new LvolModel(clusterBlocks, capacity);
        for (Vol v : vols.values()) {
            Vol c = new Vol(v.name, v.clusters, clusterBlocks);
            c.snapshot = v.snapshot;
            c.thin = v.thin;
            c.own = v.own.clone();
            c.owned = v.owned.clone();
            c.xattrs.putAll(v.xattrs);
            m.vols.put(c.name, c);
        }
        for (Vol v : vols.values()) {
            if (v.parent != null) {
                m.vols.get(v.name).parent = m.vols.get(v.parent.name);
            }
        }
        return m;
    }

    /** Renames a volume (its place in the order is kept). */
    public void rename(Vol v, String name) {
        Map<String, Vol> again = new LinkedHashMap<>();
        for (Vol x : vols.values()) {
            if (x == v) {
                Vol r = new Vol(name, v.clusters, clusterBlocks);
                r.snapshot = v.snapshot;
                r.thin = v.thin;
                r.own = v.own;
                r.owned = v.owned;
                r.parent = v.parent;
                r.xattrs.putAll(v.xattrs);
                again.put(name, r);
            } else {
                again.put(x.name, x);
            }
        }
        for (Vol x : again.values()) {
            if (x.parent == v) {
                x.parent = again.get(name);
            }
        }
        vols.clear();
        vols.putAll(again);
    }

    /** Seed of what block {@code b} of {@code v} reads. */
    public long visible(Vol v, long b) {
        int k = (int) (b / clusterBlocks);
        for (Vol x = v; x != null; x = x.parent) {
            if (k >= x.clusters) {
                return 0;
            }
            if (x.owned[k]) {
                return x.own[(int) b];
            }
        }
        return 0;
    }

    public boolean ancestorHolds(Vol v, int k) {
        for (Vol x = v.parent; x != null; x = x.parent) {
            if (k >= x.clusters) {
                return false;
            }
            if (x.owned[k]) {
                return true;
            }
        }
        return false;
    }

    public List<Vol> children(Vol v) {
        List<Vol> out = new ArrayList<>();
        for (Vol x : vols.values()) {
            if (x.parent == v) {
                out.add(x);
            }
        }
        return out;
    }

    public long sizeSum() {
        long n = 0;
        for (Vol v : vols.values()) {
            n += v.clusters;
        }
        return n;
    }

    public long ownedSum() {
        long n = 0;
        for (Vol v : vols.values()) {
            n += v.allocated();
        }
        return n;
    }

    /** Gives {@code v} its own copy of cluster k (what it reads now), as a first write does. */
    private void own(Vol v, int k) {
        if (v.owned[k]) {
            return;
        }
        for (int i = 0; i < clusterBlocks; i++) {
            long b = (long) k * clusterBlocks + i;
            v.own[(int) b] = visible(v, b);
        }
        v.owned[k] = true;
    }

    // ------------------------------------------------------------------ operations

    public Vol create(String name, int clusters, boolean thin) {
        Vol v = new Vol(name, clusters, clusterBlocks);
        v.thin = thin;
        if (!thin) {
            Arrays.fill(v.owned, true);
        }
        vols.put(name, v);
        return v;
    }

    public void write(Vol v, long block, int n, long seed) {
        for (long b = block; b < block + n; b++) {
            own(v, (int) (b / clusterBlocks));
            v.own[(int) b] = seed;
        }
    }

    /** Zeroes: a cluster nobody below holds data for stays unallocated (it reads zeroes already). */
    public void writeZeroes(Vol v, long block, int n) {
        for (long b = block; b < block + n; b++) {
            int k = (int) (b / clusterBlocks);
            if (!v.owned[k] && !ancestorHolds(v, k)) {
                continue;
            }
            own(v, k);
            v.own[(int) b] = 0;
        }
    }

    public Vol snapshot(Vol origin, String name) {
        Vol s = new Vol(name, origin.clusters, clusterBlocks);
        s.snapshot = true;
        s.thin = origin.thin;
        s.parent = origin.parent;
        s.own = origin.own.clone();
        s.owned = origin.owned.clone();
        origin.parent = s;
        origin.thin = true;
        origin.owned = new boolean[origin.clusters];
        vols.put(name, s);
        return s;
    }

    public Vol clone(Vol snap, String name) {
        Vol c = new Vol(name, snap.clusters, clusterBlocks);
        c.thin = true;
        c.parent = snap;
        vols.put(name, c);
        return c;
    }

    public void resize(Vol v, int n) {
        v.own = Arrays.copyOf(v.own, n * clusterBlocks);
        boolean[] o = Arrays.copyOf(v.owned, n);
        if (!v.thin) {
            for (int k = v.clusters; k < n; k++) {
                o[k] = true;
            }
        }
        if (n < v.clusters) {
            // Blocks past the end are forgotten, so a later grow reads the parent (or zeroes) again.
            Arrays.fill(v.own, Math.min(v.own.length, n * clusterBlocks), v.own.length, 0);
        }
        v.owned = o;
        v.clusters = n;
    }

    /** Deletes v; its only child takes the clusters it does not hold (callers check the child count). */
    public void delete(Vol v) {
        List<Vol> kids = children(v);
        if (kids.size() == 1) {
            Vol x = kids.get(0);
            for (int k = 0; k < Math.min(x.clusters, v.clusters); k++) {
                if (!x.owned[k] && v.owned[k]) {
                    x.owned[k] = true;
                    System.arraycopy(v.own, k * clusterBlocks, x.own, k * clusterBlocks, clusterBlocks);
                }
            }
            x.parent = v.parent;
        }
        vols.remove(v.name);
    }

    public void inflate(Vol v) {
        for (int k = 0; k < v.clusters; k++) {
            own(v, k);
        }
        v.parent = null;
        v.thin = false;
    }

    public void decouple(Vol v) {
        boolean full = true;
        for (int k = 0; k < v.clusters; k++) {
            if (!v.owned[k] && ancestorHolds(v, k)) {
                own(v, k);
            }
            full &= v.owned[k];
        }
        v.parent = null;
        if (full) {
            v.thin = false;
        }
    }

    public void setParent(Vol v, Vol snap) {
        v.parent = snap;
    }

    public void detachParent(Vol v) {
        v.parent = null;
        v.thin = true;
    }
}
