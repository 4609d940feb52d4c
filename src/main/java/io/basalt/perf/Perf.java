package io.basalt.perf;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevLayer;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The bdevperf engine: makes the jobs of a run, spreads them over the reactors, runs them and
 * collects their figures.
 *
 * <p>Job placement is bdevperf's: by default one job per bdev, the bdevs dealt round-robin to the
 * reactors (the first bdev to the first reactor); with {@code everyReactor} ({@code -C}) one job
 * per bdev on every reactor, each on its own equal part of the bdev. The bdevs are the ones no
 * module claimed (bdevperf's leaf bdevs), or just {@code -T}'s.
 */
public final class Perf {
    /** How long the jobs may take to drain after the run before perf gives up on them. */
    private static final long DRAIN_GRACE_SECONDS = 60;

    private Perf() {
    }

    /**
     * Runs {@code o} against the bdevs of {@code layer} and returns the figures. Blocks; must not be
     * called on a reactor. Throws IllegalArgumentException or BasaltException (nothing started)
     * when the options do not fit the bdevs.
     */
    public static PerfResult run(BdevLayer layer, PerfOptions o) throws InterruptedException {
        return run(layer, o, () -> {
        });
    }

    /** As {@link #run(BdevLayer, PerfOptions)}; {@code starting} runs once the jobs are ready, just before the I/O starts. */
    public static PerfResult run(BdevLayer layer, PerfOptions o, Runnable starting) throws InterruptedException {
        if (Reactor.current() != null) {
            throw new IllegalStateException("perf blocks; run it off the reactors");
        }
        o.check();
        List<ReactorRun> runs = plan(layer, o);
        List<ReactorRun> opened = new ArrayList<>();
        try {
            for (ReactorRun r : runs) {
                await(r.reactor.call(() -> {
                    r.open(layer);
                    return null;
                }), 30);
                opened.add(r);
            }
        } catch (RuntimeException e) {
            for (ReactorRun r : opened) {
                await(r.reactor.call(() -> {
                    r.jobs.forEach(j -> j.close(layer));
                    return null;
                }), 30);
            }
            throw e;
        }
        starting.run();
        for (ReactorRun r : runs) {
            r.reactor.send(() -> r.start(layer, o));
        }
        long limit = TimeUnit.NANOSECONDS.toSeconds(o.warmup().toNanos() + o.time().toNanos()) + DRAIN_GRACE_SECONDS;
        await(CompletableFuture.allOf(runs.stream().map(r -> r.finished).toArray(CompletableFuture[]::new)), limit);
        return collect(layer.reactors(), runs, o);
    }

    private static List<ReactorRun> plan(BdevLayer layer, PerfOptions o) {
        List<Bdev> bdevs = new ArrayList<>();
        if (o.bdev() != null) {
            bdevs.add(layer.require(o.bdev()));
        } else {
            for (Bdev b : layer.list()) {
                if (!b.claimed()) {
                    bdevs.add(b);
                }
            }
        }
        if (bdevs.isEmpty()) {
            throw new IllegalArgumentException("no bdevs to test (the configuration creates none, or all are claimed)");
        }
        for (Bdev b : bdevs) {
            check(b, o);
        }
        ReactorGroup group = layer.reactors();
        int n = group.size();
        long seed = o.seed() != 0 ? o.seed() : new SplittableRandom().nextLong();
        Map<Reactor, ReactorRun> runs = new LinkedHashMap<>();
        int k = 0;
        for (Bdev b : bdevs) {
            long totalIos = b.numBlocks() / (o.ioSize() / b.blockSize());
            if (o.everyReactor()) {
                long per = totalIos / n;
                if (per == 0) {
                    throw new IllegalArgumentException("bdev " + b.name() + " has " + totalIos + " units of " + o.ioSize()
                            + " bytes: too few to split over " + n + " reactors (-C)");
                }
                for (int i = 0; i < n; i++) {
                    Reactor r = group.get(i);
                    runs.computeIfAbsent(r, ReactorRun::new).jobs.add(
                            new PerfJob(b, r, o, i * per, per, mix(seed, k++)));
                }
            } else {
                Reactor r = group.get(k % n);
                runs.computeIfAbsent(r, ReactorRun::new).jobs.add(new PerfJob(b, r, o, 0, totalIos, mix(seed, k++)));
            }
        }
        return new ArrayList<>(runs.values());
    }

    private static void check(Bdev b, PerfOptions o) {
        if (o.ioSize() % b.blockSize() != 0) {
            throw new IllegalArgumentException("I/O size " + o.ioSize() + " is not a multiple of the block size "
                    + b.blockSize() + " of bdev " + b.name());
        }
        if (b.numBlocks() < o.ioSize() / b.blockSize()) {
            throw new IllegalArgumentException("bdev " + b.name() + " is smaller than one I/O of " + o.ioSize() + " bytes");
        }
        var t = o.workload().type();
        if (t != null && !b.supports(t)) {
            throw new BasaltException(Errno.EOPNOTSUPP, "bdev " + b.name() + " does not support " + t.json());
        }
    }

    private static long mix(long seed, int k) {
        long s = new SplittableRandom(seed + k).nextLong();
        return s == 0 ? 1 : s;
    }

    private static PerfResult collect(ReactorGroup group, List<ReactorRun> runs, PerfOptions o) {
        List<PerfResult.Job> jobs = new ArrayList<>();
        long alloc = 0;
        long cpu = 0;
        for (ReactorRun r : runs) {
            alloc = r.allocatedBytes < 0 || alloc < 0 ? -1 : alloc + r.allocatedBytes;
            cpu = r.cpuNanos < 0 || cpu < 0 ? -1 : cpu + r.cpuNanos;
            for (PerfJob j : r.jobs) {
                jobs.add(new PerfResult.Job(j.name(), group.core(r.reactor.id()), j.measureEnd - j.measureStart,
                        j.completed, j.failed, j.miscompares, j.latency, j.failure));
            }
        }
        return new PerfResult(o, group.size(), jobs, alloc, cpu);
    }

    private static <T> T await(CompletableFuture<T> f, long seconds) throws InterruptedException {
        try {
            return f.get(seconds, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("perf: jobs did not finish within " + seconds + " s (I/O stuck in a bdev?)");
        }
    }
}
