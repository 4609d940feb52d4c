package io.basalt.nvme;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Fixed-byte checks of the NVMe layouts against the offsets of NVMe 1.4 / NVMe-oF 1.1 (and Linux's nvme.h). */
class NvmeLayoutsTest {
    @Test
    void sqeFieldsSitAtTheirOffsets() {
        Sqe s = new Sqe();
        s.opcode = 0x02;
        s.flags = Sqe.FLAGS_PSDT_SGL;
        s.cid = 0x1234;
        s.nsid = 1;
        s.sglAddress = 0;
        s.sglLength = 4096;
        s.sglId = Sqe.SGL_ID_TRANSPORT;
        s.cdw10 = 0x89ABCDEF;
        s.cdw11 = 0x01;
        s.cdw12 = 7 | 1 << 30;
        ByteBuf b = Unpooled.buffer();
        s.encode(b);
        assertThat(b.readableBytes()).isEqualTo(64);
        assertThat(ByteBufUtil.hexDump(b)).isEqualTo(
                "0240341201000000" + "0000000000000000" + "0000000000000000" + "0000000000000000"
                        + "00100000" + "0000005a" + "efcdab89" + "01000000" + "07000040" + "00000000"
                        + "0000000000000000");
        Sqe d = new Sqe().decode(b, 0);
        assertThat(d.slba()).isEqualTo(0x1_89ABCDEFL);
        assertThat(d.nlb()).isEqualTo(8);
        assertThat(d.fua()).isTrue();
        assertThat(d.direction()).isEqualTo(Opcodes.DIR_CTRLR_TO_HOST);
    }

    @Test
    void connectCommandFields() {
        Sqe s = new Sqe();
        s.opcode = Opcodes.FABRICS;
        s.nsid = Opcodes.FCTYPE_CONNECT;
        s.cdw10 = 3 << 16;
        s.cdw11 = 127 | Sqe.CATTR_DISABLE_SQ_FLOW_CONTROL << 16;
        s.cdw12 = 15000;
        ByteBuf b = Unpooled.buffer();
        s.encode(b);
        // FCTYPE at byte 4, RECFMT 40, QID 42, SQSIZE 44, CATTR 46, KATO 48 (NVMe-oF 1.1 Figure 20).
        assertThat(b.getByte(4)).isEqualTo((byte) 1);
        assertThat(b.getShortLE(42)).isEqualTo((short) 3);
        assertThat(b.getShortLE(44)).isEqualTo((short) 127);
        assertThat(b.getByte(46)).isEqualTo((byte) 4);
        assertThat(b.getIntLE(48)).isEqualTo(15000);
        Sqe d = new Sqe().decode(b, 0);
        assertThat(d.connectQid()).isEqualTo(3);
        assertThat(d.connectSqsize()).isEqualTo(127);
        assertThat(d.connectKato()).isEqualTo(15000);
        assertThat(d.direction()).isEqualTo(Opcodes.DIR_HOST_TO_CTRLR);
    }

    @Test
    void cqeStatusIsAbovePhase() {
        ByteBuf b = Unpooled.buffer();
        Cqe.encode(b, 0x11223344, 0, 5, 1, 0xBEEF, Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
        assertThat(ByteBufUtil.hexDump(b)).isEqualTo("44332211" + "00000000" + "0500" + "0100" + "efbe" + "1680");
        Cqe c = new Cqe().decode(b, 0);
        assertThat(c.status).isEqualTo(Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
        assertThat(Status.dnr(c.status)).isTrue();
        assertThat(Status.sc(c.status)).isEqualTo(0x0B);
    }

    @Test
    void identifyControllerOffsets() {
        IdentifyController id = new IdentifyController(0x1B36, 0, "SN1", "Model", "0.1.0", 6, 0, 3, 5, 7,
                Properties.VERSION_1_3, IdentifyController.OAES_NS_ATTRIBUTE_NOTICES, 0, 1, 0, 3, 3, 3, 4, 63, 0, 10,
                0x66, 0x44, 128, 32, 0x0D, 0, 5, 1, IdentifyController.SGLS_FABRICS, 0, "nqn.2016-06.io.basalt:x",
                260, 1, 0, 0, 1, 0);
        byte[] a = id.encode();
        var b = Wire.le(a);
        assertThat(b.getShort(0)).isEqualTo((short) 0x1B36);
        assertThat(new String(a, 4, 20)).isEqualTo("SN1                 ");
        assertThat(a[77]).isEqualTo((byte) 5);
        assertThat(b.getShort(78)).isEqualTo((short) 7);
        assertThat(b.getInt(80)).isEqualTo(0x10300);
        assertThat(b.getInt(92)).isEqualTo(0x100);
        assertThat(a[111]).isEqualTo((byte) 1);
        assertThat(a[259]).isEqualTo((byte) 3);
        assertThat(b.getShort(320)).isEqualTo((short) 10);
        assertThat(a[512]).isEqualTo((byte) 0x66);
        assertThat(b.getShort(514)).isEqualTo((short) 128);
        assertThat(b.getInt(516)).isEqualTo(32);
        assertThat(b.getInt(536)).isEqualTo(0x300001);
        assertThat(new String(a, 768, 23)).isEqualTo("nqn.2016-06.io.basalt:x");
        assertThat(a[768 + 23]).isZero();
        assertThat(b.getInt(1792)).isEqualTo(260);
        assertThat(a[1803]).isEqualTo((byte) 1);
        assertThat(IdentifyController.decode(a)).isEqualTo(id);
        assertThat(id.maxTransferBytes()).isEqualTo(131072);
        assertThat(id.inCapsuleDataBytes()).isEqualTo(4096);
    }

    @Test
    void identifyNamespaceAndDescriptors() {
        UUID u = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");
        byte[] nguid = Wire.uuidBytes(u);
        IdentifyNamespace ns = new IdentifyNamespace(1000, 1000, 1000, 0, 1, 0, 0, nguid, new byte[8], 4096);
        byte[] a = ns.encode();
        assertThat(Wire.le(a).getLong(0)).isEqualTo(1000);
        assertThat(a[30]).isEqualTo((byte) 1);
        assertThat(a[104]).isEqualTo((byte) 0x00);
        assertThat(a[119]).isEqualTo((byte) 0xFF);
        assertThat(a[130]).isEqualTo((byte) 12);
        assertThat(IdentifyNamespace.decode(a).blockSize()).isEqualTo(4096);
        assertThat(IdentifyNamespace.decode(new byte[4096])).isNull();

        NamespaceIds ids = new NamespaceIds(nguid, Wire.parseHex("0102030405060708", 8), u);
        byte[] d = ids.encodeDescriptors();
        // EUI-64: type 1, length 8; NGUID: type 2, length 16; UUID: type 3, length 16; CSI: type 4, length 1.
        assertThat(ByteBufUtil.hexDump(d, 0, 12)).isEqualTo("010800000102030405060708");
        assertThat(ByteBufUtil.hexDump(d, 12, 4)).isEqualTo("02100000");
        assertThat(ByteBufUtil.hexDump(d, 32, 4)).isEqualTo("03100000");
        assertThat(ByteBufUtil.hexDump(d, 36, 16)).isEqualTo("00112233445566778899aabbccddeeff");
        assertThat(ByteBufUtil.hexDump(d, 52, 5)).isEqualTo("0401000000");
        assertThat(NamespaceIds.decodeDescriptors(d)).isEqualTo(ids);
        NamespaceIds other = new NamespaceIds(new byte[16], new byte[8], UUID.randomUUID());
        assertThat(ids.sameNamespace(other)).isFalse();
        assertThat(ids.sameNamespace(new NamespaceIds(nguid, new byte[8], null))).isTrue();
    }

    @Test
    void namespaceListsAndChangedNamespaceLog() {
        byte[] l = NamespaceList.encode(new int[] {1, 2, 7}, 1);
        assertThat(ByteBufUtil.hexDump(l, 0, 12)).isEqualTo("020000000700000000000000");
        assertThat(NamespaceList.decode(l)).containsExactly(2, 7);
        byte[] c = LogPages.changedNamespaces(new int[] {3, 9}, false);
        assertThat(c).hasSize(4096);
        assertThat(LogPages.decodeChangedNamespaces(c)).containsExactly(3, 9);
        byte[] over = LogPages.changedNamespaces(new int[0], true);
        assertThat(ByteBufUtil.hexDump(over, 0, 8)).isEqualTo("ffffffff00000000");
        assertThat(LogPages.decodeChangedNamespaces(over)).containsExactly(-1);
    }

    @Test
    void getLogPageFields() {
        int cdw10 = LogPages.cdw10(LogPages.CHANGED_NAMESPACE_LIST, true, 4096);
        assertThat(cdw10).isEqualTo(0x04 | 1 << 15 | 1023 << 16);
        assertThat(LogPages.lengthBytes(cdw10, LogPages.cdw11(4096))).isEqualTo(4096);
        int big10 = LogPages.cdw10(LogPages.DISCOVERY, false, 1 << 20);
        int big11 = LogPages.cdw11(1 << 20);
        assertThat(big11).isEqualTo(3);
        assertThat(LogPages.lengthBytes(big10, big11)).isEqualTo(1 << 20);
    }

    @Test
    void discoveryLogLayout() {
        var e = new LogPages.DiscoveryEntry(3, 1, 2, 6, 1, 0xFFFF, 128, "4420", "nqn.2016-06.io.basalt:x", "10.0.0.1");
        byte[] a = LogPages.discovery(7, List.of(e));
        assertThat(a).hasSize(2048);
        assertThat(LogPages.discoveryGenctr(a)).isEqualTo(7);
        assertThat(LogPages.discoveryNumrec(a)).isEqualTo(1);
        assertThat(ByteBufUtil.hexDump(a, 1024, 10)).isEqualTo("03010206" + "0100" + "ffff" + "8000");
        assertThat(new String(a, 1024 + 32, 4)).isEqualTo("4420");
        assertThat(new String(a, 1024 + 256, 23)).isEqualTo("nqn.2016-06.io.basalt:x");
        assertThat(new String(a, 1024 + 512, 8)).isEqualTo("10.0.0.1");
        assertThat(LogPages.DiscoveryEntry.decode(a, 1024)).isEqualTo(e);
    }

    @Test
    void connectDataAndErrorEntry() {
        UUID h = UUID.fromString("11111111-2222-3333-4444-555555555555");
        ConnectData d = new ConnectData(h, 0xFFFF, "nqn.2016-06.io.basalt:x", "nqn.host");
        byte[] a = d.encode();
        assertThat(a).hasSize(1024);
        assertThat(ByteBufUtil.hexDump(a, 0, 18)).isEqualTo("11111111222233334444555555555555ffff");
        assertThat(new String(a, 256, 23)).isEqualTo("nqn.2016-06.io.basalt:x");
        assertThat(new String(a, 512, 8)).isEqualTo("nqn.host");
        assertThat(ConnectData.decode(a)).isEqualTo(d);
        assertThat(ConnectData.invalidParameterDw0(true, 256)).isEqualTo(0x10100);

        byte[] e = new byte[64];
        new LogPages.ErrorEntry(5, 1, 9, Status.LBA_OUT_OF_RANGE | Status.DNR, 0xFFFF, 100, 1).encodeInto(e, 0);
        assertThat(ByteBufUtil.hexDump(e, 0, 30)).isEqualTo("0500000000000000" + "0100" + "0900" + "0081" + "ffff"
                + "6400000000000000" + "01000000" + "00" + "03");
        assertThat(LogPages.ErrorEntry.decode(e, 0).status()).isEqualTo(Status.LBA_OUT_OF_RANGE | Status.DNR);
    }

    @Test
    void propertiesAndFeatures() {
        long cap = Properties.cap(127, 15);
        assertThat(cap).isEqualTo(0x0000_0020_0F01_007FL);
        assertThat(Properties.ccEnable()).isEqualTo(0x00460001);
        assertThat(Features.aerDw0(2, 0, 4)).isEqualTo(0x040002);
    }
}
