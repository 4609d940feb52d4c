package io.basalt.bdev;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.runtime.Json;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bdev RPCs through the registry, as a client calls them: every check before any change. */
class BdevRpcTest {
    private ReactorFixture fx;
    private RpcRegistry rpc;

    @BeforeEach
    void setUp() {
        fx = new ReactorFixture(2);
        rpc = BdevRpcFixture.register(fx);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private JsonNode call(String method, String params) throws Exception {
        return await(rpc.call(method, params == null ? null : Json.MAPPER.readTree(params)));
    }

    private RpcException error(String method, String params) {
        try {
            call(method, params);
        } catch (RpcException e) {
            return e;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError(method + " " + params + " succeeded");
    }

    @Test
    void badParamsChangeNothing() throws Exception {
        String[][] bad = {
            {"bdev_malloc_create", "{\"name\":\"m\",\"num_blocks\":0,\"block_size\":512}", "num_blocks"},
            {"bdev_malloc_create", "{\"name\":\"m\",\"num_blocks\":8,\"block_size\":513}", "block_size"},
            {"bdev_malloc_create", "{\"name\":\"m\",\"num_blocks\":8,\"block_size\":512,\"physical_block_size\":256}", "physical_block_size"},
            {"bdev_malloc_create", "{\"name\":\"m\",\"num_blocks\":8,\"block_size\":512,\"uuid\":\"nope\"}", "uuid"},
            {"bdev_malloc_create", "{\"name\":\"\",\"num_blocks\":8,\"block_size\":512}", "name"},
            {"bdev_malloc_create", "{\"name\":\"m\",\"num_blocks\":8,\"block_size\":512,\"md_size\":8}", "md_size"},
            {"bdev_malloc_create", "{\"name\":\"m\",\"num_blocks\":8,\"block_size\":512,\"optimal_io_boundary\":-1}", "optimal_io_boundary"},
            {"bdev_null_create", "{\"name\":null,\"num_blocks\":8,\"block_size\":512}", "name"},
            {"bdev_null_create", "{\"name\":\"n\",\"num_blocks\":8,\"block_size\":512,\"dif_type\":1}", "dif_type"},
            {"bdev_get_bdevs", "{\"name\":\"x\",\"timeout\":-1}", "timeout"},
            {"bdev_get_iostat", "{\"reset_mode\":\"all\"}", "reset_mode"},
        };
        for (String[] b : bad) {
            RpcException e = error(b[0], b[1]);
            assertThat(e.code()).as(b[1]).isEqualTo(-32602);
            assertThat(e.getMessage()).as(b[1]).contains(b[2]);
        }
        assertThat(call("bdev_get_bdevs", null)).isEmpty();
        assertThat(call("bdev_get_iostat", "{\"reset_mode\":\"none\"}").get("bdevs")).isEmpty();
    }

    @Test
    void duplicatesAndAbsentBdevsAreErrnos() throws Exception {
        String u = "1b1c9c58-5a5e-4f0e-9f0d-2b9e1b0c6c11";
        assertThat(call("bdev_malloc_create", "{\"name\":\"m0\",\"num_blocks\":8,\"block_size\":512,\"uuid\":\"" + u + "\"}")
                .asText()).isEqualTo("m0");
        assertThat(error("bdev_malloc_create", "{\"name\":\"m0\",\"num_blocks\":8,\"block_size\":512}").code()).isEqualTo(-17);
        assertThat(error("bdev_null_create", "{\"name\":\"m0\",\"num_blocks\":8,\"block_size\":512}").code()).isEqualTo(-17);
        RpcException dupUuid = error("bdev_malloc_create", "{\"name\":\"m1\",\"num_blocks\":8,\"block_size\":512,\"uuid\":\"" + u + "\"}");
        assertThat(dupUuid.code()).isEqualTo(-17);
        assertThat(dupUuid.getMessage()).isEqualTo("File exists: bdev uuid " + u + " already exists (bdev m0)");
        assertThat(call("bdev_get_bdevs", null)).hasSize(1);
        assertThat(call("bdev_get_bdevs", "{\"name\":\"" + u + "\"}").get(0).get("name").asText()).isEqualTo("m0");
        assertThat(error("bdev_malloc_delete", "{\"name\":\"zz\"}").getMessage()).isEqualTo("No such device: malloc bdev zz not found");
        assertThat(error("bdev_null_delete", "{\"name\":\"m0\"}").code()).isEqualTo(-19);
        assertThat(error("bdev_null_resize", "{\"name\":\"m0\",\"new_size\":1}").code()).isEqualTo(-19);
        assertThat(error("bdev_get_bdevs", "{\"name\":\"zz\"}").code()).isEqualTo(-19);
        assertThat(call("bdev_malloc_create", "{\"num_blocks\":8,\"block_size\":512}").asText()).isEqualTo("Malloc0");
        assertThat(call("bdev_malloc_delete", "{\"name\":\"m0\"}").asBoolean()).isTrue();
        assertThat(call("bdev_get_bdevs", null)).hasSize(1);
    }

    @Test
    void nullResizeChecksItsSizeAndRefusesToShrinkAnOpenBdev() throws Exception {
        call("bdev_null_create", "{\"name\":\"n0\",\"num_blocks\":2048,\"block_size\":512}");
        assertThat(error("bdev_null_resize", "{\"name\":\"n0\",\"new_size\":0}").code()).isEqualTo(-32602);
        RpcException huge = error("bdev_null_resize", "{\"name\":\"n0\",\"new_size\":9007199254740993}");
        assertThat(huge.code()).isEqualTo(-32602);
        assertThat(huge.getMessage()).contains("new_size");
        assertThat(fx.bdevs.require("n0").numBlocks()).isEqualTo(2048);
        assertThat(call("bdev_null_resize", "{\"name\":\"n0\",\"new_size\":4}").asBoolean()).isTrue();
        assertThat(fx.bdevs.require("n0").numBlocks()).isEqualTo(8192);
        BdevDesc d = fx.bdevs.open("n0", false, BdevEventHandler.IGNORE);
        RpcException busy = error("bdev_null_resize", "{\"name\":\"n0\",\"new_size\":1}");
        assertThat(busy.code()).isEqualTo(-16);
        assertThat(fx.bdevs.require("n0").numBlocks()).isEqualTo(8192);
        d.close();
        assertThat(call("bdev_null_resize", "{\"name\":\"n0\",\"new_size\":1}").asBoolean()).isTrue();
    }

    @Test
    void getBdevsWithATimeoutWaitsForTheBdevToAppear() throws Exception {
        CompletableFuture<JsonNode> waiting = rpc.call("bdev_get_bdevs",
                Json.MAPPER.readTree("{\"name\":\"late\",\"timeout\":9223372036854775807}"));
        CompletableFuture<JsonNode> bounded = rpc.call("bdev_get_bdevs",
                Json.MAPPER.readTree("{\"name\":\"late\",\"timeout\":60000}"));
        fx.app().schedule(() -> { }, 30, TimeUnit.MILLISECONDS).get(30, TimeUnit.SECONDS);
        assertThat(waiting).isNotDone();
        call("bdev_malloc_create", "{\"name\":\"late\",\"num_blocks\":8,\"block_size\":512}");
        assertThat(await(waiting).get(0).get("name").asText()).isEqualTo("late");
        assertThat(await(bounded).get(0).get("name").asText()).isEqualTo("late");
        long t0 = System.nanoTime();
        assertThat(error("bdev_get_bdevs", "{\"name\":\"never\",\"timeout\":50}").code()).isEqualTo(-19);
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(50));
    }

    @Test
    void iostatNeverGoesBackwardsWhileChannelsComeAndGo() throws Exception {
        call("bdev_malloc_create", "{\"name\":\"m0\",\"num_blocks\":64,\"block_size\":512}");
        BdevDesc d = fx.bdevs.open("m0", false, BdevEventHandler.IGNORE);
        var buf = java.lang.foreign.Arena.ofAuto().allocate(512, 4096);
        int rounds = 30000;
        CompletableFuture<Void> io = new CompletableFuture<>();
        // Reactor 1: one read per round on a fresh channel, which goes away again after each.
        fx.reactors.get(1).send(new Runnable() {
            int done;

            @Override
            public void run() {
                IoChannel ch = d.getIoChannel();
                d.read(ch, buf, 0, 0, 1, (x, ok, a) -> {
                    d.putIoChannel(ch);
                    if (++done == rounds) {
                        io.complete(null);
                    } else {
                        fx.reactors.get(1).send(this);
                    }
                }, null);
            }
        });
        long last = 0;
        Bdev b = fx.bdevs.require("m0");
        while (!io.isDone()) {
            long now = await(fx.on(0, b::collectStats)).numReadOps();
            assertThat(now).isGreaterThanOrEqualTo(last);
            last = now;
        }
        assertThat(await(fx.on(0, b::collectStats)).numReadOps()).isEqualTo(rounds);
        d.close();
    }
}
