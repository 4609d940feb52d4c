package io.basalt.perf;

import io.basalt.runtime.BufferPool;

import java.time.Duration;

/**
 * What one {@code basalt perf} run does; bdevperf's flags.
 *
 * @param workload          {@code -w}
 * @param queueDepth        {@code -q}: I/O each job keeps in flight
 * @param ioSize            {@code -o}: bytes per I/O, a multiple of each bdev's block size
 * @param readPercent       {@code -M}: reads in percent for rw/randrw; -1 when not given
 * @param time              {@code -t}: measured time
 * @param warmup            time each job runs before measuring starts (not in the figures)
 * @param everyReactor      {@code -C}: a job per bdev on every reactor, each on its own part of the
 *                          bdev; otherwise one job per bdev, bdevs spread round-robin over the reactors
 * @param bdev              {@code -T}: only this bdev; null for every bdev no module claimed
 * @param continueOnFailure {@code -f}: keep going after a failed I/O (else the job stops)
 * @param seed              seed of the random offsets; 0 for a different one every run
 */
public record PerfOptions(Workload workload, int queueDepth, int ioSize, int readPercent, Duration time,
                          Duration warmup, boolean everyReactor, String bdev, boolean continueOnFailure,
                          long seed) {

    /** A run with the usual defaults: all bdevs, one job per bdev, stop on failure, 1 s warm-up. */
    public static PerfOptions of(Workload workload, int queueDepth, int ioSize, Duration time) {
        return new PerfOptions(workload, queueDepth, ioSize, -1, time, Duration.ofSeconds(1), false, null, false, 0);
    }

    public PerfOptions withReadPercent(int pct) {
        return new PerfOptions(workload, queueDepth, ioSize, pct, time, warmup, everyReactor, bdev, continueOnFailure, seed);
    }

    public PerfOptions withWarmup(Duration w) {
        return new PerfOptions(workload, queueDepth, ioSize, readPercent, time, w, everyReactor, bdev, continueOnFailure, seed);
    }

    public PerfOptions withEveryReactor(boolean c) {
        return new PerfOptions(workload, queueDepth, ioSize, readPercent, time, warmup, c, bdev, continueOnFailure, seed);
    }

    public PerfOptions withBdev(String name) {
        return new PerfOptions(workload, queueDepth, ioSize, readPercent, time, warmup, everyReactor, name, continueOnFailure, seed);
    }

    public PerfOptions withContinueOnFailure(boolean f) {
        return new PerfOptions(workload, queueDepth, ioSize, readPercent, time, warmup, everyReactor, bdev, f, seed);
    }

    /** Throws IllegalArgumentException naming the first bad option. */
    public void check() {
        if (workload == null) {
            throw new IllegalArgumentException("a workload (-w) is needed");
        }
        if (queueDepth < 1 || queueDepth > 4096) {
            throw new IllegalArgumentException("queue depth (-q) must be 1..4096, not " + queueDepth);
        }
        if (ioSize < 1 || ioSize > BufferPool.maxBufferSize()) {
            throw new IllegalArgumentException("I/O size (-o) must be 1.." + BufferPool.maxBufferSize() + " bytes, not " + ioSize);
        }
        if (workload.mixed()) {
            if (readPercent < 0 || readPercent > 100) {
                throw new IllegalArgumentException("workload " + workload.json() + " needs a read percentage -M 0..100");
            }
        } else if (readPercent >= 0) {
            throw new IllegalArgumentException("-M is for rw and randrw only, not " + workload.json());
        }
        if (time == null || time.isNegative() || time.isZero()) {
            throw new IllegalArgumentException("run time (-t) must be positive");
        }
        if (warmup == null || warmup.isNegative()) {
            throw new IllegalArgumentException("warm-up must not be negative");
        }
    }

    /** Reads in percent for this run's workload. */
    int effectiveReadPercent() {
        return workload.mixed() ? readPercent : workload.fixedReadPercent();
    }
}
