package io.basalt.bdev;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.rpc.NoParams;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The generic bdev methods: bdev_get_bdevs, bdev_get_iostat, bdev_wait_for_examine. */
public final class BdevRpc {
    private BdevRpc() {
    }

    public record GetBdevsParams(String name, Long timeout) {
    }

    public record GetIostatParams(String name, List<String> names, Boolean perChannel,
                                  @io.basalt.rpc.Unsupported("\"none\"") String resetMode) {
    }

    public static void register(RpcRegistry rpc, BdevLayer layer) {
        rpc.register("bdev_get_bdevs", GetBdevsParams.class, RpcRegistry.RUNTIME, p -> getBdevs(layer, p));
        rpc.register("bdev_get_iostat", GetIostatParams.class, RpcRegistry.RUNTIME, p -> getIostat(layer, p));
        rpc.register("bdev_wait_for_examine", NoParams.class, RpcRegistry.RUNTIME,
                p -> layer.waitForExamine().thenApply(v -> true));
    }

    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("bdev_get_bdevs", "Display current blockdev list or required blockdev")
                .opt("-b", "--name", "name", RpcSyntax.Type.STRING, "Name of the Blockdev")
                .opt("-t", "--timeout-ms", "timeout", RpcSyntax.Type.LONG, "Time in ms to wait for the bdev to appear")
                .build());
        r.add(RpcSyntax.method("bdev_get_iostat", "Display current I/O statistics of all the blockdevs or specified blockdev")
                .opt("-b", "--name", "name", RpcSyntax.Type.STRING, "Name of the Blockdev")
                .flag("-c", "--per-channel", "per_channel", "Display per channel IO stats for specified device")
                .build());
        r.add(RpcSyntax.method("bdev_wait_for_examine", "Report when all bdevs have been examined").build());
    }

    private static Object getBdevs(BdevLayer layer, GetBdevsParams p) {
        long timeout = p.timeout() == null ? 0 : p.timeout();
        if (timeout < 0) {
            throw RpcException.invalidParams("bdev_get_bdevs: timeout must not be negative");
        }
        if (p.name() == null) {
            ArrayNode out = Json.array();
            for (Bdev b : layer.list()) {
                out.add(b.toJson());
            }
            return out;
        }
        CompletableFuture<Object> f = new CompletableFuture<>();
        // Capped so that the deadline cannot overflow (17 years is "forever" here).
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(timeout, Long.MAX_VALUE >> 24));
        waitFor(layer, p.name(), deadline, f);
        return f;
    }

    /** bdev_get_bdevs with a timeout waits for the bdev to appear, checking every 10 ms. */
    private static void waitFor(BdevLayer layer, String name, long deadline, CompletableFuture<Object> f) {
        Bdev b = layer.lookup(name);
        if (b != null) {
            ArrayNode out = Json.array();
            out.add(b.toJson());
            f.complete(out);
            return;
        }
        if (System.nanoTime() - deadline >= 0) {
            f.completeExceptionally(new BasaltException(Errno.ENODEV, "bdev " + name + " not found"));
            return;
        }
        layer.reactors().app().schedule(() -> waitFor(layer, name, deadline, f), 10, TimeUnit.MILLISECONDS);
    }

    private static Object getIostat(BdevLayer layer, GetIostatParams p) {
        List<Bdev> targets = new ArrayList<>();
        if (p.name() != null) {
            targets.add(layer.require(p.name()));
        }
        if (p.names() != null) {
            for (String n : p.names()) {
                targets.add(layer.require(n));
            }
        }
        boolean perChannel = Boolean.TRUE.equals(p.perChannel());
        if (perChannel && targets.size() != 1) {
            throw RpcException.invalidParams("bdev_get_iostat: per_channel needs exactly one bdev name");
        }
        if (p.name() == null && p.names() == null) {
            targets.addAll(layer.list());
        }
        ObjectNode out = Json.object();
        out.put("tick_rate", 1_000_000_000L);
        out.put("ticks", System.nanoTime());
        if (perChannel) {
            Bdev b = targets.get(0);
            return b.collectChannelStats().thenApply(stats -> {
                out.put("name", b.name());
                ArrayNode chans = out.putArray("channels");
                for (int i = 0; i < stats.length; i++) {
                    if (stats[i] != null) {
                        ObjectNode c = chans.addObject();
                        c.put("thread_id", i);
                        stats[i].toJson(c);
                    }
                }
                return out;
            });
        }
        ArrayNode arr = out.putArray("bdevs");
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (Bdev b : targets) {
            chain = chain.thenCompose(v -> b.collectStats()).thenAccept(s -> {
                ObjectNode o = arr.addObject();
                o.put("name", b.name());
                s.toJson(o);
                o.put("queue_depth_polling_period", 0);
                o.put("queue_depth", 0);
                o.put("io_time", 0);
                o.put("weighted_io_time", 0);
            });
        }
        return chain.thenApply(v -> out);
    }
}
