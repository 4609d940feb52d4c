package io.basalt.bdev.aio;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.testing.QdLoad;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.concurrent.TimeUnit;

/**
 * A micro-benchmark of the aio module, off by default: random reads or writes of one block size
 * at a fixed queue depth from one reactor, over an existing file, printing IOPS and latency to
 * compare with {@code fio --ioengine=io_uring --direct=1} on the same file. Run with
 * <pre>
 * mvn -q test -Dtest=AioBench -Dbasalt.bench.file=/tmp/bench.img [-Dbasalt.bench.rw=randwrite]
 *     [-Dbasalt.bench.qd=32] [-Dbasalt.bench.bs=4096] [-Dbasalt.bench.seconds=20]
 * </pre>
 */
@EnabledIfSystemProperty(named = "basalt.bench.file", matches = ".+")
class AioBench {
    @Test
    void randomIo() throws Exception {
        String file = System.getProperty("basalt.bench.file");
        boolean write = System.getProperty("basalt.bench.rw", "randread").equals("randwrite");
        int qd = Integer.getInteger("basalt.bench.qd", 32);
        int bs = Integer.getInteger("basalt.bench.bs", 4096);
        int seconds = Integer.getInteger("basalt.bench.seconds", 20);
        try (ReactorFixture fx = new ReactorFixture(1)) {
            AioModule m = new AioModule(fx.bdevs);
            fx.bdevs.addModule(m);
            AioBdev b = fx.onAsync(0, () -> m.create(new AioModule.Options(file, "bench0", bs, false, false, null)));
            BdevDesc d = fx.on(0, () -> fx.bdevs.open("bench0", true, BdevEventHandler.IGNORE));
            QdLoad warm = fx.onAsync(0, () -> new QdLoad(fx.reactors.buffers(), d, write, qd, bs, null, TimeUnit.SECONDS.toNanos(3)).start());
            QdLoad run = fx.onAsync(0, () -> new QdLoad(fx.reactors.buffers(), d, write, qd, bs, null, TimeUnit.SECONDS.toNanos(seconds)).start());
            System.out.println(run.report("basalt aio", bs, seconds) + " (warm-up " + warm.ops + " ops)");
            fx.on(0, () -> {
                d.close();
                return null;
            });
        }
    }

}
