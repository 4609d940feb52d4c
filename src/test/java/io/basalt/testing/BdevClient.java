package io.basalt.testing;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A user of one bdev for tests: a descriptor and channel on one reactor, and I/O calls that
 * return futures the test thread can wait for. On REMOVE it puts its channel and closes, as a
 * well-behaved user does.
 */
public final class BdevClient implements AutoCloseable {
    /** How an I/O ended, when (completion sequence number) and how long it took from its submit. */
    public record Result(IoStatus status, int errno, long seq, long nanos) {
    }

    /** One I/O call on the client's descriptor and channel. */
    @FunctionalInterface
    public interface Op {
        int submit(BdevDesc desc, IoChannel ch, IoCallback cb);
    }

    private final ReactorFixture fx;
    private final Reactor reactor;
    private BdevDesc desc;
    private IoChannel ch;
    private boolean closed;
    private final AtomicLong seq = new AtomicLong();
    public final List<BdevEvent> events = new CopyOnWriteArrayList<>();
    /** Completes when a REMOVE arrived and the client closed itself. */
    public final CompletableFuture<Void> removed = new CompletableFuture<>();

    private BdevClient(ReactorFixture fx, int reactor) {
        this.fx = fx;
        this.reactor = fx.reactors.get(reactor);
    }

    /** Opens {@code name} on reactor {@code reactor} and takes its channel there. */
    public static BdevClient open(ReactorFixture fx, int reactor, String name, boolean write) throws Exception {
        BdevClient c = new BdevClient(fx, reactor);
        fx.on(reactor, () -> {
            c.desc = fx.bdevs.open(name, write, (e, b, d) -> c.onEvent(e));
            c.ch = c.desc.getIoChannel();
            return null;
        });
        return c;
    }

    private void onEvent(BdevEvent e) {
        events.add(e);
        if (e == BdevEvent.REMOVE) {
            closeHere();
            removed.complete(null);
        }
    }

    private void closeHere() {
        if (!closed) {
            closed = true;
            desc.putIoChannel(ch);
            desc.close();
        }
    }

    /** Submits one I/O on the client's reactor. */
    public CompletableFuture<Result> submit(Op op) {
        return submitAll(List.of(op)).get(0);
    }

    /** Submits several I/Os in one reactor task, so that all are in flight together. */
    public List<CompletableFuture<Result>> submitAll(List<Op> ops) {
        List<CompletableFuture<Result>> out = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            out.add(new CompletableFuture<>());
        }
        reactor.send(() -> {
            for (int i = 0; i < ops.size(); i++) {
                CompletableFuture<Result> f = out.get(i);
                long start = System.nanoTime();
                int rc;
                try {
                    rc = ops.get(i).submit(desc, ch, (io, ok, arg) -> f.complete(
                            new Result(io.status(), io.errno(), seq.incrementAndGet(), System.nanoTime() - start)));
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                    continue;
                }
                if (rc != 0) {
                    f.completeExceptionally(new IllegalStateException("submit returned " + rc
                            + (rc == -Errno.ENOMEM ? " (ENOMEM)" : "")));
                }
            }
        });
        return out;
    }

    public CompletableFuture<Result> read(MemorySegment buf, long offsetBlocks, long numBlocks) {
        return submit((d, c, cb) -> d.read(c, buf, 0, offsetBlocks, numBlocks, cb, null));
    }

    public CompletableFuture<Result> write(MemorySegment buf, long offsetBlocks, long numBlocks) {
        return submit((d, c, cb) -> d.write(c, buf, 0, offsetBlocks, numBlocks, cb, null));
    }

    public CompletableFuture<Result> unmap(long offsetBlocks, long numBlocks) {
        return submit((d, c, cb) -> d.unmap(c, offsetBlocks, numBlocks, cb, null));
    }

    public CompletableFuture<Result> flush() {
        return submit((d, c, cb) -> d.flush(c, 0, 0, cb, null));
    }

    public CompletableFuture<Result> reset() {
        return submit((d, c, cb) -> d.reset(c, cb, null));
    }

    /** Waits for an I/O (30 s at most, as every fixture wait). */
    public static Result await(CompletableFuture<Result> f) throws Exception {
        return ReactorFixture.await(f);
    }

    /** Puts the channel and closes the descriptor (if a REMOVE has not already). */
    @Override
    public void close() {
        try {
            fx.on(reactor.id(), () -> {
                closeHere();
                return null;
            });
        } catch (Exception e) {
            throw new IllegalStateException("closing the client failed", e);
        }
    }

    // ------------------------------------------------------------------ buffers

    /** A zeroed buffer of {@code bytes}, 4 KiB aligned, freed by the GC. */
    public static MemorySegment buffer(long bytes) {
        return Arena.ofAuto().allocate(bytes, 4096);
    }

    /** A buffer filled with a pattern that differs per byte and per {@code seed}. */
    public static MemorySegment pattern(long bytes, int seed) {
        MemorySegment m = buffer(bytes);
        for (long i = 0; i < bytes; i++) {
            m.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + seed * 7 + 1));
        }
        return m;
    }
}
