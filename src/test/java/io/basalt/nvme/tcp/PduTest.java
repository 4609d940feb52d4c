package io.basalt.nvme.tcp;

import io.basalt.nvme.Sqe;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** NVMe/TCP PDUs as fixed bytes (NVMe/TCP 1.0 section 3.6), and the decoder's checks. */
class PduTest {
    @Test
    void digestIsStandardCrc32c() {
        byte[] v = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertThat(new Digest().of(v, 0, v.length)).isEqualTo(0xE3069283);
    }

    @Test
    void icReqAndIcResp() {
        ByteBuf b = Unpooled.buffer();
        new IcReq(0, 0, true, false, 0).encode(b);
        assertThat(b.readableBytes()).isEqualTo(128);
        assertThat(ByteBufUtil.hexDump(b, 0, 16)).isEqualTo("00008000800000000000000100000000");
        assertThat(IcReq.decode(b, 0)).isEqualTo(new IcReq(0, 0, true, false, 0));
        ByteBuf r = Unpooled.buffer();
        new IcResp(0, 0, true, true, 131072).encode(r);
        assertThat(ByteBufUtil.hexDump(r, 0, 16)).isEqualTo("01008000800000000000000300000200");
    }

    @Test
    void termReqQuotesTheHeader() {
        ByteBuf b = Unpooled.buffer();
        new TermReq(false, Pdu.FES_INVALID_HEADER_FIELD, 2, new byte[] {1, 2, 3}).encode(b);
        assertThat(ByteBufUtil.hexDump(b)).isEqualTo("030018181b000000" + "0100" + "02000000" + "00000000000000000000"
                + "010203");
    }

    @Test
    void capsuleRespR2tAndDataHeaders() {
        Digest d = new Digest();
        ByteBuf b = Unpooled.buffer();
        PduWriter.capsuleResp(b, 1, 0, 2, 1, 0x10, 0, false, d);
        assertThat(ByteBufUtil.hexDump(b)).isEqualTo("0500180018000000" + "01000000" + "00000000" + "0200" + "0100"
                + "1000" + "0000");
        ByteBuf h = Unpooled.buffer();
        PduWriter.capsuleResp(h, 0, 0, 0, 0, 0, 0, true, d);
        assertThat(h.readableBytes()).isEqualTo(28);
        assertThat(h.getByte(1)).isEqualTo((byte) Pdu.FLAG_HDGSTF);
        assertThat(h.getIntLE(24)).isEqualTo(d.of(h, 0, 24));

        ByteBuf r = Unpooled.buffer();
        PduWriter.r2t(r, 7, 3, 0, 65536, false, d);
        assertThat(ByteBufUtil.hexDump(r)).isEqualTo("0900180018000000" + "0700" + "0300" + "00000000" + "00000100"
                + "00000000");

        ByteBuf c = Unpooled.buffer();
        PduWriter.dataHeader(c, Pdu.C2H_DATA, Pdu.FLAG_LAST_PDU | Pdu.FLAG_SUCCESS, 9, 0, 4096, 512, true, true, 1, d);
        // HLEN 24 + digest 4 = 28, padded to a multiple of (HPDA + 1) * 4 = 8: PDO 32; PLEN 32 + 512 + 4.
        assertThat(ByteBufUtil.hexDump(c, 0, 8)).isEqualTo("070f1820" + "24020000");
        assertThat(c.readableBytes()).isEqualTo(32);
        assertThat(c.getShortLE(10)).as("C2HData has no TTAG").isZero();
    }

    /** Collects what the decoder reports. */
    static final class Sink implements PduDecoder.Handler {
        final List<String> events = new ArrayList<>();
        final ByteBuffer data = ByteBuffer.allocate(8192);
        PduException violation;

        @Override
        public boolean onHeader(PduHeader h) {
            events.add("header " + Pdu.typeName(h.type()) + " " + h.dataLength());
            if (h.dataLength() > 0) {
                h.target(data, 0);
            }
            return true;
        }

        @Override
        public void onPdu(PduHeader h, boolean ok) {
            events.add("pdu " + Pdu.typeName(h.type()) + (ok ? "" : " bad data digest"));
        }

        @Override
        public void onViolation(PduException e, byte[] hdr) {
            violation = e;
            events.add("violation " + e.fes() + "/" + e.fei());
        }
    }

    private static Sink feed(boolean connected, boolean hd, boolean dd, byte[]... chunks) {
        Sink s = new Sink();
        PduDecoder dec = new PduDecoder(s, true, 1 << 20);
        if (connected) {
            dec.connected(hd, dd);
        }
        EmbeddedChannel ch = new EmbeddedChannel(dec);
        for (byte[] c : chunks) {
            ch.writeInbound(Unpooled.wrappedBuffer(c));
        }
        ch.finishAndReleaseAll();
        return s;
    }

    private static byte[] bytes(ByteBuf b) {
        byte[] a = new byte[b.readableBytes()];
        b.readBytes(a);
        return a;
    }

    @Test
    void capsuleWithDataArrivesInPiecesWithDigests() {
        Digest d = new Digest();
        ByteBuf b = Unpooled.buffer();
        Sqe s = new Sqe();
        s.opcode = 1;
        byte[] payload = new byte[1000];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) i;
        }
        PduWriter.capsuleCmd(b, s, ByteBuffer.wrap(payload), true, true, 0, d);
        byte[] all = bytes(b);
        byte[][] pieces = new byte[all.length][];
        for (int i = 0; i < all.length; i++) {
            pieces[i] = new byte[] {all[i]};
        }
        Sink sink = feed(true, true, true, pieces);
        assertThat(sink.events).containsExactly("header CapsuleCmd 1000", "pdu CapsuleCmd");
        assertThat(sink.data.array()[999]).isEqualTo(payload[999]);

        all[all.length - 1] ^= 1;
        assertThat(feed(true, true, true, all).events).containsExactly("header CapsuleCmd 1000",
                "pdu CapsuleCmd bad data digest");
    }

    @Test
    void violationsCarryTheirFatalErrorStatus() {
        // Before ICReq, a capsule is out of sequence.
        ByteBuf b = Unpooled.buffer();
        PduWriter.capsuleCmd(b, new Sqe(), null, false, false, 0, new Digest());
        assertThat(feed(false, false, false, bytes(b)).violation.fes()).isEqualTo(Pdu.FES_PDU_SEQUENCE_ERROR);
        // A controller-to-host PDU sent to a controller.
        ByteBuf r = Unpooled.buffer();
        PduWriter.capsuleResp(r, 0, 0, 0, 0, 0, 0, false, new Digest());
        assertThat(feed(true, false, false, bytes(r)).violation.fes()).isEqualTo(Pdu.FES_INVALID_HEADER_FIELD);
        // A wrong HLEN: FEI is the HLEN field's offset.
        ByteBuf c = Unpooled.buffer();
        PduWriter.capsuleCmd(c, new Sqe(), null, false, false, 0, new Digest());
        c.setByte(2, 70);
        Sink s = feed(true, false, false, bytes(c));
        assertThat(s.violation.fes()).isEqualTo(Pdu.FES_INVALID_HEADER_FIELD);
        assertThat(s.violation.fei()).isEqualTo(2);
        // A header digest that does not match.
        ByteBuf h = Unpooled.buffer();
        PduWriter.capsuleCmd(h, new Sqe(), null, true, false, 0, new Digest());
        h.setByte(10, 99);
        assertThat(feed(true, true, false, bytes(h)).violation.fes()).isEqualTo(Pdu.FES_HEADER_DIGEST_ERROR);
        // The header digest flag missing while header digests are on.
        ByteBuf m = Unpooled.buffer();
        PduWriter.capsuleCmd(m, new Sqe(), null, false, false, 0, new Digest());
        assertThat(feed(true, true, false, bytes(m)).violation.fei()).isEqualTo(1);
        // A PDU longer than the limit.
        byte[] big = new byte[24];
        big[0] = Pdu.H2C_DATA;
        big[2] = 24;
        big[3] = 24;
        big[4] = 0;
        big[5] = 0;
        big[6] = (byte) 0xF0;
        assertThat(feed(true, false, false, big).violation.fes()).isEqualTo(Pdu.FES_DATA_LIMIT_EXCEEDED);
    }
}
