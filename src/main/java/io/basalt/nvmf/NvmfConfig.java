package io.basalt.nvmf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.config.ConfigCall;
import io.basalt.config.Subsystem;
import io.basalt.nvme.ConnectData;
import io.basalt.nvme.Wire;
import io.basalt.runtime.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The "nvmf" subsystem of save_config, in SPDK's order: the transport, then per subsystem
 * nvmf_create_subsystem, its listeners, its hosts and its namespaces (with their identifiers, so
 * hosts recognise them after a restart). Deletes everything at shutdown.
 */
public final class NvmfConfig implements Subsystem {
    private final NvmfTarget target;

    public NvmfConfig(NvmfTarget target) {
        this.target = target;
    }

    @Override
    public String name() {
        return "nvmf";
    }

    @Override
    public List<String> dependsOn() {
        return List.of("bdev");
    }

    @Override
    public CompletableFuture<List<ConfigCall>> config() {
        List<ConfigCall> out = new ArrayList<>();
        TransportOptions t = target.transport();
        if (t != null) {
            out.add(new ConfigCall("nvmf_create_transport", t.toJson()));
        }
        for (ListenAddress a : target.discoveryListeners()) {
            out.add(listener(ConnectData.DISCOVERY_NQN, a));
        }
        for (NvmfSubsystemView s : target.views()) {
            ObjectNode p = Json.object();
            p.put("nqn", s.nqn());
            p.put("allow_any_host", s.allowAnyHost());
            p.put("serial_number", s.serialNumber());
            p.put("model_number", s.modelNumber());
            p.put("max_namespaces", s.maxNamespaces());
            p.put("min_cntlid", s.minCntlid());
            p.put("max_cntlid", s.maxCntlid());
            p.put("ana_reporting", false);
            out.add(new ConfigCall("nvmf_create_subsystem", p));
            for (ListenAddress a : s.listeners()) {
                out.add(listener(s.nqn(), a));
            }
            for (String h : s.hosts()) {
                out.add(new ConfigCall("nvmf_subsystem_add_host", Json.object().put("nqn", s.nqn()).put("host", h)));
            }
            for (NvmfSubsystemView.Ns n : s.namespaces()) {
                ObjectNode np = Json.object();
                np.put("nqn", s.nqn());
                ObjectNode ns = np.putObject("namespace");
                ns.put("nsid", n.nsid());
                ns.put("bdev_name", n.bdevName());
                if (n.ids().hasNguid()) {
                    ns.put("nguid", Wire.hex(n.ids().nguid()));
                }
                if (n.ids().hasEui64()) {
                    ns.put("eui64", Wire.hex(n.ids().eui64()));
                }
                if (n.ids().uuid() != null) {
                    ns.put("uuid", n.ids().uuid().toString());
                }
                ns.put("no_auto_visible", false);
                out.add(new ConfigCall("nvmf_subsystem_add_ns", np));
            }
        }
        return CompletableFuture.completedFuture(out);
    }

    private static ConfigCall listener(String nqn, ListenAddress a) {
        ObjectNode p = Json.object();
        p.put("nqn", nqn);
        p.set("listen_address", a.toJson());
        p.put("secure_channel", false);
        return new ConfigCall("nvmf_subsystem_add_listener", p);
    }

    @Override
    public CompletableFuture<Void> fini() {
        return target.fini();
    }
}
