package io.basalt.bdev;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random params for the bdev methods, called as a client calls them: every call either succeeds
 * or fails with a client error (-32602, -errno, -1); never an internal error (-32603), which
 * would be a handler that did not check what it was given.
 */
class BdevRpcPropertyTest {
    private static ReactorFixture fx;
    private static RpcRegistry rpc;
    /** Per type: values that fit, then values that do not. */
    private static final List<List<String>> INTS = List.of(List.of("1", "8", "512", "4096"),
            List.of("0", "-1", "2147483648", "9223372036854775807", "1.5", "\"8\"", "null", "true"));
    private static final List<List<String>> STRINGS = List.of(List.of("\"m0\"", "\"n0\"", "\"Malloc0\"", "\"EE_m0\"", "\"d0\"",
            "\"1b1c9c58-5a5e-4f0e-9f0d-2b9e1b0c6c11\"", "\"none\""), List.of("\"\"", "null", "5", "[]", "{}", "\"all\""));
    private static final List<List<String>> WORDS = List.of(List.of("\"read\"", "\"write\"", "\"all\"", "\"unmap\"",
            "\"flush\"", "\"failure\"", "\"pending\"", "\"corrupt_data\"", "\"nomem\"", "\"avg_read\"",
            "\"p99_read\"", "\"avg_write\"", "\"p99_write\""), List.of("\"bogus\"", "\"\"", "null", "1", "\"READ\""));
    private static final List<List<String>> BOOLS = List.of(List.of("true", "false"), List.of("null", "0", "\"true\""));
    private static final List<List<String>> LISTS = List.of(List.of("[]", "[\"m0\"]", "[\"zz\"]"),
            List.of("[1]", "\"m0\"", "null", "[null]"));
    private static final Map<String, List<List<String>>> TYPES = Map.ofEntries(
            Map.entry("name", STRINGS), Map.entry("uuid", STRINGS), Map.entry("reset_mode", STRINGS),
            Map.entry("num_blocks", INTS), Map.entry("block_size", INTS), Map.entry("physical_block_size", INTS),
            Map.entry("optimal_io_boundary", INTS), Map.entry("md_size", INTS), Map.entry("dif_type", INTS),
            Map.entry("dif_pi_format", INTS), Map.entry("numa_id", INTS), Map.entry("new_size", INTS),
            Map.entry("md_interleave", BOOLS), Map.entry("dif_is_head_of_md", BOOLS), Map.entry("per_channel", BOOLS),
            Map.entry("names", LISTS), Map.entry("bogus", INTS),
            Map.entry("base_name", STRINGS), Map.entry("base_bdev_name", STRINGS), Map.entry("delay_bdev_name", STRINGS),
            Map.entry("io_type", WORDS), Map.entry("error_type", WORDS), Map.entry("latency_type", WORDS),
            Map.entry("num", INTS), Map.entry("queue_depth", INTS), Map.entry("corrupt_offset", INTS),
            Map.entry("corrupt_value", INTS), Map.entry("avg_read_latency", INTS), Map.entry("p99_read_latency", INTS),
            Map.entry("avg_write_latency", INTS), Map.entry("p99_write_latency", INTS), Map.entry("latency_us", INTS));
    private static final Map<String, List<String>> KEYS = Map.ofEntries(
            Map.entry("bdev_malloc_create", List.of("name", "num_blocks", "block_size", "physical_block_size", "uuid",
                    "optimal_io_boundary", "md_size", "md_interleave", "dif_type", "dif_is_head_of_md", "dif_pi_format",
                    "numa_id", "bogus")),
            Map.entry("bdev_malloc_delete", List.of("name", "bogus")),
            Map.entry("bdev_null_create", List.of("name", "num_blocks", "block_size", "uuid", "physical_block_size",
                    "md_size", "md_interleave", "dif_type", "dif_is_head_of_md", "dif_pi_format", "numa_id")),
            Map.entry("bdev_null_delete", List.of("name")),
            Map.entry("bdev_null_resize", List.of("name", "new_size", "bogus")),
            Map.entry("bdev_get_bdevs", List.of("name", "bogus")),
            Map.entry("bdev_get_iostat", List.of("name", "names", "per_channel", "reset_mode", "bogus")),
            Map.entry("bdev_wait_for_examine", List.of("bogus")),
            Map.entry("bdev_error_create", List.of("base_name", "uuid", "bogus")),
            Map.entry("bdev_error_delete", List.of("name")),
            Map.entry("bdev_error_inject_error", List.of("name", "io_type", "error_type", "num", "queue_depth",
                    "corrupt_offset", "corrupt_value")),
            Map.entry("bdev_delay_create", List.of("base_bdev_name", "name", "uuid", "avg_read_latency",
                    "p99_read_latency", "avg_write_latency", "p99_write_latency")),
            Map.entry("bdev_delay_delete", List.of("name")),
            Map.entry("bdev_delay_update_latency", List.of("delay_bdev_name", "latency_type", "latency_us")));

    record Call(String method, Map<String, String> params, boolean absent) {
    }

    @BeforeContainer
    static void start() {
        fx = new ReactorFixture(2);
        rpc = BdevRpcFixture.register(fx);
        var error = new io.basalt.bdev.error.ErrorModule(fx.bdevs);
        var delay = new io.basalt.bdev.delay.DelayModule(fx.bdevs);
        fx.bdevs.addModule(error);
        fx.bdevs.addModule(delay);
        io.basalt.bdev.error.ErrorRpc.register(rpc, error);
        io.basalt.bdev.delay.DelayRpc.register(rpc, delay);
    }

    @AfterContainer
    static void stop() {
        fx.close();
    }

    @Provide
    Arbitrary<List<Call>> calls() {
        Arbitrary<Call> call = Arbitraries.of(List.copyOf(KEYS.keySet())).flatMap(m -> RandomParams.of(KEYS.get(m), TYPES, 30)
                .flatMap(p -> Arbitraries.of(true, false).map(absent -> new Call(m, p, absent))));
        return call.list().ofMinSize(1).ofMaxSize(12);
    }

    @Property(tries = 400)
    void noCallEndsInAnInternalError(@ForAll("calls") List<Call> calls) throws Exception {
        try {
            for (Call c : calls) {
                ObjectNode p = Json.object();
                for (var e : c.params().entrySet()) {
                    p.set(e.getKey(), Json.MAPPER.readTree(e.getValue()));
                }
                JsonNode params = c.absent() && p.isEmpty() ? null : p;
                try {
                    rpc.call(c.method(), params).get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException | CompletionException e) {
                    RpcException r = RpcException.of(e);
                    assertThat(r.code()).as(c.method() + " " + params + ": " + r.getMessage())
                            .isNotEqualTo(RpcException.INTERNAL_ERROR).isNotEqualTo(RpcException.INVALID_REQUEST);
                    assertThat(r.getMessage()).isNotBlank();
                }
            }
        } finally {
            for (Bdev b : fx.bdevs.list()) {
                ReactorFixture.await(fx.on(0, () -> fx.bdevs.unregister(b)));
            }
        }
    }
}
