package io.basalt.nbd.codec;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

class OptionDecoderTest {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    @Test
    void clientFlagsThenOptionWithoutData() {
        EmbeddedChannel ch = new EmbeddedChannel(new OptionDecoder());
        // client flags: FIXED_NEWSTYLE | NO_ZEROES; NBD_OPT_STRUCTURED_REPLY (8), length 0
        ch.writeInbound(Unpooled.wrappedBuffer(hex("00000003 49484156454f5054 00000008 00000000")));
        assertThat((Object) ch.readInbound()).isEqualTo(new HandshakeMessage.ClientFlags(3));
        HandshakeMessage.Option o = ch.readInbound();
        assertThat(o.code()).isEqualTo(NbdProtocol.OPT_STRUCTURED_REPLY);
        assertThat(o.data()).isEmpty();
        assertThat((Object) ch.readInbound()).isNull();
    }

    @Test
    void goOptionArrivingByteByByte() {
        EmbeddedChannel ch = new EmbeddedChannel(new OptionDecoder());
        // NBD_OPT_GO: name "m0", one info request (NBD_INFO_BLOCK_SIZE)
        byte[] msg = hex("00000001 49484156454f5054 00000007 0000000a 00000002 6d30 0001 0003");
        for (byte b : msg) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertThat((Object) ch.readInbound()).isEqualTo(new HandshakeMessage.ClientFlags(1));
        HandshakeMessage.Option o = ch.readInbound();
        assertThat(o.code()).isEqualTo(NbdProtocol.OPT_GO);
        assertThat(o.data()).containsExactly(hex("00000002 6d30 0001 0003"));
    }

    @Test
    void oversizeOptionIsSkippedAndTheNextOneDecoded() {
        EmbeddedChannel ch = new EmbeddedChannel(new OptionDecoder());
        int big = OptionDecoder.MAX_OPTION_DATA + 1;
        ch.writeInbound(Unpooled.wrappedBuffer(hex("00000001 49484156454f5054 00000063"), new byte[] {0, 1, 0, 1}));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[big]));
        ch.writeInbound(Unpooled.wrappedBuffer(hex("49484156454f5054 00000003 00000000")));
        ch.readInbound();
        assertThat((Object) ch.readInbound()).isEqualTo(new HandshakeMessage.OptionTooBig(0x63, big));
        HandshakeMessage.Option list = ch.readInbound();
        assertThat(list.code()).isEqualTo(NbdProtocol.OPT_LIST);
    }

    @Test
    void badMagicEndsDecodingWithAViolation() {
        EmbeddedChannel ch = new EmbeddedChannel(new OptionDecoder());
        ch.writeInbound(Unpooled.wrappedBuffer(hex("00000001 0000000000000000 00000003 00000000 49484156454f5054")));
        ch.readInbound();
        HandshakeMessage.Violation v = ch.readInbound();
        assertThat(v.reason()).contains("bad option magic");
        ch.writeInbound(Unpooled.wrappedBuffer(hex("49484156454f5054 00000003 00000000")));
        assertThat((Object) ch.readInbound()).isNull();
        assertThat(ch.finish()).isFalse();
    }
}
