package io.basalt.bench;

import io.basalt.bdev.malloc.MallocModule;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The data path allocates nothing per I/O: a million 4 KiB reads or writes through the real bdev
 * layer (descriptor, channel, pooled BdevIo, deferred completion, statistics) on a malloc bdev,
 * driven from a real reactor, after a warm-up that lets the JIT compile the path. The reactor
 * thread's allocated-bytes counter must stay below a tiny bound per I/O: a single allocation
 * per I/O (16 bytes or more) would exceed it 160-fold. The bound leaves room for one thing that
 * is not per I/O: Netty's io_uring handler allocates a 16-byte callback per poll when the JIT
 * does not scalar-replace it, and the reactor polls an idle Netty once per 256 deferred items
 * while such local work is queued (Reactor.NETTY_POLL_DEFERRED), so at most 0.0625 bytes per I/O.
 */
class IoPathAllocationTest {
    private static final long WARMUP_IOS = 2_000_000;
    private static final long MEASURED_IOS = 1_000_000;
    private static final double MAX_BYTES_PER_IO = 0.1;

    @ParameterizedTest(name = "write={0}")
    @ValueSource(booleans = {false, true})
    void millionIosAllocateNothing(boolean write) throws Exception {
        try (ReactorFixture fx = new ReactorFixture(1)) {
            MallocModule mod = new MallocModule(fx.bdevs);
            fx.bdevs.addModule(mod);
            fx.on(0, () -> mod.create("m0", null, 4096, 16384, 4096, 0));
            IoLoop loop = new IoLoop(fx.app(), fx.bdevs, "m0", write, 32, 4096);
            loop.start();
            loop.awaitCompletions(WARMUP_IOS);
            long before = loop.allocatedBytes();
            long c0 = loop.completed();
            loop.awaitCompletions(MEASURED_IOS);
            long after = loop.allocatedBytes();
            long ios = loop.completed() - c0;
            loop.stop();
            assertThat(loop.failed()).isZero();
            assertThat(ios).isGreaterThanOrEqualTo(MEASURED_IOS);
            double perIo = (double) (after - before) / ios;
            assertThat(perIo).as("heap bytes per I/O on the reactor (%d bytes over %d I/Os)", after - before, ios)
                    .isLessThan(MAX_BYTES_PER_IO);
        }
    }
}
