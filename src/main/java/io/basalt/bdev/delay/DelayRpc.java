package io.basalt.bdev.delay;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.basalt.bdev.BdevNames;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;

import java.util.Arrays;
import java.util.Locale;
import java.util.UUID;

/** bdev_delay_create / bdev_delay_delete / bdev_delay_update_latency: decode, check, call the module. */
public final class DelayRpc {
    private DelayRpc() {
    }

    public record CreateParams(
            @JsonProperty(required = true) String baseBdevName,
            @JsonProperty(required = true) String name,
            String uuid,
            @JsonProperty(required = true) Long avgReadLatency,
            @JsonProperty(required = true) Long p99ReadLatency,
            @JsonProperty(required = true) Long avgWriteLatency,
            @JsonProperty(required = true) Long p99WriteLatency) {
    }

    public record DeleteParams(@JsonProperty(required = true) String name) {
    }

    public record UpdateLatencyParams(
            @JsonProperty(required = true) String delayBdevName,
            @JsonProperty(required = true) String latencyType,
            @JsonProperty(required = true) Long latencyUs) {
    }

    public static void register(RpcRegistry rpc, DelayModule module) {
        rpc.register("bdev_delay_create", CreateParams.class, RpcRegistry.RUNTIME, p -> create(module, p));
        rpc.register("bdev_delay_delete", DeleteParams.class, RpcRegistry.RUNTIME,
                p -> module.delete(p.name()).thenApply(v -> true));
        rpc.register("bdev_delay_update_latency", UpdateLatencyParams.class, RpcRegistry.RUNTIME, p -> {
            String m = "bdev_delay_update_latency";
            DelayBdev.LatencyType t = Arrays.stream(DelayBdev.LatencyType.values())
                    .filter(x -> x.name().toLowerCase(Locale.ROOT).equals(p.latencyType())).findFirst()
                    .orElseThrow(() -> RpcException.invalidParams(m + ": latency_type '" + p.latencyType()
                            + "' must be one of avg_read, p99_read, avg_write, p99_write"));
            long us = latency(m, "latency_us", p.latencyUs());
            module.require(p.delayBdevName()).setLatency(t, us);
            return true;
        });
    }

    /**
     * rpc.py's syntax: {@code bdev_delay_create -b BASE -d NAME [-u UUID] -r AVG_READ -t P99_READ -w AVG_WRITE
     * -n P99_WRITE}, {@code bdev_delay_delete name}, {@code bdev_delay_update_latency delay_bdev_name
     * latency_type latency_us}.
     */
    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("bdev_delay_create", "Add a delay bdev on existing bdev")
                .reqOpt("-b", "--base-bdev-name", "base_bdev_name", RpcSyntax.Type.STRING, "Name of the existing bdev")
                .reqOpt("-d", "--name", "name", RpcSyntax.Type.STRING, "Name of the delay bdev")
                .opt("-u", "--uuid", "uuid", RpcSyntax.Type.STRING, "UUID of the bdev (optional)")
                .reqOpt("-r", "--avg-read-latency", "avg_read_latency", RpcSyntax.Type.LONG,
                        "average latency added to reads (µs)")
                .reqOpt("-t", "--nine-nine-read-latency", "p99_read_latency", RpcSyntax.Type.LONG,
                        "latency added to 1 in 100 reads (µs)")
                .reqOpt("-w", "--avg-write-latency", "avg_write_latency", RpcSyntax.Type.LONG,
                        "average latency added to writes (µs)")
                .reqOpt("-n", "--nine-nine-write-latency", "p99_write_latency", RpcSyntax.Type.LONG,
                        "latency added to 1 in 100 writes (µs)")
                .build());
        r.add(RpcSyntax.method("bdev_delay_delete", "Delete a delay bdev")
                .pos("name", RpcSyntax.Type.STRING, "delay bdev name")
                .build());
        r.add(RpcSyntax.method("bdev_delay_update_latency", "Update one of the latency values for a given delay bdev")
                .pos("delay_bdev_name", RpcSyntax.Type.STRING, "The name of the given delay bdev")
                .pos("latency_type", RpcSyntax.Type.STRING, "avg_read, avg_write, p99_read or p99_write")
                .pos("latency_us", RpcSyntax.Type.LONG, "new latency value in microseconds")
                .build());
    }

    private static Object create(DelayModule module, CreateParams p) {
        String m = "bdev_delay_create";
        if (p.name().isEmpty()) {
            throw RpcException.invalidParams(m + ": name must not be empty");
        }
        if (p.baseBdevName().isEmpty()) {
            throw RpcException.invalidParams(m + ": base_bdev_name must not be empty");
        }
        UUID uuid = BdevNames.parseUuid(m, "uuid", p.uuid());
        long avgRead = latency(m, "avg_read_latency", p.avgReadLatency());
        long p99Read = latency(m, "p99_read_latency", p.p99ReadLatency());
        long avgWrite = latency(m, "avg_write_latency", p.avgWriteLatency());
        long p99Write = latency(m, "p99_write_latency", p.p99WriteLatency());
        if (p99Read < avgRead || p99Write < avgWrite) {
            throw RpcException.invalidParams(m + ": a p99 latency must not be less than its average latency (read "
                    + avgRead + "/" + p99Read + " µs, write " + avgWrite + "/" + p99Write + " µs)");
        }
        return module.create(p.name(), p.baseBdevName(), uuid, avgRead, p99Read, avgWrite, p99Write).name();
    }

    private static long latency(String method, String param, long us) {
        if (us < 0 || us > DelayBdev.MAX_LATENCY_US) {
            throw RpcException.invalidParams(method + ": " + param + " must be between 0 and "
                    + DelayBdev.MAX_LATENCY_US + " µs");
        }
        return us;
    }
}
