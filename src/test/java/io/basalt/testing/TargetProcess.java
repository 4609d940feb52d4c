package io.basalt.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.rpc.RpcClient;
import io.basalt.runtime.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code bin/basalt tgt} process for end-to-end tests, on its own socket, with its log in
 * target/it-logs. Stopped with SIGTERM on close (SIGKILL if it does not stop).
 */
public final class TargetProcess implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final Path log;
    private final RpcClient client;

    private TargetProcess(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
        this.client = new RpcClient(socket, Duration.ofSeconds(60));
    }

    /** The project directory (where bin/basalt is). */
    public static Path home() {
        String h = System.getProperty("basalt.home");
        Path p = h != null ? Path.of(h) : Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("bin/basalt"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find bin/basalt above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    /** A fresh socket path in a temp directory (short enough for sun_path). */
    public static Path newSocket(String name) throws IOException {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "bst");
        // Empty again once the target has stopped (it removes its socket and lock file).
        dir.toFile().deleteOnExit();
        return dir.resolve(name + ".sock");
    }

    /** Starts {@code basalt tgt -r SOCKET extraArgs...} and waits until framework_wait_init answers. */
    public static TargetProcess start(String name, String... extraArgs) throws Exception {
        return start(newSocket(name), name, extraArgs);
    }

    public static TargetProcess start(Path socket, String name, String... extraArgs) throws Exception {
        return startRaw(socket, name, true, extraArgs);
    }

    /** Like start, but waits only for the socket, not for framework_wait_init (for --wait-for-rpc). */
    public static TargetProcess startRaw(Path socket, String name, boolean waitInit, String... extraArgs)
            throws Exception {
        return startWrapped(List.of(), socket, name, waitInit, extraArgs);
    }

    /**
     * Like {@link #startRaw}, with the target command run through {@code wrapper} (e.g.
     * {@code ip netns exec NS}); the wrapper must exec the target so that stop and kill reach it.
     */
    public static TargetProcess startWrapped(List<String> wrapper, Path socket, String name, boolean waitInit,
                                             String... extraArgs) throws Exception {
        Path logs = home().resolve("target/it-logs");
        Files.createDirectories(logs);
        Path log = logs.resolve(name + "-" + System.currentTimeMillis() + ".log");
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.addAll(List.of(home().resolve("bin/basalt").toString(), "tgt", "-r", socket.toString()));
        cmd.addAll(List.of(extraArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("BASALT_NO_BUILD", "1");
        Process p = pb.start();
        TargetProcess t = new TargetProcess(p, socket, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            if (!p.isAlive()) {
                throw new IllegalStateException("target exited with " + p.exitValue() + ":\n" + t.log());
            }
            if (Files.exists(socket)) {
                try {
                    if (waitInit) {
                        t.client.call("framework_wait_init", null);
                    } else {
                        t.client.call("spdk_get_version", null);
                    }
                    return t;
                } catch (IOException | RpcClient.RpcError e) {
                    // not ready yet
                }
            }
            if (System.nanoTime() > deadline) {
                t.kill9();
                throw new IllegalStateException("target did not come up in 60 s:\n" + t.log());
            }
            Thread.sleep(50);
        }
    }

    public Path socket() {
        return socket;
    }

    public RpcClient client() {
        return client;
    }

    public Process process() {
        return process;
    }

    public long pid() {
        return process.pid();
    }

    /** Calls a method; params as JSON text or null. */
    public JsonNode rpc(String method, String paramsJson) throws Exception {
        return client.call(method, paramsJson == null ? null : Json.MAPPER.readTree(paramsJson));
    }

    public JsonNode rpc(String method, JsonNode params) throws Exception {
        return client.call(method, params);
    }

    /** The error a call must fail with. */
    public RpcClient.RpcError rpcError(String method, String paramsJson) throws Exception {
        try {
            JsonNode r = rpc(method, paramsJson);
            throw new AssertionError(method + " succeeded with " + r + " but should have failed");
        } catch (RpcClient.RpcError e) {
            return e;
        }
    }

    /** Runs {@code bin/basalt rpc -s SOCKET args...}. */
    public Cli cli(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(home().resolve("bin/basalt").toString(), "rpc", "-s",
                socket.toString()));
        cmd.addAll(List.of(args));
        return Cli.run(cmd, null);
    }

    /** Result of a command. */
    public record Cli(int exitCode, String stdout, String stderr) {
        public static Cli run(List<String> cmd, byte[] stdin) throws Exception {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().put("BASALT_NO_BUILD", "1");
            Process p = pb.start();
            if (stdin != null) {
                p.getOutputStream().write(stdin);
            }
            p.getOutputStream().close();
            byte[][] res = new byte[2][];
            Thread t1 = Thread.ofVirtual().start(() -> {
                try {
                    res[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    res[0] = new byte[0];
                }
            });
            Thread t2 = Thread.ofVirtual().start(() -> {
                try {
                    res[1] = p.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    res[1] = new byte[0];
                }
            });
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("command timed out: " + cmd);
            }
            t1.join();
            t2.join();
            return new Cli(p.exitValue(), new String(res[0], StandardCharsets.UTF_8),
                    new String(res[1], StandardCharsets.UTF_8));
        }
    }

    /** The process's output so far. */
    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    public Path logFile() {
        return log;
    }

    /** SIGKILL, and waits for the process to be gone. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM and waits; returns the exit status (or -1 after a SIGKILL when it did not stop). */
    public int stop() throws InterruptedException {
        if (!process.isAlive()) {
            return process.exitValue();
        }
        process.destroy();
        if (process.waitFor(45, TimeUnit.SECONDS)) {
            return process.exitValue();
        }
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        return -1;
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
