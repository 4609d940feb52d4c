package io.basalt.e2e;

import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Linux kernel's NVMe/TCP initiator against the target: scripts/kernel-initiator.sh boots
 * Debian's kernel under qemu in a network namespace, the target runs inside that namespace, and
 * the guest connects through /dev/nvme-fabrics (one I/O queue per vCPU), checks the namespace's
 * data, disconnects and reconnects. Opt-in (BASALT_KERNEL_TESTS=1): needs root; about half a
 * minute per case under emulation.
 */
@EnabledIfEnvironmentVariable(named = "BASALT_KERNEL_TESTS", matches = "1")
class KernelNvmeIT {
    private static final String HOST = "10.124.0.1";
    private static final String NQN = "nqn.2016-06.io.basalt:kernel";

    private static TargetProcess.Cli script(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(TargetProcess.home().resolve("scripts/kernel-initiator.sh")
                .toString()));
        cmd.addAll(List.of(args));
        return TargetProcess.Cli.run(cmd, null);
    }

    @ParameterizedTest(name = "block size {0}, options ''{1}''")
    @CsvSource({"512, ''", "512, 'hdr_digest,data_digest'", "4096, 'hdr_digest'", "4096, 'data_digest,nr_io_queues=1'"})
    void kernelInitiatorPassesItsDataChecks(int blockSize, String options) throws Exception {
        var setup = script("setup");
        assertThat(setup.exitCode()).as(setup.stderr()).isZero();
        try (TargetProcess t = TargetProcess.startWrapped(List.of("ip", "netns", "exec", "basalt-kinit"),
                TargetProcess.newSocket("kinit"), "kernel-nvme", true, "-m", "2")) {
            t.rpc("bdev_malloc_create", "{\"name\":\"k0\",\"num_blocks\":" + (64L << 20) / blockSize
                    + ",\"block_size\":" + blockSize + "}");
            assertThat(t.cli("nvmf_create_transport", "-t", "tcp").exitCode()).isZero();
            assertThat(t.cli("nvmf_create_subsystem", NQN, "-a", "-s", "BASALT0001").exitCode()).isZero();
            assertThat(t.cli("nvmf_subsystem_add_ns", NQN, "k0").exitCode()).isZero();
            var l = t.cli("nvmf_subsystem_add_listener", NQN, "-t", "tcp", "-a", HOST, "-s", "4420");
            assertThat(l.exitCode()).as(l.stderr()).isZero();
            var run = options.isEmpty() ? script("run-nvme", HOST, "4420", NQN) : script("run-nvme", HOST, "4420", NQN, options);
            assertThat(run.stdout()).as(run.stderr()).contains("BKI RESULT: PASS");
            assertThat(run.exitCode()).isZero();
            // The guest disconnected cleanly: no controller is left, and the target is well.
            assertThat(t.rpc("nvmf_subsystem_get_controllers", "{\"nqn\":\"" + NQN + "\"}")).isEmpty();
            assertThat(t.rpc("nvmf_get_subsystems", (String) null)).hasSize(2);
        }
        assertThat(script("teardown").exitCode()).isZero();
    }
}
