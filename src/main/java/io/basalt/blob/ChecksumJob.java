package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;

import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * CRC-64/NVME over a blob's allocated clusters, in logical cluster order, read in chunks of up to
 * 1 MiB; unallocated clusters (and the parent's data) are not covered. Between two reads it looks
 * at its cancel flag, so a stop takes effect after at most one chunk. If the blob's allocated data
 * changes meanwhile (a merge, an inflate) the result is refused (-ESTALE). Metadata reactor.
 */
final class ChecksumJob implements DeviceCallback {
    private static final int CHUNK = 1 << 20;

    private final Blobstore s;
    private final Blob blob;
    private final BooleanSupplier cancelled;
    private final CompletableFuture<Long> done = new CompletableFuture<>();
    private final Crc64 crc = new Crc64();
    private final long generation;
    private DmaBuffer buf;
    private long k;
    private long off;
    private long len;
    private int epoch;

    ChecksumJob(Blobstore s, Blob blob, BooleanSupplier cancelled) {
        this.s = s;
        this.blob = blob;
        this.cancelled = cancelled;
        this.generation = blob.dataGeneration;
    }

    CompletableFuture<Long> start() {
        buf = s.pool().get((int) Math.min(CHUNK, s.clusterSize()));
        if (buf == null) {
            done.completeExceptionally(new BasaltException(Errno.ENOMEM, "no buffer for the checksum"));
            return done;
        }
        next();
        return done;
    }

    private void next() {
        if (cancelled.getAsBoolean()) {
            end(new BasaltException(Errno.ECANCELED, "checksum of blob " + blob.id + " was stopped"));
            return;
        }
        if (blob.deleted || blob.dataGeneration != generation) {
            end(new BasaltException(Errno.ESTALE, "data of blob " + blob.id + " changed during the checksum"));
            return;
        }
        Blob.View v = blob.view;
        long n = v.meta().numClusters();
        while (k < n && !v.meta().map().allocated(k)) {
            k++;
            off = 0;
        }
        if (k >= n) {
            end(null);
            return;
        }
        long cs = s.clusterSize();
        long c = v.meta().map().get(k);
        len = Math.min(buf.capacity(), cs - off);
        BlobChannel ch = s.mdChannel();
        epoch = ch.enter();
        ch.dev.read(buf.segment(), 0, s.dataOffset() + c * cs + off, len, this, null);
    }

    @Override
    public void ioDone(int errno, Object arg) {
        s.mdChannel().exit(epoch);
        if (errno != 0) {
            end(new BasaltException(Errno.EIO, "checksum of blob " + blob.id + ": reading cluster " + k + " failed: "
                    + Errno.text(errno)));
            return;
        }
        crc.update(buf.segment(), 0, len);
        off += len;
        if (off >= s.clusterSize()) {
            off = 0;
            k++;
        }
        next();
    }

    private void end(BasaltException e) {
        s.pool().put(buf);
        buf = null;
        if (e != null) {
            done.completeExceptionally(e);
        } else {
            done.complete(crc.value());
        }
    }
}
