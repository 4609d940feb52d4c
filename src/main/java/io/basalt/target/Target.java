package io.basalt.target;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevRpc;
import io.basalt.bdev.BdevSubsystem;
import io.basalt.bdev.aio.AioModule;
import io.basalt.bdev.aio.AioRpc;
import io.basalt.bdev.delay.DelayModule;
import io.basalt.bdev.delay.DelayRpc;
import io.basalt.bdev.error.ErrorModule;
import io.basalt.bdev.error.ErrorRpc;
import io.basalt.bdev.lvol.LvolModule;
import io.basalt.bdev.lvol.LvolRpc;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.bdev.malloc.MallocRpc;
import io.basalt.bdev.nullbdev.NullModule;
import io.basalt.bdev.nullbdev.NullRpc;
import io.basalt.bdev.raid.RaidModule;
import io.basalt.bdev.raid.RaidRpc;
import io.basalt.bdev.nvme.NvmeModule;
import io.basalt.bdev.nvme.NvmeRpc;
import io.basalt.config.ConfigLoader;
import io.basalt.config.Subsystem;
import io.basalt.nbd.NbdRpc;
import io.basalt.nbd.NbdServer;
import io.basalt.nbd.NbdSubsystem;
import io.basalt.nvmf.NvmfConfig;
import io.basalt.nvmf.NvmfRpc;
import io.basalt.nvmf.NvmfTarget;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcServer;
import io.basalt.rpc.RpcSyntax;
import io.basalt.runtime.ReactorGroup;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One Basalt target process: the reactors, the block device layer with its modules, the
 * subsystems, and the RPC server, started and stopped in order. This is the one place that knows
 * every module; everything below it is wired here and knows nothing of what is above.
 */
public final class Target implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Target.class.getName());
    private static final long FINI_TIMEOUT_SECONDS = 30;

    /**
     * How to start. {@code config} and {@code embeddedConfig} are both optional (file wins).
     * {@code socket} null runs the target without an RPC server (in-process use, e.g. basalt perf).
     */
    public record Options(Path socket, Path config, JsonNode embeddedConfig, int[] cores, boolean waitForRpc,
                          long bufferLimitBytes, long spinNanos) {
        public static Options defaults(Path socket) {
            return new Options(socket, null, null, new int[] {0}, false, 1L << 30, ReactorGroup.DEFAULT_SPIN_NANOS);
        }
    }

    private final Options options;
    private final ReactorGroup reactors;
    private final BdevLayer bdevs;
    private final RpcRegistry rpc;
    private final List<Subsystem> subsystems = new ArrayList<>();
    private RpcServer server;
    private final CompletableFuture<Void> initDone = new CompletableFuture<>();
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private List<ConfigLoader.Entry> pendingConfig = List.of();

    private Target(Options options) {
        this.options = options;
        this.reactors = ReactorGroup.start(options.cores(), options.bufferLimitBytes(), options.spinNanos());
        this.bdevs = new BdevLayer(reactors);
        this.rpc = new RpcRegistry(reactors.app());
        wire();
    }

    /** Modules, their RPCs and the subsystems, in dependency order. */
    private void wire() {
        MallocModule malloc = new MallocModule(bdevs);
        NullModule nul = new NullModule(bdevs);
        AioModule aio = new AioModule(bdevs);
        ErrorModule error = new ErrorModule(bdevs);
        DelayModule delay = new DelayModule(bdevs);
        NvmeModule nvme = new NvmeModule(bdevs);
        RaidModule raid = new RaidModule(bdevs);
        LvolModule lvol = new LvolModule(bdevs);
        bdevs.addModule(malloc);
        bdevs.addModule(nul);
        bdevs.addModule(aio);
        bdevs.addModule(error);
        bdevs.addModule(delay);
        bdevs.addModule(nvme);
        // Composition modules after the modules whose bdevs they examine and whose config they need.
        bdevs.addModule(raid);
        bdevs.addModule(lvol);

        FrameworkRpc.register(rpc, this);
        BdevRpc.register(rpc, bdevs);
        MallocRpc.register(rpc, malloc);
        NullRpc.register(rpc, nul);
        AioRpc.register(rpc, aio);
        ErrorRpc.register(rpc, error);
        DelayRpc.register(rpc, delay);
        RaidRpc.register(rpc, raid);
        LvolRpc.register(rpc, lvol);
        NvmeRpc.register(rpc, nvme);

        subsystems.add(new BdevSubsystem(bdevs));

        NbdServer nbd = new NbdServer(reactors, bdevs);
        NbdRpc.register(rpc, nbd);
        subsystems.add(new NbdSubsystem(nbd));

        NvmfTarget nvmf = new NvmfTarget(reactors, bdevs);
        NvmfRpc.register(rpc, nvmf);
        subsystems.add(new NvmfConfig(nvmf));
    }

    /** The command-line syntax of every method a target serves (for {@code basalt rpc}). */
    public static RpcSyntax.Registry syntax() {
        RpcSyntax.Registry r = new RpcSyntax.Registry();
        FrameworkRpc.syntax(r);
        BdevRpc.syntax(r);
        MallocRpc.syntax(r);
        NullRpc.syntax(r);
        AioRpc.syntax(r);
        ErrorRpc.syntax(r);
        DelayRpc.syntax(r);
        RaidRpc.syntax(r);
        LvolRpc.syntax(r);
        NvmeRpc.syntax(r);
        NbdRpc.syntax(r);
        NvmfRpc.syntax(r);
        return r;
    }

    /**
     * Starts a target: reactors, the RPC socket (refused if another target holds it), then the
     * configuration. Without --wait-for-rpc the framework is initialized before this returns.
     */
    public static Target start(Options options) throws Exception {
        Target t = new Target(options);
        try {
            t.boot();
        } catch (Exception | Error e) {
            t.stopNow();
            throw e;
        }
        return t;
    }

    private void boot() throws Exception {
        List<ConfigLoader.Entry> entries = List.of();
        if (options.config() != null) {
            entries = ConfigLoader.read(options.config());
        } else if (options.embeddedConfig() != null) {
            entries = ConfigLoader.parse(options.embeddedConfig(), "(embedded)");
        }
        if (options.socket() != null) {
            server = new RpcServer(options.socket(), rpc);
            server.bind();
        }
        rpc.setState(RpcRegistry.STARTUP);
        pendingConfig = ConfigLoader.replay(rpc, entries, true);
        if (server != null) {
            server.start();
        }
        if (!options.waitForRpc()) {
            try {
                startInit().get();
            } catch (java.util.concurrent.ExecutionException e) {
                // The cause names the configuration entry that failed; the wrapper adds nothing.
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw e;
            }
        } else {
            LOG.log(System.Logger.Level.INFO, "waiting for framework_start_init");
        }
    }

    /** framework_start_init: replays the runtime part of the configuration, then goes RUNTIME. */
    CompletableFuture<Void> startInit() {
        if (initDone.isDone() || rpc.state() == RpcRegistry.RUNTIME) {
            return CompletableFuture.failedFuture(new IllegalStateException("framework already initialized"));
        }
        rpc.setState(RpcRegistry.RUNTIME);
        List<ConfigLoader.Entry> rest = pendingConfig;
        pendingConfig = List.of();
        // Replay blocks on each call's answer, so it must not run on the reactor that answers.
        return CompletableFuture.runAsync(() -> {
            ConfigLoader.replay(rpc, rest, false);
            bdevs.waitForExamine().join();
        }, r -> Thread.ofVirtual().name("config-replay").start(r))
                .whenComplete((v, t) -> {
                    if (t != null) {
                        initDone.completeExceptionally(t);
                    } else {
                        LOG.log(System.Logger.Level.INFO, "framework initialized");
                        initDone.complete(null);
                    }
                });
    }

    public CompletableFuture<Void> initFuture() {
        return initDone;
    }

    public ReactorGroup reactors() {
        return reactors;
    }

    public BdevLayer bdevs() {
        return bdevs;
    }

    public RpcRegistry rpc() {
        return rpc;
    }

    public List<Subsystem> subsystems() {
        return Collections.unmodifiableList(subsystems);
    }

    /** The RPC socket, or null when the target runs without one. */
    public Path socket() {
        return options.socket();
    }

    /** Completes with the exit status once the target has stopped. */
    public CompletableFuture<Integer> exitFuture() {
        return exit;
    }

    /**
     * Clean shutdown, from any thread, once: the RPC socket closes (pending answers are sent
     * first), subsystems stop in reverse order (exports close, bdevs go, modules finish), the
     * reactors stop. Returns at once; {@link #exitFuture()} tells when it is done.
     */
    public void shutdown(int status) {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        Thread.ofPlatform().name("shutdown").start(() -> {
            LOG.log(System.Logger.Level.INFO, "shutting down");
            stopNow();
            LOG.log(System.Logger.Level.INFO, "stopped");
            exit.complete(status);
        });
    }

    private void stopNow() {
        if (server != null) {
            server.close();
        }
        List<Subsystem> rev = new ArrayList<>(subsystems);
        Collections.reverse(rev);
        for (Subsystem s : rev) {
            try {
                s.fini().get(FINI_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                LOG.log(System.Logger.Level.ERROR, "subsystem " + s.name() + " did not stop within "
                        + FINI_TIMEOUT_SECONDS + " s; stopping anyway");
            } catch (Exception e) {
                LOG.log(System.Logger.Level.ERROR, "subsystem " + s.name() + " failed to stop", e);
            }
        }
        reactors.close();
    }

    @Override
    public void close() {
        shutdown(0);
        exit.join();
    }
}
