package io.basalt.perf;

import io.basalt.bdev.BdevLayer;
import io.basalt.runtime.Reactor;
import io.netty.util.concurrent.ScheduledFuture;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The jobs of one reactor and their common measurement window: the warm-up ends and the run ends
 * for all of them at the same moments, so the heap allocation of the reactor thread between those
 * moments belongs to their I/O and nothing else. Threading: the reactor's, except construction.
 */
final class ReactorRun {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    final Reactor reactor;
    final List<PerfJob> jobs = new ArrayList<>();
    final CompletableFuture<Void> finished = new CompletableFuture<>();
    private int running;
    private ScheduledFuture<?> warmupTimer;
    private ScheduledFuture<?> endTimer;
    /** Bytes the reactor thread allocated in the window; -1 if the window never opened. */
    long allocatedBytes = -1;
    /** CPU time of the reactor thread in the window; -1 if the window never opened. */
    long cpuNanos = -1;
    private long allocStart;
    private long cpuStart;
    private boolean windowOpen;

    ReactorRun(Reactor reactor) {
        this.reactor = reactor;
    }

    /** Opens every job's bdev; on failure closes the ones already open. Reactor thread. */
    void open(BdevLayer layer) {
        List<PerfJob> opened = new ArrayList<>();
        try {
            for (PerfJob j : jobs) {
                j.open(layer);
                opened.add(j);
            }
        } catch (RuntimeException e) {
            for (PerfJob j : opened) {
                j.close(layer);
            }
            throw e;
        }
    }

    /** Starts the jobs and the window's timers. Reactor thread. */
    void start(BdevLayer layer, PerfOptions o) {
        running = jobs.size();
        for (PerfJob j : jobs) {
            j.start(layer, this::jobFinished);
        }
        long warmup = o.warmup().toNanos();
        if (warmup > 0) {
            warmupTimer = reactor.schedule(this::openWindow, warmup, TimeUnit.NANOSECONDS);
        } else {
            openWindow();
        }
        endTimer = reactor.schedule(this::closeWindow, warmup + o.time().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void openWindow() {
        long now = System.nanoTime();
        for (PerfJob j : jobs) {
            j.beginMeasure(now);
        }
        windowOpen = true;
        cpuStart = THREADS.getCurrentThreadCpuTime();
        allocStart = THREADS.getCurrentThreadAllocatedBytes();
    }

    private void closeWindow() {
        if (windowOpen) {
            allocatedBytes = THREADS.getCurrentThreadAllocatedBytes() - allocStart;
            cpuNanos = THREADS.getCurrentThreadCpuTime() - cpuStart;
            windowOpen = false;
        }
        long now = System.nanoTime();
        for (PerfJob j : jobs) {
            j.endMeasure(now);
        }
        for (PerfJob j : jobs) {
            j.drain();
        }
    }

    private void jobFinished() {
        if (--running > 0) {
            return;
        }
        // Every job stopped early (failure, removal): the window's timers have nothing left to do.
        if (warmupTimer != null) {
            warmupTimer.cancel(false);
        }
        endTimer.cancel(false);
        if (windowOpen) {
            windowOpen = false;
            allocatedBytes = -1;
            cpuNanos = -1;
        }
        finished.complete(null);
    }
}
