package io.basalt.bench;

import io.basalt.bdev.aio.AioModule;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.nio.file.Path;

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
 *
 * <p>The aio case is the one where Netty's io_uring handler mattered: while the disk works the
 * reactor polls its ring tens of times per I/O, and each of Netty's polls allocates a 16-byte
 * callback unless C2 inlines it away (300 to 1000 bytes per I/O when it did not). The reactor's
 * {@code IoUringIdleFilter} now answers an idle poll without entering Netty, so what remains is
 * at most one callback per poll that finds completions, and Netty's IoUringIoOps per submission,
 * both usually removed by C2 (0 to 3 bytes per I/O seen). The bound, 32 bytes per I/O, is below
 * one escaped IoUringIoOps (64 bytes) and far below the per-poll cost.
 *
 * <p>The pom runs this class in a JVM of its own (surefire execution "allocation"): in the
 * shared suite JVM, other tests pollute the JIT's type profiles and objects escape that never
 * escape in a real target (72 bytes per aio I/O were seen there).
 */
class IoPathAllocationTest {
    private static final long WARMUP_IOS = 2_000_000;
    private static final long MEASURED_IOS = 1_000_000;
    private static final double MAX_BYTES_PER_IO = 0.1;
    private static final long AIO_WARMUP_IOS = 200_000;
    private static final long AIO_MEASURED_IOS = 200_000;
    /** Below one escaped IoUringIoOps per I/O, and 10 to 30 times below what the per-poll callback did. */
    private static final double AIO_MAX_BYTES_PER_IO = 32.0;

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

    @ParameterizedTest(name = "write={0}")
    @ValueSource(booleans = {false, true})
    void aioIosOnAFileAllocateNothing(boolean write, @TempDir Path dir) throws Exception {
        Path file = dir.resolve("alloc.img");
        // Written in full: a read of a hole never reaches the disk.
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] chunk = new byte[1 << 20];
            java.util.Arrays.fill(chunk, (byte) 0x5a);
            for (int i = 0; i < 64; i++) {
                f.write(chunk);
            }
            f.getFD().sync();
        }
        try (ReactorFixture fx = new ReactorFixture(1)) {
            AioModule mod = new AioModule(fx.bdevs);
            fx.bdevs.addModule(mod);
            fx.onAsync(0, () -> mod.create(new AioModule.Options(file.toString(), "a0", 4096, false, false, null)));
            IoLoop loop = new IoLoop(fx.app(), fx.bdevs, "a0", write, 32, 4096);
            loop.start();
            loop.awaitCompletions(AIO_WARMUP_IOS);
            long before = loop.allocatedBytes();
            long c0 = loop.completed();
            loop.awaitCompletions(AIO_MEASURED_IOS);
            long after = loop.allocatedBytes();
            long ios = loop.completed() - c0;
            loop.stop();
            assertThat(loop.failed()).isZero();
            double perIo = (double) (after - before) / ios;
            System.out.printf("aio %s: %.2f heap bytes per I/O on the reactor%n", write ? "writes" : "reads", perIo);
            assertThat(perIo).as("heap bytes per aio I/O on the reactor (%d bytes over %d I/Os)", after - before, ios)
                    .isLessThan(AIO_MAX_BYTES_PER_IO);
        }
    }
}
