package io.basalt.perf;

import org.HdrHistogram.Histogram;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run measured: per job, merged per bdev, and in total.
 *
 * @param allocatedBytes heap bytes the reactor threads allocated during the measurement, or -1
 *                       if some reactor's window did not complete (a job stopped early)
 * @param cpuNanos       CPU time the reactor threads used during the measurement, or -1 (as above);
 *                       unlike IOPS it does not count time other processes took the cores away
 */
public record PerfResult(PerfOptions options, int reactorCount, List<Job> jobs, long allocatedBytes, long cpuNanos) {

    /** One job's figures; latencies in nanoseconds. */
    public record Job(String bdev, int core, long runtimeNanos, long completed, long failed, long miscompares,
                      Histogram latency, String failure) {
    }

    /** Figures of a bdev (its jobs merged) or of the whole run. */
    public record Summary(String name, BigInteger coreMask, double runtimeSeconds, long completed, long failed,
                          long miscompares, double iops, double mibps, double failedPerSecond, Histogram latency,
                          List<String> failures) {
        public boolean ok() {
            return failures.isEmpty();
        }

        public double latencyMicros(double percentile) {
            return latency.getTotalCount() == 0 ? 0 : latency.getValueAtPercentile(percentile) / 1000.0;
        }

        public double avgMicros() {
            return latency.getTotalCount() == 0 ? 0 : latency.getMean() / 1000.0;
        }

        public double minMicros() {
            return latency.getTotalCount() == 0 ? 0 : latency.getMinValue() / 1000.0;
        }

        public double maxMicros() {
            return latency.getTotalCount() == 0 ? 0 : latency.getMaxValue() / 1000.0;
        }
    }

    /** One summary per bdev, in the order the jobs were made. */
    public List<Summary> perBdev() {
        Map<String, List<Job>> by = new LinkedHashMap<>();
        for (Job j : jobs) {
            by.computeIfAbsent(j.bdev(), k -> new ArrayList<>()).add(j);
        }
        List<Summary> out = new ArrayList<>();
        by.forEach((name, js) -> out.add(summarize(name, js)));
        return out;
    }

    public Summary total() {
        return summarize("Total", jobs);
    }

    /** True if any job saw a failed I/O, a miscompare or a removal. */
    public boolean failed() {
        return !total().ok();
    }

    /** Heap bytes per measured I/O on the reactor threads; NaN when unknown. */
    public double allocatedBytesPerIo() {
        long n = total().completed();
        return allocatedBytes < 0 || n == 0 ? Double.NaN : (double) allocatedBytes / n;
    }

    /** Reactor CPU nanoseconds per measured I/O; NaN when unknown. */
    public double cpuNanosPerIo() {
        long n = total().completed();
        return cpuNanos < 0 || n == 0 ? Double.NaN : (double) cpuNanos / n;
    }

    private Summary summarize(String name, List<Job> js) {
        BigInteger mask = BigInteger.ZERO;
        Histogram h = new Histogram(PerfJob.MAX_LATENCY_NANOS, 3);
        double iops = 0;
        double failedPerSecond = 0;
        long runtime = 0;
        long completed = 0;
        long failed = 0;
        long miscompares = 0;
        List<String> failures = new ArrayList<>();
        for (Job j : js) {
            mask = mask.setBit(j.core());
            h.add(j.latency());
            double secs = j.runtimeNanos() / 1e9;
            // As bdevperf: a bdev's or the run's IOPS is the sum of its jobs' IOPS.
            if (secs > 0) {
                iops += j.completed() / secs;
                failedPerSecond += j.failed() / secs;
            }
            runtime = Math.max(runtime, j.runtimeNanos());
            completed += j.completed();
            failed += j.failed();
            miscompares += j.miscompares();
            if (j.failure() != null) {
                failures.add(j.failure());
            }
        }
        double mibps = iops * options.ioSize() / (1024.0 * 1024.0);
        return new Summary(name, mask, runtime / 1e9, completed, failed, miscompares, iops, mibps, failedPerSecond,
                h, failures);
    }
}
