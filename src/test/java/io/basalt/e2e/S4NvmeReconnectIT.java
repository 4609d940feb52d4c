package io.basalt.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Field failure S4 of SCENARIOS.md with two real basalt processes: a target exporting a
 * file-backed bdev over NVMe/TCP, and a host that attaches it (bdev_nvme_attach_controller) and
 * exports the resulting NvmeXn1 over NBD to qemu-io, which does verified I/O. The target is killed
 * with kill -9 and restarted: subsystem and listener first, the namespace later.
 */
class S4NvmeReconnectIT {
    private static final String NQN = "nqn.2016-06.io.basalt:s4";
    private static final String UUID_A = "5e0c7a2b-4b1f-4f3e-9c44-9a1d2b3c4d5e";
    private static final String UUID_B = "7f1d8b3c-5c2a-4a4f-8d55-0b2e3c4d5e6f";

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void ok(TargetProcess.Cli c) {
        assertThat(c.exitCode()).as(c.stdout() + c.stderr()).isZero();
    }

    private static TargetProcess.Cli run(String... cmd) throws Exception {
        return TargetProcess.Cli.run(List.of(cmd), null);
    }

    /** The target side: aio bdev over {@code file} with uuid {@code uuid}; with {@code ns} its namespace too. */
    private static TargetProcess target(String name, Path file, int port, String uuid, boolean ns) throws Exception {
        TargetProcess t = TargetProcess.start(name, "-m", "2");
        ok(t.cli("nvmf_create_transport", "-t", "tcp"));
        ok(t.cli("nvmf_create_subsystem", NQN, "-a"));
        ok(t.cli("nvmf_subsystem_add_listener", NQN, "-t", "tcp", "-a", "127.0.0.1", "-s", Integer.toString(port)));
        if (ns) {
            addNamespace(t, file, uuid);
        }
        return t;
    }

    private static void addNamespace(TargetProcess t, Path file, String uuid) throws Exception {
        ok(t.cli("bdev_aio_create", "-u", uuid, file.toString(), "a0", "512"));
        ok(t.cli("nvmf_subsystem_add_ns", NQN, "a0"));
    }

    private static JsonNode bdev(TargetProcess h, String name) throws Exception {
        JsonNode all = h.rpc("bdev_get_bdevs", (String) null);
        for (JsonNode b : all) {
            if (b.get("name").asText().equals(name)) {
                return b;
            }
        }
        return null;
    }

    private static void waitFor(java.util.concurrent.Callable<Boolean> c, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!c.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    private static String controllerState(TargetProcess h) throws Exception {
        JsonNode c = h.rpc("bdev_nvme_get_controllers", (String) null);
        return c.isEmpty() ? "gone" : c.get(0).get("ctrlrs").get(0).get("state").asText();
    }

    @Test
    void hostRidesOutATargetRestartAndTheNamespaceComingBackLater() throws Exception {
        Path dir = Files.createTempDirectory("s4");
        Path file = dir.resolve("disk.img");
        Files.write(file, new byte[0]);
        ok(run("truncate", "-s", "64M", file.toString()));
        int port = freePort();
        int nbdPort = freePort();
        String uri = "nbd://127.0.0.1:" + nbdPort + "/Nvme0n1";
        TargetProcess t = target("s4-target", file, port, UUID_A, false);
        try (TargetProcess h = TargetProcess.start("s4-host", "-m", "2")) {
            // The host attaches to the empty subsystem; the namespace comes afterwards (an AER).
            TargetProcess.Cli a = h.cli("bdev_nvme_attach_controller", "-b", "Nvme0", "-t", "tcp", "-a", "127.0.0.1",
                    "-s", Integer.toString(port), "-f", "ipv4", "-n", NQN, "-l", "-1", "-o", "1", "-u", "30");
            ok(a);
            addNamespace(t, file, UUID_A);
            waitFor(() -> bdev(h, "Nvme0n1") != null, "Nvme0n1 on the host");
            String uuid = bdev(h, "Nvme0n1").get("uuid").asText();
            ok(h.cli("nbd_start_disk", "Nvme0n1", "127.0.0.1:" + nbdPort));
            ok(run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", "-c", "read -P 0xab 0 1M", uri));

            // kill -9; a client writes and reads while the target is away.
            t.kill9();
            waitFor(() -> !controllerState(h).equals("enabled"), "the host to notice");
            CompletableFuture<TargetProcess.Cli> client = CompletableFuture.supplyAsync(() -> {
                try {
                    return run("qemu-io", "-f", "raw", "-c", "write -P 0xcd 1M 1M", "-c", "read -P 0xcd 1M 1M",
                            "-c", "read -P 0xab 0 1M", uri);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(1500);
            assertThat(client).as("the client's I/O waits for the target").isNotDone();

            // The target comes back: subsystem and listener first; the host reconnects, finds no namespace.
            t = target("s4-target-2", file, port, UUID_A, false);
            waitFor(() -> controllerState(h).equals("enabled"), "the host to reconnect");
            assertThat(bdev(h, "Nvme0n1")).as("the absent namespace keeps its bdev").isNotNull();
            Thread.sleep(1000);
            assertThat(client).as("I/O waits while the namespace is absent").isNotDone();

            // The same namespace returns: I/O resumes on the same bdev and verifies.
            addNamespace(t, file, UUID_A);
            TargetProcess.Cli done = client.get(60, TimeUnit.SECONDS);
            ok(done);
            assertThat(done.stdout()).doesNotContain("failed", "Pattern verification");
            assertThat(bdev(h, "Nvme0n1").get("uuid").asText()).isEqualTo(uuid);
            assertThat(h.rpc("nbd_get_disks", (String) null)).hasSize(1);
            ok(run("qemu-io", "-f", "raw", "-c", "read -P 0xab 0 1M", "-c", "read -P 0xcd 1M 1M", uri));
            assertThat(h.process().isAlive()).isTrue();
            assertThat(h.log()).contains("reconnected", "is back; I/O to Nvme0n1 resumes");

            // The host's configuration comes back from save_config: options, controller, export.
            TargetProcess.Cli saved = h.cli("save_config");
            ok(saved);
            assertThat(saved.stdout()).contains("bdev_nvme_set_options", "bdev_nvme_attach_controller", "Nvme0n1");
            Path config = dir.resolve("host.json");
            Files.writeString(config, saved.stdout());
            h.stop();
            try (TargetProcess h2 = TargetProcess.start("s4-host-restored", "-m", "2", "-c", config.toString())) {
                assertThat(bdev(h2, "Nvme0n1").get("uuid").asText()).isEqualTo(uuid);
                ok(run("qemu-io", "-f", "raw", "-c", "read -P 0xcd 1M 1M", uri));
            }
        } finally {
            t.stop();
        }
    }

    @Test
    void aNamespaceThatReturnsAsAnotherIsANewBdevAndTheOldOneGoes() throws Exception {
        Path dir = Files.createTempDirectory("s4b");
        Path file = dir.resolve("disk.img");
        Files.write(file, new byte[0]);
        ok(run("truncate", "-s", "32M", file.toString()));
        int port = freePort();
        int nbdPort = freePort();
        TargetProcess t = target("s4b-target", file, port, UUID_A, true);
        try (TargetProcess h = TargetProcess.start("s4b-host", "-m", "2")) {
            TargetProcess.Cli a = h.cli("bdev_nvme_attach_controller", "-b", "Nvme0", "-t", "tcp", "-a", "127.0.0.1",
                    "-s", Integer.toString(port), "-f", "ipv4", "-n", NQN, "-l", "-1", "-o", "1");
            ok(a);
            assertThat(a.stdout()).contains("Nvme0n1");
            String before = bdev(h, "Nvme0n1").get("uuid").asText();
            ok(h.cli("nbd_start_disk", "Nvme0n1", "127.0.0.1:" + nbdPort));
            t.kill9();
            waitFor(() -> !controllerState(h).equals("enabled"), "the host to notice");
            t = target("s4b-target-2", file, port, UUID_B, true);
            waitFor(() -> bdev(h, "Nvme0n1") != null && !bdev(h, "Nvme0n1").get("uuid").asText().equals(before),
                    "a new Nvme0n1");
            // The old bdev's user (the NBD export) was told and stopped.
            waitFor(() -> h.rpc("nbd_get_disks", (String) null).isEmpty(), "the export of the old bdev to stop");
            assertThat(h.process().isAlive()).isTrue();
        } finally {
            t.stop();
        }
    }

    @Test
    void aTargetThatNeverReturnsEndsInACleanDelete() throws Exception {
        Path dir = Files.createTempDirectory("s4c");
        Path file = dir.resolve("disk.img");
        Files.write(file, new byte[0]);
        ok(run("truncate", "-s", "32M", file.toString()));
        int port = freePort();
        int nbdPort = freePort();
        String uri = "nbd://127.0.0.1:" + nbdPort + "/Nvme0n1";
        TargetProcess t = target("s4c-target", file, port, UUID_A, true);
        try (TargetProcess h = TargetProcess.start("s4c-host", "-m", "2")) {
            ok(h.cli("bdev_nvme_attach_controller", "-b", "Nvme0", "-t", "tcp", "-a", "127.0.0.1", "-s",
                    Integer.toString(port), "-f", "ipv4", "-n", NQN, "-l", "4", "-o", "1", "-u", "2"));
            ok(h.cli("nbd_start_disk", "Nvme0n1", "127.0.0.1:" + nbdPort));
            ok(run("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 64k", uri));
            t.kill9();
            // I/O fails cleanly after fast_io_fail_timeout_sec, then the controller is deleted.
            TargetProcess.Cli failing = run("qemu-io", "-f", "raw", "-c", "read -P 0x11 0 64k", uri);
            assertThat(failing.stdout() + failing.stderr()).containsIgnoringCase("error");
            waitFor(() -> controllerState(h).equals("gone"), "the controller to be deleted");
            assertThat(bdev(h, "Nvme0n1")).isNull();
            waitFor(() -> h.rpc("nbd_get_disks", (String) null).isEmpty(), "the export to stop");
            assertThat(h.log()).contains("ctrlr_loss_timeout_sec");
            // Nothing is left behind: the same name attaches again once a target is back.
            t = target("s4c-target-2", file, port, UUID_A, true);
            ok(h.cli("bdev_nvme_attach_controller", "-b", "Nvme0", "-t", "tcp", "-a", "127.0.0.1", "-s",
                    Integer.toString(port), "-f", "ipv4", "-n", NQN));
            assertThat(bdev(h, "Nvme0n1")).isNotNull();
            ok(h.cli("bdev_nvme_detach_controller", "Nvme0"));
            assertThat(bdev(h, "Nvme0n1")).isNull();
        } finally {
            t.stop();
        }
    }
}
