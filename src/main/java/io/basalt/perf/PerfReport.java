package io.basalt.perf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.runtime.Json;

import java.util.Locale;

/** Prints a {@link PerfResult} as bdevperf's table (plus percentiles) or as JSON. */
public final class PerfReport {
    private static final String ROW = " %-20s %-8s %10.2f %12.2f %10.2f %8.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f%n";
    private static final String HEAD = " %-20s %-8s %10s %12s %10s %8s %10s %10s %10s %10s %10s %10s%n";

    private PerfReport() {
    }

    /** The line printed before the run starts. */
    public static String banner(PerfOptions o, int reactors) {
        return String.format(Locale.ROOT, "Running %s%s for %d s (after %d s of warm-up that is not measured), "
                        + "queue depth %d, I/O size %d, %d reactor(s)%s...",
                o.workload().json(), o.workload().mixed() ? " (" + o.readPercent() + " % reads)" : "",
                o.time().toSeconds(), o.warmup().toSeconds(), o.queueDepth(), o.ioSize(), reactors,
                o.everyReactor() ? ", a job per bdev on every reactor" : "");
    }

    public static String table(PerfResult r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%" + 128 + "s%n", "Latency(us)"));
        sb.append(String.format(Locale.ROOT, HEAD, "Device", "Cores", "runtime(s)", "IOPS", "MiB/s", "Fail/s",
                "Average", "min", "p50", "p99", "p99.9", "max"));
        for (PerfResult.Summary s : r.perBdev()) {
            row(sb, s);
        }
        sb.append(' ').append("=".repeat(136)).append('\n');
        row(sb, r.total());
        double cpu = r.cpuNanosPerIo();
        if (!Double.isNaN(cpu)) {
            sb.append(String.format(Locale.ROOT, " Reactor CPU time while measuring: %.2f s, %.1f ns per I/O (%.0f I/Os per second of reactor CPU)%n",
                    r.cpuNanos() / 1e9, cpu, 1e9 / cpu));
        }
        double perIo = r.allocatedBytesPerIo();
        if (!Double.isNaN(perIo)) {
            sb.append(String.format(Locale.ROOT, " Heap allocated by the reactor threads while measuring: %d bytes, %.4f bytes per I/O%n",
                    r.allocatedBytes(), perIo));
        }
        for (PerfResult.Summary s : r.perBdev()) {
            for (String f : s.failures()) {
                sb.append(" FAILED: ").append(f).append('\n');
            }
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, PerfResult.Summary s) {
        sb.append(String.format(Locale.ROOT, ROW, s.name(), "0x" + s.coreMask().toString(16), s.runtimeSeconds(),
                s.iops(), s.mibps(), s.failedPerSecond(), s.avgMicros(), s.minMicros(), s.latencyMicros(50),
                s.latencyMicros(99), s.latencyMicros(99.9), s.maxMicros()));
    }

    /** bdevperf's perform_tests result fields, per bdev, plus percentiles and the allocation figure. */
    public static ObjectNode json(PerfResult r) {
        PerfOptions o = r.options();
        ObjectNode root = Json.object();
        var results = root.putArray("results");
        for (PerfResult.Summary s : r.perBdev()) {
            ObjectNode n = results.addObject();
            n.put("job", s.name());
            fill(n, s, o);
        }
        fill(root.putObject("total"), r.total(), o);
        root.put("core_count", r.reactorCount());
        root.put("warmup", o.warmup().toNanos() / 1e9);
        if (r.allocatedBytes() >= 0) {
            root.put("reactor_heap_allocated_bytes", r.allocatedBytes());
            root.put("reactor_heap_allocated_bytes_per_io", r.allocatedBytesPerIo());
        }
        if (r.cpuNanos() >= 0) {
            root.put("reactor_cpu_seconds", r.cpuNanos() / 1e9);
            root.put("reactor_cpu_ns_per_io", r.cpuNanosPerIo());
        }
        return root;
    }

    private static void fill(ObjectNode n, PerfResult.Summary s, PerfOptions o) {
        n.put("core_mask", "0x" + s.coreMask().toString(16));
        n.put("workload", o.workload().json());
        if (o.workload().mixed()) {
            n.put("percentage", o.readPercent());
        }
        n.put("status", s.ok() ? "finished" : "failed");
        n.put("queue_depth", o.queueDepth());
        n.put("io_size", o.ioSize());
        n.put("runtime", s.runtimeSeconds());
        n.put("iops", s.iops());
        n.put("mibps", s.mibps());
        n.put("io_completed", s.completed());
        n.put("io_failed", s.failed());
        n.put("miscompares", s.miscompares());
        n.put("avg_latency_us", s.avgMicros());
        n.put("min_latency_us", s.minMicros());
        n.put("p50_latency_us", s.latencyMicros(50));
        n.put("p99_latency_us", s.latencyMicros(99));
        n.put("p99_9_latency_us", s.latencyMicros(99.9));
        n.put("max_latency_us", s.maxMicros());
        if (!s.ok()) {
            var f = n.putArray("failures");
            s.failures().forEach(f::add);
        }
    }
}
