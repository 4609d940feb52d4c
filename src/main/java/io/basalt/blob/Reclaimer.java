package io.basalt.blob;

import io.basalt.runtime.Reactor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Gives clusters that commits freed back to the allocator, safely: a reader that loaded a view
 * before the commit may still be reading such a cluster (a clone reading through a snapshot that
 * was just merged away). A grace period flips the store's epoch and waits, on every reactor,
 * until no I/O of the previous epoch is in flight; then the batch is cleared (per its clear
 * method) and released. One grace period at a time; clusters freed meanwhile wait for the next.
 *
 * <p>Metadata reactor only.
 */
final class Reclaimer {
    private static final System.Logger LOG = System.getLogger(Reclaimer.class.getName());

    private record Freed(long cluster, ClearMethod how) {
    }

    private final Blobstore store;
    private List<Freed> next = new ArrayList<>();
    private List<Runnable> waiters = new ArrayList<>();
    private boolean running;

    Reclaimer(Blobstore store) {
        this.store = store;
    }

    /** A committed map gave {@code cluster} back. */
    void free(long cluster, ClearMethod how) {
        next.add(new Freed(cluster, how));
        if (!running) {
            start();
        }
    }

    /** Runs {@code r} after the next grace period ends (at once if none is running or pending). */
    void afterGrace(Runnable r) {
        if (!running && next.isEmpty()) {
            r.run();
        } else {
            waiters.add(r);
        }
    }

    boolean idle() {
        return !running && next.isEmpty();
    }

    private void start() {
        running = true;
        List<Freed> batch = next;
        next = new ArrayList<>();
        int old = store.epoch;
        store.epoch = old + 1;
        List<Reactor> all = store.md.group().all();
        AtomicInteger left = new AtomicInteger(all.size());
        Runnable ack = () -> {
            if (left.decrementAndGet() == 0) {
                store.md.send(() -> clear(batch));
            }
        };
        for (Reactor r : all) {
            r.send(() -> {
                BlobChannel ch = store.channelOf(r);
                if (ch == null) {
                    ack.run();
                } else {
                    ch.whenDrained(old & 1, ack);
                }
            });
        }
    }

    private void clear(List<Freed> batch) {
        long cs = store.clusterSize();
        int[] pending = {1};
        Runnable finish = () -> {
            if (--pending[0] > 0) {
                return;
            }
            for (Freed f : batch) {
                store.allocator().release(f.cluster);
            }
            running = false;
            List<Runnable> w = waiters;
            waiters = new ArrayList<>();
            w.forEach(Runnable::run);
            if (!next.isEmpty()) {
                start();
            }
        };
        DeviceCallback cb = (e, a) -> {
            if (e != 0) {
                LOG.log(System.Logger.Level.WARNING, "clearing a freed cluster failed: errno " + e + " (ignored: "
                        + "clusters are zeroed when allocated)");
            }
            finish.run();
        };
        DeviceChannel dev = store.mdChannel().dev;
        for (Freed f : batch) {
            long off = store.dataOffset() + f.cluster * cs;
            switch (f.how) {
                case UNMAP -> {
                    pending[0]++;
                    dev.unmap(off, cs, cb, null);
                }
                case WRITE_ZEROES -> {
                    pending[0]++;
                    dev.writeZeroes(off, cs, cb, null);
                }
                case NONE -> {
                }
            }
        }
        finish.run();
    }
}
