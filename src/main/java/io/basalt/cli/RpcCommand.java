package io.basalt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.config.ConfigLoader;
import io.basalt.rpc.RpcClient;
import io.basalt.rpc.RpcSyntax;
import io.basalt.runtime.Json;
import io.basalt.target.Target;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code basalt rpc [-s SOCKET] [-t TIMEOUT] METHOD [ARGS]}: SPDK rpc.py's command line. Global
 * options come before the method, method arguments after it, with rpc.py's positional and option
 * names. Prints the result as rpc.py does (strings bare, a bare true not at all, the rest as indented
 * JSON); on an error
 * prints the request and the error to stderr and exits 1.
 *
 * <p>Client-side methods, as in rpc.py: save_config (assembled from framework_get_subsystems and
 * framework_get_config) and load_config (replays a configuration read from stdin or -j FILE).
 * Basalt extension: {@code basalt rpc call METHOD [PARAMS_JSON]} calls any method with raw params.
 */
final class RpcCommand {
    private RpcCommand() {
    }

    static int run(String[] argv) {
        String socket = "/var/tmp/spdk.sock";
        double timeout = 60.0;
        boolean dryRun = false;
        int i = 0;
        while (i < argv.length && argv[i].startsWith("-")) {
            String a = argv[i];
            String val = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                val = a.substring(eq + 1);
                a = a.substring(0, eq);
            } else if (!a.startsWith("--") && a.length() > 2 && (a.startsWith("-s") || a.startsWith("-t"))) {
                val = a.substring(2);
                a = a.substring(0, 2);
            }
            boolean takesValue = switch (a) {
                case "-s", "--server", "-t", "--timeout", "--verbose" -> true;
                default -> false;
            };
            if (takesValue && val == null) {
                if (i + 1 >= argv.length) {
                    return usageError("option " + a + " needs a value");
                }
                val = argv[++i];
            }
            switch (a) {
                case "-s", "--server" -> socket = val;
                case "-t", "--timeout" -> {
                    try {
                        timeout = Double.parseDouble(val);
                    } catch (NumberFormatException e) {
                        timeout = Double.NaN;
                    }
                    if (!(timeout > 0) || Double.isInfinite(timeout)) {
                        return usageError("bad timeout " + val + " (seconds, more than 0)");
                    }
                }
                case "-v", "--verbose" -> {
                    // rpc.py's log level: Basalt's client has nothing more to say.
                }
                case "--dry-run" -> dryRun = true;
                case "-h", "--help" -> {
                    printHelp(System.out);
                    return 0;
                }
                default -> {
                    return usageError("unknown option " + a);
                }
            }
            i++;
        }
        if (i >= argv.length) {
            printHelp(System.err);
            return 2;
        }
        String method = argv[i];
        String[] rest = java.util.Arrays.copyOfRange(argv, i + 1, argv.length);
        RpcClient client = new RpcClient(Path.of(socket), Duration.ofMillis((long) (timeout * 1000)));
        try {
            return switch (method) {
                case "save_config" -> saveConfig(client, rest);
                case "load_config" -> loadConfig(client, rest);
                case "call" -> rawCall(client, rest, dryRun);
                default -> callMethod(client, method, rest, dryRun);
            };
        } catch (IOException e) {
            System.err.println(e.getMessage());
            return 1;
        }
    }

    private static int usageError(String msg) {
        System.err.println("basalt rpc: " + msg);
        System.err.println("usage: basalt rpc [-h] [-s SOCKET] [-t TIMEOUT] METHOD [ARGS]");
        return 2;
    }

    private static void printHelp(PrintStream out) {
        out.println("usage: basalt rpc [-h] [-s SOCKET] [-t TIMEOUT] [--dry-run] METHOD [ARGS]");
        out.println();
        out.println("Call a method of a Basalt (or SPDK) target over its JSON-RPC socket, with rpc.py's syntax.");
        out.println();
        out.println("  -s, --server SOCKET   RPC socket (default /var/tmp/spdk.sock)");
        out.println("  -t, --timeout SEC     seconds to wait for the answer (default 60.0)");
        out.println("  --dry-run             print the request instead of sending it");
        out.println();
        out.println("methods (basalt rpc METHOD -h for its arguments):");
        for (RpcSyntax s : Target.syntax().all()) {
            out.printf("  %-40s %s%n", s.method(), s.help());
        }
        out.printf("  %-40s %s%n", "save_config", "Write current (live) configuration of SPDK subsystems and targets to stdout");
        out.printf("  %-40s %s%n", "load_config", "Configure SPDK subsystems and targets using JSON RPC read from stdin");
        out.printf("  %-40s %s%n", "call METHOD [PARAMS_JSON]", "Basalt: call any method with raw JSON params");
    }

    // ------------------------------------------------------------------ generic method

    private static int callMethod(RpcClient client, String method, String[] args, boolean dryRun) throws IOException {
        RpcSyntax syntax = Target.syntax().get(method);
        if (syntax == null) {
            System.err.println("basalt rpc: unknown method '" + method + "' (basalt rpc -h lists them;"
                    + " 'basalt rpc call " + method + " JSON' sends it anyway)");
            return 2;
        }
        CommandSpec spec = CommandSpec.create().name("basalt rpc " + method);
        spec.usageMessage().description(syntax.help());
        spec.mixinStandardHelpOptions(true);
        int posIndex = 0;
        for (RpcSyntax.Arg a : syntax.args()) {
            if (a.positional()) {
                spec.addPositional(PositionalParamSpec.builder()
                        .index(String.valueOf(posIndex++))
                        .paramLabel(a.key())
                        .arity(a.required() ? "1" : "0..1")
                        .required(a.required())
                        .type(String.class)
                        .description(a.help())
                        .build());
            } else {
                List<String> names = new ArrayList<>();
                if (a.shortName() != null) {
                    names.add(a.shortName());
                }
                if (a.longName() != null) {
                    names.add(a.longName());
                }
                OptionSpec.Builder b = OptionSpec.builder(names.toArray(new String[0]))
                        .description(a.help())
                        .required(a.required());
                if (a.flag()) {
                    b.arity("0").type(boolean.class);
                } else if (a.type() == RpcSyntax.Type.STRING_APPEND) {
                    b.arity("1").type(String[].class).paramLabel(a.key().toUpperCase());
                } else {
                    b.arity("1").type(String.class).paramLabel(a.key().toUpperCase());
                }
                spec.addOption(b.build());
            }
        }
        CommandLine cl = new CommandLine(spec);
        CommandLine.ParseResult pr;
        try {
            pr = cl.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            System.err.println(e.getMessage());
            cl.usage(System.err);
            return 2;
        }
        if (pr.isUsageHelpRequested()) {
            cl.usage(System.out);
            return 0;
        }
        RpcSyntax.Args parsed = new RpcSyntax.Args();
        posIndex = 0;
        try {
            for (RpcSyntax.Arg a : syntax.args()) {
                if (a.positional()) {
                    PositionalParamSpec p = spec.positionalParameters().get(posIndex++);
                    if (pr.hasMatchedPositional(p.index().min())) {
                        parsed.put(a.key(), convert(a, pr.matchedPositional(p.index().min()).getValue()));
                    }
                } else {
                    String n = a.longName() != null ? a.longName() : a.shortName();
                    if (pr.hasMatchedOption(n)) {
                        if (a.flag()) {
                            parsed.put(a.key(), a.flagValue());
                        } else {
                            parsed.put(a.key(), convert(a, pr.matchedOption(n).getValue()));
                        }
                    }
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("basalt rpc " + method + ": " + e.getMessage());
            return 2;
        }
        JsonNode params;
        try {
            params = syntax.params(parsed);
        } catch (ArithmeticException e) {
            System.err.println("basalt rpc " + method + ": a number is too large");
            return 2;
        }
        return send(client, method, params, dryRun);
    }

    private static Object convert(RpcSyntax.Arg a, Object raw) {
        if (raw instanceof String[] all) {
            return List.of(all);
        }
        String s = String.valueOf(raw);
        try {
            return switch (a.type()) {
                case STRING -> s;
                // As Python's int() and float() (rpc.py's argparse types): decimal only, no 0x or 1d.
                case INT -> Integer.parseInt(pythonNumber(s, INT_SYNTAX));
                case LONG -> Long.parseLong(pythonNumber(s, INT_SYNTAX));
                case FLOAT -> Double.parseDouble(pythonNumber(s, FLOAT_SYNTAX));
                case BOOL -> switch (s.toLowerCase()) {
                    case "true", "1", "yes" -> true;
                    case "false", "0", "no" -> false;
                    default -> throw new IllegalArgumentException("argument " + a.label() + ": not a boolean: " + s);
                };
                case STRING_LIST -> List.of(s.trim().split("\\s+"));
                case STRING_APPEND -> List.of(s);
                case JSON -> Json.MAPPER.readTree(s);
            };
        } catch (NumberFormatException e) {
            String type = a.type() == RpcSyntax.Type.LONG ? "int" : a.type().name().toLowerCase();
            throw new IllegalArgumentException("argument " + a.label() + ": invalid " + type + " value: '" + s + "'");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("argument " + a.label() + ": invalid JSON: " + e.getOriginalMessage());
        }
    }

    private static final java.util.regex.Pattern INT_SYNTAX = java.util.regex.Pattern.compile("[+-]?[0-9]+");
    private static final java.util.regex.Pattern FLOAT_SYNTAX =
            java.util.regex.Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");

    private static String pythonNumber(String s, java.util.regex.Pattern syntax) {
        String t = s.strip();
        if (!syntax.matcher(t).matches()) {
            throw new NumberFormatException(s);
        }
        return t;
    }

    private static int rawCall(RpcClient client, String[] args, boolean dryRun) throws IOException {
        if (args.length < 1 || args.length > 2) {
            return usageError("call METHOD [PARAMS_JSON]");
        }
        JsonNode params = null;
        if (args.length == 2) {
            try {
                params = Json.MAPPER.readTree(args[1]);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                return usageError("params are not valid JSON: " + e.getOriginalMessage());
            }
        }
        return send(client, args[0], params, dryRun);
    }

    private static ObjectNode request(String method, JsonNode params) {
        ObjectNode req = Json.object();
        req.put("method", method);
        if (params != null) {
            req.set("params", params);
        }
        return req;
    }

    private static int send(RpcClient client, String method, JsonNode params, boolean dryRun) throws IOException {
        if (dryRun) {
            System.out.println(PyJson.dumps(request(method, params), 2));
            return 0;
        }
        try {
            JsonNode result = client.call(method, params);
            print(result);
            return 0;
        } catch (RpcClient.RpcError e) {
            printError(method, params, e);
            return 1;
        }
    }

    static void print(JsonNode result) {
        // rpc.py prints nothing for methods that answer a bare true (deletes, kill, init).
        if (result == null || result.isNull() || (result.isBoolean() && result.asBoolean())) {
            return;
        }
        if (result.isTextual()) {
            System.out.println(result.asText());
        } else {
            System.out.println(PyJson.dumps(result, 2));
        }
    }

    private static void printError(String method, JsonNode params, RpcClient.RpcError e) {
        ObjectNode req = Json.object();
        req.put("jsonrpc", "2.0");
        req.put("method", method);
        if (params != null) {
            req.set("params", params);
        }
        ObjectNode err = Json.object();
        err.put("code", e.code());
        err.put("message", e.getMessage());
        System.err.println("request:");
        System.err.println(PyJson.dumps(req, 2));
        System.err.println("Got JSON-RPC error response");
        System.err.println("response:");
        System.err.println(PyJson.dumps(err, 2));
    }

    // ------------------------------------------------------------------ save_config / load_config

    private static int saveConfig(RpcClient client, String[] args) throws IOException {
        int indent = 2;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "-i", "--indent" -> {
                    if (i + 1 >= args.length) {
                        return usageError("save_config -i needs a value");
                    }
                    try {
                        indent = Integer.parseInt(args[++i]);
                    } catch (NumberFormatException e) {
                        return usageError("save_config -i needs a number, not " + args[i]);
                    }
                }
                case "-h", "--help" -> {
                    System.out.println("usage: basalt rpc save_config [-i INDENT]");
                    return 0;
                }
                default -> {
                    return usageError("save_config: unexpected argument " + args[i]);
                }
            }
        }
        try {
            ObjectNode out = Json.object();
            ArrayNode subs = out.putArray("subsystems");
            for (JsonNode s : client.call("framework_get_subsystems", null)) {
                String name = s.path("subsystem").asText();
                ObjectNode p = Json.object();
                p.put("name", name);
                JsonNode cfg = client.call("framework_get_config", p);
                ObjectNode e = subs.addObject();
                e.put("subsystem", name);
                e.set("config", cfg);
            }
            System.out.println(PyJson.dumps(out, indent));
            return 0;
        } catch (RpcClient.RpcError e) {
            printError("framework_get_config", null, e);
            return 1;
        }
    }

    private static int loadConfig(RpcClient client, String[] args) throws IOException {
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "-j", "--json" -> {
                    if (i + 1 >= args.length) {
                        return usageError("load_config -j needs a file");
                    }
                    file = Path.of(args[++i]);
                }
                case "-i", "--include-aliases" -> {
                }
                case "-h", "--help" -> {
                    System.out.println("usage: basalt rpc load_config [-j FILE]   (default: read the JSON from stdin)");
                    return 0;
                }
                default -> {
                    return usageError("load_config: unexpected argument " + args[i]);
                }
            }
        }
        byte[] bytes = file != null ? Files.readAllBytes(file) : System.in.readAllBytes();
        List<ConfigLoader.Entry> entries;
        try {
            entries = ConfigLoader.parse(Json.MAPPER.readTree(bytes), file != null ? file.toString() : "stdin");
        } catch (IllegalArgumentException | com.fasterxml.jackson.core.JsonProcessingException e) {
            System.err.println("basalt rpc load_config: " + e.getMessage());
            return 1;
        }
        try {
            List<ConfigLoader.Entry> rest = entries;
            for (int round = 0; round < 2 && !rest.isEmpty(); round++) {
                Set<String> allowed = new HashSet<>();
                ObjectNode cur = Json.object();
                cur.put("current", true);
                client.call("rpc_get_methods", cur).forEach(n -> allowed.add(n.asText()));
                List<ConfigLoader.Entry> later = new ArrayList<>();
                for (ConfigLoader.Entry e : rest) {
                    if (allowed.contains(e.method())) {
                        try {
                            client.call(e.method(), e.params());
                        } catch (RpcClient.RpcError err) {
                            printError(e.method(), e.params(), err);
                            return 1;
                        }
                    } else {
                        later.add(e);
                    }
                }
                rest = later;
                if (!rest.isEmpty() && allowed.contains("framework_start_init")) {
                    client.call("framework_start_init", null);
                    client.call("framework_wait_init", null);
                } else {
                    break;
                }
            }
            if (!rest.isEmpty()) {
                System.err.println("basalt rpc load_config: method " + rest.get(0).method()
                        + " is not available in the target's current state");
                return 1;
            }
            return 0;
        } catch (RpcClient.RpcError e) {
            printError("rpc_get_methods", null, e);
            return 1;
        }
    }
}
