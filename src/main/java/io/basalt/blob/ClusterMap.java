package io.basalt.blob;

import java.util.Arrays;

/**
 * A blob's logical-to-device cluster map, immutable, so the data path reads it on any reactor
 * without a lock. It is split in chunks of {@code chunkSize} entries, one per extent page on
 * disk; a change copies only the top array and the chunks it touches, so a blob's other chunks
 * are shared between versions (and the commit rewrites only the extent pages whose chunk
 * changed). Entries hold device cluster + 1, 0 = unallocated, exactly as the extent page does;
 * a null chunk is all unallocated.
 */
final class ClusterMap {
    final int chunkSize;
    final long numClusters;
    private final int[][] chunks;
    private long allocated = -1;

    private ClusterMap(int chunkSize, long numClusters, int[][] chunks) {
        this.chunkSize = chunkSize;
        this.numClusters = numClusters;
        this.chunks = chunks;
    }

    static ClusterMap empty(int chunkSize, long numClusters) {
        return new ClusterMap(chunkSize, numClusters, new int[chunkCount(chunkSize, numClusters)][]);
    }

    static int chunkCount(int chunkSize, long numClusters) {
        return (int) ((numClusters + chunkSize - 1) / chunkSize);
    }

    /** Built from chunks read at load; the array is taken over. */
    static ClusterMap of(int chunkSize, long numClusters, int[][] chunks) {
        return new ClusterMap(chunkSize, numClusters, chunks);
    }

    /** Device cluster of logical cluster {@code k}, or -1 if unallocated (or beyond the end). */
    long get(long k) {
        if (k >= numClusters) {
            return -1;
        }
        int[] c = chunks[(int) (k / chunkSize)];
        return c == null ? -1 : c[(int) (k % chunkSize)] - 1L;
    }

    boolean allocated(long k) {
        return get(k) >= 0;
    }

    int chunkCount() {
        return chunks.length;
    }

    /** Chunk {@code i} (shared, never modify), or null if all unallocated. */
    int[] chunk(int i) {
        return chunks[i];
    }

    /** How many clusters are allocated (computed once). */
    long allocatedCount() {
        long a = allocated;
        if (a < 0) {
            a = 0;
            for (int[] c : chunks) {
                if (c != null) {
                    for (int v : c) {
                        if (v != 0) {
                            a++;
                        }
                    }
                }
            }
            allocated = a;
        }
        return a;
    }

    Builder edit() {
        return new Builder(this);
    }

    /** Copy-on-write editing: a chunk is copied the first time it is changed. */
    static final class Builder {
        private final int chunkSize;
        private long numClusters;
        private int[][] chunks;
        private boolean[] owned;

        private Builder(ClusterMap m) {
            chunkSize = m.chunkSize;
            numClusters = m.numClusters;
            chunks = m.chunks.clone();
            owned = new boolean[chunks.length];
        }

        long numClusters() {
            return numClusters;
        }

        long get(long k) {
            if (k >= numClusters) {
                return -1;
            }
            int[] c = chunks[(int) (k / chunkSize)];
            return c == null ? -1 : c[(int) (k % chunkSize)] - 1L;
        }

        /** Maps {@code k} to device cluster {@code cluster}, or unmaps it with -1. */
        Builder set(long k, long cluster) {
            if (k < 0 || k >= numClusters) {
                throw new IllegalArgumentException("cluster " + k + " outside the map of " + numClusters);
            }
            int i = (int) (k / chunkSize);
            int[] c = chunks[i];
            if (!owned[i]) {
                c = c == null ? new int[chunkSize] : c.clone();
                chunks[i] = c;
                owned[i] = true;
            }
            c[(int) (k % chunkSize)] = (int) (cluster + 1);
            return this;
        }

        /** Changes the length; clusters past a smaller end are dropped from the map. */
        Builder resize(long n) {
            int count = chunkCount(chunkSize, n);
            if (n < numClusters) {
                for (long k = n; k < Math.min(numClusters, (long) count * chunkSize); k++) {
                    if (get(k) >= 0) {
                        set(k, -1);
                    }
                }
            }
            chunks = Arrays.copyOf(chunks, count);
            owned = Arrays.copyOf(owned, count);
            numClusters = n;
            return this;
        }

        ClusterMap build() {
            return new ClusterMap(chunkSize, numClusters, chunks.clone());
        }
    }
}
