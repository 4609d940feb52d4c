package io.basalt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Json;
import io.basalt.runtime.ReactorGroup;
import io.basalt.target.Target;
import io.basalt.target.Version;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code basalt tgt}: the target process, with spdk_tgt's flags. */
@Command(name = "tgt", mixinStandardHelpOptions = true,
        description = "Run the storage target (flags as SPDK's spdk_tgt).")
final class TgtCommand implements Callable<Integer> {
    @Option(names = {"-r", "--rpc-socket"}, paramLabel = "SOCKET", defaultValue = "/var/tmp/spdk.sock",
            description = "RPC listen socket (default ${DEFAULT-VALUE})")
    Path socket;

    @Option(names = {"-c", "--config", "--json"}, paramLabel = "CONFIG.json",
            description = "JSON configuration as written by save_config, replayed at start")
    Path config;

    @Option(names = {"-m", "--cpumask"}, paramLabel = "CORES", defaultValue = "1",
            description = "Reactors: a count (2), an SPDK hex core mask (0x3) or a list ([0,1]) (default ${DEFAULT-VALUE})")
    String cores;

    @Option(names = "--wait-for-rpc", description = "Wait for framework_start_init before initializing")
    boolean waitForRpc;

    @Option(names = "--demo", description = "Start with the embedded demo configuration (a 256 MiB malloc bdev exported over NBD on 127.0.0.1:10809)")
    boolean demo;

    @Option(names = "--iobuf-mb", paramLabel = "MiB", defaultValue = "1024",
            description = "Most memory for pooled I/O buffers (default ${DEFAULT-VALUE})")
    long iobufMb;

    @Option(names = "--idle-spin-us", paramLabel = "US", defaultValue = "200",
            description = "How long an idle reactor polls before it sleeps (default ${DEFAULT-VALUE})")
    long idleSpinUs;

    @Override
    public Integer call() throws Exception {
        int[] coreList;
        try {
            coreList = ReactorGroup.parseCoresOption(cores);
        } catch (IllegalArgumentException e) {
            System.err.println("basalt tgt: bad -m " + cores + ": " + e.getMessage());
            return 2;
        }
        if (iobufMb < 1 || iobufMb > (Long.MAX_VALUE >> 20) || idleSpinUs < 0) {
            System.err.println("basalt tgt: --iobuf-mb must be at least 1 and --idle-spin-us not negative");
            return 2;
        }
        JsonNode embedded = null;
        if (demo) {
            if (config != null) {
                System.err.println("basalt tgt: --demo and -c exclude each other");
                return 2;
            }
            try (InputStream in = TgtCommand.class.getResourceAsStream("/demo-config.json")) {
                embedded = Json.MAPPER.readTree(in);
            }
        }
        Target.Options opts = new Target.Options(socket, config, embedded, coreList, waitForRpc,
                iobufMb << 20, TimeUnit.MICROSECONDS.toNanos(idleSpinUs));
        Target t;
        try {
            t = Target.start(opts);
        } catch (BasaltException e) {
            System.err.println("basalt tgt: " + e.describe());
            return 1;
        } catch (IllegalArgumentException | IllegalStateException | io.basalt.rpc.RpcException e) {
            System.err.println("basalt tgt: " + e.getMessage());
            return 1;
        }
        installSignals(t);
        System.err.println("Basalt " + Version.BASALT + " target running: " + coreList.length + " reactor(s) on "
                + t.reactors().transport().name().toLowerCase() + ", RPC socket " + socket
                + (waitForRpc ? " (waiting for framework_start_init)" : ""));
        if (demo) {
            System.err.println("Demo configuration loaded: Malloc0 (256 MiB) is exported over NBD. Try:");
            System.err.println("  bin/basalt rpc -s " + socket + " bdev_get_bdevs");
            System.err.println("  nbdinfo nbd://127.0.0.1:10809/Malloc0");
            System.err.println("  qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M' nbd://127.0.0.1:10809/Malloc0");
        }
        return t.exitFuture().join();
    }

    @SuppressWarnings("restriction")
    private static void installSignals(Target t) {
        for (String sig : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> t.shutdown(0));
            } catch (IllegalArgumentException e) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    t.shutdown(0);
                    t.exitFuture().join();
                }));
            }
        }
    }
}
