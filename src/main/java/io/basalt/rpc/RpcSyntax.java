package io.basalt.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.runtime.Json;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * How a method is typed on the command line of {@code basalt rpc}, exactly as SPDK's rpc.py takes
 * it (positional arguments and option names), and how those arguments become the params object.
 * Declared by each subsystem next to its RPC handlers; the cli layer builds the parser from it.
 */
public final class RpcSyntax {
    /** Argument value types. */
    public enum Type {
        STRING, INT, LONG, FLOAT, BOOL, STRING_LIST, JSON,
        /** An option that may be given several times (argparse action='append'): a list of strings. */
        STRING_APPEND
    }

    /** One option or positional. Positionals have null names. */
    public record Arg(String shortName, String longName, String key, Type type, boolean positional,
                      boolean required, boolean flag, Object flagValue, String help) {
        /** Display label: the long option or the positional's key. */
        public String label() {
            return longName != null ? longName : key;
        }
    }

    /** Parsed arguments, by key; absent options are absent. */
    public static final class Args {
        private final Map<String, Object> values = new LinkedHashMap<>();

        public void put(String key, Object value) {
            values.put(key, value);
        }

        public boolean has(String key) {
            return values.containsKey(key) && values.get(key) != null;
        }

        public Object get(String key) {
            return values.get(key);
        }

        public String string(String key) {
            return (String) values.get(key);
        }

        public Map<String, Object> all() {
            return values;
        }

        /** Params object of every given argument under its key (the common rpc.py mapping). */
        public ObjectNode toParams() {
            ObjectNode o = Json.object();
            for (var e : values.entrySet()) {
                if (e.getValue() != null) {
                    o.set(e.getKey(), Json.MAPPER.valueToTree(e.getValue()));
                }
            }
            return o;
        }
    }

    private final String method;
    private final String help;
    private final List<Arg> args;
    private final Function<Args, JsonNode> toParams;

    private RpcSyntax(String method, String help, List<Arg> args, Function<Args, JsonNode> toParams) {
        this.method = method;
        this.help = help;
        this.args = List.copyOf(args);
        this.toParams = toParams;
    }

    public String method() {
        return method;
    }

    public String help() {
        return help;
    }

    public List<Arg> args() {
        return args;
    }

    /** The params to send (null = leave "params" out, as rpc.py does when there are none). */
    public JsonNode params(Args a) {
        JsonNode p = toParams.apply(a);
        if (p != null && p.isObject() && p.isEmpty()) {
            return null;
        }
        return p;
    }

    public static Builder method(String method, String help) {
        return new Builder(method, help);
    }

    /** Builder of a method's syntax. */
    public static final class Builder {
        private final String method;
        private final String help;
        private final List<Arg> args = new ArrayList<>();

        Builder(String method, String help) {
            this.method = method;
            this.help = help;
        }

        /** An option with a value, e.g. {@code opt("-b", "--name", "name", STRING, "...")}. */
        public Builder opt(String shortName, String longName, String key, Type type, String help) {
            args.add(new Arg(shortName, longName, key, type, false, false, false, null, help));
            return this;
        }

        /** A required option. */
        public Builder reqOpt(String shortName, String longName, String key, Type type, String help) {
            args.add(new Arg(shortName, longName, key, type, false, true, false, null, help));
            return this;
        }

        /** A repeatable option (argparse action='append'): its values arrive as a list under {@code key}. */
        public Builder append(String shortName, String longName, String key, String help) {
            args.add(new Arg(shortName, longName, key, Type.STRING_APPEND, false, false, false, null, help));
            return this;
        }

        /** A store_true flag: sends {@code key: true} when given. */
        public Builder flag(String shortName, String longName, String key, String help) {
            args.add(new Arg(shortName, longName, key, Type.BOOL, false, false, true, Boolean.TRUE, help));
            return this;
        }

        /** A required positional. */
        public Builder pos(String key, Type type, String help) {
            args.add(new Arg(null, null, key, type, true, true, false, null, help));
            return this;
        }

        /** An optional positional (argparse nargs='?'); must come after the required ones. */
        public Builder optPos(String key, Type type, String help) {
            args.add(new Arg(null, null, key, type, true, false, false, null, help));
            return this;
        }

        /** Arguments map to params under their keys. */
        public RpcSyntax build() {
            return new RpcSyntax(method, help, args, Args::toParams);
        }

        /** Arguments map to params through {@code fn} (e.g. MiB to num_blocks). */
        public RpcSyntax build(Function<Args, JsonNode> fn) {
            return new RpcSyntax(method, help, args, fn);
        }
    }

    /** The syntaxes a target's subsystems declare; the CLI takes them from here. */
    public static final class Registry {
        private final Map<String, RpcSyntax> byMethod = new LinkedHashMap<>();

        public void add(RpcSyntax s) {
            if (byMethod.putIfAbsent(s.method(), s) != null) {
                throw new IllegalStateException("syntax for " + s.method() + " declared twice");
            }
        }

        public void addAll(RpcSyntax... s) {
            Arrays.stream(s).forEach(this::add);
        }

        public RpcSyntax get(String method) {
            return byMethod.get(method);
        }

        public List<RpcSyntax> all() {
            return List.copyOf(byMethod.values());
        }
    }
}
