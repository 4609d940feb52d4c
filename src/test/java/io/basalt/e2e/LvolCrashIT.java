package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.lvol.LvolModel;
import io.basalt.rpc.RpcClient;
import io.basalt.runtime.Json;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash consistency through the real process: a loop of random lvol metadata operations over a
 * file-backed store, the target killed with SIGKILL at a random moment, restarted; the store must
 * load cleanly (by examine) and match the model after the last acknowledged operation, or after
 * the one that was in flight when the process died.
 */
class LvolCrashIT {
    private static final long MIB = 1 << 20;
    private static final int ROUNDS = Integer.getInteger("basalt.lvol.crash.rounds", 8);
    private Path img;
    private Path config;

    @AfterEach
    void cleanUp() throws Exception {
        if (img != null) {
            Files.deleteIfExists(img);
        }
        if (config != null) {
            Files.deleteIfExists(config);
        }
    }

    /** One RPC and what it does to the model (null apply = expected to fail with {@code errno}). */
    private record Op(String method, ObjectNode params, Consumer<LvolModel> apply, int errno) {
        @Override
        public String toString() {
            return method + " " + params;
        }
    }

    @Test
    void killedAtRandomPointsTheStoreLoadsAsTheLastAcknowledgedStateOrTheNext() throws Exception {
        img = Files.createTempFile(Path.of("/tmp"), "lvolcrash", ".img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(96 * MIB);
        }
        config = Files.createTempFile("lvolcrash", ".json");
        Files.writeString(config, "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[{\"method\":\"bdev_aio_create\","
                + "\"params\":{\"name\":\"aio0\",\"filename\":\"" + img + "\",\"block_size\":4096}}]}]}");
        long seed = Long.getLong("basalt.lvol.crash.seed", System.nanoTime());
        System.out.println("LvolCrashIT: seed " + seed + " (repeat with -Dbasalt.lvol.crash.seed=" + seed + ")");
        Random rnd = new Random(seed);
        long capacity;
        try (TargetProcess t = TargetProcess.start("lvolcrash0", "-c", config.toString())) {
            t.rpc("bdev_lvol_create_lvstore", "{\"bdev_name\":\"aio0\",\"lvs_name\":\"lvs\",\"cluster_sz\":1048576}");
            capacity = t.rpc("bdev_lvol_get_lvstores", (String) null).get(0).get("total_data_clusters").asLong();
        }
        LvolModel model = new LvolModel((int) (MIB / 4096), capacity);
        int[] names = {0};
        int acknowledged = 0;
        for (int round = 0; round < ROUNDS; round++) {
            TargetProcess t = TargetProcess.start("lvolcrash" + (round + 1), "-c", config.toString());
            try {
                // The store came back by examine and matches what was acknowledged before the kill.
                assertThat(t.rpc("bdev_lvol_get_lvstores", (String) null)).hasSize(1);
                AtomicReference<Op> inflight = new AtomicReference<>();
                LvolModel before = model.copy();
                long killAfter = 50 + rnd.nextInt(600);
                Thread killer = Thread.ofVirtual().start(() -> {
                    try {
                        Thread.sleep(killAfter);
                        if (rnd.nextInt(5) == 0) {
                            t.stop();
                        } else {
                            t.kill9();
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                while (t.process().isAlive()) {
                    Op op = next(model, rnd, names);
                    if (op == null) {
                        continue;
                    }
                    before = model.copy();
                    inflight.set(op);
                    try {
                        t.rpc(op.method, op.params);
                        assertThat(op.errno).as(op + " succeeded").isZero();
                        op.apply.accept(model);
                        acknowledged++;
                    } catch (RpcClient.RpcError e) {
                        assertThat(e.code()).as(op + " failed: " + e.getMessage()).isEqualTo(-op.errno);
                    } catch (java.io.IOException e) {
                        // The target died during the call: the operation may or may not have landed.
                        break;
                    }
                    inflight.set(null);
                }
                killer.join();
                t.process().waitFor(30, TimeUnit.SECONDS);
                Op lost = inflight.get();
                // Restart and compare: the last acknowledged state, or the in-flight operation done.
                try (TargetProcess again = TargetProcess.start("lvolcrash-check" + round, "-c", config.toString())) {
                    Map<String, String> got = describe(again.rpc("bdev_lvol_get_lvols", (String) null));
                    Map<String, String> acked = describe(model);
                    String outcome = "the acknowledged state";
                    if (!got.equals(acked) && lost != null && lost.apply != null) {
                        outcome = "the operation in flight done";
                        LvolModel done = model.copy();
                        lost.apply.accept(done);
                        if (!got.equals(describe(done)) && copies(lost)) {
                            // Inflate and decouple commit cluster by cluster: a kill in between leaves
                            // some clusters copied and nothing else changed. Resuming completes it.
                            assertPartialCopy(got, acked, describe(done), lost);
                            outcome = "the operation in flight partly done (resumed)";
                            again.rpc(lost.method, lost.params);
                            got = describe(again.rpc("bdev_lvol_get_lvols", (String) null));
                        }
                        assertThat(got).as("after the kill during " + lost).isEqualTo(describe(done));
                        model = done;
                    } else {
                        assertThat(got).as("after the kill (in flight: " + lost + ")").isEqualTo(acked);
                    }
                    System.out.printf("LvolCrashIT round %d: %d lvols, %d operations acknowledged so far; died during %s;"
                            + " loaded %s%n", round, model.vols.size(), acknowledged,
                            lost == null ? "no call" : lost.method, outcome);
                    JsonNode store = again.rpc("bdev_lvol_get_lvstores", (String) null).get(0);
                    assertThat(store.get("free_clusters").asLong()).as("free clusters")
                            .isEqualTo(capacity - model.ownedSum());
                }
                assertThat(before).isNotNull();
            } finally {
                t.kill9();
            }
        }
        assertThat(acknowledged).as("operations acknowledged over all rounds").isGreaterThan(ROUNDS);
    }

    // ------------------------------------------------------------------ the operations

    private static ObjectNode p(Object... kv) {
        ObjectNode o = Json.object();
        for (int i = 0; i < kv.length; i += 2) {
            o.set((String) kv[i], Json.MAPPER.valueToTree(kv[i + 1]));
        }
        return o;
    }

    private static <T> T pick(Random r, List<T> l) {
        return l.isEmpty() ? null : l.get(r.nextInt(l.size()));
    }

    /** A random operation valid or predictably invalid in the model's state; null = none fits. */
    private static Op next(LvolModel m, Random r, int[] names) {
        List<LvolModel.Vol> all = new ArrayList<>(m.vols.values());
        List<LvolModel.Vol> writable = all.stream().filter(v -> !v.snapshot).toList();
        List<LvolModel.Vol> snaps = all.stream().filter(v -> v.snapshot).toList();
        List<LvolModel.Vol> clones = all.stream().filter(v -> v.parent != null).toList();
        boolean room = m.sizeSum() + 4 <= m.capacity;
        switch (r.nextInt(11)) {
            case 0, 1 -> {
                if (!room) {
                    return null;
                }
                String n = "v" + names[0]++;
                int c = 1 + r.nextInt(4);
                boolean thin = r.nextInt(3) > 0;
                return new Op("bdev_lvol_create", p("lvol_name", n, "size_in_mib", c, "lvs_name", "lvs",
                        "thin_provision", thin), x -> x.create(n, c, thin), 0);
            }
            case 2 -> {
                LvolModel.Vol o = pick(r, writable);
                if (o == null || !room) {
                    return null;
                }
                String n = "s" + names[0]++;
                String tag = "t" + names[0];
                return new Op("bdev_lvol_snapshot", p("lvol_name", "lvs/" + o.name, "snapshot_name", n,
                        "xattrs", Map.of("tag", tag)), x -> x.snapshot(x.vols.get(o.name), n).xattrs.put("tag", tag), 0);
            }
            case 3 -> {
                LvolModel.Vol s = pick(r, snaps);
                if (s == null || !room) {
                    return null;
                }
                String n = "c" + names[0]++;
                return new Op("bdev_lvol_clone", p("snapshot_name", "lvs/" + s.name, "clone_name", n),
                        x -> x.clone(x.vols.get(s.name), n), 0);
            }
            case 4 -> {
                LvolModel.Vol v = pick(r, writable);
                int c = 1 + r.nextInt(4);
                if (v == null || m.sizeSum() - v.clusters + c > m.capacity) {
                    return null;
                }
                return new Op("bdev_lvol_resize", p("name", "lvs/" + v.name, "size_in_mib", c),
                        x -> x.resize(x.vols.get(v.name), c), 0);
            }
            case 5 -> {
                LvolModel.Vol v = pick(r, all);
                if (v == null) {
                    return null;
                }
                boolean refused = m.children(v).size() > 1;
                return new Op("bdev_lvol_delete", p("name", "lvs/" + v.name),
                        refused ? null : x -> x.delete(x.vols.get(v.name)), refused ? 1 : 0);
            }
            case 6 -> {
                LvolModel.Vol v = pick(r, all);
                if (v == null) {
                    return null;
                }
                String val = "x" + r.nextInt(1000);
                return new Op("bdev_lvol_set_xattr", p("name", "lvs/" + v.name, "xattr_name", "k", "xattr_value", val),
                        x -> x.vols.get(v.name).xattrs.put("k", val), 0);
            }
            case 7 -> {
                LvolModel.Vol v = pick(r, all);
                if (v == null) {
                    return null;
                }
                String n = "r" + names[0]++;
                return new Op("bdev_lvol_rename", p("old_name", "lvs/" + v.name, "new_name", n),
                        x -> x.rename(x.vols.get(v.name), n), 0);
            }
            case 8 -> {
                LvolModel.Vol v = pick(r, writable);
                if (v == null) {
                    return null;
                }
                boolean refused = v.parent == null && !v.thin;
                if (!refused && m.ownedSum() + v.clusters > m.capacity) {
                    return null;
                }
                return new Op("bdev_lvol_inflate", p("name", "lvs/" + v.name),
                        refused ? null : x -> x.inflate(x.vols.get(v.name)), refused ? 22 : 0);
            }
            case 9 -> {
                LvolModel.Vol v = pick(r, clones);
                if (v == null || m.ownedSum() + v.clusters > m.capacity) {
                    return null;
                }
                return r.nextBoolean()
                        ? new Op("bdev_lvol_decouple_parent", p("name", "lvs/" + v.name), x -> x.decouple(x.vols.get(v.name)), 0)
                        : new Op("bdev_lvol_detach_parent", p("lvol_name", "lvs/" + v.name),
                        x -> x.detachParent(x.vols.get(v.name)), 0);
            }
            default -> {
                LvolModel.Vol v = pick(r, writable);
                LvolModel.Vol s = pick(r, snaps);
                if (v == null || s == null) {
                    return null;
                }
                boolean ok = v.clusters == s.clusters && (v.thin || v.parent != null);
                return new Op("bdev_lvol_set_parent", p("lvol_name", "lvs/" + v.name, "parent_name", "lvs/" + s.name),
                        ok ? x -> x.setParent(x.vols.get(v.name), x.vols.get(s.name)) : null, ok ? 0 : 22);
            }
        }
    }

    // ------------------------------------------------------------------ comparison

    private static boolean copies(Op op) {
        return op.method.equals("bdev_lvol_inflate") || op.method.equals("bdev_lvol_decouple_parent");
    }

    /** Every volume as before, but the copied one with between its old and new allocated count. */
    private static void assertPartialCopy(Map<String, String> got, Map<String, String> before,
                                          Map<String, String> after, Op op) {
        String target = op.params.get("name").asText().substring("lvs/".length());
        assertThat(got.keySet()).isEqualTo(before.keySet());
        for (String n : got.keySet()) {
            if (!n.equals(target)) {
                assertThat(got.get(n)).as(n + " after a kill during " + op).isEqualTo(before.get(n));
            }
        }
        long lo = allocated(before.get(target));
        long hi = allocated(after.get(target));
        assertThat(allocated(got.get(target))).as(target + " allocated after a kill during " + op).isBetween(lo, hi);
        assertThat(got.get(target).replaceAll("allocated=\\d+", ""))
                .isEqualTo(before.get(target).replaceAll("allocated=\\d+", ""));
    }

    private static long allocated(String d) {
        var m = java.util.regex.Pattern.compile("allocated=(\\d+)").matcher(d);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static Map<String, String> describe(JsonNode lvols) {
        Map<String, String> out = new TreeMap<>();
        for (JsonNode l : lvols) {
            Map<String, String> x = new TreeMap<>();
            l.get("xattrs").fields().forEachRemaining(e -> x.put(e.getKey(), e.getValue().asText()));
            out.put(l.get("name").asText(), String.format("snapshot=%s thin=%s parent=%s clusters=%d allocated=%d xattrs=%s",
                    l.get("is_snapshot").asBoolean(), l.get("is_thin_provisioned").asBoolean(),
                    l.has("base_snapshot") ? l.get("base_snapshot").asText() : null, l.get("num_clusters").asLong(),
                    l.get("num_allocated_clusters").asLong(), x));
        }
        return out;
    }

    private static Map<String, String> describe(LvolModel m) {
        Map<String, String> out = new TreeMap<>();
        for (LvolModel.Vol v : m.vols.values()) {
            out.put(v.name, String.format("snapshot=%s thin=%s parent=%s clusters=%d allocated=%d xattrs=%s",
                    v.snapshot, v.thin, v.parent == null ? null : v.parent.name, v.clusters, v.allocated(),
                    new TreeMap<>(v.xattrs)));
        }
        return out;
    }
}
