package io.basalt.blob;

import io.basalt.testing.ReactorFixture;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/** Reactors plus helpers to drive a blobstore from a test thread. */
final class BlobKit implements AutoCloseable {
    final ReactorFixture fx;

    BlobKit(int reactors) {
        fx = new ReactorFixture(reactors);
    }

    Blobstore create(MemoryBlobDevice dev, long clusterSize) throws Exception {
        return md(() -> Blobstore.create(dev, fx.app(), fx.reactors.buffers(),
                new Blobstore.Options(clusterSize, 100, null)));
    }

    Blobstore load(MemoryBlobDevice dev) throws Exception {
        return md(() -> Blobstore.load(dev, fx.app(), fx.reactors.buffers()));
    }

    /** Runs an asynchronous metadata operation on the metadata reactor and waits for it. */
    <T> T md(Callable<CompletableFuture<T>> op) throws Exception {
        return fx.onAsync(0, op);
    }

    <T> T onMd(Callable<T> fn) throws Exception {
        return fx.on(0, fn);
    }

    Blob thin(Blobstore s, long clusters) throws Exception {
        return md(() -> s.createBlob(clusters, true, Map.of()));
    }

    /** One blob I/O on {@code reactor}; returns the errno. */
    int io(Blobstore s, int reactor, Blob b, BlobIo.Op op, byte[] data, long offset, long length) throws Exception {
        MemorySegment buf = data == null ? MemorySegment.NULL : MemorySegment.ofArray(data);
        return fx.onAsync(reactor, () -> {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            BlobChannel ch = s.channel();
            BlobIo io = new BlobIo().set(b, op, buf, 0, offset, length, (x, errno, arg) -> {
                s.putChannel(ch);
                f.complete(errno);
            }, null);
            ch.submit(io);
            return f;
        });
    }

    void write(Blobstore s, Blob b, long offset, byte[] data) throws Exception {
        int e = io(s, 1 % fx.reactors.size(), b, BlobIo.Op.WRITE, data, offset, data.length);
        if (e != 0) {
            throw new IllegalStateException("write failed: errno " + e);
        }
    }

    byte[] read(Blobstore s, Blob b, long offset, int length) throws Exception {
        byte[] out = new byte[length];
        int e = io(s, 0, b, BlobIo.Op.READ, out, offset, length);
        if (e != 0) {
            throw new IllegalStateException("read failed: errno " + e);
        }
        return out;
    }

    /** Waits until the store has no commit or reclaim in flight. */
    void settle(Blobstore s) throws Exception {
        for (int i = 0; i < 5000; i++) {
            if (onMd(s::idle)) {
                return;
            }
            Thread.sleep(2);
        }
        throw new IllegalStateException("blobstore did not settle");
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 31 + seed * 17 + 1);
        }
        return b;
    }

    static List<Long> ids(List<Blob> blobs) {
        return blobs.stream().map(Blob::id).toList();
    }

    @Override
    public void close() {
        fx.close();
    }
}
