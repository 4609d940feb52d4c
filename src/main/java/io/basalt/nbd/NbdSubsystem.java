package io.basalt.nbd;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.config.ConfigCall;
import io.basalt.config.Subsystem;
import io.basalt.runtime.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The "nbd" subsystem of save_config: one nbd_start_disk per export; stops every export at shutdown. */
public final class NbdSubsystem implements Subsystem {
    private final NbdServer server;

    public NbdSubsystem(NbdServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "nbd";
    }

    @Override
    public List<String> dependsOn() {
        return List.of("bdev");
    }

    @Override
    public CompletableFuture<List<ConfigCall>> config() {
        List<ConfigCall> out = new ArrayList<>();
        for (NbdExport e : server.list(null)) {
            ObjectNode p = Json.object();
            p.put("bdev_name", e.bdevName());
            p.put("nbd_device", e.uri());
            if (e.readOnly()) {
                p.put("read_only", true);
            }
            out.add(new ConfigCall("nbd_start_disk", p));
        }
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public CompletableFuture<Void> fini() {
        return server.fini();
    }
}
