package io.basalt.rpc;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RpcRegistryTest {
    record NameParams(@JsonProperty(required = true) String name) {
    }

    private ReactorGroup reactors;
    private RpcRegistry rpc;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void setUp() {
        reactors = ReactorGroup.start(2);
        rpc = new RpcRegistry(reactors.app());
        rpc.register("echo", JsonNode.class, RpcRegistry.ANY, p -> {
            calls.add("echo on " + Reactor.current());
            return p;
        });
        rpc.register("hello", NameParams.class, RpcRegistry.RUNTIME, p -> {
            calls.add("hello " + p.name());
            return "hello " + p.name();
        });
        rpc.register("setup_only", NoParams.class, RpcRegistry.STARTUP, p -> true);
        rpc.register("later", NoParams.class, RpcRegistry.ANY, p -> {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            reactors.get(1).schedule(() -> f.complete(42), 1, TimeUnit.MILLISECONDS);
            return f;
        });
        rpc.register("errno", NoParams.class, RpcRegistry.ANY, p -> {
            throw new BasaltException(Errno.ENODEV, "bdev x not found");
        });
        rpc.register("async_errno", NoParams.class, RpcRegistry.ANY,
                p -> CompletableFuture.failedFuture(new BasaltException(Errno.EBUSY, "bdev x is open")));
        rpc.register("bug", NoParams.class, RpcRegistry.ANY, p -> {
            throw new IllegalStateException("test: a bug");
        });
        rpc.register("unwritable", NoParams.class, RpcRegistry.ANY, p -> new Object() {
            public Object getSelf() {
                return this;
            }
        });
    }

    @AfterEach
    void tearDown() {
        reactors.close();
    }

    private JsonNode handle(String request) throws Exception {
        return await(rpc.handle(Json.MAPPER.readTree(request)));
    }

    private static void assertError(JsonNode resp, JsonNode id, int code, String message) {
        assertThat(resp.get("jsonrpc").asText()).isEqualTo("2.0");
        assertThat(resp.get("id")).isEqualTo(id);
        assertThat(resp.has("result")).isFalse();
        assertThat(resp.get("error").get("code").asInt()).isEqualTo(code);
        assertThat(resp.get("error").get("message").asText()).isEqualTo(message);
    }

    @Test
    void methodsRunOnTheAppReactorAndAnswerWithTheirIdAndResult() throws Exception {
        JsonNode r = handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":7,\"params\":{\"a\":[1,2]}}");
        assertThat(r.toString()).isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"a\":[1,2]}}");
        assertThat(calls).containsExactly("echo on reactor_0");
        assertThat(handle("{\"method\":\"hello\",\"id\":\"x-1\",\"params\":{\"name\":\"b\"}}").toString())
                .isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":\"x-1\",\"result\":\"hello b\"}");
        assertThat(handle("{\"method\":\"later\",\"id\":null}").toString())
                .isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":42}");
        assertThat(handle("{\"method\":\"echo\",\"id\":1.5,\"params\":[3]}").get("result").toString()).isEqualTo("[3]");
    }

    @Test
    void failuresMapToTheirCodes() throws Exception {
        JsonNode one = Json.MAPPER.readTree("1");
        assertError(handle("{\"method\":\"nope\",\"id\":1}"), one, -32601, "Method not found");
        assertError(handle("{\"method\":\"errno\",\"id\":1}"), one, -19, "No such device: bdev x not found");
        assertError(handle("{\"method\":\"async_errno\",\"id\":1}"), one, -16, "Device or resource busy: bdev x is open");
        JsonNode bug = handle("{\"method\":\"bug\",\"id\":1}");
        assertThat(bug.get("error").get("code").asInt()).isEqualTo(-32603);
        assertThat(bug.get("error").get("message").asText()).startsWith("Internal error").contains("a bug");
        assertThat(handle("{\"method\":\"unwritable\",\"id\":1}").get("error").get("code").asInt()).isEqualTo(-32603);
        assertError(handle("{\"method\":\"hello\",\"id\":1,\"params\":{}}"), one, -32602,
                "hello: missing required parameter 'name'");
        assertError(handle("{\"method\":\"hello\",\"id\":1,\"params\":{\"name\":\"b\",\"x\":1}}"), one, -32602,
                "hello: unknown parameter 'x'");
        assertError(handle("{\"method\":\"setup_only\",\"id\":1,\"params\":{}}"), one, -1,
                "Method may only be called before framework is initialized. Use --wait-for-rpc command line"
                        + " parameter and then issue this method before calling framework_start_init.");
        // Bad params never reach the handler.
        assertThat(calls).isEmpty();
    }

    @Test
    void theFrameworkStateDecidesWhatMayRun() throws Exception {
        JsonNode one = Json.MAPPER.readTree("1");
        rpc.setState(RpcRegistry.STARTUP);
        assertError(handle("{\"method\":\"hello\",\"id\":1,\"params\":{\"name\":\"b\"}}"), one, -1,
                "Method may only be called after framework is initialized using framework_start_init RPC.");
        // The state check comes first, even for bad params.
        assertError(handle("{\"method\":\"hello\",\"id\":1,\"params\":{\"zzz\":1}}"), one, -1,
                "Method may only be called after framework is initialized using framework_start_init RPC.");
        assertThat(handle("{\"method\":\"setup_only\",\"id\":1}").get("result").asBoolean()).isTrue();
        assertThat(handle("{\"method\":\"echo\",\"id\":1}").has("result")).isTrue();
        assertThat(rpc.names(true)).containsExactly("async_errno", "bug", "echo", "errno", "later", "setup_only", "unwritable");
        assertThat(rpc.names(false)).contains("hello", "setup_only");
        assertThat(rpc.allowedIn("hello", RpcRegistry.STARTUP)).isFalse();
        assertThat(rpc.allowedIn("unknown", RpcRegistry.STARTUP)).isTrue();
        rpc.setState(RpcRegistry.RUNTIME);
        assertThat(rpc.names(true)).contains("hello").doesNotContain("setup_only");
        assertThat(rpc.has("echo")).isTrue();
        assertThatThrownBy(() -> rpc.register("echo", NoParams.class, RpcRegistry.ANY, p -> null))
                .isInstanceOf(IllegalStateException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":1}",
        "{\"jsonrpc\":2.0,\"method\":\"echo\",\"id\":1}",
        "{\"jsonrpc\":null,\"method\":\"echo\",\"id\":1}",
        "{\"id\":1}",
        "{\"method\":7,\"id\":1}",
        "{\"method\":null,\"id\":1}",
        "{\"method\":\"echo\",\"id\":1,\"params\":\"x\"}",
        "{\"method\":\"echo\",\"id\":1,\"params\":3}",
        "{\"method\":\"echo\",\"id\":1,\"params\":true}",
        "{\"method\":\"echo\",\"id\":1,\"params\":null}",
        "{\"method\":\"echo\",\"id\":1,\"extra\":1}",
    })
    void anInvalidRequestIsMinus32600AndKeepsAUsableId(String request) throws Exception {
        assertError(handle(request), Json.MAPPER.readTree("1"), -32600, "Invalid request");
        assertThat(calls).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"method\":\"echo\",\"id\":{}}", "{\"method\":\"echo\",\"id\":[1]}",
        "{\"method\":\"echo\",\"id\":true}", "7", "\"echo\"", "null", "true"})
    void anInvalidRequestWithoutAUsableIdIsAnsweredWithIdNull(String request) throws Exception {
        assertError(handle(request), Json.MAPPER.readTree("null"), -32600, "Invalid request");
    }

    @Test
    void aNotificationGetsNoSuccessAnswerButItsErrorsAreAnswered() throws Exception {
        assertThat(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"n\":1}}")).isNull();
        assertThat(calls).containsExactly("echo on reactor_0");
        assertError(handle("{\"method\":\"errno\"}"), Json.MAPPER.readTree("null"), -19, "No such device: bdev x not found");
        assertError(handle("{\"method\":\"nope\"}"), Json.MAPPER.readTree("null"), -32601, "Method not found");
    }

    @Test
    void aBatchIsAnsweredElementByElementInOrder() throws Exception {
        JsonNode r = handle("[{\"method\":\"later\",\"id\":1},{\"method\":\"echo\",\"params\":{}},"
                + "{\"method\":\"nope\",\"id\":2},7,{\"method\":\"hello\",\"id\":3,\"params\":{\"name\":\"z\"}},[]]");
        assertThat(r.isArray()).isTrue();
        assertThat(r).hasSize(5);
        assertThat(r.get(0).get("result").asInt()).isEqualTo(42);
        assertThat(r.get(1).get("error").get("code").asInt()).isEqualTo(-32601);
        assertThat(r.get(2).get("error").get("code").asInt()).isEqualTo(-32600);
        assertThat(r.get(3).get("result").asText()).isEqualTo("hello z");
        assertThat(r.get(4).get("error").get("code").asInt()).isEqualTo(-32600);
        assertError(handle("[]"), Json.MAPPER.readTree("null"), -32600, "Invalid request");
        assertThat(handle("[{\"method\":\"echo\"},{\"method\":\"echo\"}]")).isNull();
    }
}
