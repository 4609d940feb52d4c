package io.basalt.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code basalt perf}: placeholder replaced by the bdevperf-style load generator. */
@Command(name = "perf", mixinStandardHelpOptions = true, description = "In-process load generator (bdevperf).")
final class PerfCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("basalt perf: see io.basalt.perf");
        return 2;
    }
}
