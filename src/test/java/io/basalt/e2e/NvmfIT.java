package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.nvme.IdentifyNamespace;
import io.basalt.nvme.NamespaceIds;
import io.basalt.nvme.Opcodes;
import io.basalt.nvmf.NvmeTcpWire;
import io.basalt.rpc.RpcClient;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The nvmf_* RPCs on the real process through `basalt rpc` (rpc.py syntax), with save_config and -c. */
class NvmfIT {
    private static final String NQN = "nqn.2016-06.io.basalt:it";

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void ok(TargetProcess.Cli c) {
        assertThat(c.exitCode()).as(c.stdout() + c.stderr()).isZero();
    }

    @Test
    void configureServeSaveAndRestore() throws Exception {
        int port = freePort();
        Path config = Files.createTempFile("nvmf-it", ".json");
        NamespaceIds ids;
        try (TargetProcess t = TargetProcess.start("nvmf-it", "-m", "2")) {
            ok(t.cli("bdev_malloc_create", "-b", "m0", "-u", "0b7d6a43-2f55-4e8e-9a65-1e0f6c2a9d11", "32", "512"));
            ok(t.cli("bdev_malloc_create", "-b", "m1", "16", "4096"));
            RpcClient.RpcError noTransport = t.rpcError("nvmf_subsystem_add_listener", "{\"nqn\":\"" + NQN
                    + "\",\"listen_address\":{\"trtype\":\"tcp\",\"traddr\":\"127.0.0.1\",\"trsvcid\":\"" + port + "\"}}");
            assertThat(noTransport.code()).isIn(-19, -22);
            ok(t.cli("nvmf_create_transport", "-t", "TCP", "-u", "16384", "-q", "64"));
            JsonNode tr = t.rpc("nvmf_get_transports", (String) null);
            assertThat(tr.get(0).get("trtype").asText()).isEqualTo("TCP");
            assertThat(tr.get(0).get("max_queue_depth").asInt()).isEqualTo(64);
            assertThat(tr.get(0).get("c2h_success").asBoolean()).isTrue();
            assertThat(t.rpcError("nvmf_create_transport", "{\"trtype\":\"TCP\"}").code()).isEqualTo(-17);
            assertThat(t.rpcError("nvmf_create_transport", "{\"trtype\":\"RDMA\"}").code()).isEqualTo(-32602);

            ok(t.cli("nvmf_create_subsystem", NQN, "-s", "BASALT-IT-1", "-d", "Basalt IT", "-m", "8"));
            assertThat(t.rpcError("nvmf_create_subsystem", "{\"nqn\":\"" + NQN + "\"}").code()).isEqualTo(-17);
            assertThat(t.rpcError("nvmf_create_subsystem", "{\"nqn\":\"not-an-nqn\"}").code()).isEqualTo(-32602);
            RpcClient.RpcError ana = t.rpcError("nvmf_create_subsystem", "{\"nqn\":\"nqn.2016-06.io.basalt:x\","
                    + "\"ana_reporting\":true}");
            assertThat(ana.code()).isEqualTo(-32602);
            assertThat(ana.getMessage()).contains("ana_reporting");
            assertThat(t.rpcError("nvmf_create_subsystem", "{\"nqn\":\"nqn.2016-06.io.basalt:x\",\"bogus\":1}").code())
                    .isEqualTo(-32602);
            ok(t.cli("nvmf_subsystem_add_ns", NQN, "m0"));
            ok(t.cli("nvmf_subsystem_add_ns", NQN, "m1", "-n", "4", "-g", "00112233445566778899AABBCCDDEEFF",
                    "-e", "0102030405060708"));
            assertThat(t.rpcError("nvmf_subsystem_add_ns", "{\"nqn\":\"" + NQN + "\",\"namespace\":{\"bdev_name\":\"m1\","
                    + "\"nsid\":4}}").code()).isEqualTo(-17);
            assertThat(t.rpcError("nvmf_subsystem_add_ns", "{\"nqn\":\"" + NQN + "\",\"namespace\":{\"bdev_name\":\"zz\"}}")
                    .code()).isEqualTo(-19);
            ok(t.cli("nvmf_subsystem_add_listener", NQN, "-t", "tcp", "-a", "127.0.0.1", "-s", Integer.toString(port)));
            ok(t.cli("nvmf_subsystem_add_listener", "discovery", "-t", "tcp", "-a", "127.0.0.1", "-s",
                    Integer.toString(port)));
            assertThat(t.rpcError("nvmf_subsystem_add_listener", "{\"nqn\":\"" + NQN + "\",\"listen_address\":"
                    + "{\"trtype\":\"tcp\",\"traddr\":\"localhost\",\"trsvcid\":\"1\"}}").code()).isEqualTo(-32602);
            ok(t.cli("nvmf_subsystem_add_host", NQN, "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"));

            JsonNode subs = t.rpc("nvmf_get_subsystems", (String) null);
            assertThat(subs).hasSize(2);
            JsonNode s = subs.get(1);
            assertThat(s.get("nqn").asText()).isEqualTo(NQN);
            assertThat(s.get("allow_any_host").asBoolean()).isFalse();
            assertThat(s.get("serial_number").asText()).isEqualTo("BASALT-IT-1");
            assertThat(s.get("namespaces")).hasSize(2);
            assertThat(s.get("namespaces").get(0).get("uuid").asText()).isEqualTo("0b7d6a43-2f55-4e8e-9a65-1e0f6c2a9d11");
            assertThat(s.get("namespaces").get(1).get("nguid").asText()).isEqualTo("00112233445566778899AABBCCDDEEFF");
            assertThat(s.get("listen_addresses").get(0).get("trsvcid").asText()).isEqualTo(Integer.toString(port));

            // A host on the allow-list connects and does I/O.
            try (NvmeTcpWire w = new NvmeTcpWire(port)) {
                w.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
                w.connectAdmin(NQN, true, true, 0);
                ids = NamespaceIds.decodeDescriptors(w.identify(3, 1).data());
                assertThat(IdentifyNamespace.decode(w.identify(0, 4).data()).blockSize()).isEqualTo(4096);
            }
            assertThat(t.rpc("nvmf_subsystem_get_controllers", "{\"nqn\":\"" + NQN + "\"}").size()).isLessThanOrEqualTo(1);

            TargetProcess.Cli saved = t.cli("save_config");
            ok(saved);
            Files.writeString(config, saved.stdout());
            assertThat(saved.stdout()).contains("nvmf_create_transport", "nvmf_subsystem_add_ns", "nvmf_subsystem_add_host");

            ok(t.cli("nvmf_subsystem_remove_ns", NQN, "4"));
            assertThat(t.rpcError("nvmf_subsystem_remove_ns", "{\"nqn\":\"" + NQN + "\",\"nsid\":4}").code()).isEqualTo(-2);
            ok(t.cli("nvmf_delete_subsystem", NQN));
            assertThat(t.rpc("nvmf_get_subsystems", (String) null)).hasSize(1);
            assertThat(t.rpc("bdev_get_bdevs", "{\"name\":\"m1\"}").get(0).get("name").asText()).isEqualTo("m1");
        }
        // Restarted from the saved configuration: the same subsystem, namespaces and identifiers.
        try (TargetProcess t = TargetProcess.start("nvmf-it-restored", "-m", "2", "-c", config.toString())) {
            JsonNode s = t.rpc("nvmf_get_subsystems", "{\"nqn\":\"" + NQN + "\"}").get(0);
            assertThat(s.get("namespaces")).hasSize(2);
            assertThat(s.get("hosts")).hasSize(1);
            try (NvmeTcpWire w = new NvmeTcpWire(port)) {
                w.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
                w.connectAdmin(NQN, false, false, 0);
                assertThat(NamespaceIds.decodeDescriptors(w.identify(3, 1).data())).isEqualTo(ids);
            }
            // A host not on the list is refused.
            try (NvmeTcpWire w = new NvmeTcpWire(port)) {
                w.initialize(false, false);
                assertThat(w.connect(NQN, 0, 31, 0xFFFF, 0, true).status()).isNotZero();
            }
            try (NvmeTcpWire w = new NvmeTcpWire(port)) {
                w.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
                w.connectAdmin(NQN, false, false, 0);
                NvmeTcpWire.Completion r = w.io(Opcodes.IO_READ, 1, 0, 1, 512, null, false);
                assertThat(r.status()).as("I/O on the admin queue is not an admin command").isNotZero();
            }
            // The host taken off the allow-list is refused from then on.
            ok(t.cli("nvmf_subsystem_remove_host", NQN, "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"));
            assertThat(t.rpc("nvmf_get_subsystems", "{\"nqn\":\"" + NQN + "\"}").get(0).get("hosts")).isEmpty();
            try (NvmeTcpWire w = new NvmeTcpWire(port)) {
                w.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
                w.initialize(false, false);
                assertThat(w.connect(NQN, 0, 31, 0xFFFF, 0, true).status()).isNotZero();
            }
            // Removing the subsystem's listener: it is gone from the listing and saved configuration.
            ok(t.cli("nvmf_subsystem_remove_listener", NQN, "-t", "tcp", "-a", "127.0.0.1", "-s", Integer.toString(port)));
            assertThat(t.rpc("nvmf_get_subsystems", "{\"nqn\":\"" + NQN + "\"}").get(0).get("listen_addresses")).isEmpty();
            assertThat(t.rpcError("nvmf_subsystem_remove_listener", "{\"nqn\":\"" + NQN + "\",\"listen_address\":"
                    + "{\"trtype\":\"tcp\",\"traddr\":\"127.0.0.1\",\"trsvcid\":\"" + port + "\"}}").code()).isNotZero();
            TargetProcess.Cli again = t.cli("save_config");
            ok(again);
            assertThat(again.stdout()).doesNotContain("nvmf_subsystem_add_host");
        }
        Files.deleteIfExists(config);
    }
}
