package io.basalt.bdev.nvme;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.nvme.ConnectData;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.rpc.Unsupported;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.UUID;

/** bdev_nvme_* methods with SPDK's names and parameters: decode, check every rule, call the module. */
public final class NvmeRpc {
    private NvmeRpc() {
    }

    public record MultipathOpts(@Unsupported("null") String policy, @Unsupported("null") String selector,
                                @Unsupported("null") Integer minIo) {
    }

    public record AttachParams(
            @JsonProperty(required = true) String name,
            @JsonProperty(required = true) String trtype,
            @JsonProperty(required = true) String traddr,
            String adrfam,
            String trsvcid,
            String subnqn,
            String hostnqn,
            Boolean hdgst,
            Boolean ddgst,
            Integer ctrlrLossTimeoutSec,
            Integer reconnectDelaySec,
            Integer fastIoFailTimeoutSec,
            Integer maxBdevs,
            @Unsupported("null") String priority,
            @Unsupported("null") String hostaddr,
            @Unsupported("null") String hostsvcid,
            @Unsupported("false") Boolean prchkReftag,
            @Unsupported("false") Boolean prchkGuard,
            @Unsupported("null") Integer fabricsConnectTimeoutUs,
            @Unsupported("null") String multipath,
            @Unsupported("null") Integer numIoQueues,
            @Unsupported("null") String psk,
            @Unsupported("null") String dhchapKey,
            @Unsupported("null") String dhchapCtrlrKey,
            @Unsupported("false") Boolean allowUnrecognizedCsi,
            @Unsupported("false") Boolean disableSqFlowControl,
            MultipathOpts multipathOpts) {
    }

    public record DetachParams(@JsonProperty(required = true) String name, String trtype, String traddr, String adrfam,
                               String trsvcid, String subnqn, @Unsupported("null") String hostaddr,
                               @Unsupported("null") String hostsvcid) {
    }

    public record ResetParams(@JsonProperty(required = true) String name, @Unsupported("null") Integer cntlid) {
    }

    public record GetParams(String name) {
    }

    public record SetOptionsParams(
            Long keepAliveTimeoutMs,
            Integer ctrlrLossTimeoutSec,
            Integer reconnectDelaySec,
            Integer fastIoFailTimeoutSec,
            Integer bdevRetryCount,
            Integer transportRetryCount,
            Integer ioQueueRequests,
            Boolean delayCmdSubmit,
            Boolean enableFlush,
            @Unsupported("\"none\"") String actionOnTimeout,
            @Unsupported("0") Long timeoutUs,
            @Unsupported("0") Long timeoutAdminUs,
            @Unsupported("null") Integer arbitrationBurst,
            @Unsupported("null") Integer lowPriorityWeight,
            @Unsupported("null") Integer mediumPriorityWeight,
            @Unsupported("null") Integer highPriorityWeight,
            @Unsupported("null") Long nvmeAdminqPollPeriodUs,
            @Unsupported("null") Long nvmeIoqPollPeriodUs,
            @Unsupported("0") Integer transportAckTimeout,
            @Unsupported("false") Boolean disableAutoFailback,
            @Unsupported("false") Boolean generateUuids,
            @Unsupported("0") Integer transportTos,
            @Unsupported("false") Boolean nvmeErrorStat,
            @Unsupported("0") Integer rdmaSrqSize,
            @Unsupported("false") Boolean ioPathStat,
            @Unsupported("false") Boolean allowAccelSequence,
            @Unsupported("0") Integer rdmaMaxCqSize,
            @Unsupported("null") Integer rdmaCmEventTimeoutMs,
            @Unsupported("null") java.util.List<String> dhchapDigests,
            @Unsupported("null") java.util.List<String> dhchapDhgroups,
            @Unsupported("null") Boolean rdmaUmrPerIo,
            @Unsupported("null") Integer tcpConnectTimeoutMs,
            MultipathOpts multipathOpts) {
    }

    /** The one host identity of this process, used when attach gives no host NQN. */
    private static final UUID HOST_ID = UUID.randomUUID();

    public static void register(RpcRegistry rpc, NvmeModule module) {
        rpc.register("bdev_nvme_attach_controller", AttachParams.class, RpcRegistry.RUNTIME, p -> attach(module, p));
        rpc.register("bdev_nvme_detach_controller", DetachParams.class, RpcRegistry.RUNTIME, p -> {
            NvmeCtrlr c = module.require(p.name());
            NvmeCtrlr.Options o = c.opts;
            if ((p.traddr() != null && !p.traddr().equals(o.traddr()))
                    || (p.trsvcid() != null && !p.trsvcid().equals(Integer.toString(o.port())))
                    || (p.subnqn() != null && !p.subnqn().equals(o.subnqn()))) {
                throw new BasaltException(Errno.ENODEV, "NVMe controller " + p.name() + " has no path to that address");
            }
            return module.detach(p.name()).thenApply(v -> true);
        });
        rpc.register("bdev_nvme_reset_controller", ResetParams.class, RpcRegistry.RUNTIME,
                p -> module.reset(p.name()).thenApply(v -> true));
        rpc.register("bdev_nvme_get_controllers", GetParams.class, RpcRegistry.RUNTIME,
                p -> module.controllersJson(p.name()));
        rpc.register("bdev_nvme_set_options", SetOptionsParams.class, RpcRegistry.ANY, p -> {
            NvmeModule.Options d = module.options();
            int[] t = timeouts("bdev_nvme_set_options", p.ctrlrLossTimeoutSec(), p.reconnectDelaySec(),
                    p.fastIoFailTimeoutSec(), new int[] {d.ctrlrLossTimeoutSec(), d.reconnectDelaySec(),
                        d.fastIoFailTimeoutSec()});
            long ka = p.keepAliveTimeoutMs() == null ? d.keepAliveTimeoutMs() : p.keepAliveTimeoutMs();
            if (ka < 0 || ka > 0xFFFFFFFFL) {
                throw RpcException.invalidParams("bdev_nvme_set_options: keep_alive_timeout_ms " + ka + " is out of range");
            }
            module.setOptions(new NvmeModule.Options(ka, t[0], t[1], t[2],
                    p.bdevRetryCount() == null ? d.bdevRetryCount() : p.bdevRetryCount(),
                    p.transportRetryCount() == null ? d.transportRetryCount() : p.transportRetryCount(),
                    0, "none", p.ioQueueRequests() == null ? d.ioQueueRequests() : p.ioQueueRequests()));
            return true;
        });
    }

    /**
     * The timeout rules of SPDK: loss 0 needs the others 0; otherwise reconnect_delay_sec is not
     * 0 and at most the loss timeout, and a fast-fail timeout that is not 0 lies between them
     * (-1 loss = forever). Returns {loss, delay, fail}.
     */
    static int[] timeouts(String m, Integer loss, Integer delay, Integer fail, int[] dflt) {
        int l = loss == null ? dflt[0] : loss;
        int d = delay == null ? dflt[1] : delay;
        int f = fail == null ? dflt[2] : fail;
        if (l < -1 || d < 0 || f < 0) {
            throw RpcException.invalidParams(m + ": timeouts must not be negative (ctrlr_loss_timeout_sec may be -1)");
        }
        if (l == 0) {
            if (d != 0 || f != 0) {
                throw RpcException.invalidParams(m + ": with ctrlr_loss_timeout_sec 0, reconnect_delay_sec and"
                        + " fast_io_fail_timeout_sec must be 0");
            }
        } else {
            if (d == 0) {
                throw RpcException.invalidParams(m + ": reconnect_delay_sec must not be 0 when ctrlr_loss_timeout_sec is " + l);
            }
            if (l != -1 && d > l) {
                throw RpcException.invalidParams(m + ": reconnect_delay_sec " + d + " exceeds ctrlr_loss_timeout_sec " + l);
            }
            if (f != 0 && (f < d || (l != -1 && f > l))) {
                throw RpcException.invalidParams(m + ": fast_io_fail_timeout_sec " + f + " must lie between"
                        + " reconnect_delay_sec " + d + " and ctrlr_loss_timeout_sec " + l);
            }
        }
        return new int[] {l, d, f};
    }

    private static Object attach(NvmeModule module, AttachParams p) {
        String m = "bdev_nvme_attach_controller";
        if (p.name().isEmpty()) {
            throw RpcException.invalidParams(m + ": name must not be empty");
        }
        if (!p.trtype().equalsIgnoreCase("tcp")) {
            throw RpcException.invalidParams(m + ": trtype '" + p.trtype() + "' is not supported (Basalt's host speaks TCP)");
        }
        String fam = p.adrfam() == null ? "ipv4" : p.adrfam().toLowerCase(Locale.ROOT);
        if (!fam.equals("ipv4") && !fam.equals("ipv6")) {
            throw RpcException.invalidParams(m + ": adrfam '" + p.adrfam() + "' must be ipv4 or ipv6");
        }
        InetAddress addr;
        try {
            addr = InetAddress.ofLiteral(p.traddr());
        } catch (IllegalArgumentException e) {
            addr = null;
        }
        if (addr == null || (fam.equals("ipv6") ? !(addr instanceof Inet6Address) : !(addr instanceof Inet4Address))) {
            throw RpcException.invalidParams(m + ": traddr '" + p.traddr() + "' is not an " + fam + " address");
        }
        int port;
        try {
            port = Integer.parseInt(p.trsvcid() == null ? "4420" : p.trsvcid());
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw RpcException.invalidParams(m + ": trsvcid '" + p.trsvcid() + "' is not a port number");
        }
        if (p.subnqn() == null || p.subnqn().isEmpty() || p.subnqn().length() > ConnectData.NQN_MAX) {
            throw RpcException.invalidParams(m + ": subnqn is required (at most 223 bytes)");
        }
        String hostnqn = p.hostnqn() == null ? ConnectData.uuidNqn(HOST_ID) : p.hostnqn();
        if (hostnqn.isEmpty() || hostnqn.length() > ConnectData.NQN_MAX) {
            throw RpcException.invalidParams(m + ": hostnqn must be 1..223 bytes");
        }
        UUID hostId = HOST_ID;
        String prefix = "nqn.2014-08.org.nvmexpress:uuid:";
        if (hostnqn.startsWith(prefix)) {
            try {
                hostId = UUID.fromString(hostnqn.substring(prefix.length()));
            } catch (IllegalArgumentException e) {
                hostId = UUID.nameUUIDFromBytes(hostnqn.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        } else if (p.hostnqn() != null) {
            hostId = UUID.nameUUIDFromBytes(hostnqn.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        if (p.maxBdevs() != null && p.maxBdevs() < 1) {
            throw RpcException.invalidParams(m + ": max_bdevs must be positive");
        }
        NvmeModule.Options d = module.options();
        int[] t = timeouts(m, p.ctrlrLossTimeoutSec(), p.reconnectDelaySec(), p.fastIoFailTimeoutSec(),
                new int[] {d.ctrlrLossTimeoutSec(), d.reconnectDelaySec(), d.fastIoFailTimeoutSec()});
        NvmeCtrlr.Options o = new NvmeCtrlr.Options(fam.equals("ipv6") ? "IPv6" : "IPv4", addr.getHostAddress(), port,
                p.subnqn(), hostnqn, hostId, Boolean.TRUE.equals(p.hdgst()), Boolean.TRUE.equals(p.ddgst()), t[0], t[1],
                t[2], d.keepAliveTimeoutMs());
        return module.attach(p.name(), o);
    }

    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("bdev_nvme_attach_controller", "Add bdevs with nvme backend")
                .reqOpt("-b", "--name", "name", RpcSyntax.Type.STRING, "Name of the NVMe controller, prefix for each bdev name")
                .reqOpt("-t", "--trtype", "trtype", RpcSyntax.Type.STRING, "NVMe-oF target trtype (tcp)")
                .reqOpt("-a", "--traddr", "traddr", RpcSyntax.Type.STRING, "NVMe-oF target address (IP)")
                .opt("-f", "--adrfam", "adrfam", RpcSyntax.Type.STRING, "ipv4 or ipv6")
                .opt("-s", "--trsvcid", "trsvcid", RpcSyntax.Type.STRING, "Port (4420)")
                .opt("-p", "--priority", "priority", RpcSyntax.Type.STRING, "Not supported")
                .opt("-n", "--subnqn", "subnqn", RpcSyntax.Type.STRING, "NVMe-oF target subnqn")
                .opt("-q", "--hostnqn", "hostnqn", RpcSyntax.Type.STRING, "NVMe-oF host NQN")
                .opt("-i", "--hostaddr", "hostaddr", RpcSyntax.Type.STRING, "Not supported")
                .opt("-c", "--hostsvcid", "hostsvcid", RpcSyntax.Type.STRING, "Not supported")
                .flag("-r", "--prchk-reftag", "prchk_reftag", "Not supported")
                .flag("-g", "--prchk-guard", "prchk_guard", "Not supported")
                .flag("-e", "--hdgst", "hdgst", "Enable TCP header digest")
                .flag("-d", "--ddgst", "ddgst", "Enable TCP data digest")
                .opt(null, "--fabrics-timeout", "fabrics_connect_timeout_us", RpcSyntax.Type.INT, "Not supported")
                .opt("-x", "--multipath", "multipath", RpcSyntax.Type.STRING, "Not supported")
                .opt(null, "--num-io-queues", "num_io_queues", RpcSyntax.Type.INT, "Not supported (one per reactor)")
                .opt("-l", "--ctrlr-loss-timeout-sec", "ctrlr_loss_timeout_sec", RpcSyntax.Type.INT,
                        "Seconds to reconnect before the controller is deleted (-1 = forever, 0 = no retry)")
                .opt("-o", "--reconnect-delay-sec", "reconnect_delay_sec", RpcSyntax.Type.INT, "Seconds between reconnects")
                .opt("-u", "--fast-io-fail-timeout-sec", "fast_io_fail_timeout_sec", RpcSyntax.Type.INT,
                        "Seconds after which waiting I/O fails (0 = never)")
                .opt("-k", "--psk", "psk", RpcSyntax.Type.STRING, "Not supported")
                .opt("-m", "--max-bdevs", "max_bdevs", RpcSyntax.Type.INT, "Size of the returned name array")
                .opt(null, "--dhchap-key", "dhchap_key", RpcSyntax.Type.STRING, "Not supported")
                .opt(null, "--dhchap-ctrlr-key", "dhchap_ctrlr_key", RpcSyntax.Type.STRING, "Not supported")
                .flag("-U", "--allow-unrecognized-csi", "allow_unrecognized_csi", "Not supported")
                .build(a -> {
                    ObjectNode p = a.toParams();
                    for (String k : new String[] {"prchk_reftag", "prchk_guard", "hdgst", "ddgst", "allow_unrecognized_csi"}) {
                        p.put(k, a.has(k));
                    }
                    return p;
                }));
        r.add(RpcSyntax.method("bdev_nvme_detach_controller", "Detach an NVMe controller and delete its bdevs")
                .pos("name", RpcSyntax.Type.STRING, "Name of the controller")
                .opt("-t", "--trtype", "trtype", RpcSyntax.Type.STRING, "NVMe-oF target trtype")
                .opt("-a", "--traddr", "traddr", RpcSyntax.Type.STRING, "NVMe-oF target address")
                .opt("-f", "--adrfam", "adrfam", RpcSyntax.Type.STRING, "NVMe-oF target adrfam")
                .opt("-s", "--trsvcid", "trsvcid", RpcSyntax.Type.STRING, "NVMe-oF target trsvcid")
                .opt("-n", "--subnqn", "subnqn", RpcSyntax.Type.STRING, "NVMe-oF target subnqn")
                .opt("-i", "--hostaddr", "hostaddr", RpcSyntax.Type.STRING, "Not supported")
                .opt("-c", "--hostsvcid", "hostsvcid", RpcSyntax.Type.STRING, "Not supported")
                .build());
        r.add(RpcSyntax.method("bdev_nvme_reset_controller", "Reset an NVMe controller")
                .pos("name", RpcSyntax.Type.STRING, "Name of the NVMe controller")
                .opt("-c", "--cntlid", "cntlid", RpcSyntax.Type.INT, "Not supported")
                .build());
        r.add(RpcSyntax.method("bdev_nvme_get_controllers", "Display NVMe controllers")
                .opt("-n", "--name", "name", RpcSyntax.Type.STRING, "Name of the NVMe controller")
                .build());
        r.add(RpcSyntax.method("bdev_nvme_set_options", "Set options for the bdev nvme type")
                .opt("-a", "--action-on-timeout", "action_on_timeout", RpcSyntax.Type.STRING, "Only none")
                .opt("-t", "--timeout-us", "timeout_us", RpcSyntax.Type.LONG, "Only 0")
                .opt(null, "--timeout-admin-us", "timeout_admin_us", RpcSyntax.Type.LONG, "Only 0")
                .opt("-k", "--keep-alive-timeout-ms", "keep_alive_timeout_ms", RpcSyntax.Type.LONG, "Keep alive timeout (ms)")
                .opt("-s", "--io-queue-requests", "io_queue_requests", RpcSyntax.Type.INT, "Requests per I/O queue")
                .flag("-d", "--disable-delay-cmd-submit", "delay_cmd_submit", "No batching of submissions")
                .opt("-c", "--transport-retry-count", "transport_retry_count", RpcSyntax.Type.INT, "Transport retries")
                .opt("-r", "--bdev-retry-count", "bdev_retry_count", RpcSyntax.Type.INT, "Bdev retries")
                .opt("-e", "--transport-ack-timeout", "transport_ack_timeout", RpcSyntax.Type.INT, "Only 0")
                .opt("-l", "--ctrlr-loss-timeout-sec", "ctrlr_loss_timeout_sec", RpcSyntax.Type.INT, "Default for attach")
                .opt("-o", "--reconnect-delay-sec", "reconnect_delay_sec", RpcSyntax.Type.INT, "Default for attach")
                .opt("-u", "--fast-io-fail-timeout-sec", "fast_io_fail_timeout_sec", RpcSyntax.Type.INT, "Default for attach")
                .flag("-f", "--disable-auto-failback", "disable_auto_failback", "Not supported")
                .flag(null, "--generate-uuids", "generate_uuids", "Not supported")
                .flag("-m", "--nvme-error-stat", "nvme_error_stat", "Not supported")
                .flag(null, "--io-path-stat", "io_path_stat", "Not supported")
                .flag(null, "--allow-accel-sequence", "allow_accel_sequence", "Not supported")
                .flag(null, "--enable-flush", "enable_flush", "Flushes always go to a controller with a volatile cache")
                .build(a -> {
                    ObjectNode p = a.toParams();
                    p.put("delay_cmd_submit", !a.has("delay_cmd_submit"));
                    for (String k : new String[] {"disable_auto_failback", "generate_uuids", "nvme_error_stat",
                            "io_path_stat", "allow_accel_sequence", "enable_flush"}) {
                        p.put(k, a.has(k));
                    }
                    return p;
                }));
    }
}
