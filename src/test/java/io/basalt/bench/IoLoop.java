package io.basalt.bench;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Reactor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.management.ManagementFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;

/**
 * Keeps {@code depth} random 4 KiB-aligned reads or writes in flight on one bdev from one reactor,
 * through the real bdev layer, resubmitting from the completion callback, for as long as it runs.
 * Another thread waits for a number of completions with {@link #awaitCompletions} and reads the
 * reactor thread's allocated heap bytes at such points ({@link #allocatedBytes}), so tests and
 * benchmarks see what the I/O path allocates.
 */
public final class IoLoop implements IoCallback {
    private static final VarHandle COMPLETED;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static {
        try {
            COMPLETED = MethodHandles.lookup().findVarHandle(IoLoop.class, "completed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Reactor reactor;
    private final BdevLayer layer;
    private final String bdev;
    private final boolean write;
    private final int depth;
    private final int ioSize;
    private BdevDesc desc;
    private IoChannel ch;
    private DmaBuffer[] bufs;
    private long units;
    private int ioBlocks;
    private long rng = 0x9E3779B97F4A7C15L;
    private boolean stopping;
    private int inflight;
    private CompletableFuture<Void> stopped;

    /** Completions so far; written by the reactor (release), read by waiters (acquire). */
    @SuppressWarnings("unused")
    private long completed;
    private long failed;
    private volatile long waitTarget = Long.MAX_VALUE;
    private volatile Thread waiter;

    public IoLoop(Reactor reactor, BdevLayer layer, String bdev, boolean write, int depth, int ioSize) {
        this.reactor = reactor;
        this.layer = layer;
        this.bdev = bdev;
        this.write = write;
        this.depth = depth;
        this.ioSize = ioSize;
    }

    /** Opens the bdev and starts the I/O; returns once it runs. Any thread but the reactor's. */
    public void start() {
        reactor.call(() -> {
            desc = layer.open(bdev, write, BdevEventHandler.IGNORE);
            ch = desc.getIoChannel();
            ioBlocks = ioSize / desc.bdev().blockSize();
            units = desc.bdev().numBlocks() / ioBlocks;
            bufs = new DmaBuffer[depth];
            for (int i = 0; i < depth; i++) {
                bufs[i] = layer.buffers().get(ioSize);
                submit(i);
            }
            return null;
        }).join();
    }

    /** Waits until {@code n} more I/Os have completed after the call. */
    public void awaitCompletions(long n) {
        long target = (long) COMPLETED.getAcquire(this) + n;
        waiter = Thread.currentThread();
        waitTarget = target;
        while ((long) COMPLETED.getAcquire(this) < target) {
            LockSupport.park(this);
        }
        waitTarget = Long.MAX_VALUE;
        waiter = null;
    }

    public long completed() {
        return (long) COMPLETED.getAcquire(this);
    }

    /** Failed I/Os (read after {@link #stop}). */
    public long failed() {
        return failed;
    }

    /** Heap bytes the reactor thread has allocated since it started. */
    public long allocatedBytes() {
        return THREADS.getThreadAllocatedBytes(reactor.thread().threadId());
    }

    /** Stops submitting, waits for the I/O in flight, closes the bdev. */
    public void stop() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        reactor.send(() -> {
            stopped = f;
            stopping = true;
            if (inflight == 0) {
                close();
            }
        });
        f.join();
    }

    private void close() {
        for (DmaBuffer b : bufs) {
            layer.buffers().put(b);
        }
        desc.putIoChannel(ch);
        desc.close();
        stopped.complete(null);
    }

    private void submit(int slot) {
        long x = rng;
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        rng = x;
        long offset = Math.unsignedMultiplyHigh(x * 0x2545F4914F6CDD1DL, units) * ioBlocks;
        Integer arg = SLOTS[slot];
        int rc = write
                ? desc.write(ch, bufs[slot].segment(), 0, offset, ioBlocks, this, arg)
                : desc.read(ch, bufs[slot].segment(), 0, offset, ioBlocks, this, arg);
        if (rc != 0) {
            throw new IllegalStateException("submit failed: " + rc);
        }
        inflight++;
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object arg) {
        inflight--;
        if (!success) {
            failed++;
        }
        long c = (long) COMPLETED.get(this) + 1;
        COMPLETED.setRelease(this, c);
        if (c >= waitTarget) {
            Thread t = waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
        if (stopping) {
            if (inflight == 0) {
                close();
            }
            return;
        }
        submit((Integer) arg);
    }

    /** Boxed slot numbers made once, so the callback argument costs no allocation. */
    private static final Integer[] SLOTS = new Integer[4096];

    static {
        for (int i = 0; i < SLOTS.length; i++) {
            SLOTS[i] = i;
        }
    }
}
