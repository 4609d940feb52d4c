package io.basalt.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The JSON-RPC methods of a target and their dispatch: decoding of the request envelope and of
 * the params (before anything runs), the framework state check, execution on the application
 * reactor, and the response envelope. Subsystems register their methods next to their code.
 */
public final class RpcRegistry {
    private static final System.Logger LOG = System.getLogger(RpcRegistry.class.getName());

    /** Allowed before framework_start_init (with --wait-for-rpc). */
    public static final int STARTUP = 1;
    /** Allowed once the framework is initialized. */
    public static final int RUNTIME = 2;
    public static final int ANY = STARTUP | RUNTIME;

    private record Method<P>(String name, Class<P> params, int states, RpcHandler<P> handler) {
    }

    private final Map<String, Method<?>> methods = new TreeMap<>();
    private final Reactor app;
    private volatile int state = RUNTIME;

    public RpcRegistry(Reactor app) {
        this.app = app;
    }

    /** Registers a method; params is a record type, {@link NoParams} or JsonNode. */
    public synchronized <P> void register(String name, Class<P> params, int states, RpcHandler<P> handler) {
        if (methods.containsKey(name)) {
            throw new IllegalStateException("RPC method " + name + " registered twice");
        }
        methods.put(name, new Method<>(name, params, states, handler));
    }

    public void setState(int state) {
        this.state = state;
    }

    public int state() {
        return state;
    }

    /** Whether {@code name} may run in {@code state}; unknown methods count as allowed (they fail later). */
    public synchronized boolean allowedIn(String name, int state) {
        Method<?> m = methods.get(name);
        return m == null || (m.states & state) != 0;
    }

    public synchronized boolean has(String name) {
        return methods.containsKey(name);
    }

    /** Method names, sorted; with {@code currentOnly} only those callable in the current state. */
    public synchronized List<String> names(boolean currentOnly) {
        List<String> out = new ArrayList<>();
        for (Method<?> m : methods.values()) {
            if (!currentOnly || (m.states & state) != 0) {
                out.add(m.name);
            }
        }
        return out;
    }

    /**
     * Calls a method with already-parsed params (null = absent). Completes with the result, or
     * exceptionally with an {@link RpcException}. Never throws.
     */
    public CompletableFuture<JsonNode> call(String name, JsonNode params) {
        Method<?> m;
        synchronized (this) {
            m = methods.get(name);
        }
        if (m == null) {
            return CompletableFuture.failedFuture(new RpcException(RpcException.METHOD_NOT_FOUND, "Method not found"));
        }
        return invoke(m, params);
    }

    private <P> CompletableFuture<JsonNode> invoke(Method<P> m, JsonNode params) {
        int st = state;
        if ((m.states & st) == 0) {
            String msg = st == STARTUP
                    ? "Method may only be called after framework is initialized using framework_start_init RPC."
                    : "Method may only be called before framework is initialized. Use --wait-for-rpc command line"
                    + " parameter and then issue this method before calling framework_start_init.";
            return CompletableFuture.failedFuture(new RpcException(RpcException.INVALID_STATE, msg));
        }
        P decoded;
        try {
            decoded = ParamDecoder.decode(m.name, params, m.params);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(RpcException.of(e));
        }
        CompletableFuture<JsonNode> out = new CompletableFuture<>();
        app.send(() -> {
            Object r;
            try {
                r = m.handler.handle(decoded);
            } catch (Throwable t) {
                fail(m.name, out, t);
                return;
            }
            if (r instanceof CompletableFuture<?> f) {
                f.whenComplete((v, t) -> {
                    if (t != null) {
                        fail(m.name, out, t);
                    } else {
                        complete(m.name, out, v);
                    }
                });
            } else {
                complete(m.name, out, r);
            }
        });
        return out;
    }

    private static void complete(String name, CompletableFuture<JsonNode> out, Object v) {
        try {
            out.complete(v instanceof JsonNode n ? n : Json.MAPPER.valueToTree(v));
        } catch (Throwable t) {
            fail(name, out, t);
        }
    }

    private static void fail(String name, CompletableFuture<JsonNode> out, Throwable t) {
        RpcException e = RpcException.of(t);
        if (e.code() == RpcException.INTERNAL_ERROR) {
            LOG.log(System.Logger.Level.ERROR, "RPC " + name + " failed", t);
        }
        out.completeExceptionally(e);
    }

    /**
     * Handles one request value as read from the socket: an object, or a batch array. Completes
     * with the response to send (an object, an array for a batch), or null for a notification.
     */
    public CompletableFuture<JsonNode> handle(JsonNode request) {
        if (request.isArray()) {
            return handleBatch((ArrayNode) request);
        }
        return handleOne(request);
    }

    private CompletableFuture<JsonNode> handleBatch(ArrayNode batch) {
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(error(null, RpcException.INVALID_REQUEST, "Invalid request"));
        }
        List<CompletableFuture<JsonNode>> parts = new ArrayList<>();
        for (JsonNode r : batch) {
            parts.add(handleOne(r));
        }
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0])).thenApply(v -> {
            ArrayNode out = Json.array();
            for (CompletableFuture<JsonNode> p : parts) {
                JsonNode n = p.join();
                if (n != null) {
                    out.add(n);
                }
            }
            return out.isEmpty() ? null : out;
        });
    }

    private CompletableFuture<JsonNode> handleOne(JsonNode req) {
        if (!req.isObject()) {
            return CompletableFuture.completedFuture(error(null, RpcException.INVALID_REQUEST, "Invalid request"));
        }
        JsonNode id = req.get("id");
        boolean hasId = req.has("id");
        JsonNode version = req.get("jsonrpc");
        JsonNode method = req.get("method");
        JsonNode params = req.get("params");
        boolean invalid = false;
        var it = req.fieldNames();
        while (it.hasNext()) {
            String k = it.next();
            if (!k.equals("id") && !k.equals("jsonrpc") && !k.equals("method") && !k.equals("params")) {
                invalid = true;
            }
        }
        if (version != null && !(version.isTextual() && version.asText().equals("2.0"))) {
            invalid = true;
        }
        if (method == null || !method.isTextual()) {
            invalid = true;
        }
        if (hasId && !(id.isTextual() || id.isNumber() || id.isNull())) {
            invalid = true;
            id = null;
        }
        if (params != null && !params.isObject() && !params.isArray()) {
            invalid = true;
        }
        if (invalid) {
            return CompletableFuture.completedFuture(error(id, RpcException.INVALID_REQUEST, "Invalid request"));
        }
        JsonNode rid = id;
        return call(method.asText(), params).handle((res, t) -> {
            if (t != null) {
                RpcException e = RpcException.of(t);
                return error(rid, e.code(), e.getMessage());
            }
            if (!hasId) {
                return null;
            }
            ObjectNode o = Json.object();
            o.put("jsonrpc", "2.0");
            o.set("id", rid);
            o.set("result", res);
            return o;
        });
    }

    /** An error response; errors always get one, with "id": null when the request had none. */
    public static ObjectNode error(JsonNode id, int code, String message) {
        ObjectNode o = Json.object();
        o.put("jsonrpc", "2.0");
        o.set("id", id == null ? com.fasterxml.jackson.databind.node.NullNode.getInstance() : id);
        ObjectNode e = o.putObject("error");
        e.put("code", code);
        e.put("message", message);
        return o;
    }
}
