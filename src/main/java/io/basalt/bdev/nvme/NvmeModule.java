package io.basalt.bdev.nvme;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The NVMe/TCP host module (SPDK's bdev_nvme): attached controllers by name, and the module
 * options of bdev_nvme_set_options (defaults for attach). Threading: the application reactor.
 */
public final class NvmeModule implements BdevModule {
    /** bdev_nvme_set_options values Basalt uses. */
    public record Options(long keepAliveTimeoutMs, int ctrlrLossTimeoutSec, int reconnectDelaySec,
                          int fastIoFailTimeoutSec, int bdevRetryCount, int transportRetryCount, long timeoutUs,
                          String actionOnTimeout, int ioQueueRequests) {
        public static Options defaults() {
            return new Options(10000, 0, 0, 0, 3, 4, 0, "none", 0);
        }
    }

    private final BdevLayer layer;
    private final Map<String, NvmeCtrlr> ctrlrs = new LinkedHashMap<>();
    private Options options = Options.defaults();
    private boolean optionsSet;

    public NvmeModule(BdevLayer layer) {
        this.layer = layer;
    }

    @Override
    public String name() {
        return "nvme";
    }

    BdevLayer layer() {
        return layer;
    }

    public Options options() {
        return options;
    }

    /** bdev_nvme_set_options: only before any controller is attached (as SPDK). */
    public void setOptions(Options o) {
        if (!ctrlrs.isEmpty()) {
            throw new BasaltException(Errno.EPERM, "bdev_nvme_set_options must be called before any controller is attached");
        }
        options = o;
        optionsSet = true;
    }

    CompletableFuture<List<String>> attach(String name, NvmeCtrlr.Options o) {
        layer.reactors().app().assertInReactor();
        if (ctrlrs.containsKey(name)) {
            throw new BasaltException(Errno.EEXIST, "NVMe controller " + name + " already exists");
        }
        NvmeCtrlr c = new NvmeCtrlr(this, name, o);
        ctrlrs.put(name, c);
        return c.attach();
    }

    void forget(NvmeCtrlr c) {
        ctrlrs.remove(c.name, c);
    }

    NvmeCtrlr require(String name) {
        NvmeCtrlr c = ctrlrs.get(name);
        if (c == null || c.state() == NvmeCtrlr.State.DELETING || c.state() == NvmeCtrlr.State.DELETED) {
            throw new BasaltException(Errno.ENODEV, "NVMe controller " + name + " not found");
        }
        return c;
    }

    public CompletableFuture<Void> detach(String name) {
        return require(name).delete("detached");
    }

    public CompletableFuture<Void> reset(String name) {
        return require(name).reset();
    }

    public ArrayNode controllersJson(String name) {
        ArrayNode out = Json.array();
        if (name != null) {
            out.add(require(name).toJson());
            return out;
        }
        for (NvmeCtrlr c : ctrlrs.values()) {
            out.add(c.toJson());
        }
        return out;
    }

    /** SPDK writes bdev_nvme_set_options, then one bdev_nvme_attach_controller per controller. */
    @Override
    public void writeModuleConfig(List<ConfigCall> out) {
        ObjectNode o = Json.object();
        o.put("action_on_timeout", options.actionOnTimeout());
        o.put("timeout_us", options.timeoutUs());
        o.put("keep_alive_timeout_ms", options.keepAliveTimeoutMs());
        o.put("transport_retry_count", options.transportRetryCount());
        o.put("bdev_retry_count", options.bdevRetryCount());
        o.put("ctrlr_loss_timeout_sec", options.ctrlrLossTimeoutSec());
        o.put("reconnect_delay_sec", options.reconnectDelaySec());
        o.put("fast_io_fail_timeout_sec", options.fastIoFailTimeoutSec());
        if (options.ioQueueRequests() > 0) {
            o.put("io_queue_requests", options.ioQueueRequests());
        }
        if (optionsSet || !ctrlrs.isEmpty()) {
            out.add(new ConfigCall("bdev_nvme_set_options", o));
        }
        for (NvmeCtrlr c : new ArrayList<>(ctrlrs.values())) {
            if (c.state() == NvmeCtrlr.State.DELETING || c.state() == NvmeCtrlr.State.DELETED) {
                continue;
            }
            NvmeCtrlr.Options a = c.opts;
            ObjectNode p = Json.object();
            p.put("name", c.name);
            p.put("trtype", "TCP");
            p.put("adrfam", a.adrfam());
            p.put("traddr", a.traddr());
            p.put("trsvcid", Integer.toString(a.port()));
            p.put("subnqn", a.subnqn());
            p.put("hostnqn", a.hostnqn());
            p.put("hdgst", a.hdgst());
            p.put("ddgst", a.ddgst());
            p.put("ctrlr_loss_timeout_sec", a.ctrlrLossTimeoutSec());
            p.put("reconnect_delay_sec", a.reconnectDelaySec());
            p.put("fast_io_fail_timeout_sec", a.fastIoFailTimeoutSec());
            out.add(new ConfigCall("bdev_nvme_attach_controller", p));
        }
    }

    @Override
    public void fini(Runnable done) {
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (NvmeCtrlr c : new ArrayList<>(ctrlrs.values())) {
            fs.add(layer.reactors().app().callAsync(() -> c.delete("shutdown")));
        }
        CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).whenComplete((v, t) -> done.run());
    }
}
