package io.basalt.bdev.aio;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * File-backed bdevs (SPDK's bdev_aio), doing their I/O through io_uring.
 *
 * <p>Everything that may block (open, statx, ioctl, the fallocate probes, close) runs on the
 * module's one control thread, never on a reactor; its results come back to the application
 * reactor, where bdevs are registered. One thread keeps those steps in order (a rescan never
 * races the close of the same fd).
 *
 * <p>When the reactors do not run io_uring (transport epoll or NIO), reads and writes go to a
 * small bounded pool of worker threads instead; a warning says so at create.
 */
public final class AioModule implements BdevModule {
    private static final System.Logger LOG = System.getLogger(AioModule.class.getName());
    /** Fallback workers: a few blocking calls at a time are enough to keep a file system busy. */
    private static final int WORKER_THREADS = 4;
    private static final int WORKER_QUEUE = 1024;

    private final BdevLayer layer;
    private final AioSyscalls sys;
    /** Engine factory forced by a test; null = io_uring when the reactors run it, else workers. */
    private final AioEngine.Factory forcedEngines;
    private final ExecutorService control = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "aio-control");
        t.setDaemon(true);
        return t;
    });
    private PoolEngine.Workers workers;

    /**
     * What bdev_aio_create asks for; {@code blockSize} 0 = detect, {@code uuid} null = random.
     *
     * <p>{@code fallocate} keeps SPDK's meaning: "support unmap and write zeroes with fallocate"
     * (SPDK maps them to FALLOC_FL_PUNCH_HOLE and FALLOC_FL_ZERO_RANGE and offers neither
     * without it). It is not a preallocation of the file at create, as the first design had it:
     * a client that sends SPDK's flag must get SPDK's behaviour, and an operator who
     * preallocated a file to be safe from ENOSPC does not want holes punched in it unasked,
     * which is why unmap stays off by default.
     */
    public record Options(String filename, String name, int blockSize, boolean readonly, boolean fallocate,
                          UUID uuid) {
    }

    public AioModule(BdevLayer layer) {
        this(layer, LinuxSyscalls.INSTANCE, null);
    }

    /** With other system calls or engines (tests: faults, the fallback pool on io_uring reactors). */
    AioModule(BdevLayer layer, AioSyscalls sys, AioEngine.Factory engines) {
        this.layer = layer;
        this.sys = sys;
        this.forcedEngines = engines;
    }

    @Override
    public String name() {
        return "aio";
    }

    public BdevLayer layer() {
        return layer;
    }

    /**
     * Opens the file and registers a bdev over it. Completes on the application reactor with the
     * registered bdev, or exceptionally with a {@link BasaltException}: -EEXIST name taken, -ENOENT
     * etc. from open (the path in the message), -EINVAL not a file or block device, empty, or a
     * block size below the device's, -EBUSY the file is locked by another opener, -EOPNOTSUPP
     * fallocate asked where the file system has neither mode. Call on the application reactor.
     */
    public CompletableFuture<AioBdev> create(Options o) {
        if (layer.nameTaken(o.name())) {
            throw new BasaltException(Errno.EEXIST, "bdev " + o.name() + " already exists");
        }
        Reactor app = layer.reactors().app();
        AioEngine.Factory engines = engines(o.name());
        return CompletableFuture.supplyAsync(() -> {
            AioFile f = AioFile.open(sys, o.filename(), o.readonly(), o.fallocate());
            try {
                long blocks = blocks(o, f);
                return new AioBdev(this, o.name(), o.uuid(), o.blockSize() == 0 ? f.logicalBlock() : o.blockSize(),
                        blocks, f, o.readonly(), o.fallocate(), o.blockSize() != 0, engines);
            } catch (RuntimeException e) {
                AioFile.closeQuietly(sys, f.fd());
                throw e;
            }
        }, control).thenApplyAsync(b -> {
            try {
                layer.register(b);
            } catch (RuntimeException e) {
                control.execute(() -> AioFile.closeQuietly(sys, b.takeFd()));
                throw e;
            }
            LOG.log(System.Logger.Level.INFO, "aio bdev " + b.name() + " over " + b.filename() + ": "
                    + b.numBlocks() + " x " + b.blockSize() + " bytes, " + (b.directIo() ? "O_DIRECT" : "buffered")
                    + ", " + engines.kind());
            return b;
        }, app::send);
    }

    private static long blocks(Options o, AioFile f) {
        int bs = o.blockSize() == 0 ? f.logicalBlock() : o.blockSize();
        if (bs < f.logicalBlock()) {
            throw new BasaltException(Errno.EINVAL, "block_size " + bs + " is smaller than the logical block size "
                    + f.logicalBlock() + " of " + f.path());
        }
        if (f.sizeBytes() == 0) {
            throw new BasaltException(Errno.EINVAL, f.path() + " is empty");
        }
        long n = f.sizeBytes() / bs;
        if (n == 0) {
            throw new BasaltException(Errno.EINVAL, f.path() + " (" + f.sizeBytes() + " bytes) is smaller than one "
                    + bs + "-byte block");
        }
        return n;
    }

    private AioEngine.Factory engines(String name) {
        if (forcedEngines != null) {
            return forcedEngines;
        }
        if (RingEngine.available(layer.reactors().app())) {
            return ringEngines();
        }
        LOG.log(System.Logger.Level.WARNING, "aio bdev " + name + ": the reactors run " + layer.reactors().transport()
                + ", not io_uring; its I/O goes to a pool of " + WORKER_THREADS + " worker threads");
        return poolEngines(sys, workers());
    }

    /** Engines on each reactor's own io_uring. */
    static AioEngine.Factory ringEngines() {
        return new AioEngine.Factory() {
            @Override
            public AioEngine create(Reactor reactor, AioEngine.Completion sink) {
                return RingEngine.register(reactor, sink);
            }

            @Override
            public String kind() {
                return "io_uring";
            }
        };
    }

    /** Engines on a pool of fallback workers. */
    static AioEngine.Factory poolEngines(AioSyscalls sys, PoolEngine.Workers workers) {
        return new AioEngine.Factory() {
            @Override
            public AioEngine create(Reactor reactor, AioEngine.Completion sink) {
                return new PoolEngine(workers, sys, reactor, sink);
            }

            @Override
            public String kind() {
                return "thread_pool";
            }
        };
    }

    private synchronized PoolEngine.Workers workers() {
        if (workers == null) {
            workers = new PoolEngine.Workers(WORKER_THREADS, WORKER_QUEUE);
        }
        return workers;
    }

    /** Unregisters an aio bdev; -ENODEV if there is none of that name. Application reactor. */
    public CompletableFuture<Void> delete(String name) {
        return layer.unregister(require(name));
    }

    /**
     * bdev_aio_rescan: reads the size of the file or device again and, if the block count
     * changed, resizes the bdev (open descriptors get RESIZE; shrinking an open bdev is -EBUSY).
     * Completes on the application reactor with the new block count.
     */
    public CompletableFuture<Long> rescan(String name) {
        AioBdev b = require(name);
        return CompletableFuture.supplyAsync(() -> {
            int fd = b.fd();
            if (fd < 0) {
                throw new BasaltException(Errno.ENODEV, "aio bdev " + name + " is being deleted");
            }
            return b.blockDevice() ? sys.blockDeviceSize(fd) : sys.statx(fd).size();
        }, control).thenApplyAsync(size -> {
            long n = size / b.blockSize();
            if (n != b.numBlocks()) {
                LOG.log(System.Logger.Level.INFO, "aio bdev " + name + ": " + b.filename() + " is now " + size
                        + " bytes; " + b.numBlocks() + " -> " + n + " blocks");
                b.resizeTo(n);
            }
            return n;
        }, layer.reactors().app()::send);
    }

    private AioBdev require(String name) {
        Bdev b = layer.lookup(name);
        if (!(b instanceof AioBdev a)) {
            throw new BasaltException(Errno.ENODEV, "aio bdev " + name + " not found");
        }
        return a;
    }

    /** Closes a destructed bdev's fd on the control thread, then runs {@code done}. */
    void closeFile(AioBdev b, Runnable done) {
        control.execute(() -> {
            try {
                int fd = b.takeFd();
                if (fd >= 0) {
                    AioFile.closeQuietly(sys, fd);
                }
            } finally {
                done.run();
            }
        });
    }

    @Override
    public void fini(Runnable done) {
        control.execute(() -> {
            synchronized (this) {
                if (workers != null) {
                    workers.shutdown();
                }
            }
            control.shutdown();
            done.run();
        });
    }
}
