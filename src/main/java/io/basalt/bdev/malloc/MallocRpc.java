package io.basalt.bdev.malloc;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.basalt.bdev.BdevNames;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.rpc.Unsupported;
import io.basalt.runtime.Json;

import java.util.UUID;

/** bdev_malloc_create / bdev_malloc_delete: decode, check, call the module. */
public final class MallocRpc {
    private MallocRpc() {
    }

    public record CreateParams(
            String name,
            @JsonProperty(required = true) Long numBlocks,
            @JsonProperty(required = true) Integer blockSize,
            Integer physicalBlockSize,
            String uuid,
            Integer optimalIoBoundary,
            @Unsupported("0") Integer mdSize,
            @Unsupported("false") Boolean mdInterleave,
            @Unsupported("0") Integer difType,
            @Unsupported("false") Boolean difIsHeadOfMd,
            @Unsupported("0") Integer difPiFormat,
            @Unsupported("-1") Integer numaId) {
    }

    public record DeleteParams(@JsonProperty(required = true) String name) {
    }

    public static void register(RpcRegistry rpc, MallocModule module) {
        rpc.register("bdev_malloc_create", CreateParams.class, RpcRegistry.RUNTIME, p -> create(module, p));
        rpc.register("bdev_malloc_delete", DeleteParams.class, RpcRegistry.RUNTIME,
                p -> module.delete(p.name()).thenApply(v -> true));
    }

    /** rpc.py's syntax: {@code bdev_malloc_create [-b NAME] [-u UUID] total_size_MiB block_size}. */
    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("bdev_malloc_create", "Create a bdev with malloc backend")
                .opt("-b", "--name", "name", RpcSyntax.Type.STRING, "Name of the bdev")
                .opt("-u", "--uuid", "uuid", RpcSyntax.Type.STRING, "UUID of the bdev")
                .opt("-p", "--physical-block-size", "physical_block_size", RpcSyntax.Type.INT, "Physical block size")
                .opt("-o", "--optimal-io-boundary", "optimal_io_boundary", RpcSyntax.Type.INT, "Split on this boundary (blocks)")
                .opt("-m", "--md-size", "md_size", RpcSyntax.Type.INT, "Metadata size (only 0)")
                .flag("-i", "--md-interleave", "md_interleave", "Interleave metadata (not supported)")
                .opt("-t", "--dif-type", "dif_type", RpcSyntax.Type.INT, "DIF type (only 0)")
                .flag("-d", "--dif-is-head-of-md", "dif_is_head_of_md", "DIF at head of metadata (not supported)")
                .opt("-f", "--dif-pi-format", "dif_pi_format", RpcSyntax.Type.INT, "DIF PI format (only 0)")
                .opt(null, "--numa-id", "numa_id", RpcSyntax.Type.INT, "NUMA node (only -1)")
                .pos("total_size", RpcSyntax.Type.FLOAT, "Size of the bdev in MiB (float > 0)")
                .pos("block_size", RpcSyntax.Type.INT, "Data block size in bytes")
                .build(a -> {
                    double mib = (Double) a.get("total_size");
                    int bs = (Integer) a.get("block_size");
                    var p = Json.object();
                    if (a.has("name")) {
                        p.put("name", a.string("name"));
                    }
                    p.put("num_blocks", (long) (mib * 1024 * 1024 / bs));
                    p.put("block_size", bs);
                    for (String k : new String[] {"uuid", "physical_block_size", "optimal_io_boundary", "md_size",
                            "dif_type", "dif_pi_format", "numa_id"}) {
                        if (a.has(k)) {
                            p.set(k, Json.MAPPER.valueToTree(a.get(k)));
                        }
                    }
                    p.put("md_interleave", a.has("md_interleave"));
                    p.put("dif_is_head_of_md", a.has("dif_is_head_of_md"));
                    return p;
                }));
        r.add(RpcSyntax.method("bdev_malloc_delete", "Delete a malloc disk")
                .pos("name", RpcSyntax.Type.STRING, "malloc bdev name").build());
    }

    private static Object create(MallocModule module, CreateParams p) {
        String m = "bdev_malloc_create";
        int bs = p.blockSize();
        if (bs < 512 || (bs & (bs - 1)) != 0) {
            throw RpcException.invalidParams(m + ": block_size " + bs + " must be a power of two, at least 512");
        }
        long nb = p.numBlocks();
        if (nb <= 0) {
            throw RpcException.invalidParams(m + ": num_blocks must be positive");
        }
        int pbs = p.physicalBlockSize() == null || p.physicalBlockSize() == 0 ? bs : p.physicalBlockSize();
        if (pbs < bs || pbs % bs != 0 || (pbs & (pbs - 1)) != 0) {
            throw RpcException.invalidParams(m + ": physical_block_size " + pbs
                    + " must be a power-of-two multiple of block_size " + bs);
        }
        int oib = p.optimalIoBoundary() == null ? 0 : p.optimalIoBoundary();
        if (oib < 0) {
            throw RpcException.invalidParams(m + ": optimal_io_boundary must not be negative");
        }
        UUID uuid = BdevNames.parseUuid(m, "uuid", p.uuid());
        if (p.name() != null && p.name().isEmpty()) {
            throw RpcException.invalidParams(m + ": name must not be empty");
        }
        String name = p.name() != null ? p.name() : BdevNames.nextFreeName(module.layer(), "Malloc");
        return module.create(name, uuid, bs, nb, pbs, oib).name();
    }
}
