package io.basalt.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.runtime.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Replays a save_config document ({@code {"subsystems":[{"subsystem":..,"config":[{"method":..,
 * "params":..}]}]}}) through the same RPC dispatch a client would use, so a saved configuration
 * is checked exactly as the calls that made it.
 */
public final class ConfigLoader {
    /** One call of the document, with where it came from for error messages. */
    public record Entry(String subsystem, int index, String method, JsonNode params) {
    }

    private ConfigLoader() {
    }

    /** Reads and checks the document's shape; throws IllegalArgumentException naming what is wrong. */
    public static List<Entry> read(Path file) throws IOException {
        JsonNode root;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("config " + file + " does not exist");
        } catch (IOException e) {
            throw new IllegalArgumentException("config " + file + " cannot be read: " + e);
        }
        try {
            root = Json.MAPPER.readTree(bytes);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("config " + file + " is not valid JSON: " + e.getOriginalMessage());
        }
        return parse(root, file.toString());
    }

    public static List<Entry> parse(JsonNode root, String source) {
        if (root == null || !root.isObject() || !root.has("subsystems") || !root.get("subsystems").isArray()) {
            throw new IllegalArgumentException("config " + source + " must be an object with a \"subsystems\" array");
        }
        List<Entry> out = new ArrayList<>();
        for (JsonNode s : root.get("subsystems")) {
            String name = s.path("subsystem").asText(null);
            if (name == null) {
                throw new IllegalArgumentException("config " + source + ": a subsystem entry has no \"subsystem\" name");
            }
            JsonNode cfg = s.get("config");
            if (cfg == null || cfg.isNull()) {
                continue;
            }
            if (!cfg.isArray()) {
                throw new IllegalArgumentException("config " + source + ": \"config\" of " + name + " must be an array");
            }
            int i = 0;
            for (JsonNode c : cfg) {
                String method = c.path("method").asText(null);
                if (method == null) {
                    throw new IllegalArgumentException("config " + source + ": entry " + i + " of " + name
                            + " has no method");
                }
                JsonNode params = c.get("params");
                out.add(new Entry(name, i, method, params == null || params.isNull() ? null : params));
                i++;
            }
        }
        return out;
    }

    /**
     * Calls every entry allowed in the registry's current state, in order (when {@code onlyState}
     * matches the method's states), stopping at the first failure with an RpcException (the entry's code) naming it.
     * Returns the entries not run (those for a later state).
     */
    public static List<Entry> replay(RpcRegistry rpc, List<Entry> entries, boolean startupOnly) {
        List<Entry> rest = new ArrayList<>();
        for (Entry e : entries) {
            if (startupOnly && !rpc.allowedIn(e.method(), RpcRegistry.STARTUP)) {
                rest.add(e);
                continue;
            }
            try {
                rpc.call(e.method(), e.params()).join();
            } catch (java.util.concurrent.CompletionException ce) {
                RpcException re = RpcException.of(ce);
                // Keeps the entry's code, so framework_start_init answers with it too.
                throw new RpcException(re.code(), "config: " + e.subsystem() + " entry " + e.index() + " ("
                        + e.method() + ") failed: " + re.code() + " " + re.getMessage());
            }
        }
        return rest;
    }
}
