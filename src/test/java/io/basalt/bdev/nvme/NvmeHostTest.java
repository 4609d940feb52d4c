package io.basalt.bdev.nvme;

import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.bdev.nullbdev.NullModule;
import io.basalt.nvmf.ListenAddress;
import io.basalt.nvmf.NvmfTarget;
import io.basalt.nvmf.TransportOptions;
import io.basalt.testing.BdevClient;
import io.basalt.testing.ReactorFixture;
import io.basalt.testing.StallingProxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Basalt's NVMe/TCP host against Basalt's target, both in one process on real reactors: the
 * target exports malloc bdevs, the host presents them as NvmeXnY bdevs that tests use through the
 * bdev layer.
 */
class NvmeHostTest {
    static final String NQN = "nqn.2016-06.io.basalt:host-test";
    static final int BS = 512;

    ReactorFixture fx;
    MallocModule malloc;
    NvmfTarget target;
    NvmeModule nvme;
    int port;

    @BeforeEach
    void setUp() throws Exception {
        fx = new ReactorFixture(2);
        malloc = new MallocModule(fx.bdevs);
        nvme = new NvmeModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        fx.bdevs.addModule(nvme);
        target = new NvmfTarget(fx.reactors, fx.bdevs);
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        fx.on(0, () -> {
            malloc.create("t0", UUID.randomUUID(), BS, 8192, BS, 0);
            target.createTransport(TransportOptions.defaults());
            target.createSubsystem(NQN, "SN", "MN", true, 32, 1, 0xFFEF);
            target.addNamespace(NQN, "t0", 1, null, null, null);
            return null;
        });
        listen();
    }

    void listen() throws Exception {
        fx.onAsync(0, () -> target.addListener(NQN, new ListenAddress("IPv4", "127.0.0.1", port)));
    }

    @AfterEach
    void tearDown() throws Exception {
        ReactorFixture.await(target.fini());
        fx.close();
    }

    List<String> attach(String name, boolean digests, int loss, int delay, int fail) throws Exception {
        return attach(name, port, digests, loss, delay, fail);
    }

    List<String> attach(String name, int toPort, boolean digests, int loss, int delay, int fail) throws Exception {
        NvmeCtrlr.Options o = new NvmeCtrlr.Options("IPv4", "127.0.0.1", toPort, NQN,
                "nqn.2014-08.org.nvmexpress:uuid:" + UUID.randomUUID(), UUID.randomUUID(), digests, digests, loss, delay,
                fail, 10000);
        return fx.onAsync(0, () -> nvme.attach(name, o));
    }

    NvmeCtrlr.State state(String name) throws Exception {
        return fx.on(0, () -> nvme.require(name).state());
    }

    static void waitFor(java.util.concurrent.Callable<Boolean> c) throws Exception {
        for (int i = 0; i < 400 && !c.call(); i++) {
            Thread.sleep(25);
        }
        assertThat(c.call()).isTrue();
    }

    @Test
    void attachReadWriteAndEveryIoType() throws Exception {
        for (boolean digests : new boolean[] {false, true}) {
            String name = digests ? "NvmeD" : "Nvme0";
            assertThat(attach(name, digests, 0, 0, 0)).containsExactly(name + "n1");
            assertThat(fx.bdevs.require(name + "n1").numBlocks()).isEqualTo(8192);
            try (BdevClient c = BdevClient.open(fx, 1, name + "n1", true)) {
                MemorySegment w = BdevClient.pattern(1 << 20, 3);
                assertThat(BdevClient.await(c.write(w, 0, 2048)).status()).isEqualTo(IoStatus.SUCCESS);
                MemorySegment r = BdevClient.buffer(1 << 20);
                assertThat(BdevClient.await(c.read(r, 0, 2048)).status()).isEqualTo(IoStatus.SUCCESS);
                assertThat(r.mismatch(w)).isEqualTo(-1);
                assertThat(BdevClient.await(c.unmap(8, 8)).status()).isEqualTo(IoStatus.SUCCESS);
                assertThat(BdevClient.await(c.flush()).status()).isEqualTo(IoStatus.SUCCESS);
                assertThat(BdevClient.await(c.submit((d, ch, cb) -> d.writeZeroes(ch, 16, 4, cb, null))).status())
                        .isEqualTo(IoStatus.SUCCESS);
                MemorySegment small = BdevClient.buffer(24 * BS);
                BdevClient.await(c.read(small, 0, 24));
                for (int b = 8; b < 20; b++) {
                    for (int i = 0; i < BS; i++) {
                        assertThat(small.get(java.lang.foreign.ValueLayout.JAVA_BYTE, (long) b * BS + i)).isZero();
                    }
                }
                MemorySegment cmp = BdevClient.buffer(BS);
                MemorySegment.copy(w, 100L * BS, cmp, 0, BS);
                assertThat(BdevClient.await(c.submit((d, ch, cb) -> d.compare(ch, cmp, 0, 100, 1, cb, null))).status())
                        .isEqualTo(IoStatus.SUCCESS);
                cmp.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 7, (byte) (cmp.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 7) + 1));
                assertThat(BdevClient.await(c.submit((d, ch, cb) -> d.compare(ch, cmp, 0, 100, 1, cb, null))).status())
                        .isEqualTo(IoStatus.MISCOMPARE);
                assertThat(BdevClient.await(c.read(r, 8190, 4)).status()).as("past the end").isNotEqualTo(IoStatus.SUCCESS);
            }
            fx.onAsync(0, () -> nvme.detach(name));
            assertThat(fx.bdevs.lookup(name + "n1")).isNull();
        }
    }

    @Test
    void namespaceEventsAddBdevsAndAbsentNamespacesQueueIo() throws Exception {
        attach("Nvme0", false, -1, 1, 0);
        fx.on(0, () -> malloc.create("t1", UUID.randomUUID(), 4096, 256, 4096, 0));
        fx.onAsync(0, () -> target.addNamespace(NQN, "t1", 2, null, null, null));
        waitFor(() -> fx.bdevs.lookup("Nvme0n2") != null);
        assertThat(fx.bdevs.require("Nvme0n2").blockSize()).isEqualTo(4096);

        try (BdevClient c = BdevClient.open(fx, 1, "Nvme0n1", true)) {
            MemorySegment w = BdevClient.pattern(8 * BS, 5);
            BdevClient.await(c.write(w, 0, 8));
            // The namespace goes: the bdev stays, I/O waits.
            fx.onAsync(0, () -> target.removeNamespace(NQN, 1));
            waitFor(() -> !((NvmeBdev) fx.bdevs.require("Nvme0n1")).active);
            MemorySegment r = BdevClient.buffer(8 * BS);
            CompletableFuture<BdevClient.Result> pending = c.read(r, 0, 8);
            waitFor(() -> fx.onAsync(0, () -> nvme.require("Nvme0").queuedIo()) == 1);
            assertThat(pending).isNotDone();
            // The same bdev comes back with the same identity: the read completes on the same bdev.
            fx.onAsync(0, () -> target.addNamespace(NQN, "t0", 1, null, null, null));
            assertThat(BdevClient.await(pending).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(r.mismatch(w)).isEqualTo(-1);
            assertThat(c.events).isEmpty();
        }
    }

    @Test
    void aNamespaceWithAnotherIdentityIsANewBdev() throws Exception {
        attach("Nvme0", false, -1, 1, 0);
        UUID before = fx.bdevs.require("Nvme0n1").uuid();
        BdevClient c = BdevClient.open(fx, 1, "Nvme0n1", true);
        fx.onAsync(0, () -> target.removeNamespace(NQN, 1));
        fx.on(0, () -> malloc.create("other", UUID.randomUUID(), BS, 4096, BS, 0));
        fx.onAsync(0, () -> target.addNamespace(NQN, "other", 1, null, null, null));
        ReactorFixture.await(c.removed);
        assertThat(c.events).containsExactly(BdevEvent.REMOVE);
        waitFor(() -> fx.bdevs.lookup("Nvme0n1") != null && !fx.bdevs.lookup("Nvme0n1").uuid().equals(before));
        assertThat(fx.bdevs.require("Nvme0n1").numBlocks()).isEqualTo(4096);
    }

    @Test
    void resetReconnectsAndASecondResetIsBusy() throws Exception {
        attach("Nvme0", false, -1, 1, 0);
        try (BdevClient c = BdevClient.open(fx, 0, "Nvme0n1", true)) {
            CompletableFuture<Void> first = fx.on(0, () -> nvme.reset("Nvme0"));
            assertThatThrownBy(() -> fx.on(0, () -> nvme.reset("Nvme0"))).hasMessageContaining("cannot start now");
            ReactorFixture.await(first);
            assertThat(state("Nvme0")).isEqualTo(NvmeCtrlr.State.ENABLED);
            MemorySegment w = BdevClient.pattern(BS, 9);
            assertThat(BdevClient.await(c.write(w, 5, 1)).status()).isEqualTo(IoStatus.SUCCESS);
        }
    }

    @Test
    void lostTargetQueuesIoThenFailsItThenDeletesTheController() throws Exception {
        attach("Nvme0", false, 3, 1, 1);
        BdevClient c = BdevClient.open(fx, 1, "Nvme0n1", true);
        // The target's subsystem goes away: connections close and reconnects are refused.
        fx.onAsync(0, () -> target.deleteSubsystem(NQN));
        waitFor(() -> state("Nvme0") != NvmeCtrlr.State.ENABLED);
        MemorySegment r = BdevClient.buffer(BS);
        BdevClient.Result res = BdevClient.await(c.read(r, 0, 1));
        assertThat(res.status()).as("failed after fast_io_fail_timeout_sec").isEqualTo(IoStatus.FAILED);
        ReactorFixture.await(c.removed);
        waitFor(() -> fx.on(0, () -> nvme.controllersJson(null).isEmpty()));
        assertThat(fx.bdevs.lookup("Nvme0n1")).isNull();
    }

    @Test
    void ioWaitsThroughAnOutageAndResumes() throws Exception {
        attach("Nvme0", false, -1, 1, 0);
        try (BdevClient c = BdevClient.open(fx, 1, "Nvme0n1", true)) {
            MemorySegment w = BdevClient.pattern(4 * BS, 13);
            BdevClient.await(c.write(w, 40, 4));
            // Closing the listener closes the host's connections; the host keeps trying.
            fx.onAsync(0, () -> target.removeListener(NQN, new ListenAddress("IPv4", "127.0.0.1", port)));
            waitFor(() -> state("Nvme0") != NvmeCtrlr.State.ENABLED);
            MemorySegment r = BdevClient.buffer(4 * BS);
            CompletableFuture<BdevClient.Result> pending = c.read(r, 40, 4);
            Thread.sleep(300);
            assertThat(pending).isNotDone();
            listen();
            assertThat(BdevClient.await(pending).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(r.mismatch(w)).isEqualTo(-1);
            assertThat(state("Nvme0")).isEqualTo(NvmeCtrlr.State.ENABLED);
        }
    }

    /** What the host sends on a new queue before its first command: ICReq, then the Connect capsule. */
    static final long ICREQ_AND_CONNECT = 2;

    @Test
    void anAttachToATargetThatStopsAnsweringAfterConnectFailsWithinTheSetupBound() throws Exception {
        System.setProperty(NvmeCtrlr.SETUP_TIMEOUT_PROPERTY, "1500");
        try (StallingProxy proxy = new StallingProxy(new InetSocketAddress("127.0.0.1", port))) {
            proxy.stallAfter(ICREQ_AND_CONNECT);
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> attach("Nvme0", proxy.port(), false, 0, 0, 0))
                    .hasMessageContaining("did not finish connecting within 1500 ms");
            assertThat(System.nanoTime() - t0).as("failed, not hung").isLessThan(30_000_000_000L);
            assertThat(fx.on(0, () -> nvme.controllersJson(null))).isEmpty();
            assertThat(fx.bdevs.lookup("Nvme0n1")).isNull();
            // Nothing of the failed attach is left: the same name attaches directly afterwards.
            assertThat(attach("Nvme0", false, 0, 0, 0)).containsExactly("Nvme0n1");
        } finally {
            System.clearProperty(NvmeCtrlr.SETUP_TIMEOUT_PROPERTY);
        }
    }

    @Test
    void reconnectsToATargetThatStopsAnsweringEndAtTheControllerLossTimeout() throws Exception {
        System.setProperty(NvmeCtrlr.SETUP_TIMEOUT_PROPERTY, "1000");
        try (StallingProxy proxy = new StallingProxy(new InetSocketAddress("127.0.0.1", port))) {
            attach("Nvme0", proxy.port(), false, 4, 1, 0);
            BdevClient c = BdevClient.open(fx, 1, "Nvme0n1", true);
            // The target comes back as one that accepts Connect and then answers nothing: every
            // reconnect stalls in its setup, and must still end so the loss timeout can act.
            proxy.stallAfter(ICREQ_AND_CONNECT);
            proxy.dropConnections();
            ReactorFixture.await(c.removed);
            waitFor(() -> fx.on(0, () -> nvme.controllersJson(null).isEmpty()));
            assertThat(fx.bdevs.lookup("Nvme0n1")).isNull();
        } finally {
            System.clearProperty(NvmeCtrlr.SETUP_TIMEOUT_PROPERTY);
        }
    }

    @Test
    void aStalledReconnectIsAbandonedAndTheNextOneRecovers() throws Exception {
        System.setProperty(NvmeCtrlr.SETUP_TIMEOUT_PROPERTY, "1000");
        try (StallingProxy proxy = new StallingProxy(new InetSocketAddress("127.0.0.1", port))) {
            attach("Nvme0", proxy.port(), false, -1, 1, 0);
            try (BdevClient c = BdevClient.open(fx, 1, "Nvme0n1", true)) {
                MemorySegment w = BdevClient.pattern(2 * BS, 21);
                BdevClient.await(c.write(w, 64, 2));
                proxy.stallAfter(ICREQ_AND_CONNECT);
                proxy.dropConnections();
                waitFor(() -> state("Nvme0") != NvmeCtrlr.State.ENABLED);
                MemorySegment r = BdevClient.buffer(2 * BS);
                CompletableFuture<BdevClient.Result> pending = c.read(r, 64, 2);
                // At least one attempt stalls past its bound and is abandoned.
                Thread.sleep(2500);
                assertThat(pending).isNotDone();
                proxy.stallAfter(-1);
                assertThat(BdevClient.await(pending).status()).isEqualTo(IoStatus.SUCCESS);
                assertThat(r.mismatch(w)).isEqualTo(-1);
                assertThat(state("Nvme0")).isEqualTo(NvmeCtrlr.State.ENABLED);
            }
        } finally {
            System.clearProperty(NvmeCtrlr.SETUP_TIMEOUT_PROPERTY);
        }
    }

    @Test
    void aNamespaceThatGrowsOnTheTargetGrowsTheHostBdev() throws Exception {
        NullModule nulls = new NullModule(fx.bdevs);
        fx.bdevs.addModule(nulls);
        fx.on(0, () -> nulls.create("g0", UUID.randomUUID(), BS, 1024, BS));
        fx.onAsync(0, () -> target.addNamespace(NQN, "g0", 2, null, null, null));
        attach("Nvme0", false, -1, 1, 0);
        assertThat(fx.bdevs.require("Nvme0n2").numBlocks()).isEqualTo(1024);
        try (BdevClient c = BdevClient.open(fx, 1, "Nvme0n2", true)) {
            MemorySegment r = BdevClient.buffer(BS);
            assertThat(BdevClient.await(c.read(r, 2000, 1)).status()).as("past the end").isNotEqualTo(IoStatus.SUCCESS);
            // The target's bdev grows: the controller raises Namespace Attribute Changed, the host
            // identifies the namespace again and resizes its bdev, whose opener is told.
            fx.on(0, () -> {
                nulls.resize("g0", 4096);
                return null;
            });
            waitFor(() -> fx.bdevs.require("Nvme0n2").numBlocks() == 4096);
            waitFor(() -> c.events.contains(BdevEvent.RESIZE));
            assertThat(BdevClient.await(c.read(r, 4095, 1)).status()).isEqualTo(IoStatus.SUCCESS);
            assertThat(fx.bdevs.lookup("Nvme0n2")).as("the same bdev").isNotNull();
        }
    }

    @Test
    void timeoutRulesAreChecked() {
        assertThatThrownBy(() -> NvmeRpc.timeouts("m", 0, 1, 0, new int[3])).hasMessageContaining("must be 0");
        assertThatThrownBy(() -> NvmeRpc.timeouts("m", 5, 0, 0, new int[3])).hasMessageContaining("must not be 0");
        assertThatThrownBy(() -> NvmeRpc.timeouts("m", 5, 6, 0, new int[3])).hasMessageContaining("exceeds");
        assertThatThrownBy(() -> NvmeRpc.timeouts("m", 10, 2, 1, new int[3])).hasMessageContaining("between");
        assertThatThrownBy(() -> NvmeRpc.timeouts("m", 10, 2, 11, new int[3])).hasMessageContaining("between");
        assertThat(NvmeRpc.timeouts("m", -1, 2, 5, new int[3])).containsExactly(-1, 2, 5);
        assertThat(NvmeRpc.timeouts("m", 10, 2, 5, new int[3])).containsExactly(10, 2, 5);
    }
}
