package io.basalt.nvmf;

import io.basalt.bdev.malloc.MallocModule;
import io.basalt.nvme.ConnectData;
import io.basalt.nvme.Features;
import io.basalt.nvme.IdentifyController;
import io.basalt.nvme.IdentifyNamespace;
import io.basalt.nvme.LogPages;
import io.basalt.nvme.NamespaceIds;
import io.basalt.nvme.NamespaceList;
import io.basalt.nvme.Opcodes;
import io.basalt.nvme.Properties;
import io.basalt.nvme.Sqe;
import io.basalt.nvme.Status;
import io.basalt.nvme.Wire;
import io.basalt.nvme.tcp.Pdu;
import io.basalt.nvme.tcp.PduWriter;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.Arrays;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The NVMe/TCP target in-process on real reactors and malloc bdevs, driven PDU by PDU with {@link NvmeTcpWire}. */
class NvmfTargetTest {
    static final String NQN = "nqn.2016-06.io.basalt:test";
    static final int BS = 512;
    static final long BLOCKS = 8192;
    static final UUID UUID0 = UUID.fromString("6a3c9e1d-58f2-4c71-9d1e-0a2b3c4d5e6f");

    ReactorFixture fx;
    MallocModule malloc;
    NvmfTarget target;
    int port;

    @BeforeEach
    void setUp() throws Exception {
        fx = new ReactorFixture(2);
        malloc = new MallocModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        target = new NvmfTarget(fx.reactors, fx.bdevs);
        port = freePort();
        fx.on(0, () -> {
            malloc.create("m0", UUID0, BS, BLOCKS, BS, 0);
            TransportOptions d = TransportOptions.defaults();
            // A short minimum keep-alive timeout, so the keep-alive test ends quickly.
            target.createTransport(new TransportOptions(d.maxQueueDepth(), d.maxIoQpairsPerCtrlr(), d.inCapsuleDataSize(),
                    d.maxIoSize(), d.ioUnitSize(), d.maxAqDepth(), d.numSharedBuffers(), d.bufCacheSize(), true,
                    d.abortTimeoutSec(), d.controlMsgNum(), d.kas(), 1));
            target.createSubsystem(NQN, "SN123", "Basalt test", true, 32, 1, 0xFFEF);
            target.addNamespace(NQN, "m0", 1, null, null, null);
            return null;
        });
        fx.onAsync(0, () -> target.addListener(NQN, new ListenAddress("IPv4", "127.0.0.1", port)));
    }

    @AfterEach
    void tearDown() throws Exception {
        ReactorFixture.await(target.fini());
        fx.close();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    NvmeTcpWire admin(boolean hd, boolean dd) throws IOException {
        NvmeTcpWire w = new NvmeTcpWire(port);
        w.connectAdmin(NQN, hd, dd, 0);
        return w;
    }

    NvmeTcpWire ioQueue(NvmeTcpWire admin, int qid, boolean hd, boolean dd) throws IOException {
        int cntlid = admin.cntlid;
        NvmeTcpWire w = new NvmeTcpWire(port);
        w.hostnqn = admin.hostnqn;
        w.initialize(hd, dd);
        NvmeTcpWire.Completion c = w.connect(NQN, qid, 127, cntlid, 0, true);
        assertThat(c.status()).as(Status.describe(c.status())).isZero();
        return w;
    }

    static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    @ParameterizedTest(name = "header digest {0}, data digest {1}")
    @CsvSource({"false, false", "true, false", "false, true", "true, true"})
    void connectIdentifyReadWrite(boolean hd, boolean dd) throws Exception {
        try (NvmeTcpWire a = admin(hd, dd)) {
            assertThat(a.headerDigest()).isEqualTo(hd);
            assertThat(a.dataDigest()).isEqualTo(dd);
            NvmeTcpWire.Completion cap = a.propertyGet(Properties.CAP, true);
            assertThat(Properties.capMqes(cap.cqe().value64())).isEqualTo(127);
            assertThat(a.propertyGet(Properties.VS, false).cqe().dw0).isEqualTo(Properties.VERSION_1_3);
            assertThat(a.propertyGet(Properties.CSTS, false).cqe().dw0 & 1).isEqualTo(1);

            IdentifyController id = IdentifyController.decode(a.identify(1, 0).data());
            assertThat(id.cntlid()).isEqualTo(a.cntlid);
            assertThat(id.serialNumber()).isEqualTo("SN123");
            assertThat(id.modelNumber()).isEqualTo("Basalt test");
            assertThat(id.subnqn()).isEqualTo(NQN);
            assertThat(id.mdts()).isEqualTo(5);
            assertThat(id.oaes() & IdentifyController.OAES_NS_ATTRIBUTE_NOTICES).isNotZero();
            assertThat(id.aerl()).isEqualTo(3);
            assertThat(id.inCapsuleDataBytes()).isEqualTo(4096);
            assertThat(id.cntrltype()).isEqualTo(IdentifyController.CNTRLTYPE_IO);

            assertThat(NamespaceList.decode(a.identify(2, 0).data())).containsExactly(1);
            IdentifyNamespace ns = IdentifyNamespace.decode(a.identify(0, 1).data());
            assertThat(ns.nsze()).isEqualTo(BLOCKS);
            assertThat(ns.blockSize()).isEqualTo(BS);
            NamespaceIds ids = NamespaceIds.decodeDescriptors(a.identify(3, 1).data());
            assertThat(ids.uuid()).isEqualTo(UUID0);
            assertThat(ids.nguid()).isEqualTo(Wire.uuidBytes(UUID0));
            assertThat(IdentifyNamespace.decode(a.identify(0, 2).data())).as("inactive NSID").isNull();
            assertThat(a.identify(0, 33).status()).isEqualTo(Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);

            NvmeTcpWire.Completion nq = a.admin(Opcodes.ADMIN_SET_FEATURES, 0, Features.NUMBER_OF_QUEUES, 3 | 3 << 16, 0);
            assertThat(nq.status()).isZero();
            assertThat(nq.cqe().dw0).isEqualTo(126 | 126 << 16);

            try (NvmeTcpWire q = ioQueue(a, 1, hd, dd)) {
                byte[] small = pattern(8 * BS, 1);
                assertThat(q.io(Opcodes.IO_WRITE, 1, 10, 8, BS, small, true).status()).isZero();
                byte[] big = pattern(256 * BS, 2);
                assertThat(q.io(Opcodes.IO_WRITE, 1, 100, 256, BS, big, false).status()).isZero();
                assertThat(q.r2ts).isEqualTo(1);
                NvmeTcpWire.Completion r = q.io(Opcodes.IO_READ, 1, 10, 8, BS, null, false);
                assertThat(r.status()).isZero();
                assertThat(r.data()).isEqualTo(small);
                r = q.io(Opcodes.IO_READ, 1, 100, 256, BS, null, false);
                assertThat(r.data()).isEqualTo(big);
                assertThat(q.successFlags).as("no SUCCESS flag while SQ flow control is on").isZero();

                assertThat(q.io(Opcodes.IO_COMPARE, 1, 10, 8, BS, small, true).status()).isZero();
            }
        }
    }

    @Test
    void ioErrorsCarryTheSpecifiedStatus() throws Exception {
        try (NvmeTcpWire a = admin(false, false); NvmeTcpWire q = ioQueue(a, 1, false, false)) {
            assertThat(q.io(Opcodes.IO_READ, 2, 0, 1, BS, null, false).status())
                    .isEqualTo(Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
            assertThat(q.io(Opcodes.IO_READ, 1, BLOCKS - 1, 2, BS, null, false).status())
                    .isEqualTo(Status.LBA_OUT_OF_RANGE | Status.DNR);
            Sqe bad = new Sqe();
            bad.opcode = 0x7E;
            bad.nsid = 1;
            assertThat(q.run(bad).status()).isEqualTo(Status.INVALID_OPCODE | Status.DNR);
            byte[] one = pattern(BS, 3);
            assertThat(q.io(Opcodes.IO_WRITE, 1, 5, 1, BS, one, true).status()).isZero();
            byte[] other = pattern(BS, 4);
            assertThat(q.io(Opcodes.IO_COMPARE, 1, 5, 1, BS, other, true).status()).isEqualTo(Status.COMPARE_FAILURE);
            NvmeTcpWire.Completion err = a.getLogPage(LogPages.ERROR_INFORMATION, 0, 64 * 64, false, 0);
            assertThat(err.status()).isZero();
            LogPages.ErrorEntry e = LogPages.ErrorEntry.decode(err.data(), 0);
            assertThat(e.status()).isEqualTo(Status.COMPARE_FAILURE);
            assertThat(e.sqid()).isEqualTo(1);
        }
    }

    @Test
    void flushWriteZeroesAndDeallocate() throws Exception {
        try (NvmeTcpWire a = admin(false, false); NvmeTcpWire q = ioQueue(a, 1, false, false)) {
            byte[] data = pattern(16 * BS, 5);
            assertThat(q.io(Opcodes.IO_WRITE, 1, 0, 16, BS, data, false).status()).isZero();
            Sqe f = new Sqe();
            f.opcode = Opcodes.IO_FLUSH;
            f.nsid = 1;
            assertThat(q.run(f).status()).isZero();
            Sqe wz = new Sqe();
            wz.opcode = Opcodes.IO_WRITE_ZEROES;
            wz.nsid = 1;
            wz.cdw10 = 2;
            wz.cdw12 = 1;
            assertThat(q.run(wz).status()).isZero();
            byte[] ranges = new byte[32];
            var b = Wire.le(ranges);
            b.putInt(4, 2);
            b.putLong(8, 8);
            b.putInt(16 + 4, 1);
            b.putLong(16 + 8, 12);
            Sqe dsm = new Sqe();
            dsm.opcode = Opcodes.IO_DATASET_MANAGEMENT;
            dsm.nsid = 1;
            dsm.cdw10 = 1;
            dsm.cdw11 = 1 << 2;
            assertThat(q.await(q.submit(dsm, ranges, null)).status()).isZero();
            byte[] back = q.io(Opcodes.IO_READ, 1, 0, 16, BS, null, false).data();
            byte[] expect = data.clone();
            Arrays.fill(expect, 2 * BS, 4 * BS, (byte) 0);
            Arrays.fill(expect, 8 * BS, 10 * BS, (byte) 0);
            Arrays.fill(expect, 12 * BS, 13 * BS, (byte) 0);
            assertThat(back).isEqualTo(expect);
        }
    }

    @Test
    void c2hSuccessFlagWhenTheHostDisablesSqFlowControl() throws Exception {
        try (NvmeTcpWire a = admin(false, false); NvmeTcpWire q = new NvmeTcpWire(port)) {
            q.initialize(false, false);
            Sqe s = new Sqe();
            s.opcode = Opcodes.FABRICS;
            s.nsid = Opcodes.FCTYPE_CONNECT;
            s.cdw10 = 1 << 16;
            s.cdw11 = 31 | Sqe.CATTR_DISABLE_SQ_FLOW_CONTROL << 16;
            byte[] data = new ConnectData(a.hostId, a.cntlid, NQN, a.hostnqn).encode();
            q.hostnqn = a.hostnqn;
            assertThat(q.await(q.submit(s, data, null)).status()).isZero();
            byte[] w = pattern(4 * BS, 9);
            assertThat(q.io(Opcodes.IO_WRITE, 1, 0, 4, BS, w, true).status()).isZero();
            NvmeTcpWire.Completion r = q.io(Opcodes.IO_READ, 1, 0, 4, BS, null, false);
            assertThat(r.data()).isEqualTo(w);
            assertThat(q.successFlags).isEqualTo(1);
        }
    }

    @Test
    void commandsBeforeConnectAndBadConnects() throws Exception {
        try (NvmeTcpWire w = new NvmeTcpWire(port)) {
            w.initialize(false, false);
            assertThat(w.identify(1, 0).status()).isEqualTo(Status.COMMAND_SEQUENCE_ERROR | Status.DNR);
            NvmeTcpWire.Completion c = w.connect("nqn.2016-06.io.basalt:nope", 0, 31, 0xFFFF, 0, true);
            assertThat(c.status()).isEqualTo(Status.CONNECT_INVALID_PARAMETERS | Status.DNR);
            assertThat(c.cqe().dw0).isEqualTo(ConnectData.invalidParameterDw0(true, 256));
            c = w.connect(NQN, 0, 500, 0xFFFF, 0, true);
            assertThat(c.status()).isEqualTo(Status.CONNECT_INVALID_PARAMETERS | Status.DNR);
            c = w.connect(NQN, 1, 31, 77, 0, false);
            assertThat(c.status()).isEqualTo(Status.CONNECT_INVALID_PARAMETERS | Status.DNR);
            c = w.connect(NQN, 0, 31, 0xFFFF, 0, false);
            assertThat(c.status()).as("connect data through R2T").isZero();
            assertThat(w.identify(1, 0).status()).as("not enabled yet").isEqualTo(Status.COMMAND_SEQUENCE_ERROR | Status.DNR);
        }
    }

    @Test
    void hostAllowList() throws Exception {
        fx.on(0, () -> {
            target.createSubsystem("nqn.2016-06.io.basalt:closed", "SN", "MN", false, 4, 1, 0xFFEF);
            return null;
        });
        fx.onAsync(0, () -> target.addListener("nqn.2016-06.io.basalt:closed", new ListenAddress("IPv4", "127.0.0.1", port)));
        try (NvmeTcpWire w = new NvmeTcpWire(port)) {
            w.initialize(false, false);
            NvmeTcpWire.Completion c = w.connect("nqn.2016-06.io.basalt:closed", 0, 31, 0xFFFF, 0, true);
            assertThat(c.status()).isEqualTo(Status.CONNECT_INVALID_HOST | Status.DNR);
            String host = w.hostnqn;
            fx.on(0, () -> {
                target.addHost("nqn.2016-06.io.basalt:closed", host);
                return null;
            });
            assertThat(w.connect("nqn.2016-06.io.basalt:closed", 0, 31, 0xFFFF, 0, true).status()).isZero();
        }
    }

    @Test
    void malformedPdusEndTheConnectionWithATermReq() throws Exception {
        // An unknown PDU type.
        try (NvmeTcpWire w = new NvmeTcpWire(port)) {
            w.initialize(false, false);
            w.sendRaw(new byte[] {0x0F, 0, 24, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
            assertThatThrownBy(w::pump).isInstanceOfSatisfying(NvmeTcpWire.TermReqReceived.class,
                    t -> assertThat(t.fes).isEqualTo(Pdu.FES_INVALID_HEADER_FIELD));
            assertThat(w.closedByPeer()).isTrue();
        }
        // A capsule with a bad header digest.
        try (NvmeTcpWire w = new NvmeTcpWire(port)) {
            w.initialize(true, false);
            byte[] pdu = new byte[72 + 4];
            pdu[0] = Pdu.CAPSULE_CMD;
            pdu[1] = Pdu.FLAG_HDGSTF;
            pdu[2] = 72;
            pdu[4] = 76;
            pdu[8] = Opcodes.FABRICS;
            w.sendRaw(pdu);
            assertThatThrownBy(w::pump).isInstanceOfSatisfying(NvmeTcpWire.TermReqReceived.class,
                    t -> assertThat(t.fes).isEqualTo(Pdu.FES_HEADER_DIGEST_ERROR));
        }
        // Too much in-capsule data.
        try (NvmeTcpWire w = new NvmeTcpWire(port)) {
            w.initialize(false, false);
            byte[] pdu = new byte[72 + 9000];
            pdu[0] = Pdu.CAPSULE_CMD;
            pdu[2] = 72;
            pdu[3] = 72;
            Wire.le(pdu).putInt(4, pdu.length);
            w.sendRaw(Arrays.copyOf(pdu, 72));
            assertThatThrownBy(w::pump).isInstanceOfSatisfying(NvmeTcpWire.TermReqReceived.class,
                    t -> assertThat(t.fes).isEqualTo(Pdu.FES_DATA_LIMIT_EXCEEDED));
        }
        // A second ICReq.
        try (NvmeTcpWire w = new NvmeTcpWire(port)) {
            w.initialize(false, false);
            var b = io.netty.buffer.Unpooled.buffer();
            new io.basalt.nvme.tcp.IcReq(0, 0, false, false, 0).encode(b);
            w.send(b);
            assertThatThrownBy(w::pump).isInstanceOfSatisfying(NvmeTcpWire.TermReqReceived.class,
                    t -> assertThat(t.fes).isEqualTo(Pdu.FES_PDU_SEQUENCE_ERROR));
        }
        // The target is still well.
        try (NvmeTcpWire a = admin(false, false)) {
            assertThat(a.identify(1, 0).status()).isZero();
        }
    }

    @Test
    void aDataDigestMismatchEndsTheConnectionAndWritesNothing() throws Exception {
        byte[] before = pattern(8 * BS, 40);
        try (NvmeTcpWire a = admin(false, true); NvmeTcpWire q = ioQueue(a, 1, false, true)) {
            assertThat(q.io(Opcodes.IO_WRITE, 1, 50, 8, BS, before, true).status()).isZero();
            // The same write with other data, in the capsule, its data digest one bit off.
            Sqe s = new Sqe();
            s.opcode = Opcodes.IO_WRITE;
            s.nsid = 1;
            s.cdw10 = 50;
            s.cdw12 = 7;
            s.cid = q.nextCid();
            s.flags |= Sqe.FLAGS_PSDT_SGL;
            s.sglId = Sqe.SGL_ID_IN_CAPSULE;
            s.sglLength = 8 * BS;
            var b = io.netty.buffer.Unpooled.buffer();
            PduWriter.capsuleCmd(b, s, java.nio.ByteBuffer.wrap(pattern(8 * BS, 41)), false, true, 0,
                    new io.basalt.nvme.tcp.Digest());
            byte[] pdu = new byte[b.readableBytes()];
            b.readBytes(pdu);
            pdu[pdu.length - 1] ^= 1;
            q.sendRaw(pdu);
            assertThat(q.closedByPeer()).as("the connection ends").isTrue();
        }
        try (NvmeTcpWire a = admin(false, true); NvmeTcpWire q = ioQueue(a, 1, false, true)) {
            NvmeTcpWire.Completion r = q.io(Opcodes.IO_READ, 1, 50, 8, BS, null, false);
            assertThat(r.status()).isZero();
            assertThat(r.data()).as("the rejected data was not written").isEqualTo(before);
        }
    }

    private static int aerCommand(NvmeTcpWire a) throws IOException {
        Sqe s = new Sqe();
        s.opcode = Opcodes.ADMIN_ASYNC_EVENT_REQUEST;
        return a.submit(s, null, null);
    }

    private static java.util.List<Integer> changedList(NvmeTcpWire a) throws IOException {
        NvmeTcpWire.Completion c = a.getLogPage(LogPages.CHANGED_NAMESPACE_LIST, 0xFFFFFFFF, 4096, false, 0);
        assertThat(c.status()).isZero();
        return LogPages.decodeChangedNamespaces(c.data());
    }

    @Test
    void namespaceAddRemoveAndHotRemoveRaiseTheEventAndTheLogPage() throws Exception {
        fx.on(0, () -> malloc.create("m1", null, BS, 1024, BS, 0));
        try (NvmeTcpWire a = admin(false, false); NvmeTcpWire q = ioQueue(a, 1, false, false)) {
            assertThat(a.admin(Opcodes.ADMIN_SET_FEATURES, 0, Features.ASYNC_EVENT_CONFIGURATION,
                    Features.AEC_NAMESPACE_ATTRIBUTE, 0).status()).isZero();
            int aer = aerCommand(a);
            int nsid = fx.onAsync(0, () -> target.addNamespace(NQN, "m1", 0, null, null, null));
            assertThat(nsid).isEqualTo(2);
            NvmeTcpWire.Completion ev = a.await(aer);
            assertThat(ev.status()).isZero();
            assertThat(Features.aerType(ev.cqe().dw0)).isEqualTo(Features.AER_TYPE_NOTICE);
            assertThat(Features.aerInfo(ev.cqe().dw0)).isEqualTo(Features.AER_NOTICE_NS_ATTRIBUTE_CHANGED);
            assertThat(Features.aerLogPage(ev.cqe().dw0)).isEqualTo(LogPages.CHANGED_NAMESPACE_LIST);
            assertThat(changedList(a)).containsExactly(2);
            assertThat(changedList(a)).as("reading clears the list").isEmpty();
            assertThat(NamespaceList.decode(a.identify(2, 0).data())).containsExactly(1, 2);
            NamespaceIds before = NamespaceIds.decodeDescriptors(a.identify(3, 2).data());
            byte[] w = pattern(BS, 7);
            assertThat(q.io(Opcodes.IO_WRITE, 2, 3, 1, BS, w, true).status()).isZero();

            aer = aerCommand(a);
            fx.onAsync(0, () -> target.removeNamespace(NQN, 2));
            assertThat(a.await(aer).status()).isZero();
            assertThat(changedList(a)).containsExactly(2);
            assertThat(q.io(Opcodes.IO_READ, 2, 3, 1, BS, null, false).status())
                    .isEqualTo(Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
            assertThat(IdentifyNamespace.decode(a.identify(0, 2).data())).isNull();

            aer = aerCommand(a);
            fx.onAsync(0, () -> target.addNamespace(NQN, "m1", 2, null, null, null));
            assertThat(a.await(aer).status()).isZero();
            assertThat(changedList(a)).containsExactly(2);
            NamespaceIds after = NamespaceIds.decodeDescriptors(a.identify(3, 2).data());
            assertThat(after).as("the same bdev keeps its identifiers").isEqualTo(before);
            assertThat(after.sameNamespace(before)).isTrue();
            assertThat(q.io(Opcodes.IO_READ, 2, 3, 1, BS, null, false).data()).isEqualTo(w);

            // Hot remove of the bdev takes the namespace away the same way.
            aer = aerCommand(a);
            fx.onAsync(0, () -> malloc.delete("m1"));
            assertThat(a.await(aer).status()).isZero();
            assertThat(changedList(a)).containsExactly(2);
            assertThat(NamespaceList.decode(a.identify(2, 0).data())).containsExactly(1);
            assertThat(fx.bdevs.lookup("m1")).isNull();
        }
    }

    @Test
    void aNamespaceResizeRaisesTheEventAndIdentifyShowsTheNewSize() throws Exception {
        io.basalt.bdev.nullbdev.NullModule nulls = new io.basalt.bdev.nullbdev.NullModule(fx.bdevs);
        fx.bdevs.addModule(nulls);
        fx.on(0, () -> nulls.create("g0", null, BS, 1000, BS));
        int nsid = fx.onAsync(0, () -> target.addNamespace(NQN, "g0", 0, null, null, null));
        try (NvmeTcpWire a = admin(false, false); NvmeTcpWire q = ioQueue(a, 1, false, false)) {
            assertThat(IdentifyNamespace.decode(a.identify(0, nsid).data()).nsze()).isEqualTo(1000);
            assertThat(q.io(Opcodes.IO_READ, nsid, 1500, 1, BS, null, false).status() & 0x7FF)
                    .as("past the end").isEqualTo(Status.LBA_OUT_OF_RANGE & 0x7FF);
            assertThat(a.admin(Opcodes.ADMIN_SET_FEATURES, 0, Features.ASYNC_EVENT_CONFIGURATION,
                    Features.AEC_NAMESPACE_ATTRIBUTE, 0).status()).isZero();
            int aer = aerCommand(a);
            fx.on(0, () -> {
                nulls.resize("g0", 3000);
                return null;
            });
            NvmeTcpWire.Completion ev = a.await(aer);
            assertThat(ev.status()).isZero();
            assertThat(Features.aerInfo(ev.cqe().dw0)).isEqualTo(Features.AER_NOTICE_NS_ATTRIBUTE_CHANGED);
            assertThat(changedList(a)).containsExactly(nsid);
            IdentifyNamespace ns = IdentifyNamespace.decode(a.identify(0, nsid).data());
            assertThat(ns.nsze()).isEqualTo(3000);
            assertThat(q.io(Opcodes.IO_READ, nsid, 2999, 1, BS, null, false).status()).isZero();
        }
    }

    @Test
    void eventsWaitForTheHostAndAreMaskedUntilTheLogIsRead() throws Exception {
        fx.on(0, () -> malloc.create("m1", null, BS, 1024, BS, 0));
        try (NvmeTcpWire a = admin(false, false)) {
            // Not enabled: the change is listed but no AER completes.
            int aer = aerCommand(a);
            fx.onAsync(0, () -> target.addNamespace(NQN, "m1", 5, null, null, null));
            assertThat(changedList(a)).containsExactly(5);
            assertThat(a.completed(aer)).isFalse();
            // Enabled: a pending change completes the waiting AER; further changes wait for the log read.
            assertThat(a.admin(Opcodes.ADMIN_SET_FEATURES, 0, Features.ASYNC_EVENT_CONFIGURATION,
                    Features.AEC_NAMESPACE_ATTRIBUTE, 0).status()).isZero();
            fx.onAsync(0, () -> target.removeNamespace(NQN, 5));
            assertThat(a.await(aer).status()).isZero();
            int aer2 = aerCommand(a);
            fx.onAsync(0, () -> target.addNamespace(NQN, "m1", 6, null, null, null));
            assertThat(a.identify(1, 0).status()).isZero();
            assertThat(a.completed(aer2)).as("masked until the log is read").isFalse();
            assertThat(changedList(a)).containsExactly(5, 6);
            fx.onAsync(0, () -> target.removeNamespace(NQN, 6));
            assertThat(a.await(aer2).status()).isZero();
            // At most four AERs outstanding.
            for (int i = 0; i < 4; i++) {
                aerCommand(a);
            }
            assertThat(a.await(aerCommand(a)).status()).isEqualTo(Status.ASYNC_EVENT_LIMIT_EXCEEDED);
        }
    }

    @Test
    void getAndSetFeatures() throws Exception {
        try (NvmeTcpWire a = new NvmeTcpWire(port)) {
            a.connectAdmin(NQN, false, false, 30_000);
            long kato = fx.on(0, () -> target.effectiveKato(30_000));
            assertThat(a.admin(Opcodes.ADMIN_GET_FEATURES, 0, Features.KEEP_ALIVE_TIMER, 0, 0).cqe().dw0).isEqualTo((int) kato);
            // Set Features KATO changes the controller's timer; Get Features reads it back.
            long shorter = fx.on(0, () -> target.effectiveKato(20_000));
            assertThat(a.admin(Opcodes.ADMIN_SET_FEATURES, 0, Features.KEEP_ALIVE_TIMER, 20_000, 0).status()).isZero();
            assertThat(a.admin(Opcodes.ADMIN_GET_FEATURES, 0, Features.KEEP_ALIVE_TIMER, 0, 0).cqe().dw0).isEqualTo((int) shorter);
            // Number of queues (0's based, both halves), the write cache: on and not changeable.
            NvmeTcpWire.Completion nq = a.admin(Opcodes.ADMIN_GET_FEATURES, 0, Features.NUMBER_OF_QUEUES, 0, 0);
            assertThat(nq.status()).isZero();
            assertThat(nq.cqe().dw0).isEqualTo(126 | 126 << 16);
            assertThat(a.admin(Opcodes.ADMIN_GET_FEATURES, 0, Features.VOLATILE_WRITE_CACHE, 0, 0).cqe().dw0).isEqualTo(1);
            assertThat(a.admin(Opcodes.ADMIN_SET_FEATURES, 0, Features.VOLATILE_WRITE_CACHE, 0, 0).status())
                    .isEqualTo(Status.FEATURE_NOT_CHANGEABLE | Status.DNR);
            // Asynchronous event configuration: what was set is read back; "default" (SEL 1) is 0.
            assertThat(a.admin(Opcodes.ADMIN_SET_FEATURES, 0, Features.ASYNC_EVENT_CONFIGURATION,
                    Features.AEC_NAMESPACE_ATTRIBUTE, 0).status()).isZero();
            assertThat(a.admin(Opcodes.ADMIN_GET_FEATURES, 0, Features.ASYNC_EVENT_CONFIGURATION, 0, 0).cqe().dw0)
                    .isEqualTo(Features.AEC_NAMESPACE_ATTRIBUTE);
            assertThat(a.admin(Opcodes.ADMIN_GET_FEATURES, 0, Features.ASYNC_EVENT_CONFIGURATION | 1 << 8, 0, 0).cqe().dw0)
                    .isZero();
            // Saving is not supported; an unknown feature is an invalid field.
            assertThat(a.admin(Opcodes.ADMIN_SET_FEATURES, 0, Features.KEEP_ALIVE_TIMER | 1 << 31, 20_000, 0).status())
                    .isEqualTo(Status.FEATURE_NOT_SAVEABLE | Status.DNR);
            assertThat(a.admin(Opcodes.ADMIN_GET_FEATURES, 0, 0x7E, 0, 0).status()).isEqualTo(Status.INVALID_FIELD | Status.DNR);
            assertThat(a.admin(Opcodes.ADMIN_GET_FEATURES, 0, Features.KEEP_ALIVE_TIMER, 0, 0).cqe().dw0)
                    .as("refused commands changed nothing").isEqualTo((int) shorter);
        }
    }

    @Test
    void shutdownNotificationAndControllerDisable() throws Exception {
        try (NvmeTcpWire a = admin(false, false); NvmeTcpWire q = ioQueue(a, 1, false, false)) {
            byte[] data = pattern(8 * BS, 21);
            assertThat(q.io(Opcodes.IO_WRITE, 1, 40, 8, BS, data, true).status()).isZero();
            // CC.EN = 0 is a controller reset: the I/O queue's connection goes, the admin queue stays,
            // CSTS.RDY clears and admin commands other than fabrics ones are refused until EN = 1.
            assertThat(a.propertySet(Properties.CC, 0).status()).isZero();
            assertThat(q.closedByPeer()).isTrue();
            assertThat(a.propertyGet(Properties.CSTS, false).cqe().dw0 & Properties.CSTS_RDY).isZero();
            assertThat(a.identify(1, 0).status()).isEqualTo(Status.COMMAND_SEQUENCE_ERROR | Status.DNR);
            assertThat(a.propertySet(Properties.CC, Properties.ccEnable()).status()).isZero();
            assertThat(a.propertyGet(Properties.CSTS, false).cqe().dw0 & Properties.CSTS_RDY).isEqualTo(Properties.CSTS_RDY);
            try (NvmeTcpWire q2 = ioQueue(a, 1, false, false)) {
                NvmeTcpWire.Completion r = q2.io(Opcodes.IO_READ, 1, 40, 8, BS, null, false);
                assertThat(r.data()).as("acknowledged data survives the reset").isEqualTo(data);
            }
            // CC.SHN = normal: shutdown processing completes (CSTS.SHST = 10b); SHN = 0 clears it.
            assertThat(Properties.cstsShst(a.propertyGet(Properties.CSTS, false).cqe().dw0)).isEqualTo(Properties.SHST_NORMAL);
            assertThat(a.propertySet(Properties.CC, Properties.ccEnable() | 1 << 14).status()).isZero();
            assertThat(Properties.cstsShst(a.propertyGet(Properties.CSTS, false).cqe().dw0)).isEqualTo(Properties.SHST_COMPLETE);
            assertThat(a.propertySet(Properties.CC, Properties.ccEnable()).status()).isZero();
            assertThat(Properties.cstsShst(a.propertyGet(Properties.CSTS, false).cqe().dw0)).isEqualTo(Properties.SHST_NORMAL);
        }
    }

    @Test
    void keepAliveTimeoutFreesTheController() throws Exception {
        try (NvmeTcpWire a = new NvmeTcpWire(port)) {
            a.connectAdmin(NQN, false, false, 1000);
            for (int i = 0; i < 8; i++) {
                assertThat(a.admin(Opcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, 0).status()).isZero();
                Thread.sleep(250);
            }
            assertThat(fx.on(0, () -> target.controllersJson(NQN).size())).isEqualTo(1);
            // Silence: the controller goes and its connection closes.
            assertThat(a.closedByPeer()).isTrue();
        }
        for (int i = 0; i < 100 && fx.on(0, () -> target.controllersJson(NQN).size()) > 0; i++) {
            Thread.sleep(50);
        }
        assertThat(fx.on(0, () -> target.controllersJson(NQN).size())).isZero();
    }

    @Test
    void logPagesSmartAndDiscovery() throws Exception {
        try (NvmeTcpWire a = admin(false, false); NvmeTcpWire q = ioQueue(a, 1, true, true)) {
            byte[] w = pattern(8 * BS, 11);
            q.io(Opcodes.IO_WRITE, 1, 0, 8, BS, w, true);
            q.io(Opcodes.IO_READ, 1, 0, 8, BS, null, false);
            NvmeTcpWire.Completion s = a.getLogPage(LogPages.SMART_HEALTH, 0xFFFFFFFF, 512, false, 0);
            assertThat(s.status()).isZero();
            var b = Wire.le(s.data());
            assertThat(b.getLong(64)).as("host read commands").isEqualTo(1);
            assertThat(b.getLong(80)).as("host write commands").isEqualTo(1);
            assertThat(b.getLong(32)).as("data units read").isEqualTo(1);
            assertThat(a.getLogPage(0x7F, 0, 512, false, 0).status()).isEqualTo(Status.INVALID_LOG_PAGE | Status.DNR);
            assertThat(a.getLogPage(LogPages.DISCOVERY, 0, 1024, false, 0).status())
                    .isEqualTo(Status.INVALID_LOG_PAGE | Status.DNR);
        }
        try (NvmeTcpWire d = new NvmeTcpWire(port)) {
            d.connectAdmin(ConnectData.DISCOVERY_NQN, false, false, 0);
            IdentifyController id = IdentifyController.decode(d.identify(1, 0).data());
            assertThat(id.cntrltype()).isEqualTo(IdentifyController.CNTRLTYPE_DISCOVERY);
            assertThat(id.subnqn()).isEqualTo(ConnectData.DISCOVERY_NQN);
            byte[] head = d.getLogPage(LogPages.DISCOVERY, 0, 1024, false, 0).data();
            assertThat(LogPages.discoveryNumrec(head)).isEqualTo(1);
            byte[] all = d.getLogPage(LogPages.DISCOVERY, 0, 2048, false, 0).data();
            LogPages.DiscoveryEntry e = LogPages.DiscoveryEntry.decode(all, 1024);
            assertThat(e.subnqn()).isEqualTo(NQN);
            assertThat(e.traddr()).isEqualTo("127.0.0.1");
            assertThat(e.trsvcid()).isEqualTo(Integer.toString(port));
            assertThat(e.trtype()).isEqualTo(LogPages.DiscoveryEntry.TRTYPE_TCP);
            assertThat(e.subtype()).isEqualTo(LogPages.DiscoveryEntry.SUBTYPE_NVME);
            byte[] entry = d.getLogPage(LogPages.DISCOVERY, 0, 1024, false, 1024).data();
            assertThat(LogPages.DiscoveryEntry.decode(entry, 0)).isEqualTo(e);
        }
    }

    @Test
    void vanishedConnectionsReleaseEverything() throws Exception {
        NvmeTcpWire a = admin(false, false);
        NvmeTcpWire q = ioQueue(a, 1, false, false);
        // A write whose data never comes: the R2T is outstanding when the host vanishes.
        Sqe s = new Sqe();
        s.opcode = Opcodes.IO_WRITE;
        s.nsid = 1;
        s.cdw12 = 63;
        q.submit(s, null, new byte[64 * BS]);
        q.close();
        a.close();
        for (int i = 0; i < 100 && fx.on(0, () -> target.controllersJson(NQN).size()) > 0; i++) {
            Thread.sleep(50);
        }
        assertThat(fx.on(0, () -> target.controllersJson(NQN).size())).isZero();
        for (int r = 0; r < 2; r++) {
            int id = r;
            for (int i = 0; i < 100 && fx.on(id, () -> target.group(fx.reactors.get(id)).size()) > 0; i++) {
                Thread.sleep(50);
            }
            assertThat(fx.on(id, () -> target.group(fx.reactors.get(id)).size())).isZero();
        }
    }
}
