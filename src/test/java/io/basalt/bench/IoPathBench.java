package io.basalt.bench;

import io.basalt.bdev.malloc.MallocModule;
import io.basalt.testing.ReactorFixture;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Submit + complete of 4 KiB I/O on a malloc bdev, through the real bdev layer on a real reactor
 * (one reactor, queue depth 32, random offsets, resubmitted from the completion callback). One
 * benchmark operation is one I/O: the benchmark thread waits for {@link #BATCH} completions per
 * invocation. Run with {@code -prof gc}: {@code gc.alloc.rate.norm} is the heap allocated per I/O
 * by all threads, the reactor's included (and JMH's own); the reactor thread's share alone is
 * printed after each iteration. {@code scripts/jmh.sh} runs it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch"})
public class IoPathBench {
    static final int BATCH = 100_000;

    @Param({"randread", "randwrite"})
    String workload;

    /** Size of the malloc bdev in MiB. */
    @Param({"1024"})
    int sizeMb;

    private ReactorFixture fx;
    private IoLoop loop;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        fx = new ReactorFixture(1);
        MallocModule mod = new MallocModule(fx.bdevs);
        fx.bdevs.addModule(mod);
        long blocks = (long) sizeMb * 256;
        fx.on(0, () -> mod.create("Malloc0", null, 4096, blocks, 4096, 0));
        loop = new IoLoop(fx.app(), fx.bdevs, "Malloc0", workload.equals("randwrite"), 32, 4096);
        loop.start();
    }

    private long iterationAlloc;
    private long iterationIos;

    @Setup(Level.Iteration)
    public void beginIteration() {
        iterationAlloc = loop.allocatedBytes();
        iterationIos = loop.completed();
    }

    /** The reactor thread's own share, printed per iteration: the figure the I/O path is judged by. */
    @TearDown(Level.Iteration)
    public void endIteration() {
        long bytes = loop.allocatedBytes() - iterationAlloc;
        long ios = loop.completed() - iterationIos;
        System.out.printf("  [reactor thread: %d bytes allocated over %d I/Os = %.4f B/I/O]%n", bytes, ios,
                (double) bytes / Math.max(1, ios));
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void io() {
        loop.awaitCompletions(BATCH);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        loop.stop();
        if (loop.failed() != 0) {
            throw new IllegalStateException(loop.failed() + " I/Os failed");
        }
        fx.close();
    }
}
