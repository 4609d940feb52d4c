package io.basalt.runtime;

import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ManualIoEventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One event-loop thread, SPDK's reactor/thread pair: it owns its objects, runs messages sent to it,
 * its pollers and timers, and the I/O of the sockets and rings registered on it.
 *
 * <p>The loop is Netty's {@link ManualIoEventLoop} driven by our own thread, so that one loop
 * iteration can also drain this reactor's deferred completions and pollers without allocation.
 * Messages from other threads go through Netty's lock-free MPSC task queue ({@link #send}).
 *
 * <p>Idle policy: while work keeps arriving the loop spins; after {@link #spinNanos} without work it
 * parks in the I/O handler (io_uring or epoll wait) until I/O, a message or the next timer, so an
 * idle target costs almost no CPU.
 *
 * <p>Threading: methods marked "reactor thread only" assert it.
 */
public final class Reactor {
    private static final System.Logger LOG = System.getLogger(Reactor.class.getName());
    /** Longest single park, so a lost wake-up can never stall the loop for long. */
    private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /**
     * Longest stretch of messages one loop iteration runs. Netty's runNow() otherwise drains the
     * task queue until it is empty, so a message that sends itself again (or a steady stream from
     * other threads) would starve deferred completions and pollers.
     */
    private static final long TASK_BUDGET_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

    private final int id;
    private final ReactorGroup group;
    private final ReactorThread thread;
    private final ManualIoEventLoop loop;
    private final long spinNanos;
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();

    // Deferred work: a ring of Deferred or Runnable, grown on demand, touched only on this thread.
    private Object[] ring = new Object[1024];
    private int ringHead;
    private int ringTail;

    private final List<PollerEntry> pollers = new ArrayList<>();
    private PollerEntry[] pollerSnapshot = new PollerEntry[0];
    private boolean pollersChanged;

    private volatile boolean stopRequested;
    private long iterations;
    private long busyIterations;
    private long parks;

    Reactor(int id, ReactorGroup group, IoHandlerFactory ioFactory, long spinNanos) {
        this.id = id;
        this.group = group;
        this.spinNanos = spinNanos;
        this.thread = new ReactorThread(this, this::runLoop);
        this.loop = new ManualIoEventLoop(group == null ? null : group.nettyGroup(), thread, ioFactory);
    }

    void start() {
        thread.start();
    }

    /** The reactor of the calling thread, or null if the caller is not a reactor thread. */
    public static Reactor current() {
        return Thread.currentThread() instanceof ReactorThread t ? t.reactor : null;
    }

    public int id() {
        return id;
    }

    public ReactorGroup group() {
        return group;
    }

    /** Netty's view of this reactor: register channels and io_uring handles here. */
    public IoEventLoop eventLoop() {
        return loop;
    }

    public boolean inReactor() {
        return Thread.currentThread() == thread;
    }

    /** Throws unless called on this reactor's thread (kept on in production: it is one compare). */
    public void assertInReactor() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("must run on " + thread.getName() + ", not " + Thread.currentThread().getName());
        }
    }

    /** Runs {@code msg} on this reactor. Any thread. Lock-free; wakes a parked reactor. */
    public void send(Runnable msg) {
        loop.execute(msg);
    }

    /**
     * Runs {@code fn} on this reactor and completes the returned future with its result, on the
     * reactor thread. A function that returns a future is flattened by {@link #callAsync}.
     */
    public <T> CompletableFuture<T> call(Supplier<T> fn) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Runnable r = () -> {
            try {
                f.complete(fn.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        };
        if (inReactor()) {
            r.run();
        } else {
            send(r);
        }
        return f;
    }

    /** Runs an asynchronous {@code fn} on this reactor; the returned future follows the one it returns. */
    public <T> CompletableFuture<T> callAsync(Supplier<CompletableFuture<T>> fn) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Runnable r = () -> {
            try {
                fn.get().whenComplete((v, t) -> {
                    if (t != null) {
                        f.completeExceptionally(t);
                    } else {
                        f.complete(v);
                    }
                });
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        };
        if (inReactor()) {
            r.run();
        } else {
            send(r);
        }
        return f;
    }

    /**
     * Queues {@code d} to run later in this loop iteration or the next, on this reactor. Reactor
     * thread only. Allocation-free: used to complete I/O outside its submitter's call stack.
     */
    public void defer(Deferred d) {
        enqueue(d);
    }

    /** As {@link #defer(Deferred)} for a Runnable. Reactor thread only. */
    public void deferTask(Runnable r) {
        enqueue(r);
    }

    private void enqueue(Object o) {
        assert inReactor();
        ring[ringTail] = o;
        ringTail = (ringTail + 1) & (ring.length - 1);
        if (ringTail == ringHead) {
            growRing();
        }
    }

    private void growRing() {
        Object[] n = new Object[ring.length * 2];
        int k = ring.length - ringHead;
        System.arraycopy(ring, ringHead, n, 0, k);
        System.arraycopy(ring, 0, n, k, ringHead);
        ringHead = 0;
        ringTail = ring.length;
        ring = n;
    }

    private int drainDeferred() {
        // Only what is queued now: work deferred by these items runs in the next pass, so one
        // self-rescheduling item cannot starve messages and I/O. Growth keeps head-first order,
        // so popping `count` items from the head pops exactly these.
        int count = (ringTail - ringHead) & (ring.length - 1);
        for (int i = 0; i < count; i++) {
            Object o = ring[ringHead];
            ring[ringHead] = null;
            ringHead = (ringHead + 1) & (ring.length - 1);
            try {
                if (o instanceof Deferred d) {
                    d.runDeferred();
                } else {
                    ((Runnable) o).run();
                }
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "reactor " + id + ": deferred work failed", t);
            }
        }
        return count;
    }

    /**
     * Registers a poller. Period 0: every iteration while awake. Otherwise on a timer of that period.
     * Reactor thread only.
     */
    public Poller.Registration registerPoller(Poller p, long period, TimeUnit unit) {
        assertInReactor();
        if (period > 0) {
            ScheduledFuture<?> f = loop.scheduleAtFixedRate(() -> {
                try {
                    p.poll();
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.ERROR, "reactor " + id + ": poller failed", t);
                }
            }, period, period, unit);
            return () -> f.cancel(false);
        }
        PollerEntry e = new PollerEntry(p);
        pollers.add(e);
        pollersChanged = true;
        return () -> {
            assertInReactor();
            e.removed = true;
            pollers.remove(e);
            pollersChanged = true;
        };
    }

    private int runPollers() {
        if (pollersChanged) {
            pollerSnapshot = pollers.toArray(new PollerEntry[0]);
            pollersChanged = false;
        }
        int work = 0;
        for (PollerEntry e : pollerSnapshot) {
            if (e.removed) {
                continue;
            }
            try {
                work += e.poller.poll();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "reactor " + id + ": poller failed", t);
            }
        }
        return work;
    }

    /** Runs {@code r} once after {@code delay}. Any thread. */
    public ScheduledFuture<?> schedule(Runnable r, long delay, TimeUnit unit) {
        return loop.schedule(r, delay, unit);
    }

    private void runLoop() {
        long idleSince = 0;
        try {
            while (true) {
                int work = drainDeferred();
                work += runPollers();
                work += loop.runNow(TASK_BUDGET_NANOS);
                iterations++;
                if (work > 0 || ringHead != ringTail) {
                    busyIterations++;
                    idleSince = 0;
                    continue;
                }
                if (stopRequested) {
                    break;
                }
                long now = System.nanoTime();
                if (idleSince == 0) {
                    idleSince = now;
                } else if (now - idleSince >= spinNanos) {
                    parks++;
                    loop.run(MAX_PARK_NANOS, TASK_BUDGET_NANOS);
                    idleSince = 0;
                } else {
                    Thread.onSpinWait();
                }
            }
            loop.shutdown();
            while (!loop.isTerminated()) {
                drainDeferred();
                loop.runNow();
            }
            drainDeferred();
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "reactor " + id + " died", t);
            terminated.completeExceptionally(t);
            return;
        }
        terminated.complete(null);
    }

    /** Asks the loop to finish its queued work and exit. Any thread. */
    public void stop() {
        stopRequested = true;
        loop.wakeup();
    }

    public CompletableFuture<Void> terminationFuture() {
        return terminated;
    }

    /** Loop counters for diagnostics: iterations, iterations that did work, parks. */
    public long[] loopCounters() {
        return new long[] {iterations, busyIterations, parks};
    }

    public Thread thread() {
        return thread;
    }

    @Override
    public String toString() {
        return "reactor_" + id;
    }

    private static final class PollerEntry {
        final Poller poller;
        boolean removed;

        PollerEntry(Poller poller) {
            this.poller = poller;
        }
    }
}
