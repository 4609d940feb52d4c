package io.basalt.nvmf;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.BdevNames;
import io.basalt.nvme.ConnectData;
import io.basalt.nvme.Wire;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.rpc.Unsupported;
import io.basalt.runtime.Json;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Pattern;

/** The nvmf_* methods with SPDK's names and parameters: decode, check everything, call the target. */
public final class NvmfRpc {
    private NvmfRpc() {
    }

    public record CreateTransportParams(
            @JsonProperty(required = true) String trtype,
            @Unsupported("null") String tgtName,
            Integer maxQueueDepth,
            Integer maxQpairsPerCtrlr,
            Integer maxIoQpairsPerCtrlr,
            Integer inCapsuleDataSize,
            Integer maxIoSize,
            Integer ioUnitSize,
            Integer maxAqDepth,
            Integer numSharedBuffers,
            Long bufCacheSize,
            Boolean c2hSuccess,
            Integer abortTimeoutSec,
            Integer controlMsgNum,
            Integer kas,
            Integer minKato,
            @Unsupported("false") Boolean zcopy,
            @Unsupported("false") Boolean difInsertOrStrip,
            @Unsupported("0") Integer sockPriority,
            @Unsupported("false") Boolean noSrq,
            @Unsupported("null") Integer numCqe,
            @Unsupported("null") Integer maxSrqDepth,
            @Unsupported("null") Integer acceptorBacklog,
            @Unsupported("false") Boolean noWrBatching,
            @Unsupported("false") Boolean disableMappableBar0,
            @Unsupported("false") Boolean disableAdaptiveIrq,
            @Unsupported("false") Boolean disableShadowDoorbells,
            @Unsupported("null") Integer acceptorPollRate,
            @Unsupported("0") Integer ackTimeout,
            @Unsupported("null") Integer dataWrPoolSize,
            @Unsupported("false") Boolean disableCommandPassthru) {
    }

    public record GetTransportsParams(String trtype, @Unsupported("null") String tgtName) {
    }

    public record CreateSubsystemParams(
            @JsonProperty(required = true) String nqn,
            @Unsupported("null") String tgtName,
            String serialNumber,
            String modelNumber,
            Boolean allowAnyHost,
            Integer maxNamespaces,
            Integer minCntlid,
            Integer maxCntlid,
            @Unsupported("false") Boolean anaReporting,
            @Unsupported("null") Integer maxDiscardSizeKib,
            @Unsupported("null") Integer maxWriteZeroesSizeKib,
            @Unsupported("false") Boolean passthrough,
            @Unsupported("false") Boolean enableNssr) {
    }

    public record NqnParams(@JsonProperty(required = true) String nqn, @Unsupported("null") String tgtName) {
    }

    public record GetSubsystemsParams(String nqn, @Unsupported("null") String tgtName) {
    }

    public record Address(@JsonProperty(required = true) String trtype, @JsonProperty(required = true) String traddr,
                          String adrfam, String trsvcid) {
    }

    public record AddListenerParams(
            @JsonProperty(required = true) String nqn,
            @JsonProperty(required = true) Address listenAddress,
            @Unsupported("null") String tgtName,
            @Unsupported("false") Boolean secureChannel,
            @Unsupported("null") String anaState,
            @Unsupported("null") String sockImpl) {
    }

    public record RemoveListenerParams(
            @JsonProperty(required = true) String nqn,
            @JsonProperty(required = true) Address listenAddress,
            @Unsupported("null") String tgtName) {
    }

    public record HostParams(
            @JsonProperty(required = true) String nqn,
            @JsonProperty(required = true) String host,
            @Unsupported("null") String tgtName,
            @Unsupported("null") String psk,
            @Unsupported("null") String dhchapKey,
            @Unsupported("null") String dhchapCtrlrKey) {
    }

    public record RemoveHostParams(
            @JsonProperty(required = true) String nqn,
            @JsonProperty(required = true) String host,
            @Unsupported("null") String tgtName) {
    }

    public record Namespace(
            @JsonProperty(required = true) String bdevName,
            Integer nsid,
            String nguid,
            String eui64,
            String uuid,
            @Unsupported("null") String ptplFile,
            @Unsupported("null") Integer anagrpid,
            @Unsupported("false") Boolean noAutoVisible,
            @Unsupported("false") Boolean hideMetadata) {
    }

    public record AddNsParams(
            @JsonProperty(required = true) String nqn,
            @JsonProperty(required = true) Namespace namespace,
            @Unsupported("null") String tgtName) {
    }

    public record RemoveNsParams(
            @JsonProperty(required = true) String nqn,
            @JsonProperty(required = true) Long nsid,
            @Unsupported("null") String tgtName) {
    }

    private static final Pattern NQN = Pattern.compile("nqn\\.[0-9]{4}-[0-9]{2}\\.[^:]+(:.+)?");

    public static void register(RpcRegistry rpc, NvmfTarget target) {
        rpc.register("nvmf_create_transport", CreateTransportParams.class, RpcRegistry.RUNTIME, p -> {
            target.createTransport(transportOptions(p));
            return true;
        });
        rpc.register("nvmf_get_transports", GetTransportsParams.class, RpcRegistry.RUNTIME, p -> {
            ArrayNode out = Json.array();
            TransportOptions t = target.transport();
            if (p.trtype() != null && !p.trtype().equalsIgnoreCase("TCP")) {
                throw new io.basalt.runtime.BasaltException(io.basalt.runtime.Errno.ENODEV, "transport "
                        + p.trtype() + " not found");
            }
            if (t != null) {
                out.add(t.toJson());
            } else if (p.trtype() != null) {
                throw new io.basalt.runtime.BasaltException(io.basalt.runtime.Errno.ENODEV, "transport TCP not found");
            }
            return out;
        });
        rpc.register("nvmf_create_subsystem", CreateSubsystemParams.class, RpcRegistry.RUNTIME, p -> {
            createSubsystem(target, p);
            return true;
        });
        rpc.register("nvmf_delete_subsystem", NqnParams.class, RpcRegistry.RUNTIME,
                p -> target.deleteSubsystem(p.nqn()).thenApply(v -> true));
        rpc.register("nvmf_get_subsystems", GetSubsystemsParams.class, RpcRegistry.RUNTIME,
                p -> target.subsystemsJson(p.nqn()));
        rpc.register("nvmf_subsystem_get_controllers", NqnParams.class, RpcRegistry.RUNTIME,
                p -> target.controllersJson(p.nqn()));
        rpc.register("nvmf_subsystem_add_listener", AddListenerParams.class, RpcRegistry.RUNTIME,
                p -> target.addListener(discoveryAlias(p.nqn()), address("nvmf_subsystem_add_listener",
                        p.listenAddress())).thenApply(v -> true));
        rpc.register("nvmf_subsystem_remove_listener", RemoveListenerParams.class, RpcRegistry.RUNTIME,
                p -> target.removeListener(discoveryAlias(p.nqn()), address("nvmf_subsystem_remove_listener",
                        p.listenAddress())).thenApply(v -> true));
        rpc.register("nvmf_subsystem_add_host", HostParams.class, RpcRegistry.RUNTIME, p -> {
            checkNqn("nvmf_subsystem_add_host", "host", p.host());
            target.addHost(p.nqn(), p.host());
            return true;
        });
        rpc.register("nvmf_subsystem_remove_host", RemoveHostParams.class, RpcRegistry.RUNTIME, p -> {
            target.removeHost(p.nqn(), p.host());
            return true;
        });
        rpc.register("nvmf_subsystem_add_ns", AddNsParams.class, RpcRegistry.RUNTIME, p -> addNs(target, p));
        rpc.register("nvmf_subsystem_remove_ns", RemoveNsParams.class, RpcRegistry.RUNTIME, p -> {
            if (p.nsid() < 1 || p.nsid() > 0xFFFFFFFEL) {
                throw RpcException.invalidParams("nvmf_subsystem_remove_ns: nsid " + p.nsid() + " is not a valid NSID");
            }
            return target.removeNamespace(p.nqn(), (int) (long) p.nsid()).thenApply(v -> true);
        });
    }

    private static String discoveryAlias(String nqn) {
        return "discovery".equals(nqn) ? ConnectData.DISCOVERY_NQN : nqn;
    }

    static TransportOptions transportOptions(CreateTransportParams p) {
        String m = "nvmf_create_transport";
        if (!p.trtype().equalsIgnoreCase("TCP")) {
            throw RpcException.invalidParams(m + ": transport type '" + p.trtype() + "' is not available (Basalt has TCP)");
        }
        TransportOptions d = TransportOptions.defaults();
        int depth = range(m, "max_queue_depth", p.maxQueueDepth(), d.maxQueueDepth(), 2, 4096);
        int ioq = d.maxIoQpairsPerCtrlr();
        if (p.maxQpairsPerCtrlr() != null) {
            ioq = range(m, "max_qpairs_per_ctrlr", p.maxQpairsPerCtrlr(), 0, 2, 4097) - 1;
        }
        if (p.maxIoQpairsPerCtrlr() != null) {
            ioq = range(m, "max_io_qpairs_per_ctrlr", p.maxIoQpairsPerCtrlr(), 0, 1, 4096);
        }
        int icd = range(m, "in_capsule_data_size", p.inCapsuleDataSize(), d.inCapsuleDataSize(), 0, 131072);
        if (icd % 16 != 0) {
            throw RpcException.invalidParams(m + ": in_capsule_data_size " + icd + " must be a multiple of 16");
        }
        int mio = range(m, "max_io_size", p.maxIoSize(), d.maxIoSize(), 4096, 4 << 20);
        if (Integer.bitCount(mio) != 1) {
            throw RpcException.invalidParams(m + ": max_io_size " + mio + " must be a power of two");
        }
        int unit = range(m, "io_unit_size", p.ioUnitSize(), d.ioUnitSize(), 512, Integer.MAX_VALUE);
        int aq = range(m, "max_aq_depth", p.maxAqDepth(), d.maxAqDepth(), 32, 4096);
        int bufs = range(m, "num_shared_buffers", p.numSharedBuffers(), d.numSharedBuffers(), 0, Integer.MAX_VALUE);
        long cache = p.bufCacheSize() == null ? d.bufCacheSize() : p.bufCacheSize();
        if (cache < 0 || cache > 0xFFFFFFFFL) {
            throw RpcException.invalidParams(m + ": buf_cache_size " + cache + " is out of range");
        }
        int abort = range(m, "abort_timeout_sec", p.abortTimeoutSec(), d.abortTimeoutSec(), 0, Integer.MAX_VALUE);
        int ctl = range(m, "control_msg_num", p.controlMsgNum(), d.controlMsgNum(), 1, Integer.MAX_VALUE);
        int kas = range(m, "kas", p.kas(), d.kas(), 1, 0xFFFF);
        int minKato = range(m, "min_kato", p.minKato(), d.minKato(), 1, Integer.MAX_VALUE);
        boolean c2h = p.c2hSuccess() == null || p.c2hSuccess();
        return new TransportOptions(depth, ioq, icd, mio, unit, aq, bufs, cache, c2h, abort, ctl, kas, minKato);
    }

    private static int range(String m, String name, Integer v, int dflt, int min, int max) {
        int x = v == null ? dflt : v;
        if (x < min || x > max) {
            throw RpcException.invalidParams(m + ": " + name + " " + x + " must be in " + min + ".." + max);
        }
        return x;
    }

    static void checkNqn(String m, String param, String nqn) {
        byte[] b = nqn.getBytes(StandardCharsets.UTF_8);
        if (b.length < 11 || b.length > ConnectData.NQN_MAX || !NQN.matcher(nqn).matches()) {
            throw RpcException.invalidParams(m + ": " + param + " '" + nqn + "' is not a valid NQN"
                    + " (nqn.yyyy-mm.reverse-domain[:name], at most 223 bytes)");
        }
    }

    private static void createSubsystem(NvmfTarget target, CreateSubsystemParams p) {
        String m = "nvmf_create_subsystem";
        checkNqn(m, "nqn", p.nqn());
        String sn = p.serialNumber() == null ? NvmfTarget.DEFAULT_SERIAL : p.serialNumber();
        String mn = p.modelNumber() == null ? NvmfTarget.DEFAULT_MODEL : p.modelNumber();
        ascii(m, "serial_number", sn, 20);
        ascii(m, "model_number", mn, 40);
        int maxNs = p.maxNamespaces() == null || p.maxNamespaces() == 0 ? 32 : range(m, "max_namespaces",
                p.maxNamespaces(), 32, 1, 1024);
        int min = range(m, "min_cntlid", p.minCntlid(), 1, 1, 0xFFEF);
        int max = range(m, "max_cntlid", p.maxCntlid(), 0xFFEF, 1, 0xFFEF);
        if (min > max) {
            throw RpcException.invalidParams(m + ": min_cntlid " + min + " is above max_cntlid " + max);
        }
        target.createSubsystem(p.nqn(), sn, mn, Boolean.TRUE.equals(p.allowAnyHost()), maxNs, min, max);
    }

    private static void ascii(String m, String name, String v, int max) {
        if (v.isEmpty() || v.length() > max || !v.chars().allMatch(c -> c >= 0x20 && c <= 0x7E)) {
            throw RpcException.invalidParams(m + ": " + name + " '" + v + "' must be 1.." + max + " printable ASCII characters");
        }
    }

    static ListenAddress address(String m, Address a) {
        if (!a.trtype().equalsIgnoreCase("TCP")) {
            throw RpcException.invalidParams(m + ": trtype '" + a.trtype() + "' is not available (Basalt has TCP)");
        }
        String fam = a.adrfam() == null ? "IPv4" : a.adrfam();
        boolean v6;
        switch (fam.toLowerCase(Locale.ROOT)) {
            case "ipv4" -> v6 = false;
            case "ipv6" -> v6 = true;
            default -> throw RpcException.invalidParams(m + ": adrfam '" + fam + "' must be IPv4 or IPv6");
        }
        InetAddress ia = literal(a.traddr());
        if (ia == null || (v6 ? !(ia instanceof Inet6Address) : !(ia instanceof Inet4Address))) {
            throw RpcException.invalidParams(m + ": traddr '" + a.traddr() + "' is not an " + (v6 ? "IPv6" : "IPv4")
                    + " address");
        }
        if (a.trsvcid() == null) {
            throw RpcException.invalidParams(m + ": trsvcid (the port) is required for TCP");
        }
        int port;
        try {
            port = Integer.parseInt(a.trsvcid());
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw RpcException.invalidParams(m + ": trsvcid '" + a.trsvcid() + "' is not a port number");
        }
        return new ListenAddress(v6 ? "IPv6" : "IPv4", ia.getHostAddress(), port);
    }

    private static InetAddress literal(String s) {
        if (s == null || s.isEmpty() || !(s.matches("[0-9.]+") || s.contains(":"))) {
            return null;
        }
        try {
            return InetAddress.ofLiteral(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Object addNs(NvmfTarget target, AddNsParams p) {
        String m = "nvmf_subsystem_add_ns";
        Namespace n = p.namespace();
        int nsid = n.nsid() == null ? 0 : n.nsid();
        if (nsid < 0) {
            throw RpcException.invalidParams(m + ": nsid " + nsid + " must not be negative");
        }
        byte[] nguid = null;
        if (n.nguid() != null) {
            nguid = Wire.parseHex(n.nguid(), 16);
            if (nguid == null) {
                throw RpcException.invalidParams(m + ": nguid '" + n.nguid() + "' must be 16 bytes in hex");
            }
        }
        byte[] eui = null;
        if (n.eui64() != null) {
            eui = Wire.parseHex(n.eui64(), 8);
            if (eui == null) {
                throw RpcException.invalidParams(m + ": eui64 '" + n.eui64() + "' must be 8 bytes in hex");
            }
        }
        UUID uuid = BdevNames.parseUuid(m, "uuid", n.uuid());
        return target.addNamespace(p.nqn(), n.bdevName(), nsid, nguid, eui, uuid);
    }

    // ------------------------------------------------------------------ rpc.py syntax

    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("nvmf_create_transport", "Create NVMf transport")
                .reqOpt("-t", "--trtype", "trtype", RpcSyntax.Type.STRING, "Transport type (TCP)")
                .opt("-g", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (only the default)")
                .opt("-q", "--max-queue-depth", "max_queue_depth", RpcSyntax.Type.INT, "Max outstanding I/O per queue")
                .opt("-m", "--max-io-qpairs-per-ctrlr", "max_io_qpairs_per_ctrlr", RpcSyntax.Type.INT, "Max I/O qpairs per controller")
                .opt("-c", "--in-capsule-data-size", "in_capsule_data_size", RpcSyntax.Type.INT, "In-capsule data size")
                .opt("-i", "--max-io-size", "max_io_size", RpcSyntax.Type.INT, "Max I/O size (bytes)")
                .opt("-u", "--io-unit-size", "io_unit_size", RpcSyntax.Type.INT, "I/O unit size (bytes)")
                .opt("-a", "--max-aq-depth", "max_aq_depth", RpcSyntax.Type.INT, "Max admin commands per AQ")
                .opt("-n", "--num-shared-buffers", "num_shared_buffers", RpcSyntax.Type.INT, "Pooled data buffers")
                .opt("-b", "--buf-cache-size", "buf_cache_size", RpcSyntax.Type.LONG, "Buffers cached per poll group")
                .flag("-z", "--zcopy", "zcopy", "Zero-copy (not supported)")
                .opt("-d", "--num-cqe", "num_cqe", RpcSyntax.Type.INT, "RDMA only (not supported)")
                .opt("-s", "--max-srq-depth", "max_srq_depth", RpcSyntax.Type.INT, "RDMA only (not supported)")
                .flag("-r", "--no-srq", "no_srq", "RDMA only (not supported)")
                .flag("-o", "--c2h-success", "c2h_success", "Disable the C2H success optimization")
                .flag("-f", "--dif-insert-or-strip", "dif_insert_or_strip", "DIF insert/strip (not supported)")
                .opt("-y", "--sock-priority", "sock_priority", RpcSyntax.Type.INT, "Socket priority (only 0)")
                .opt("-l", "--acceptor-backlog", "acceptor_backlog", RpcSyntax.Type.INT, "RDMA only (not supported)")
                .opt("-x", "--abort-timeout-sec", "abort_timeout_sec", RpcSyntax.Type.INT, "Abort timeout (s)")
                .flag("-w", "--no-wr-batching", "no_wr_batching", "RDMA only (not supported)")
                .opt("-e", "--control-msg-num", "control_msg_num", RpcSyntax.Type.INT, "Control messages per poll group")
                .flag("-M", "--disable-mappable-bar0", "disable_mappable_bar0", "VFIO-USER only (not supported)")
                .flag("-I", "--disable-adaptive-irq", "disable_adaptive_irq", "VFIO-USER only (not supported)")
                .flag("-S", "--disable-shadow-doorbells", "disable_shadow_doorbells", "VFIO-USER only (not supported)")
                .opt(null, "--acceptor-poll-rate", "acceptor_poll_rate", RpcSyntax.Type.INT, "Not supported")
                .opt(null, "--ack-timeout", "ack_timeout", RpcSyntax.Type.INT, "RDMA only (only 0)")
                .opt(null, "--data-wr-pool-size", "data_wr_pool_size", RpcSyntax.Type.INT, "RDMA only (not supported)")
                .flag(null, "--disable-command-passthru", "disable_command_passthru", "Not supported")
                .opt(null, "--kas", "kas", RpcSyntax.Type.INT, "Keep alive support granularity (100 ms units)")
                .opt(null, "--min-kato", "min_kato", RpcSyntax.Type.INT, "Minimum keep alive timeout (ms)")
                .build(a -> {
                    ObjectNode p = a.toParams();
                    // rpc.py: store_false for -o, and no_srq / c2h_success sent by default.
                    p.put("c2h_success", !a.has("c2h_success"));
                    for (String k : new String[] {"zcopy", "no_srq", "dif_insert_or_strip", "no_wr_batching",
                            "disable_mappable_bar0", "disable_adaptive_irq", "disable_shadow_doorbells",
                            "disable_command_passthru"}) {
                        p.put(k, a.has(k));
                    }
                    return p;
                }));
        r.add(RpcSyntax.method("nvmf_get_transports", "Display nvmf transports or required transport")
                .opt(null, "--trtype", "trtype", RpcSyntax.Type.STRING, "Transport type (optional)")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .build());
        r.add(RpcSyntax.method("nvmf_get_subsystems", "Display nvmf subsystems or required subsystem")
                .optPos("nqn", RpcSyntax.Type.STRING, "Subsystem NQN (optional)")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .build());
        r.add(RpcSyntax.method("nvmf_subsystem_get_controllers", "Display controllers of an NVMe-oF subsystem")
                .pos("nqn", RpcSyntax.Type.STRING, "NVMe-oF subsystem NQN")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .build());
        r.add(RpcSyntax.method("nvmf_create_subsystem", "Create an NVMe-oF subsystem")
                .pos("nqn", RpcSyntax.Type.STRING, "Subsystem NQN (ASCII)")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .opt("-s", "--serial-number", "serial_number", RpcSyntax.Type.STRING, "Serial number")
                .opt("-d", "--model-number", "model_number", RpcSyntax.Type.STRING, "Model number")
                .flag("-a", "--allow-any-host", "allow_any_host", "Allow any host to connect")
                .opt("-m", "--max-namespaces", "max_namespaces", RpcSyntax.Type.INT, "Maximum number of namespaces")
                .flag("-r", "--ana-reporting", "ana_reporting", "ANA reporting (not supported)")
                .opt("-i", "--min_cntlid", "min_cntlid", RpcSyntax.Type.INT, "Minimum controller ID")
                .opt("-I", "--max_cntlid", "max_cntlid", RpcSyntax.Type.INT, "Maximum controller ID")
                .opt(null, "--max-discard-size", "max_discard_size_kib", RpcSyntax.Type.INT, "Not supported")
                .opt(null, "--max-write-zeroes-size", "max_write_zeroes_size_kib", RpcSyntax.Type.INT, "Not supported")
                .flag("-p", "--passthrough", "passthrough", "Passthrough (not supported)")
                .flag("-n", "--enable_nssr", "enable_nssr", "NSSR (not supported)")
                .build(a -> {
                    ObjectNode p = a.toParams();
                    for (String k : new String[] {"allow_any_host", "ana_reporting", "passthrough", "enable_nssr"}) {
                        p.put(k, a.has(k));
                    }
                    return p;
                }));
        r.add(RpcSyntax.method("nvmf_delete_subsystem", "Delete a nvmf subsystem")
                .pos("nqn", RpcSyntax.Type.STRING, "Subsystem NQN to delete")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .build());
        for (boolean add : new boolean[] {true, false}) {
            String name = add ? "nvmf_subsystem_add_listener" : "nvmf_subsystem_remove_listener";
            RpcSyntax.Builder b = RpcSyntax.method(name, (add ? "Add a listener to" : "Remove a listener from")
                            + " an NVMe-oF subsystem")
                    .pos("nqn", RpcSyntax.Type.STRING, "Subsystem NQN ('discovery' for the discovery NQN)")
                    .reqOpt("-t", "--trtype", "trtype", RpcSyntax.Type.STRING, "Transport type (tcp)")
                    .reqOpt("-a", "--traddr", "traddr", RpcSyntax.Type.STRING, "Transport address (an IP address)")
                    .opt("-p", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                    .opt("-f", "--adrfam", "adrfam", RpcSyntax.Type.STRING, "Address family: ipv4 or ipv6")
                    .opt("-s", "--trsvcid", "trsvcid", RpcSyntax.Type.STRING, "Port");
            if (add) {
                b.flag("-k", "--secure-channel", "secure_channel", "Secure channel (not supported)")
                        .opt("-n", "--ana-state", "ana_state", RpcSyntax.Type.STRING, "ANA state (not supported)")
                        .opt("-S", "--sock-impl", "sock_impl", RpcSyntax.Type.STRING, "Socket implementation (not supported)");
            }
            r.add(b.build(a -> {
                ObjectNode p = Json.object();
                p.put("nqn", a.string("nqn"));
                ObjectNode la = p.putObject("listen_address");
                for (String k : new String[] {"trtype", "traddr", "trsvcid", "adrfam"}) {
                    if (a.has(k)) {
                        la.put(k, a.string(k));
                    }
                }
                for (String k : new String[] {"tgt_name", "ana_state", "sock_impl"}) {
                    if (a.has(k)) {
                        p.put(k, a.string(k));
                    }
                }
                if (add) {
                    p.put("secure_channel", a.has("secure_channel"));
                }
                return p;
            }));
        }
        r.add(RpcSyntax.method("nvmf_subsystem_add_host", "Add a host to an NVMe-oF subsystem")
                .pos("nqn", RpcSyntax.Type.STRING, "Subsystem NQN")
                .pos("host", RpcSyntax.Type.STRING, "Host NQN to allow")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .opt(null, "--psk", "psk", RpcSyntax.Type.STRING, "TLS PSK (not supported)")
                .opt(null, "--dhchap-key", "dhchap_key", RpcSyntax.Type.STRING, "DH-HMAC-CHAP key (not supported)")
                .opt(null, "--dhchap-ctrlr-key", "dhchap_ctrlr_key", RpcSyntax.Type.STRING, "Not supported")
                .build());
        r.add(RpcSyntax.method("nvmf_subsystem_remove_host", "Remove a host from an NVMe-oF subsystem")
                .pos("nqn", RpcSyntax.Type.STRING, "Subsystem NQN")
                .pos("host", RpcSyntax.Type.STRING, "Host NQN to remove")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .build());
        r.add(RpcSyntax.method("nvmf_subsystem_add_ns", "Add a namespace to an NVMe-oF subsystem")
                .pos("nqn", RpcSyntax.Type.STRING, "Subsystem NQN")
                .pos("bdev_name", RpcSyntax.Type.STRING, "The bdev that backs the namespace")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .opt("-p", "--ptpl-file", "ptpl_file", RpcSyntax.Type.STRING, "Not supported")
                .opt("-n", "--nsid", "nsid", RpcSyntax.Type.INT, "The requested NSID (optional)")
                .opt("-g", "--nguid", "nguid", RpcSyntax.Type.STRING, "Namespace globally unique identifier")
                .opt("-e", "--eui64", "eui64", RpcSyntax.Type.STRING, "Namespace EUI-64 identifier")
                .opt("-u", "--uuid", "uuid", RpcSyntax.Type.STRING, "Namespace UUID")
                .opt("-a", "--anagrpid", "anagrpid", RpcSyntax.Type.INT, "ANA group ID (not supported)")
                .flag("-i", "--no-auto-visible", "no_auto_visible", "Not supported")
                .flag("-N", "--hide-metadata", "hide_metadata", "Not supported")
                .build(a -> {
                    ObjectNode p = Json.object();
                    p.put("nqn", a.string("nqn"));
                    ObjectNode ns = p.putObject("namespace");
                    for (String k : new String[] {"bdev_name", "ptpl_file", "nguid", "eui64", "uuid"}) {
                        if (a.has(k)) {
                            ns.put(k, a.string(k));
                        }
                    }
                    for (String k : new String[] {"nsid", "anagrpid"}) {
                        if (a.has(k)) {
                            ns.put(k, (Integer) a.get(k));
                        }
                    }
                    ns.put("no_auto_visible", a.has("no_auto_visible"));
                    ns.put("hide_metadata", a.has("hide_metadata"));
                    if (a.has("tgt_name")) {
                        p.put("tgt_name", a.string("tgt_name"));
                    }
                    return p;
                }));
        r.add(RpcSyntax.method("nvmf_subsystem_remove_ns", "Remove a namespace from an NVMe-oF subsystem")
                .pos("nqn", RpcSyntax.Type.STRING, "Subsystem NQN")
                .pos("nsid", RpcSyntax.Type.INT, "The NSID")
                .opt("-t", "--tgt-name", "tgt_name", RpcSyntax.Type.STRING, "Target name (optional)")
                .build());
    }
}
