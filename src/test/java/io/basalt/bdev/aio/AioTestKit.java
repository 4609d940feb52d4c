package io.basalt.bdev.aio;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.testing.ReactorFixture;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntConsumer;

/** Files, patterns and a queue-depth I/O driver for the aio tests. */
final class AioTestKit {
    private AioTestKit() {
    }

    /** A sparse file of {@code size} bytes in {@code dir}. */
    static Path sparseFile(Path dir, long size) throws IOException {
        Path p = Files.createTempFile(dir, "aio", ".img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    /** The byte a write of generation {@code gen} puts at {@code fileOffset}. */
    static byte pattern(long fileOffset, int gen) {
        long x = (fileOffset + 1) * 0x9E3779B97F4A7C15L ^ (long) gen * 0xC2B2AE3D27D4EB4FL;
        return (byte) (x >>> 40 ^ x >>> 17);
    }

    static void fill(MemorySegment buf, long bufOffset, long fileOffset, long length, int gen) {
        for (long j = 0; j < length; j++) {
            buf.set(ValueLayout.JAVA_BYTE, bufOffset + j, pattern(fileOffset + j, gen));
        }
    }

    /** The bytes of a segment. */
    static byte[] bytes(MemorySegment m) {
        return m.toArray(ValueLayout.JAVA_BYTE);
    }

    /** The whole file, read with plain Java. */
    static byte[] readFile(Path p) throws IOException {
        return Files.readAllBytes(p);
    }

    /** Bytes [offset, offset+length) of a file, read with plain Java. */
    static byte[] readFile(Path p, long offset, int length) throws IOException {
        try (FileChannel c = FileChannel.open(p)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining() && c.read(b, offset + b.position()) > 0) {
                // keep reading
            }
            return Arrays.copyOf(b.array(), b.position());
        }
    }

    /** One request for {@link #run}; READ/WRITE use the shared buffer at {@code bufOffset}. */
    record Req(IoType type, long offsetBlocks, long numBlocks, long bufOffset, boolean fua) {
        static Req read(long off, long n, long bufOffset) {
            return new Req(IoType.READ, off, n, bufOffset, false);
        }

        static Req write(long off, long n, long bufOffset) {
            return new Req(IoType.WRITE, off, n, bufOffset, false);
        }

        static Req of(IoType t, long off, long n) {
            return new Req(t, off, n, 0, false);
        }
    }

    /**
     * Statuses and errnos by request, the most engine operations seen in flight at once, and how
     * often the bdev layer retried an I/O for NOMEM during the run.
     */
    record Result(IoStatus[] status, int[] errno, int peakOps, long nomemRetries) {
        long count(IoStatus s) {
            return Arrays.stream(status).filter(x -> x == s).count();
        }
    }

    /**
     * Runs {@code reqs} on reactor {@code reactor} through {@code desc}, keeping up to {@code depth}
     * submitted, as a client of the bdev layer would, and waits for all of them.
     */
    static Result run(ReactorFixture fx, int reactor, BdevDesc desc, MemorySegment buf, List<Req> reqs, int depth)
            throws Exception {
        return run(fx, reactor, desc, buf, reqs, depth, i -> { });
    }

    /** As {@link #run}, telling {@code completed} the index of each request as it completes. */
    static Result run(ReactorFixture fx, int reactor, BdevDesc desc, MemorySegment buf, List<Req> reqs, int depth,
                      IntConsumer completed) throws Exception {
        return fx.onAsync(reactor, () -> {
            IoChannel ch = desc.getIoChannel();
            long retriesBefore = nomemRetries(ch);
            CompletableFuture<Result> f = new CompletableFuture<>();
            int n = reqs.size();
            IoStatus[] st = new IoStatus[n];
            int[] er = new int[n];
            int[] s = new int[3]; // next, done, peak
            Runnable[] pump = new Runnable[1];
            pump[0] = () -> {
                while (s[0] < n && s[0] - s[1] < depth) {
                    int i = s[0]++;
                    Req q = reqs.get(i);
                    IoCallback cb = (io, ok, arg) -> {
                        st[i] = io.status();
                        er[i] = io.errno();
                        s[1]++;
                        completed.accept(i);
                        pump[0].run();
                    };
                    int rc = switch (q.type()) {
                        case READ -> desc.read(ch, buf, q.bufOffset(), q.offsetBlocks(), q.numBlocks(), cb, null);
                        case WRITE -> desc.write(ch, buf, q.bufOffset(), q.offsetBlocks(), q.numBlocks(), q.fua(), cb,
                                null);
                        case FLUSH -> desc.flush(ch, q.offsetBlocks(), q.numBlocks(), cb, null);
                        case UNMAP -> desc.unmap(ch, q.offsetBlocks(), q.numBlocks(), cb, null);
                        case WRITE_ZEROES -> desc.writeZeroes(ch, q.offsetBlocks(), q.numBlocks(), cb, null);
                        case RESET -> desc.reset(ch, cb, null);
                        default -> -Errno.EINVAL;
                    };
                    if (rc != 0) {
                        throw new IllegalStateException("submit returned " + rc);
                    }
                }
                if (ch.ctx() instanceof AioChannel a) {
                    s[2] = Math.max(s[2], a.opsInFlight());
                }
                if (s[1] == n && !f.isDone()) {
                    long retries = nomemRetries(ch) - retriesBefore;
                    desc.putIoChannel(ch);
                    f.complete(new Result(st, er, s[2], retries));
                }
            };
            pump[0].run();
            return f;
        });
    }

    /** The channel's nomem_retries counter (the channel may live on from an earlier run). */
    private static long nomemRetries(IoChannel ch) {
        ObjectNode o = Json.object();
        ch.stats().toJson(o);
        return o.get("nomem_retries").asLong();
    }

    /** Opens {@code name} for writing on the application reactor. */
    static BdevDesc open(ReactorFixture fx, String name) throws Exception {
        return fx.on(0, () -> fx.bdevs.open(name, true, BdevEventHandler.IGNORE));
    }

    /**
     * Random non-overlapping requests inside blocks [first, first+count): one per 64-block slot,
     * 1 to 64 blocks long, in random order. Each write's data lives at its own place in the
     * buffer (bufOffset = its byte offset relative to {@code first}).
     */
    static List<long[]> randomExtents(Random rnd, long first, long count, int maxBlocks) {
        List<long[]> out = new ArrayList<>();
        for (long slot = 0; slot + maxBlocks <= count; slot += maxBlocks) {
            int len = 1 + rnd.nextInt(maxBlocks);
            long start = slot + rnd.nextInt(maxBlocks - len + 1);
            out.add(new long[] {first + start, len});
        }
        java.util.Collections.shuffle(out, rnd);
        return out;
    }
}
