package io.basalt.e2e;

import io.basalt.testing.TargetProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Linux kernel's NBD client against the export: scripts/kernel-initiator.sh boots Debian's
 * kernel under qemu in a network namespace, the target runs inside that namespace, and the guest
 * attaches the export as /dev/nbd0 and checks its data. Opt-in (BASALT_KERNEL_TESTS=1): it needs
 * root and takes about a minute per case under emulation.
 */
@EnabledIfEnvironmentVariable(named = "BASALT_KERNEL_TESTS", matches = "1")
class KernelNbdIT {
    private static final String NS = "basalt-kinit";
    private static final String HOST = "10.124.0.1";

    private static TargetProcess.Cli script(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(TargetProcess.home().resolve("scripts/kernel-initiator.sh")
                .toString()));
        cmd.addAll(List.of(args));
        return TargetProcess.Cli.run(cmd, null);
    }

    /** 512-byte blocks with the client's defaults; 4 KiB blocks with nbd-client -b 4096. */
    @ParameterizedTest(name = "block size {0}")
    @CsvSource({"512, ''", "4096, '-b,4096'"})
    void kernelClientPassesItsDataChecks(int blockSize, String extraClientArgs) throws Exception {
        var setup = script("setup");
        assertThat(setup.exitCode()).as(setup.stderr()).isZero();
        try (TargetProcess t = TargetProcess.startWrapped(List.of("ip", "netns", "exec", NS),
                TargetProcess.newSocket("kinit"), "kernel-nbd", true, "-m", "2")) {
            t.rpc("bdev_malloc_create", "{\"name\":\"k0\",\"num_blocks\":" + (64L << 20) / blockSize
                    + ",\"block_size\":" + blockSize + "}");
            t.rpc("nbd_start_disk", "{\"bdev_name\":\"k0\",\"nbd_device\":\"" + HOST + ":10809\"}");
            List<String> cmd = List.of("env", "BKI_NBD_OPTS=-C,2" + (extraClientArgs.isEmpty() ? "" : "," + extraClientArgs),
                    TargetProcess.home().resolve("scripts/kernel-initiator.sh").toString(), "run", HOST, "10809", "k0");
            var run = TargetProcess.Cli.run(cmd, null);
            assertThat(run.stdout()).as(run.stderr()).contains("BKI RESULT: PASS");
            assertThat(run.exitCode()).isZero();
            // The target served the guest and is still well.
            assertThat(t.rpc("nbd_get_disks", (String) null)).hasSize(1);
        }
        assertThat(script("teardown").exitCode()).isZero();
    }

    @Test
    void scriptExplainsItself() throws Exception {
        var help = script();
        assertThat(help.exitCode()).isEqualTo(3);
        assertThat(help.stderr()).contains("kernel-initiator.sh run ADDR PORT EXPORT");
    }
}
