package io.basalt.target;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.config.ConfigCall;
import io.basalt.config.Subsystem;
import io.basalt.rpc.NoParams;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;

import java.util.Locale;

/** The framework methods: version, method list, init, kill, subsystems and their config. */
final class FrameworkRpc {
    private static final System.Logger LOG = System.getLogger(FrameworkRpc.class.getName());

    private FrameworkRpc() {
    }

    record GetMethodsParams(Boolean current, Boolean includeAliases) {
    }

    record KillParams(@JsonProperty(required = true) String sigName) {
    }

    record GetConfigParams(@JsonProperty(required = true) String name) {
    }

    static void register(RpcRegistry rpc, Target t) {
        rpc.register("spdk_get_version", NoParams.class, RpcRegistry.ANY, p -> {
            ObjectNode o = Json.object();
            o.put("version", Version.string());
            ObjectNode f = o.putObject("fields");
            f.put("major", Version.SPDK_MAJOR);
            f.put("minor", Version.SPDK_MINOR);
            f.put("patch", Version.SPDK_PATCH);
            f.put("suffix", Version.SUFFIX);
            return o;
        });
        rpc.register("rpc_get_methods", GetMethodsParams.class, RpcRegistry.ANY,
                p -> rpc.names(Boolean.TRUE.equals(p.current())));
        rpc.register("framework_start_init", NoParams.class, RpcRegistry.STARTUP,
                p -> t.startInit().thenApply(v -> true));
        rpc.register("framework_wait_init", NoParams.class, RpcRegistry.ANY,
                p -> t.initFuture().thenApply(v -> true));
        rpc.register("spdk_kill_instance", KillParams.class, RpcRegistry.ANY, p -> kill(t, p.sigName()));
        rpc.register("framework_get_subsystems", NoParams.class, RpcRegistry.ANY, p -> {
            ArrayNode out = Json.array();
            for (Subsystem s : t.subsystems()) {
                ObjectNode o = out.addObject();
                o.put("subsystem", s.name());
                ArrayNode d = o.putArray("depends_on");
                s.dependsOn().forEach(d::add);
            }
            return out;
        });
        rpc.register("framework_get_config", GetConfigParams.class, RpcRegistry.ANY, p -> {
            for (Subsystem s : t.subsystems()) {
                if (s.name().equals(p.name())) {
                    return s.config().thenApply(calls -> {
                        ArrayNode out = Json.array();
                        for (ConfigCall c : calls) {
                            ObjectNode o = out.addObject();
                            o.put("method", c.method());
                            if (c.params() != null) {
                                o.set("params", c.params());
                            }
                        }
                        return out;
                    });
                }
            }
            throw new BasaltException(Errno.ENODEV, "subsystem " + p.name() + " not found");
        });
    }

    private static Object kill(Target t, String sig) {
        String s = sig.toUpperCase(Locale.ROOT);
        if (s.startsWith("SIG")) {
            s = s.substring(3);
        }
        switch (s) {
            case "INT", "TERM", "QUIT", "HUP" -> {
                LOG.log(System.Logger.Level.INFO, "spdk_kill_instance " + sig + ": shutting down");
                t.shutdown(0);
            }
            case "KILL" -> {
                LOG.log(System.Logger.Level.WARNING, "spdk_kill_instance SIGKILL: exiting at once");
                Thread.ofPlatform().start(() -> {
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    Runtime.getRuntime().halt(137);
                });
            }
            default -> throw RpcException.invalidParams("spdk_kill_instance: unknown signal " + sig
                    + " (SIGINT, SIGTERM, SIGQUIT, SIGHUP or SIGKILL)");
        }
        return true;
    }

    static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("spdk_get_version", "Get SPDK version").build());
        r.add(RpcSyntax.method("rpc_get_methods", "Get list of supported RPC methods")
                .flag("-c", "--current", "current", "Get list of RPC methods only callable in the current state")
                .flag("-i", "--include-aliases", "include_aliases", "include RPC aliases").build());
        r.add(RpcSyntax.method("framework_start_init", "Start initialization of subsystems").build());
        r.add(RpcSyntax.method("framework_wait_init", "Block until subsystems have been initialized").build());
        r.add(RpcSyntax.method("spdk_kill_instance", "Send signal to instance")
                .pos("sig_name", RpcSyntax.Type.STRING, "signal will be sent to server").build());
        r.add(RpcSyntax.method("framework_get_subsystems",
                "Print subsystems array in initialization order. Each subsystem entry contain (unsorted) array of"
                        + " subsystems it depends on.").build());
        r.add(RpcSyntax.method("framework_get_config", "Print subsystem configuration")
                .pos("name", RpcSyntax.Type.STRING, "Name of subsystem to query").build());
    }
}
