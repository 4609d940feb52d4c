package io.basalt.bdev.lvol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.blob.ClearMethod;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.runtime.Json;
import io.basalt.testing.RandomParams;
import io.basalt.testing.ReactorFixture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random params for every bdev_lvol_* method against a store with a volume, its snapshot and a
 * clone: each call succeeds or fails with a client error (-32602, -errno); never an internal
 * error (-32603), which would be a handler that did not check what it was given; and after the
 * calls the store still loads from its base exactly as it is in memory.
 */
class LvolRpcPropertyTest {
    private static ReactorFixture fx;
    private static RpcRegistry rpc;
    private static MallocModule malloc;
    private static LvolModule lvol;

    private static final List<List<String>> REFS = List.of(List.of("\"lvs/vol\"", "\"lvs/snap\"", "\"lvs/c\"",
            "\"lvs/new\""), List.of("\"\"", "\"nope\"", "\"m0\"", "null", "5", "[]", "\"lvs/\""));
    private static final List<List<String>> NAMES = List.of(List.of("\"new\"", "\"vol\"", "\"x2\""),
            List.of("\"\"", "\"a/b\"", "\"" + "n".repeat(64) + "\"", "null", "7", "{}"));
    private static final List<List<String>> STORES = List.of(List.of("\"lvs\"", "\"lvs2\""),
            List.of("\"\"", "\"zz\"", "\"a/b\"", "null", "1"));
    private static final List<List<String>> UUIDS = List.of(List.of("\"8d87fccc-c278-49f0-9d4c-6237951aca09\""),
            List.of("\"not-a-uuid\"", "\"\"", "null", "3"));
    private static final List<List<String>> SIZES = List.of(List.of("1", "2", "4"),
            List.of("0", "-1", "1.5", "\"8\"", "9223372036854775807", "null", "100000"));
    private static final List<List<String>> BOOLS = List.of(List.of("true", "false"), List.of("null", "0", "\"true\""));
    private static final List<List<String>> CLEAR = List.of(List.of("\"none\"", "\"unmap\"", "\"write_zeroes\"",
            "\"UNMAP\""), List.of("\"bogus\"", "\"\"", "null", "1"));
    private static final List<List<String>> CLUSTERS = List.of(List.of("1048576", "4096", "0"),
            List.of("-1", "1000", "9223372036854775807", "4294967296", "null", "1.0"));
    private static final List<List<String>> RATIOS = List.of(List.of("1", "100"), List.of("0", "-1", "2147483648"));
    private static final List<List<String>> PAGES = List.of(List.of("4096", "0"), List.of("8192", "-1", "512"));
    private static final List<List<String>> XATTRS = List.of(List.of("{\"a\":\"b\"}", "{}", "{\"t\":\"2024\",\"u\":\"1\"}"),
            List.of("{\"\":\"x\"}", "{\"a\":null}", "{\"a\":1}", "[]", "\"x\"", "null", "{\"name\":\"x\"}"));
    private static final List<List<String>> KEYS_TYPE = List.of(List.of("\"k\"", "\"purpose\""),
            List.of("\"\"", "null", "5", "\"name\"", "\"snapshot_checksum\""));
    private static final List<List<String>> VALUES = List.of(List.of("\"v\"", "\"\""), List.of("null", "5", "[]"));
    private static final List<List<String>> BDEVS = List.of(List.of("\"m0\"", "\"m1\"", "\"lvs/vol\""),
            List.of("\"\"", "\"nope\"", "null"));
    private static final Map<String, List<List<String>>> TYPES = Map.ofEntries(
            Map.entry("name", REFS), Map.entry("lvol_name", REFS), Map.entry("snapshot_name", NAMES),
            Map.entry("clone_name", NAMES), Map.entry("old_name", REFS), Map.entry("new_name", NAMES),
            Map.entry("parent_name", REFS), Map.entry("lvs_name", STORES), Map.entry("uuid", UUIDS),
            Map.entry("lvs_uuid", UUIDS), Map.entry("size_in_mib", SIZES), Map.entry("thin_provision", BOOLS),
            Map.entry("clear_method", CLEAR), Map.entry("cluster_sz", CLUSTERS),
            Map.entry("num_md_pages_per_cluster_ratio", RATIOS), Map.entry("md_page_size", PAGES),
            Map.entry("xattrs", XATTRS), Map.entry("xattr_name", KEYS_TYPE), Map.entry("xattr_value", VALUES),
            Map.entry("bdev_name", BDEVS), Map.entry("bogus", SIZES));
    private static final Map<String, List<String>> KEYS = Map.ofEntries(
            Map.entry("bdev_lvol_create_lvstore", List.of("bdev_name", "lvs_name", "cluster_sz", "clear_method",
                    "num_md_pages_per_cluster_ratio", "md_page_size", "bogus")),
            Map.entry("bdev_lvol_delete_lvstore", List.of("uuid", "lvs_name")),
            Map.entry("bdev_lvol_get_lvstores", List.of("uuid", "lvs_name", "bogus")),
            Map.entry("bdev_lvol_rename_lvstore", List.of("old_name", "new_name")),
            Map.entry("bdev_lvol_grow_lvstore", List.of("uuid", "lvs_name")),
            Map.entry("bdev_lvol_create", List.of("lvol_name", "size_in_mib", "thin_provision", "uuid", "lvs_name",
                    "clear_method", "bogus")),
            Map.entry("bdev_lvol_delete", List.of("name")),
            Map.entry("bdev_lvol_snapshot", List.of("lvol_name", "snapshot_name", "xattrs")),
            Map.entry("bdev_lvol_clone", List.of("snapshot_name", "clone_name")),
            Map.entry("bdev_lvol_resize", List.of("name", "size_in_mib")),
            Map.entry("bdev_lvol_rename", List.of("old_name", "new_name")),
            Map.entry("bdev_lvol_inflate", List.of("name")),
            Map.entry("bdev_lvol_decouple_parent", List.of("name")),
            Map.entry("bdev_lvol_set_parent", List.of("lvol_name", "parent_name")),
            Map.entry("bdev_lvol_detach_parent", List.of("lvol_name", "name")),
            Map.entry("bdev_lvol_set_xattr", List.of("name", "xattr_name", "xattr_value")),
            Map.entry("bdev_lvol_get_xattr", List.of("name", "xattr_name")),
            Map.entry("bdev_lvol_get_lvols", List.of("lvs_uuid", "lvs_name", "bogus")),
            Map.entry("bdev_lvol_register_snapshot_checksum", List.of("name")),
            Map.entry("bdev_lvol_get_snapshot_checksum", List.of("name")),
            Map.entry("bdev_lvol_stop_snapshot_checksum", List.of("name")));

    record Call(String method, Map<String, String> params) {
    }

    @BeforeContainer
    static void start() {
        fx = new ReactorFixture(2);
        rpc = new RpcRegistry(fx.app());
        malloc = new MallocModule(fx.bdevs);
        lvol = new LvolModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        fx.bdevs.addModule(lvol);
        LvolRpc.register(rpc, lvol);
    }

    @AfterContainer
    static void stop() {
        fx.close();
    }

    @Provide
    Arbitrary<List<Call>> calls() {
        Arbitrary<Call> call = Arbitraries.of(List.copyOf(KEYS.keySet()))
                .flatMap(m -> RandomParams.of(KEYS.get(m), TYPES, 25).map(p -> new Call(m, p)));
        return call.list().ofMinSize(1).ofMaxSize(15);
    }

    @Property(tries = 150)
    void noCallEndsInAnInternalErrorAndTheStoreReloadsAsItIs(@ForAll("calls") List<Call> calls) throws Exception {
        Bdev m0 = fx.on(0, () -> malloc.create("m0", null, 4096, 4096, 4096, 0));
        fx.on(0, () -> malloc.create("m1", null, 4096, 2048, 4096, 0));
        try {
            LvolStore s = fx.onAsync(0, () -> lvol.createStore("m0", "lvs", 1 << 20, ClearMethod.NONE, 100));
            Lvol v = fx.onAsync(0, () -> s.create("vol", 4 << 20, true, null));
            Lvol snap = fx.onAsync(0, () -> s.snapshot(v, "snap", Map.of()));
            fx.onAsync(0, () -> s.clone(snap, "c"));
            for (Call c : calls) {
                ObjectNode p = Json.object();
                for (var e : c.params().entrySet()) {
                    p.set(e.getKey(), Json.MAPPER.readTree(e.getValue()));
                }
                try {
                    rpc.call(c.method(), p).get(30, TimeUnit.SECONDS);
                } catch (ExecutionException | CompletionException e) {
                    RpcException r = RpcException.of(e);
                    assertThat(r.code()).as(c.method() + " " + p + ": " + r.getMessage())
                            .isNotEqualTo(RpcException.INTERNAL_ERROR).isNotEqualTo(RpcException.INVALID_REQUEST);
                    assertThat(r.getMessage()).isNotBlank();
                }
            }
            // Whatever the calls did, what is in memory is what the disk says.
            LvolStore now = fx.on(0, () -> lvol.stores().stream().filter(x -> x.base == m0).findFirst().orElse(null));
            if (now != null) {
                // A checksum the calls started may store its result at any moment: let it finish first.
                for (int i = 0; i < 500 && fx.on(0, () -> now.lvols().stream().anyMatch(l -> l.checksum != null)); i++) {
                    Thread.sleep(10);
                }
                Map<String, String> before = fx.on(0, () -> describe(now));
                String name = now.name;
                fx.onAsync(0, () -> lvol.unload(now));
                java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
                fx.app().send(() -> lvol.examine(m0, () -> done.complete(null)));
                ReactorFixture.await(done);
                LvolStore again = fx.on(0, () -> lvol.storeByName(name));
                assertThat(fx.on(0, () -> describe(again))).isEqualTo(before);
            }
        } finally {
            for (LvolStore s : fx.on(0, () -> lvol.stores())) {
                fx.onAsync(0, () -> lvol.unload(s));
            }
            for (Bdev b : fx.bdevs.list()) {
                ReactorFixture.await(fx.on(0, () -> fx.bdevs.unregister(b)));
            }
        }
    }

    private static Map<String, String> describe(LvolStore s) {
        Map<String, String> out = new java.util.TreeMap<>();
        for (Lvol l : s.lvols()) {
            JsonNode j = LvolRpc.lvolJson(l);
            out.put(l.lvolName(), j.toString() + " blocks=" + l.numBlocks());
        }
        return out;
    }
}
