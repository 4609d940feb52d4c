package io.basalt.blob;

import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.Zero;

import java.util.ArrayList;
import java.util.List;

/**
 * A reactor's I/O access to a blobstore: the device channel, and the epoch counters that let the
 * store reuse a cluster only once no I/O that could still see it is in flight.
 *
 * <p>The data path: an I/O is cut at cluster boundaries; each piece reads the blob's published
 * {@link Blob.View} (no lock) and goes to the mapped device cluster. A read of an unallocated
 * cluster goes down the parent chain or returns zeroes; a write to one asks the metadata reactor
 * for a cluster ({@link AllocRequest}). Whatever may touch a cluster found through a view counts
 * in the current epoch while it does: the synchronous submit, each device operation until it
 * completes, each cluster fill. A cluster given back in epoch e is reused only after every
 * channel's count of epoch e dropped to zero (read-copy-update by counting, with no per-I/O
 * allocation or lock). A request parked while it waits for a free cluster counts nowhere, so
 * waiting for reclaimed clusters can never wait for itself.
 *
 * <p>Threading: every method runs on {@link #reactor}.
 */
public final class BlobChannel {
    final Blobstore store;
    final Reactor reactor;
    final DeviceChannel dev;
    int refs;
    private final int[] inflight = new int[2];
    /** Epoch parities as device-operation arguments (boxed once, so completions allocate nothing). */
    static final Integer[] PARITY = {0, 1};
    @SuppressWarnings("unchecked")
    private final List<Runnable>[] drained = new List[] {new ArrayList<Runnable>(), new ArrayList<Runnable>()};

    BlobChannel(Blobstore store, Reactor reactor, DeviceChannel dev) {
        this.store = store;
        this.reactor = reactor;
        this.dev = dev;
    }

    public Blobstore store() {
        return store;
    }

    public Reactor reactor() {
        return reactor;
    }

    /** I/O of this channel in flight (both epochs). */
    public int inflight() {
        return inflight[0] + inflight[1];
    }

    /** Counts the caller in the current epoch; returns the parity to give back to {@link #exit}. */
    int enter() {
        int p = store.epoch & 1;
        inflight[p]++;
        return p;
    }

    void exit(int p) {
        if (--inflight[p] == 0 && !drained[p].isEmpty()) {
            List<Runnable> w = new ArrayList<>(drained[p]);
            drained[p].clear();
            w.forEach(Runnable::run);
        }
    }

    /** Runs {@code r} once no I/O of epoch parity {@code parity} is in flight here. */
    void whenDrained(int parity, Runnable r) {
        if (inflight[parity] == 0) {
            r.run();
        } else {
            drained[parity].add(r);
        }
    }

    /**
     * Submits an I/O. The callback runs on this reactor, possibly before this call returns (a read
     * of unallocated clusters needs no device I/O). Range, alignment and write permission are
     * checked here; a bad request completes with an errno.
     */
    public void submit(BlobIo io) {
        io.ch = this;
        io.errno = 0;
        io.pending = 1;
        int p = enter();
        Blob.View v = io.blob.view;
        int bad = check(io, v);
        if (bad != 0) {
            io.errno = bad;
        } else if (io.op == BlobIo.Op.FLUSH) {
            io.pending++;
            dev.flush(io, PARITY[enter()]);
        } else {
            long cs = store.clusterSize();
            long pos = io.offset;
            long end = io.offset + io.length;
            while (pos < end) {
                long k = pos / cs;
                long n = Math.min(end - pos, (k + 1) * cs - pos);
                piece(io, v, k, pos, n);
                pos += n;
            }
        }
        exit(p);
        pieceDone(io, 0);
    }

    private int check(BlobIo io, Blob.View v) {
        if (v == null || io.blob.deleted) {
            return Errno.ENODEV;
        }
        if (io.op == BlobIo.Op.FLUSH) {
            return 0;
        }
        long size = v.meta().numClusters() * store.clusterSize();
        int bs = store.blockSize();
        if (io.offset < 0 || io.length <= 0 || io.offset > size - io.length || io.offset % bs != 0
                || io.length % bs != 0) {
            return Errno.EINVAL;
        }
        if (io.op != BlobIo.Op.READ && v.meta().readOnly()) {
            return Errno.EROFS;
        }
        return 0;
    }

    private void piece(BlobIo io, Blob.View v, long k, long pos, long n) {
        long cs = store.clusterSize();
        long within = pos - k * cs;
        long bo = io.bufOffset + (pos - io.offset);
        long c = v.meta().map().get(k);
        if (c >= 0) {
            long d = store.dataOffset() + c * cs + within;
            io.pending++;
            Integer q = PARITY[enter()];
            switch (io.op) {
                case READ -> dev.read(io.buf, bo, d, n, io, q);
                case WRITE -> dev.write(io.buf, bo, d, n, io, q);
                default -> dev.writeZeroes(d, n, io, q);
            }
            return;
        }
        switch (io.op) {
            case READ -> {
                long a = store.ancestorCluster(v, k);
                if (a >= 0) {
                    io.pending++;
                    dev.read(io.buf, bo, store.dataOffset() + a * cs + within, n, io, PARITY[enter()]);
                } else {
                    Zero.fill(io.buf, bo, n);
                }
            }
            case WRITE -> allocate(io, k, pos, n, false);
            default -> {
                // Zeroes over an unallocated cluster cost nothing unless a parent has data there.
                if (store.ancestorCluster(v, k) >= 0) {
                    allocate(io, k, pos, n, true);
                }
            }
        }
    }

    private void allocate(BlobIo io, long k, long pos, long n, boolean zero) {
        io.pending++;
        AllocRequest r = AllocRequest.forIo(this, io, k, pos, n, zero);
        store.md.send(() -> store.grant(r));
    }

    void pieceDone(BlobIo io, int errno) {
        if (errno != 0 && io.errno == 0) {
            io.errno = errno;
        }
        if (--io.pending == 0) {
            BlobIoCallback cb = io.cb;
            Object arg = io.arg;
            int e = io.errno;
            io.clear();
            cb.blobIoDone(io, e, arg);
        }
    }

    /** An allocation this channel asked for ended. */
    void allocDone(AllocRequest r, int result) {
        BlobIo io = r.io;
        if (result == AllocRequest.REDO) {
            int p = enter();
            piece(io, io.blob.view, r.k, r.pos, r.n);
            exit(p);
        } else if (result > 0 && io.errno == 0) {
            io.errno = result;
        }
        pieceDone(io, 0);
    }
}
