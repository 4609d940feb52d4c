package io.basalt.bdev.nullbdev;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.basalt.bdev.BdevNames;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.rpc.Unsupported;
import io.basalt.runtime.Json;

/** bdev_null_create / bdev_null_delete / bdev_null_resize. */
public final class NullRpc {
    private NullRpc() {
    }

    public record CreateParams(
            @JsonProperty(required = true) String name,
            @JsonProperty(required = true) Long numBlocks,
            @JsonProperty(required = true) Integer blockSize,
            String uuid,
            Integer physicalBlockSize,
            @Unsupported("0") Integer mdSize,
            @Unsupported("false") Boolean mdInterleave,
            @Unsupported("0") Integer difType,
            @Unsupported("false") Boolean difIsHeadOfMd,
            @Unsupported("0") Integer difPiFormat,
            @Unsupported("-1") Integer numaId) {
    }

    public record DeleteParams(@JsonProperty(required = true) String name) {
    }

    /** new_size in MiB, as SPDK. */
    public record ResizeParams(@JsonProperty(required = true) String name,
                               @JsonProperty(required = true) Long newSize) {
    }

    public static void register(RpcRegistry rpc, NullModule module) {
        rpc.register("bdev_null_create", CreateParams.class, RpcRegistry.RUNTIME, p -> create(module, p));
        rpc.register("bdev_null_delete", DeleteParams.class, RpcRegistry.RUNTIME,
                p -> module.delete(p.name()).thenApply(v -> true));
        rpc.register("bdev_null_resize", ResizeParams.class, RpcRegistry.RUNTIME, p -> {
            var b = module.layer().lookup(p.name());
            if (b == null) {
                throw new io.basalt.runtime.BasaltException(io.basalt.runtime.Errno.ENODEV, "null bdev " + p.name() + " not found");
            }
            if (p.newSize() <= 0) {
                throw RpcException.invalidParams("bdev_null_resize: new_size must be positive");
            }
            if (p.newSize() > Long.MAX_VALUE >> 20) {
                throw RpcException.invalidParams("bdev_null_resize: new_size " + p.newSize() + " MiB is too large");
            }
            long bytes = p.newSize() << 20;
            if (bytes % b.blockSize() != 0) {
                throw RpcException.invalidParams("bdev_null_resize: new_size is not a multiple of the block size");
            }
            module.resize(p.name(), bytes / b.blockSize());
            return true;
        });
    }

    /** rpc.py's syntax: {@code bdev_null_create name total_size_MiB block_size [-u UUID]}. */
    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("bdev_null_create", "Add a bdev with null backend")
                .pos("name", RpcSyntax.Type.STRING, "Name of the bdev")
                .pos("total_size", RpcSyntax.Type.LONG, "Size of null bdev in MiB (int > 0)")
                .pos("block_size", RpcSyntax.Type.INT, "Block size for this bdev")
                .opt("-u", "--uuid", "uuid", RpcSyntax.Type.STRING, "UUID of the bdev")
                .opt("-p", "--physical-block-size", "physical_block_size", RpcSyntax.Type.INT, "Physical block size")
                .opt("-m", "--md-size", "md_size", RpcSyntax.Type.INT, "Metadata size (only 0)")
                .opt("-t", "--dif-type", "dif_type", RpcSyntax.Type.INT, "DIF type (only 0)")
                .flag("-d", "--dif-is-head-of-md", "dif_is_head_of_md", "DIF at head of metadata (not supported)")
                .opt("-f", "--dif-pi-format", "dif_pi_format", RpcSyntax.Type.INT, "DIF PI format (only 0)")
                .build(a -> {
                    long mib = (Long) a.get("total_size");
                    int bs = (Integer) a.get("block_size");
                    var p = Json.object();
                    p.put("name", a.string("name"));
                    p.put("num_blocks", Math.multiplyExact(mib, 1024L * 1024) / bs);
                    p.put("block_size", bs);
                    for (String k : new String[] {"uuid", "physical_block_size", "md_size", "dif_type"}) {
                        if (a.has(k)) {
                            p.set(k, Json.MAPPER.valueToTree(a.get(k)));
                        }
                    }
                    if (a.has("dif_is_head_of_md")) {
                        p.put("dif_is_head_of_md", true);
                    }
                    if (a.has("dif_pi_format")) {
                        p.set("dif_pi_format", Json.MAPPER.valueToTree(a.get("dif_pi_format")));
                    }
                    return p;
                }));
        r.add(RpcSyntax.method("bdev_null_delete", "Delete a null bdev")
                .pos("name", RpcSyntax.Type.STRING, "null bdev name").build());
        r.add(RpcSyntax.method("bdev_null_resize", "Resize a null bdev")
                .pos("name", RpcSyntax.Type.STRING, "null bdev name")
                .pos("new_size", RpcSyntax.Type.LONG, "new size in MiB").build());
    }

    private static Object create(NullModule module, CreateParams p) {
        String m = "bdev_null_create";
        int bs = p.blockSize();
        if (bs < 512 || (bs & (bs - 1)) != 0) {
            throw RpcException.invalidParams(m + ": block_size " + bs + " must be a power of two, at least 512");
        }
        if (p.numBlocks() <= 0) {
            throw RpcException.invalidParams(m + ": num_blocks must be positive");
        }
        if (p.name().isEmpty()) {
            throw RpcException.invalidParams(m + ": name must not be empty");
        }
        int pbs = p.physicalBlockSize() == null || p.physicalBlockSize() == 0 ? bs : p.physicalBlockSize();
        if (pbs < bs || pbs % bs != 0 || (pbs & (pbs - 1)) != 0) {
            throw RpcException.invalidParams(m + ": physical_block_size " + pbs
                    + " must be a power-of-two multiple of block_size " + bs);
        }
        var uuid = BdevNames.parseUuid(m, "uuid", p.uuid());
        return module.create(p.name(), uuid, bs, p.numBlocks(), pbs).name();
    }
}
