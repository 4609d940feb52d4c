package io.basalt.bdev.nvme;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.testing.QdLoad;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A benchmark of the NVMe/TCP path, off by default: Basalt's host (one reactor in this JVM)
 * attached to a target (another process, e.g. {@code bin/basalt tgt -m 1} exporting a malloc bdev)
 * runs random 4 KiB reads or writes at a fixed queue depth on the NvmeXn1 bdev; with
 * {@code basalt.bench.nvme=malloc} the same load runs on a malloc bdev in this JVM instead, the
 * in-process baseline. scripts/bench-nvmf.sh runs the whole set.
 * <pre>
 * mvn -q test -Dtest=NvmeBench -Dbasalt.bench.nvme=127.0.0.1:4420:NQN|malloc [-Dbasalt.bench.rw=randwrite]
 *     [-Dbasalt.bench.qd=32] [-Dbasalt.bench.seconds=10] [-Dbasalt.bench.digests=true]
 * </pre>
 */
@EnabledIfSystemProperty(named = "basalt.bench.nvme", matches = ".+")
class NvmeBench {
    @Test
    void randomIo() throws Exception {
        String where = System.getProperty("basalt.bench.nvme");
        String what0 = where;
        boolean write = System.getProperty("basalt.bench.rw", "randread").equals("randwrite");
        int qd = Integer.getInteger("basalt.bench.qd", 32);
        int bs = 4096;
        int seconds = Integer.getInteger("basalt.bench.seconds", 10);
        boolean digests = Boolean.getBoolean("basalt.bench.digests");
        try (ReactorFixture fx = new ReactorFixture(1)) {
            String bdev;
            String what;
            if (where.equals("malloc")) {
                MallocModule m = new MallocModule(fx.bdevs);
                fx.bdevs.addModule(m);
                fx.on(0, () -> m.create("bench0", null, 4096, (512L << 20) / 4096, 4096, 0));
                bdev = "bench0";
                what = "malloc in-process";
            } else {
                if (where.startsWith("inproc")) {
                    // Target in this JVM too (same reactor): shows the protocol cost without a second process.
                    MallocModule m = new MallocModule(fx.bdevs);
                    fx.bdevs.addModule(m);
                    io.basalt.nvmf.NvmfTarget t = new io.basalt.nvmf.NvmfTarget(fx.reactors, fx.bdevs);
                    int port;
                    try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) {
                        port = ss.getLocalPort();
                    }
                    fx.on(0, () -> {
                        m.create("t0", null, 4096, (512L << 20) / 4096, 4096, 0);
                        t.createTransport(io.basalt.nvmf.TransportOptions.defaults());
                        t.createSubsystem("nqn.2016-06.io.basalt:inproc", "SN", "MN", true, 32, 1, 0xFFEF);
                        t.addNamespace("nqn.2016-06.io.basalt:inproc", "t0", 1, null, null, null);
                        return null;
                    });
                    fx.onAsync(0, () -> t.addListener("nqn.2016-06.io.basalt:inproc",
                            new io.basalt.nvmf.ListenAddress("IPv4", "127.0.0.1", port)));
                    where = "127.0.0.1:" + port + ":nqn.2016-06.io.basalt:inproc";
                }
                String[] p = where.split(":", 3);
                NvmeModule n = new NvmeModule(fx.bdevs);
                fx.bdevs.addModule(n);
                NvmeCtrlr.Options o = new NvmeCtrlr.Options("IPv4", p[0], Integer.parseInt(p[1]), p[2],
                        "nqn.2014-08.org.nvmexpress:uuid:" + UUID.randomUUID(), UUID.randomUUID(), digests, digests,
                        0, 0, 0, 10000);
                bdev = fx.onAsync(0, () -> n.attach("Bench", o)).get(0);
                what = "basalt nvme host -> basalt nvmf target" + (what0.startsWith("inproc") ? " in the same JVM" : "")
                        + (digests ? " (digests)" : "");
            }
            BdevDesc d = fx.on(0, () -> fx.bdevs.open(bdev, true, BdevEventHandler.IGNORE));
            fx.onAsync(0, () -> new QdLoad(fx.reactors.buffers(), d, write, qd, bs, null, TimeUnit.SECONDS.toNanos(3)).start());
            QdLoad run = fx.onAsync(0, () -> new QdLoad(fx.reactors.buffers(), d, write, qd, bs, null, TimeUnit.SECONDS.toNanos(seconds)).start());
            System.out.println("BENCH " + run.report(what, bs, seconds));
            fx.on(0, () -> {
                d.close();
                return null;
            });
        }
    }
}
