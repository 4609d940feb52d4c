package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.BitSet;

/**
 * Which data clusters are taken. In memory only: at load it is rebuilt from the blobs' cluster
 * maps (the maps are the one persistent truth, so the allocation state is covered by every
 * commit). A cluster is free, reserved (handed to an allocation or a thick create whose commit has
 * not landed), owned (mapped by a committed blob), or in limbo (given back by a commit, waiting
 * until no reader can still use it and it is cleared).
 *
 * <p>Metadata reactor only.
 */
final class ClusterAllocator {
    private final BitSet taken = new BitSet();
    private long total;
    private long owned;
    private long reserved;
    private long limbo;
    private int hint;

    ClusterAllocator(long total) {
        this.total = total;
    }

    long total() {
        return total;
    }

    /** Clusters neither owned nor reserved (limbo counts as free: it is on its way back). */
    long free() {
        return total - owned - reserved;
    }

    /** Clusters that can be reserved right now. */
    long available() {
        return total - owned - reserved - limbo;
    }

    long owned() {
        return owned;
    }

    long limbo() {
        return limbo;
    }

    /** A free cluster, now reserved, or -1 if there is none right now. */
    long reserve() {
        int c = taken.nextClearBit(hint);
        if (c >= total) {
            c = taken.nextClearBit(0);
            if (c >= total) {
                return -1;
            }
        }
        taken.set(c);
        hint = c + 1;
        reserved++;
        return c;
    }

    /** {@code n} clusters, all reserved, or null (nothing reserved) if not that many are available. */
    long[] reserve(long n) {
        if (n > available()) {
            return null;
        }
        long[] out = new long[(int) n];
        for (int i = 0; i < n; i++) {
            out[i] = reserve();
        }
        return out;
    }

    /** A reservation that will not be committed goes back. */
    void unreserve(long c) {
        check(c, true);
        taken.clear((int) c);
        reserved--;
    }

    /** A committed map now owns {@code c} (it was reserved, or taken at load). */
    void own(long c, boolean wasReserved) {
        if (wasReserved) {
            check(c, true);
            reserved--;
        } else {
            if (taken.get((int) c)) {
                throw new BasaltException(Errno.EILSEQ, "device cluster " + c + " is owned twice");
            }
            taken.set((int) c);
        }
        owned++;
    }

    /** A committed map gave {@code c} back: it waits in limbo. */
    void toLimbo(long c) {
        check(c, true);
        owned--;
        limbo++;
    }

    /** A cluster from limbo is free again. */
    void release(long c) {
        check(c, true);
        taken.clear((int) c);
        limbo--;
    }

    void grow(long newTotal) {
        total = newTotal;
    }

    private void check(long c, boolean mustBeTaken) {
        if (c < 0 || c >= total || taken.get((int) c) != mustBeTaken) {
            throw new IllegalStateException("cluster " + c + " is " + (taken.get((int) c) ? "taken" : "free")
                    + " (total " + total + ")");
        }
    }
}
