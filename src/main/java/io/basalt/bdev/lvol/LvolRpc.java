package io.basalt.bdev.lvol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.BdevNames;
import io.basalt.blob.Blob;
import io.basalt.blob.Blobstore;
import io.basalt.blob.ClearMethod;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.runtime.Json;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** The bdev_lvol_* methods: decode and check the params, call the module, shape the answer. */
public final class LvolRpc {
    private static final long MIB = 1 << 20;

    private LvolRpc() {
    }

    public record CreateLvstoreParams(
            @JsonProperty(required = true) String bdevName,
            @JsonProperty(required = true) String lvsName,
            Long clusterSz,
            String clearMethod,
            Long numMdPagesPerClusterRatio,
            Long mdPageSize) {
    }

    public record StoreParams(String uuid, String lvsName) {
    }

    public record RenameParams(@JsonProperty(required = true) String oldName,
                               @JsonProperty(required = true) String newName) {
    }

    public record CreateParams(
            @JsonProperty(required = true) String lvolName,
            @JsonProperty(required = true) Long sizeInMib,
            Boolean thinProvision,
            String uuid,
            String lvsName,
            String clearMethod) {
    }

    public record NameParams(@JsonProperty(required = true) String name) {
    }

    public record SnapshotParams(@JsonProperty(required = true) String lvolName,
                                 @JsonProperty(required = true) String snapshotName,
                                 Map<String, String> xattrs) {
    }

    public record CloneParams(@JsonProperty(required = true) String snapshotName,
                              @JsonProperty(required = true) String cloneName) {
    }

    public record ResizeParams(@JsonProperty(required = true) String name,
                               @JsonProperty(required = true) Long sizeInMib) {
    }

    public record SetParentParams(@JsonProperty(required = true) String lvolName,
                                  @JsonProperty(required = true) String parentName) {
    }

    /** RPC.md names the lvol lvol_name; Longhorn's rpc.py sends name. Exactly one is needed. */
    public record DetachParentParams(String lvolName, String name) {
    }

    public record SetXattrParams(@JsonProperty(required = true) String name,
                                 @JsonProperty(required = true) String xattrName,
                                 @JsonProperty(required = true) String xattrValue) {
    }

    public record GetXattrParams(@JsonProperty(required = true) String name,
                                 @JsonProperty(required = true) String xattrName) {
    }

    public record GetLvolsParams(String lvsUuid, String lvsName) {
    }

    public static void register(RpcRegistry rpc, LvolModule m) {
        int rt = RpcRegistry.RUNTIME;
        rpc.register("bdev_lvol_create_lvstore", CreateLvstoreParams.class, rt, p -> createStore(m, p));
        rpc.register("bdev_lvol_delete_lvstore", StoreParams.class, rt,
                p -> store(m, "bdev_lvol_delete_lvstore", p, true).destroy().thenApply(v -> true));
        rpc.register("bdev_lvol_get_lvstores", StoreParams.class, rt, p -> getStores(m, p));
        rpc.register("bdev_lvol_rename_lvstore", RenameParams.class, rt, p -> {
            String meth = "bdev_lvol_rename_lvstore";
            checkName(meth, "new_name", p.newName());
            if (!p.newName().equals(p.oldName()) && m.storeByName(p.newName()) != null) {
                throw new io.basalt.runtime.BasaltException(io.basalt.runtime.Errno.EEXIST, "lvol store "
                        + p.newName() + " already exists");
            }
            return m.store(null, p.oldName()).rename(p.newName()).thenApply(v -> true);
        });
        rpc.register("bdev_lvol_grow_lvstore", StoreParams.class, rt,
                p -> store(m, "bdev_lvol_grow_lvstore", p, true).grow().thenApply(v -> true));
        rpc.register("bdev_lvol_create", CreateParams.class, rt, p -> create(m, p));
        rpc.register("bdev_lvol_delete", NameParams.class, rt,
                p -> lvol(m, p.name()).store.delete(lvol(m, p.name())).thenApply(v -> true));
        rpc.register("bdev_lvol_snapshot", SnapshotParams.class, rt, p -> {
            checkName("bdev_lvol_snapshot", "snapshot_name", p.snapshotName());
            Map<String, String> x = p.xattrs() == null ? Map.of() : p.xattrs();
            checkXattrs("bdev_lvol_snapshot", x);
            Lvol l = lvol(m, p.lvolName());
            return l.store.snapshot(l, p.snapshotName(), x).thenApply(s -> s.uuid().toString());
        });
        rpc.register("bdev_lvol_clone", CloneParams.class, rt, p -> {
            checkName("bdev_lvol_clone", "clone_name", p.cloneName());
            Lvol s = lvol(m, p.snapshotName());
            return s.store.clone(s, p.cloneName()).thenApply(c -> c.uuid().toString());
        });
        rpc.register("bdev_lvol_resize", ResizeParams.class, rt, p -> {
            long bytes = sizeBytes("bdev_lvol_resize", p.sizeInMib());
            Lvol l = lvol(m, p.name());
            return l.store.resize(l, bytes).thenApply(v -> true);
        });
        rpc.register("bdev_lvol_rename", RenameParams.class, rt, p -> {
            checkName("bdev_lvol_rename", "new_name", p.newName());
            Lvol l = lvol(m, p.oldName());
            return l.store.rename(l, p.newName()).thenApply(v -> true);
        });
        rpc.register("bdev_lvol_inflate", NameParams.class, rt,
                p -> lvol(m, p.name()).store.copyParent(lvol(m, p.name()), true).thenApply(v -> true));
        rpc.register("bdev_lvol_decouple_parent", NameParams.class, rt,
                p -> lvol(m, p.name()).store.copyParent(lvol(m, p.name()), false).thenApply(v -> true));
        rpc.register("bdev_lvol_set_parent", SetParentParams.class, rt, p -> {
            Lvol l = lvol(m, p.lvolName());
            Lvol parent = lvol(m, p.parentName());
            return l.store.setParent(l, parent).thenApply(v -> true);
        });
        rpc.register("bdev_lvol_detach_parent", DetachParentParams.class, rt, p -> {
            if ((p.lvolName() == null) == (p.name() == null)) {
                throw RpcException.invalidParams("bdev_lvol_detach_parent: give exactly one of lvol_name and name");
            }
            Lvol l = lvol(m, p.lvolName() != null ? p.lvolName() : p.name());
            return l.store.detachParent(l).thenApply(v -> true);
        });
        rpc.register("bdev_lvol_set_xattr", SetXattrParams.class, rt, p -> {
            checkXattrs("bdev_lvol_set_xattr", Map.of(p.xattrName(), p.xattrValue()));
            Lvol l = lvol(m, p.name());
            return l.store.setXattr(l, p.xattrName(), p.xattrValue()).thenApply(v -> true);
        });
        rpc.register("bdev_lvol_get_xattr", GetXattrParams.class, rt,
                p -> lvol(m, p.name()).store.getXattr(lvol(m, p.name()), p.xattrName()));
        rpc.register("bdev_lvol_get_lvols", GetLvolsParams.class, rt, p -> getLvols(m, p));
        rpc.register("bdev_lvol_register_snapshot_checksum", NameParams.class, rt, p -> {
            Lvol l = lvol(m, p.name());
            l.store.registerChecksum(l);
            return true;
        });
        rpc.register("bdev_lvol_get_snapshot_checksum", NameParams.class, rt, p -> {
            Lvol l = lvol(m, p.name());
            ObjectNode o = Json.object();
            o.put("checksum", new BigInteger(Long.toUnsignedString(l.store.checksum(l))));
            return o;
        });
        rpc.register("bdev_lvol_stop_snapshot_checksum", NameParams.class, rt,
                p -> lvol(m, p.name()).store.stopChecksum(lvol(m, p.name())).thenApply(v -> true));
    }

    // ------------------------------------------------------------------ checks

    private static Lvol lvol(LvolModule m, String name) {
        return m.lvol(name);
    }

    /** An lvol or lvol store name: 1 to 63 bytes, no '/' (it separates the two in aliases). */
    static void checkName(String method, String param, String name) {
        int len = name.getBytes(StandardCharsets.UTF_8).length;
        if (len < 1 || len > LvolStore.MAX_NAME) {
            throw RpcException.invalidParams(method + ": " + param + " must be 1 to " + LvolStore.MAX_NAME
                    + " bytes long");
        }
        if (name.indexOf('/') >= 0) {
            throw RpcException.invalidParams(method + ": " + param + " '" + name + "' must not contain '/'");
        }
    }

    private static void checkXattrs(String method, Map<String, String> x) {
        for (var e : x.entrySet()) {
            if (e.getKey().isEmpty() || e.getKey().getBytes(StandardCharsets.UTF_8).length > 255) {
                throw RpcException.invalidParams(method + ": xattr names must be 1 to 255 bytes long");
            }
            if (e.getValue() == null || e.getValue().getBytes(StandardCharsets.UTF_8).length > 65536) {
                throw RpcException.invalidParams(method + ": value of xattr '" + e.getKey()
                        + "' must be a string of at most 65536 bytes");
            }
        }
    }

    private static long sizeBytes(String method, Long mib) {
        if (mib <= 0 || mib > Long.MAX_VALUE / MIB) {
            throw RpcException.invalidParams(method + ": size_in_mib must be positive");
        }
        return mib * MIB;
    }

    private static ClearMethod clearMethod(String method, String s) {
        if (s == null) {
            return null;
        }
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "none" -> ClearMethod.NONE;
            case "unmap" -> ClearMethod.UNMAP;
            case "write_zeroes" -> ClearMethod.WRITE_ZEROES;
            default -> throw RpcException.invalidParams(method + ": clear_method '" + s
                    + "' must be none, unmap or write_zeroes");
        };
    }

    /** The store named by uuid or lvs_name: with {@code exactlyOne}, one of them must be given. */
    private static LvolStore store(LvolModule m, String method, StoreParams p, boolean exactlyOne) {
        return m.store(storeUuid(method, p.uuid(), p.lvsName(), exactlyOne, "uuid"), p.lvsName());
    }

    private static UUID storeUuid(String method, String uuid, String name, boolean exactlyOne, String uuidKey) {
        if (uuid != null && name != null) {
            throw RpcException.invalidParams(method + ": give " + uuidKey + " or lvs_name, not both");
        }
        if (exactlyOne && uuid == null && name == null) {
            throw RpcException.invalidParams(method + ": give " + uuidKey + " or lvs_name");
        }
        return BdevNames.parseUuid(method, uuidKey, uuid);
    }

    // ------------------------------------------------------------------ handlers

    private static CompletableFuture<String> createStore(LvolModule m, CreateLvstoreParams p) {
        String meth = "bdev_lvol_create_lvstore";
        checkName(meth, "lvs_name", p.lvsName());
        long cs = p.clusterSz() == null || p.clusterSz() == 0 ? Blobstore.DEFAULT_CLUSTER_SIZE : p.clusterSz();
        if (cs < 4096 || cs % 4096 != 0 || cs > 0xFFFF_FFFFL) {
            throw RpcException.invalidParams(meth + ": cluster_sz " + cs + " must be a multiple of 4096 (4 KiB to 4 GiB)");
        }
        ClearMethod clear = clearMethod(meth, p.clearMethod());
        long ratio = p.numMdPagesPerClusterRatio() == null || p.numMdPagesPerClusterRatio() == 0
                ? Blobstore.DEFAULT_MD_PAGES_PER_CLUSTER_RATIO : p.numMdPagesPerClusterRatio();
        if (ratio < 1 || ratio > 100_000) {
            throw RpcException.invalidParams(meth + ": num_md_pages_per_cluster_ratio must be 1 to 100000");
        }
        var bdev = m.layer().require(p.bdevName());
        int page = Math.max(4096, bdev.blockSize());
        if (p.mdPageSize() != null && p.mdPageSize() != 0 && p.mdPageSize() != page) {
            throw RpcException.invalidParams(meth + ": md_page_size " + p.mdPageSize() + " is not supported; Basalt's "
                    + "metadata page on " + bdev.name() + " is " + page + " bytes");
        }
        if (cs % page != 0) {
            throw RpcException.invalidParams(meth + ": cluster_sz " + cs + " must be a multiple of the " + page
                    + "-byte metadata page");
        }
        return m.createStore(bdev.name(), p.lvsName(), cs, clear == null ? ClearMethod.UNMAP : clear, (int) ratio)
                .thenApply(s -> s.uuid().toString());
    }

    private static CompletableFuture<String> create(LvolModule m, CreateParams p) {
        String meth = "bdev_lvol_create";
        checkName(meth, "lvol_name", p.lvolName());
        long bytes = sizeBytes(meth, p.sizeInMib());
        ClearMethod clear = clearMethod(meth, p.clearMethod());
        LvolStore s = m.store(storeUuid(meth, p.uuid(), p.lvsName(), true, "uuid"), p.lvsName());
        boolean thin = p.thinProvision() != null && p.thinProvision();
        return s.create(p.lvolName(), bytes, thin, clear).thenApply(l -> l.uuid().toString());
    }

    private static ArrayNode getStores(LvolModule m, StoreParams p) {
        UUID u = storeUuid("bdev_lvol_get_lvstores", p.uuid(), p.lvsName(), false, "uuid");
        List<LvolStore> list = u == null && p.lvsName() == null ? m.stores() : List.of(m.store(u, p.lvsName()));
        ArrayNode out = Json.array();
        for (LvolStore s : list) {
            ObjectNode o = out.addObject();
            o.put("uuid", s.uuid.toString());
            o.put("name", s.name);
            o.put("base_bdev", s.base.name());
            o.put("total_data_clusters", s.blobstore.totalClusters());
            o.put("free_clusters", s.blobstore.freeClusters());
            o.put("block_size", s.blobstore.blockSize());
            o.put("cluster_size", s.blobstore.clusterSize());
        }
        return out;
    }

    private static ArrayNode getLvols(LvolModule m, GetLvolsParams p) {
        UUID u = storeUuid("bdev_lvol_get_lvols", p.lvsUuid(), p.lvsName(), false, "lvs_uuid");
        List<LvolStore> list = u == null && p.lvsName() == null ? m.stores() : List.of(m.store(u, p.lvsName()));
        ArrayNode out = Json.array();
        for (LvolStore s : list) {
            for (Lvol l : s.lvols()) {
                out.add(lvolJson(l));
            }
        }
        return out;
    }

    /** One entry of bdev_lvol_get_lvols: SPDK's fields, then Basalt's (xattrs, parent, clones, size). */
    static ObjectNode lvolJson(Lvol l) {
        Blob b = l.blob;
        ObjectNode o = Json.object();
        o.put("alias", l.alias());
        o.put("uuid", l.uuid().toString());
        o.put("name", l.name);
        o.put("is_thin_provisioned", b.thin());
        o.put("is_snapshot", b.snapshot());
        o.put("is_clone", b.parent() != null);
        o.put("is_esnap_clone", false);
        o.put("is_degraded", false);
        o.put("num_allocated_clusters", b.allocatedClusters());
        ObjectNode lvs = o.putObject("lvs");
        lvs.put("name", l.store.name);
        lvs.put("uuid", l.store.uuid.toString());
        o.put("num_clusters", b.numClusters());
        Lvol parent = l.store.lvolOf(b.parent());
        if (parent != null) {
            o.put("base_snapshot", parent.name);
        }
        if (b.snapshot()) {
            ArrayNode clones = o.putArray("clones");
            for (Blob c : b.children()) {
                Lvol cl = l.store.lvolOf(c);
                if (cl != null) {
                    clones.add(cl.name);
                }
            }
        }
        ObjectNode x = o.putObject("xattrs");
        Map<String, String> all = new LinkedHashMap<>(b.xattrs());
        all.remove(LvolStore.XATTR_NAME);
        all.remove(LvolStore.XATTR_UUID);
        all.remove(LvolStore.XATTR_CLEAR);
        all.forEach(x::put);
        return o;
    }

    // ------------------------------------------------------------------ rpc.py syntax

    public static void syntax(RpcSyntax.Registry r) {
        RpcSyntax.Type s = RpcSyntax.Type.STRING;
        r.add(RpcSyntax.method("bdev_lvol_create_lvstore", "Add logical volume store on base bdev")
                .pos("bdev_name", s, "base bdev name")
                .pos("lvs_name", s, "name for lvol store")
                .opt("-c", "--cluster-sz", "cluster_sz", RpcSyntax.Type.LONG, "size of cluster (in bytes)")
                .opt(null, "--clear-method", "clear_method", s, "Change clear method for data region. "
                        + "Available: none, unmap, write_zeroes")
                .opt("-m", "--md-pages-per-cluster-ratio", "num_md_pages_per_cluster_ratio", RpcSyntax.Type.LONG,
                        "reserved metadata pages for each cluster")
                .opt("-s", "--md-page-size", "md_page_size", RpcSyntax.Type.LONG, "size of metadata page (in bytes)")
                .build());
        r.add(RpcSyntax.method("bdev_lvol_rename_lvstore", "Change logical volume store name")
                .pos("old_name", s, "old name").pos("new_name", s, "new name").build());
        r.add(storeSelector("bdev_lvol_grow_lvstore", "Grow the lvstore size to the underlying bdev size"));
        r.add(storeSelector("bdev_lvol_delete_lvstore", "Destroy an logical volume store"));
        r.add(storeSelector("bdev_lvol_get_lvstores", "Display current logical volume store list"));
        r.add(RpcSyntax.method("bdev_lvol_create", "Add a bdev with an logical volume backend")
                .opt("-u", "--uuid", "uuid", s, "lvol store UUID")
                .opt("-l", "--lvs-name", "lvs_name", s, "lvol store name")
                .flag("-t", "--thin-provision", "thin_provision", "create lvol bdev as thin provisioned")
                .opt("-c", "--clear-method", "clear_method", s, "Change default data clusters clear method. "
                        + "Available: none, unmap, write_zeroes")
                .pos("lvol_name", s, "name for this lvol")
                .pos("size_in_mib", RpcSyntax.Type.LONG, "size in MiB for this bdev")
                .build());
        r.add(RpcSyntax.method("bdev_lvol_snapshot", "Create a snapshot of an lvol bdev")
                .pos("lvol_name", s, "lvol bdev name")
                .pos("snapshot_name", s, "lvol snapshot name")
                .append(null, "--xattr", "xattr", "adds a key=value xattr to the snapshot")
                .build(a -> {
                    ObjectNode p = Json.object();
                    p.put("lvol_name", a.string("lvol_name"));
                    p.put("snapshot_name", a.string("snapshot_name"));
                    if (a.has("xattr")) {
                        ObjectNode x = p.putObject("xattrs");
                        @SuppressWarnings("unchecked")
                        List<String> entries = (List<String>) a.get("xattr");
                        for (String e : entries) {
                            int eq = e.indexOf('=');
                            if (eq < 0) {
                                throw new IllegalArgumentException("--xattr " + e + " not in key=value format");
                            }
                            x.put(e.substring(0, eq), e.substring(eq + 1));
                        }
                    }
                    return p;
                }));
        r.add(RpcSyntax.method("bdev_lvol_clone", "Create a clone of an lvol snapshot")
                .pos("snapshot_name", s, "lvol snapshot name").pos("clone_name", s, "lvol clone name").build());
        r.add(RpcSyntax.method("bdev_lvol_rename", "Change lvol bdev name")
                .pos("old_name", s, "lvol bdev name").pos("new_name", s, "new lvol name").build());
        r.add(RpcSyntax.method("bdev_lvol_resize", "Resize existing lvol bdev")
                .pos("name", s, "lvol bdev name")
                .pos("size_in_mib", RpcSyntax.Type.LONG, "new size in MiB for this bdev").build());
        r.add(nameOnly("bdev_lvol_delete", "Destroy a logical volume"));
        r.add(nameOnly("bdev_lvol_inflate", "Make thin provisioned lvol a thick provisioned lvol"));
        r.add(nameOnly("bdev_lvol_decouple_parent", "Decouple parent of lvol"));
        r.add(nameOnly("bdev_lvol_detach_parent", "Detach parent of lvol"));
        r.add(RpcSyntax.method("bdev_lvol_set_parent", "Set the parent snapshot of a lvol")
                .pos("lvol_name", s, "lvol name").pos("parent_name", s, "parent snapshot name").build());
        r.add(RpcSyntax.method("bdev_lvol_set_xattr", "Set xattr for lvol bdev")
                .pos("name", s, "lvol bdev name").pos("xattr_name", s, "xattr name")
                .pos("xattr_value", s, "xattr value").build());
        r.add(RpcSyntax.method("bdev_lvol_get_xattr", "Get xattr for lvol bdev")
                .pos("name", s, "lvol bdev name").pos("xattr_name", s, "xattr name").build());
        r.add(RpcSyntax.method("bdev_lvol_get_lvols", "Display current logical volume list")
                .opt("-u", "--lvs-uuid", "lvs_uuid", s, "Only show volumes in the logical volume store with this UUID")
                .opt("-l", "--lvs-name", "lvs_name", s, "Only show volumes in the logical volume store with this name")
                .build());
        r.add(nameOnly("bdev_lvol_register_snapshot_checksum", "Compute and store snapshot's checksum"));
        r.add(nameOnly("bdev_lvol_get_snapshot_checksum", "Get snapshot's stored checksum"));
        r.add(nameOnly("bdev_lvol_stop_snapshot_checksum", "Stop the registration of a snapshot's checksum"));
    }

    private static RpcSyntax storeSelector(String method, String help) {
        return RpcSyntax.method(method, help)
                .opt("-u", "--uuid", "uuid", RpcSyntax.Type.STRING, "lvol store UUID")
                .opt("-l", "--lvs-name", "lvs_name", RpcSyntax.Type.STRING, "lvol store name")
                .build();
    }

    private static RpcSyntax nameOnly(String method, String help) {
        return RpcSyntax.method(method, help).pos("name", RpcSyntax.Type.STRING, "lvol bdev name").build();
    }
}
