package io.basalt.nbd;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;

import java.util.List;

/** nbd_start_disk / nbd_stop_disk / nbd_get_disks with SPDK's names; nbd_device as {@link NbdAddress} says. */
public final class NbdRpc {
    private NbdRpc() {
    }

    /** {@code read_only} is a Basalt extension (SPDK always exports read-write). */
    public record StartParams(@JsonProperty(required = true) String bdevName, String nbdDevice, Boolean readOnly) {
    }

    public record StopParams(@JsonProperty(required = true) String nbdDevice) {
    }

    public record GetParams(String nbdDevice) {
    }

    public static void register(RpcRegistry rpc, NbdServer server) {
        rpc.register("nbd_start_disk", StartParams.class, RpcRegistry.RUNTIME,
                p -> server.start(p.bdevName(), p.nbdDevice(), Boolean.TRUE.equals(p.readOnly())));
        rpc.register("nbd_stop_disk", StopParams.class, RpcRegistry.RUNTIME,
                p -> server.stop(p.nbdDevice()).thenApply(v -> true));
        rpc.register("nbd_get_disks", GetParams.class, RpcRegistry.RUNTIME, p -> {
            List<NbdExport> list = server.list(p.nbdDevice());
            if (p.nbdDevice() != null && list.isEmpty()) {
                throw new BasaltException(Errno.ENODEV, "no NBD export at " + p.nbdDevice());
            }
            ArrayNode out = Json.array();
            for (NbdExport e : list) {
                out.add(entry(e));
            }
            return out;
        });
    }

    static ObjectNode entry(NbdExport e) {
        ObjectNode o = Json.object();
        o.put("nbd_device", e.uri());
        o.put("bdev_name", e.bdevName());
        return o;
    }

    /** rpc.py's syntax: {@code nbd_start_disk bdev_name [nbd_device]} and friends. */
    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("nbd_start_disk", "Export a bdev as an nbd disk")
                .pos("bdev_name", RpcSyntax.Type.STRING, "Blockdev name to be exported. Example: Malloc0.")
                .optPos("nbd_device", RpcSyntax.Type.STRING,
                        "Where to serve it: IP:PORT, [IPv6]:PORT, unix:/path or an NBD URI (default "
                                + NbdAddress.DEFAULT + ")")
                .flag("-r", "--read-only", "read_only", "Export read-only (Basalt extension)")
                .build());
        r.add(RpcSyntax.method("nbd_stop_disk", "Stop an nbd disk")
                .pos("nbd_device", RpcSyntax.Type.STRING, "The export, as nbd_get_disks lists it (or its address)")
                .build());
        r.add(RpcSyntax.method("nbd_get_disks", "Display full or specified nbd device list")
                .opt("-n", "--nbd-device", "nbd_device", RpcSyntax.Type.STRING, "Path of the nbd device")
                .build());
    }
}
