package io.basalt.bdev.aio;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.basalt.bdev.BdevNames;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.rpc.Unsupported;
import io.basalt.runtime.Json;

import java.util.UUID;

/** bdev_aio_create / bdev_aio_delete / bdev_aio_rescan: decode, check, call the module. */
public final class AioRpc {
    private AioRpc() {
    }

    /** SPDK's parameters; {@code nowait} (rpc.py sends false) is accepted at its default only. */
    public record CreateParams(
            @JsonProperty(required = true) String filename,
            @JsonProperty(required = true) String name,
            Integer blockSize,
            Boolean readonly,
            Boolean fallocate,
            String uuid,
            @Unsupported("false") Boolean nowait) {
    }

    public record NameParams(@JsonProperty(required = true) String name) {
    }

    public static void register(RpcRegistry rpc, AioModule module) {
        rpc.register("bdev_aio_create", CreateParams.class, RpcRegistry.RUNTIME,
                p -> module.create(options(p)).thenApply(AioBdev::name));
        rpc.register("bdev_aio_delete", NameParams.class, RpcRegistry.RUNTIME,
                p -> module.delete(p.name()).thenApply(v -> true));
        rpc.register("bdev_aio_rescan", NameParams.class, RpcRegistry.RUNTIME,
                p -> module.rescan(p.name()).thenApply(n -> true));
    }

    static AioModule.Options options(CreateParams p) {
        String m = "bdev_aio_create";
        if (p.name().isEmpty()) {
            throw RpcException.invalidParams(m + ": name must not be empty");
        }
        if (p.filename().isEmpty()) {
            throw RpcException.invalidParams(m + ": filename must not be empty");
        }
        int bs = p.blockSize() == null ? 0 : p.blockSize();
        if (bs != 0 && (bs < 512 || (bs & (bs - 1)) != 0)) {
            throw RpcException.invalidParams(m + ": block_size " + bs
                    + " must be 0 (detect) or a power of two of at least 512");
        }
        UUID uuid = BdevNames.parseUuid(m, "uuid", p.uuid());
        return new AioModule.Options(p.filename(), p.name(), bs, Boolean.TRUE.equals(p.readonly()),
                Boolean.TRUE.equals(p.fallocate()), uuid);
    }

    /**
     * rpc.py's syntax: {@code bdev_aio_create [-r] [--fallocate] [-u UUID] filename name [block_size]},
     * {@code bdev_aio_delete name}, {@code bdev_aio_rescan name}. As rpc.py, the create sends
     * readonly and fallocate always.
     */
    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("bdev_aio_create", "Add a bdev with aio backend")
                .flag("-r", "--readonly", "readonly", "Set this bdev as read-only")
                .flag(null, "--fallocate", "fallocate", "Support unmap/write zeroes with fallocate")
                .opt("-u", "--uuid", "uuid", RpcSyntax.Type.STRING, "UUID of the bdev")
                .pos("filename", RpcSyntax.Type.STRING, "Path to device or file (ex: /dev/sda)")
                .pos("name", RpcSyntax.Type.STRING, "Block device name")
                .optPos("block_size", RpcSyntax.Type.INT, "Block size for this bdev")
                .build(a -> {
                    var p = Json.object();
                    p.put("filename", a.string("filename"));
                    p.put("name", a.string("name"));
                    if (a.has("block_size")) {
                        p.put("block_size", (Integer) a.get("block_size"));
                    }
                    p.put("readonly", a.has("readonly"));
                    p.put("fallocate", a.has("fallocate"));
                    if (a.has("uuid")) {
                        p.put("uuid", a.string("uuid"));
                    }
                    return p;
                }));
        r.add(RpcSyntax.method("bdev_aio_rescan", "Rescan a bdev size with aio backend")
                .pos("name", RpcSyntax.Type.STRING, "Block device name").build());
        r.add(RpcSyntax.method("bdev_aio_delete", "Delete an aio disk")
                .pos("name", RpcSyntax.Type.STRING, "aio bdev name").build());
    }
}
