package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.concurrent.CompletableFuture;

/**
 * Inflate (every unallocated cluster gets its own copy of the parent chain's data, or zeroes)
 * and decouple (only clusters some ancestor holds are copied), then the parent link is dropped.
 * User I/O goes on meanwhile: each copy is an ordinary cluster allocation, so a write to the same
 * cluster waits for it or it for the write. The final commit checks, in the state it commits,
 * that nothing is left to copy (a write may have raced), else the job scans again.
 *
 * <p>A crash in the middle leaves a valid clone with some clusters copied (the same data).
 * Metadata reactor.
 */
final class CopyJob implements AllocRequest.Done {
    private static final int MAX_SCANS = 16;

    private final Blobstore s;
    private final Blob blob;
    private final boolean inflate;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private long k;
    private int scans;

    CopyJob(Blobstore s, Blob blob, boolean inflate) {
        this.s = s;
        this.blob = blob;
        this.inflate = inflate;
    }

    String name() {
        return inflate ? "inflate" : "decouple";
    }

    CompletableFuture<Void> start() {
        blob.holder = name();
        s.dropChecksum(blob).whenComplete((v, t) -> {
            if (t != null) {
                fail(t);
            } else {
                scan();
            }
        });
        return done;
    }

    private void scan() {
        while (true) {
            if (blob.deleted) {
                fail(new BasaltException(Errno.ENODEV, "blob " + blob.id + " was deleted during " + name()));
                return;
            }
            Blob.View v = blob.view;
            if (k >= v.meta().numClusters()) {
                finish();
                return;
            }
            if (v.meta().map().allocated(k) || (!inflate && s.ancestorCluster(v, k) < 0)) {
                k++;
                continue;
            }
            s.grant(AllocRequest.internal(s.mdChannel(), blob, k, this));
            return;
        }
    }

    @Override
    public void allocDone(AllocRequest r, int result) {
        if (result > 0) {
            fail(new BasaltException(result, name() + " of blob " + blob.id + " failed copying cluster " + r.k));
            return;
        }
        // Allocated (by us, or by a write meanwhile): look at the same cluster again.
        scan();
    }

    private void finish() {
        s.commit(t -> {
            BlobMeta m = t.require(blob.id);
            boolean full = true;
            for (long i = 0; i < m.numClusters(); i++) {
                if (!m.map().allocated(i)) {
                    if (inflate || t.resolve(m, i) >= 0) {
                        throw new BasaltException(Errno.EAGAIN, "clusters left to copy");
                    }
                    full = false;
                }
            }
            int flags = full ? m.flags() & ~BlobMeta.THIN : m.flags();
            t.put(Blobstore.withoutChecksum(m.withParent(0).withFlags(flags)));
        }).whenComplete((v, t) -> {
            Throwable c = Blobstore.cause(t);
            if (c instanceof BasaltException b && b.errno() == Errno.EAGAIN && ++scans < MAX_SCANS) {
                k = 0;
                scan();
            } else if (c != null) {
                fail(c);
            } else {
                blob.holder = null;
                blob.dataGeneration++;
                done.complete(null);
            }
        });
    }

    private void fail(Throwable t) {
        blob.holder = null;
        done.completeExceptionally(Blobstore.cause(t));
    }
}
