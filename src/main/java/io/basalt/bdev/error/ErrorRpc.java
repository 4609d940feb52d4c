package io.basalt.bdev.error;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.basalt.bdev.BdevNames;
import io.basalt.bdev.IoType;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** bdev_error_create / bdev_error_delete / bdev_error_inject_error: decode, check, call the module. */
public final class ErrorRpc {
    private static final long MAX_NUM = 0xFFFF_FFFFL;

    private ErrorRpc() {
    }

    public record CreateParams(@JsonProperty(required = true) String baseName, String uuid) {
    }

    public record DeleteParams(@JsonProperty(required = true) String name) {
    }

    public record InjectParams(
            @JsonProperty(required = true) String name,
            @JsonProperty(required = true) String ioType,
            @JsonProperty(required = true) String errorType,
            Long num,
            Long queueDepth,
            Long corruptOffset,
            Integer corruptValue) {
    }

    public static void register(RpcRegistry rpc, ErrorModule module) {
        rpc.register("bdev_error_create", CreateParams.class, RpcRegistry.RUNTIME, p -> {
            String m = "bdev_error_create";
            if (p.baseName().isEmpty()) {
                throw RpcException.invalidParams(m + ": base_name must not be empty");
            }
            UUID uuid = BdevNames.parseUuid(m, "uuid", p.uuid());
            module.create(p.baseName(), uuid);
            return true;
        });
        rpc.register("bdev_error_delete", DeleteParams.class, RpcRegistry.RUNTIME,
                p -> module.delete(p.name()).thenApply(v -> true));
        rpc.register("bdev_error_inject_error", InjectParams.class, RpcRegistry.RUNTIME, p -> inject(module, p));
    }

    /**
     * rpc.py's syntax: {@code bdev_error_create base_name [--uuid UUID]}, {@code bdev_error_delete name},
     * {@code bdev_error_inject_error name io_type error_type [-n NUM] [-q QUEUE_DEPTH] [-o CORRUPT_OFFSET]
     * [-v CORRUPT_VALUE]}.
     */
    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("bdev_error_create", "Add bdev with error injection backend")
                .pos("base_name", RpcSyntax.Type.STRING, "base bdev name")
                .opt(null, "--uuid", "uuid", RpcSyntax.Type.STRING, "UUID for this bdev")
                .build());
        r.add(RpcSyntax.method("bdev_error_delete", "Delete an error bdev")
                .pos("name", RpcSyntax.Type.STRING, "error bdev name")
                .build());
        r.add(RpcSyntax.method("bdev_error_inject_error", "bdev inject error")
                .pos("name", RpcSyntax.Type.STRING, "name of the error injection bdev")
                .pos("io_type", RpcSyntax.Type.STRING, "read, write, unmap, flush, all or clear")
                .pos("error_type", RpcSyntax.Type.STRING, "failure, pending, corrupt_data or nomem")
                .opt("-n", "--num", "num", RpcSyntax.Type.LONG, "how many I/Os get the error (default 1; 0 clears)")
                .opt("-q", "--queue-depth", "queue_depth", RpcSyntax.Type.LONG,
                        "inject only when at least this many I/Os are in flight on the channel")
                .opt("-o", "--corrupt-offset", "corrupt_offset", RpcSyntax.Type.LONG,
                        "byte offset in the I/O's data to XOR with corrupt_value")
                .opt("-v", "--corrupt-value", "corrupt_value", RpcSyntax.Type.INT, "XOR value, 1-255")
                .build());
    }

    private static CompletableFuture<Boolean> inject(ErrorModule module, InjectParams p) {
        String m = "bdev_error_inject_error";
        Set<IoType> types;
        boolean clear = false;
        switch (p.ioType()) {
            case "read" -> types = Set.of(IoType.READ);
            case "write" -> types = Set.of(IoType.WRITE);
            case "unmap" -> types = Set.of(IoType.UNMAP);
            case "flush" -> types = Set.of(IoType.FLUSH);
            case "all" -> types = ErrorBdev.INJECTABLE;
            case "clear" -> {
                types = Set.of();
                clear = true;
            }
            default -> throw RpcException.invalidParams(m + ": io_type '" + p.ioType()
                    + "' must be one of read, write, unmap, flush, all, clear");
        }
        ErrorBdev.ErrorType et = Arrays.stream(ErrorBdev.ErrorType.values())
                .filter(e -> e.name().toLowerCase(Locale.ROOT).equals(p.errorType())).findFirst()
                .orElseThrow(() -> RpcException.invalidParams(m + ": error_type '" + p.errorType()
                        + "' must be one of failure, pending, corrupt_data, nomem"));
        long num = p.num() == null ? 1 : p.num();
        if (num < 0 || num > MAX_NUM) {
            throw RpcException.invalidParams(m + ": num must be between 0 and " + MAX_NUM);
        }
        long qd = nonNegative(m, "queue_depth", p.queueDepth());
        long off = nonNegative(m, "corrupt_offset", p.corruptOffset());
        int value = p.corruptValue() == null ? 0 : p.corruptValue();
        if (value < 0 || value > 255) {
            throw RpcException.invalidParams(m + ": corrupt_value must be between 0 and 255");
        }
        if (et == ErrorBdev.ErrorType.CORRUPT_DATA && value == 0) {
            throw RpcException.invalidParams(m + ": corrupt_data needs a corrupt_value of 1-255 (XOR with 0 changes nothing)");
        }
        ErrorBdev b = module.require(p.name());
        CompletableFuture<Void> done = clear ? b.clear() : b.inject(types, et, num, qd, off, value);
        return done.thenApply(v -> true);
    }

    private static long nonNegative(String method, String param, Long v) {
        if (v == null) {
            return 0;
        }
        if (v < 0) {
            throw RpcException.invalidParams(method + ": " + param + " must not be negative");
        }
        return v;
    }
}
