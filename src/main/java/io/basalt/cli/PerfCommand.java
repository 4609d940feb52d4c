package io.basalt.cli;

import io.basalt.perf.Perf;
import io.basalt.perf.PerfOptions;
import io.basalt.perf.PerfReport;
import io.basalt.perf.PerfResult;
import io.basalt.perf.Workload;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Json;
import io.basalt.runtime.ReactorGroup;
import io.basalt.target.Target;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code basalt perf}: SPDK's bdevperf in process. Replays a save_config document (as
 * {@code basalt tgt -c}, without an RPC socket), runs the workload on its bdevs and prints the
 * figures. Exit status 0 when every I/O succeeded, 1 when one failed or the run could not start,
 * 2 for bad options.
 */
@Command(name = "perf", mixinStandardHelpOptions = true, sortOptions = false,
        description = "In-process load generator in the manner of SPDK's bdevperf.")
final class PerfCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config", "--json-config"}, paramLabel = "CONFIG.json", required = true,
            description = "Configuration as written by save_config: creates the bdevs to test")
    Path config;

    @Option(names = {"-q", "--queue-depth"}, paramLabel = "DEPTH", required = true,
            description = "I/Os each job keeps in flight")
    int queueDepth;

    @Option(names = {"-o", "--io-size"}, paramLabel = "IO_SIZE", required = true,
            description = "Bytes per I/O; k, m suffixes allowed (4096, 4k, 1m)")
    String ioSize;

    @Option(names = {"-w", "--workload"}, paramLabel = "TYPE", required = true,
            description = "read, write, randread, randwrite, rw, randrw, verify, unmap, write_zeroes, flush")
    String workload;

    @Option(names = {"-M", "--rwmixread"}, paramLabel = "READ_PCT",
            description = "Reads in percent, for rw and randrw")
    Integer readPercent;

    @Option(names = {"-t", "--time"}, paramLabel = "SECONDS", required = true,
            description = "Measured run time in seconds")
    int seconds;

    @Option(names = "--warmup", paramLabel = "SECONDS", defaultValue = "1",
            description = "Seconds of I/O before measuring starts, so JIT compilation stays out of the figures (default ${DEFAULT-VALUE})")
    int warmupSeconds;

    @Option(names = {"-m", "--cpumask"}, paramLabel = "CORES", defaultValue = "1",
            description = "Reactors, as basalt tgt -m: a count (2), a hex core mask (0x3) or a list ([0,1]) (default ${DEFAULT-VALUE})")
    String cores;

    @Option(names = "-C", description = "A job per bdev on every reactor, each on its own part of the bdev"
            + " (default: one job per bdev, bdevs spread round-robin over the reactors)")
    boolean everyReactor;

    @Option(names = {"-T", "--target"}, paramLabel = "BDEV", description = "Test only this bdev")
    String bdev;

    @Option(names = {"-f", "--continue-on-failure"}, description = "Keep going after a failed I/O")
    boolean continueOnFailure;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "Seed of the random offsets (default: a new one each run)")
    long seed;

    @Option(names = "--iobuf-mb", paramLabel = "MiB", defaultValue = "1024",
            description = "Most memory for pooled I/O buffers (default ${DEFAULT-VALUE})")
    long iobufMb;

    @Option(names = "--json", description = "Print the result as JSON instead of a table")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PerfOptions o;
        int[] coreList;
        try {
            Workload w = Workload.fromJson(workload);
            if (w == null) {
                throw new IllegalArgumentException("unknown workload -w " + workload);
            }
            if (warmupSeconds < 0) {
                throw new IllegalArgumentException("--warmup must not be negative");
            }
            if (iobufMb < 1) {
                throw new IllegalArgumentException("--iobuf-mb must be at least 1, not " + iobufMb);
            }
            o = new PerfOptions(w, queueDepth, parseSize(ioSize), readPercent == null ? -1 : readPercent,
                    Duration.ofSeconds(seconds), Duration.ofSeconds(warmupSeconds), everyReactor, bdev,
                    continueOnFailure, seed);
            o.check();
            coreList = ReactorGroup.parseCoresOption(cores);
        } catch (IllegalArgumentException e) {
            System.err.println("basalt perf: " + e.getMessage());
            return 2;
        }
        Target t;
        try {
            t = Target.start(new Target.Options(null, config, null, coreList, false, iobufMb << 20,
                    ReactorGroup.DEFAULT_SPIN_NANOS));
        } catch (BasaltException e) {
            System.err.println("basalt perf: " + e.describe());
            return 1;
        } catch (java.io.IOException e) {
            System.err.println("basalt perf: cannot read " + config + ": " + e);
            return 1;
        } catch (java.util.concurrent.ExecutionException e) {
            System.err.println("basalt perf: " + e.getCause().getMessage());
            return 1;
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("basalt perf: " + e.getMessage());
            return 1;
        }
        try {
            PerfResult r = Perf.run(t.bdevs(), o, () -> System.err.println(PerfReport.banner(o, coreList.length)));
            if (json) {
                System.out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(PerfReport.json(r)));
            } else {
                System.out.print(PerfReport.table(r));
            }
            return r.failed() ? 1 : 0;
        } catch (BasaltException e) {
            System.err.println("basalt perf: " + e.describe());
            return 1;
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("basalt perf: " + e.getMessage());
            return 1;
        } finally {
            t.close();
        }
    }

    /** bdevperf's -o: bytes, with an optional binary k/m/g suffix. */
    static int parseSize(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        long mult = 1;
        if (v.endsWith("k") || v.endsWith("m") || v.endsWith("g")) {
            mult = switch (v.charAt(v.length() - 1)) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                default -> 1L << 30;
            };
            v = v.substring(0, v.length() - 1);
        }
        try {
            long n = Math.multiplyExact(Long.parseLong(v), mult);
            if (n <= 0 || n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("I/O size -o out of range: " + s);
            }
            return (int) n;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("bad I/O size -o " + s);
        }
    }
}
