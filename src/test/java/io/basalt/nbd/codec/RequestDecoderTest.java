package io.basalt.nbd.codec;

import io.basalt.runtime.BufferPool;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RequestDecoderTest {
    private final BufferPool pool = new BufferPool(64L << 20, 0);

    /** A source that hands out up to {@code limit} requests and can refuse buffers. */
    private final class Source implements RequestSource {
        int limit = Integer.MAX_VALUE;
        boolean buffers = true;
        int handedOut;
        final List<NbdRequest> discarded = new ArrayList<>();

        @Override
        public NbdRequest acquire() {
            if (handedOut >= limit) {
                return null;
            }
            handedOut++;
            return new NbdRequest();
        }

        @Override
        public boolean attachPayload(NbdRequest r) {
            return buffers && r.allocateBuffers(pool);
        }

        @Override
        public void discard(NbdRequest r) {
            r.releaseBuffers(pool);
            discarded.add(r);
        }
    }

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    @Test
    void readRequestFields() {
        Source src = new Source();
        EmbeddedChannel ch = new EmbeddedChannel(new RequestDecoder(src, NbdRequest.MAX_DATA));
        // magic, flags FUA, type READ, handle, offset 4096, length 8192
        ch.writeInbound(Unpooled.wrappedBuffer(hex("25609513 0001 0000 0102030405060708 0000000000001000 00002000")));
        NbdRequest r = ch.readInbound();
        assertThat(r.type()).isEqualTo(NbdProtocol.CMD_READ);
        assertThat(r.flags()).isEqualTo(NbdProtocol.CMD_FLAG_FUA);
        assertThat(r.handle()).isEqualTo(0x0102030405060708L);
        assertThat(r.offset()).isEqualTo(4096);
        assertThat(r.length()).isEqualTo(8192);
        assertThat(r.bufferCount()).isZero();
    }

    @Test
    void writePayloadStreamsIntoBuffersAcrossReads() {
        Source src = new Source();
        EmbeddedChannel ch = new EmbeddedChannel(new RequestDecoder(src, NbdRequest.MAX_DATA));
        byte[] header = hex("25609513 0000 0001 00000000000000aa 0000000000000000 00000200");
        byte[] payload = new byte[512];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) i;
        }
        ch.writeInbound(Unpooled.wrappedBuffer(header, java.util.Arrays.copyOf(payload, 100)));
        assertThat((Object) ch.readInbound()).isNull();
        ch.writeInbound(Unpooled.wrappedBuffer(java.util.Arrays.copyOfRange(payload, 100, 512),
                hex("25609513 0000 0003 00000000000000bb 0000000000000000 00000000")));
        NbdRequest w = ch.readInbound();
        assertThat(w.type()).isEqualTo(NbdProtocol.CMD_WRITE);
        assertThat(w.bufferCount()).isEqualTo(1);
        for (int i = 0; i < 512; i++) {
            assertThat(w.buffer(0).segment().get(ValueLayout.JAVA_BYTE, i)).isEqualTo((byte) i);
        }
        NbdRequest flush = ch.readInbound();
        assertThat(flush.type()).isEqualTo(NbdProtocol.CMD_FLUSH);
        assertThat(flush.handle()).isEqualTo(0xbb);
        w.releaseBuffers(pool);
    }

    @Test
    void pausesWhenTheSourceRefusesAndResumesOnAnEmptyRead() {
        Source src = new Source();
        src.limit = 1;
        EmbeddedChannel ch = new EmbeddedChannel(new RequestDecoder(src, NbdRequest.MAX_DATA));
        byte[] two = hex("25609513 0000 0000 0000000000000001 0000000000000000 00000200"
                + "25609513 0000 0000 0000000000000002 0000000000000000 00000200");
        ch.writeInbound(Unpooled.wrappedBuffer(two));
        assertThat(((NbdRequest) ch.readInbound()).handle()).isEqualTo(1);
        assertThat((Object) ch.readInbound()).isNull();
        src.limit = 2;
        ch.writeInbound(Unpooled.EMPTY_BUFFER);
        assertThat(((NbdRequest) ch.readInbound()).handle()).isEqualTo(2);
    }

    @Test
    void writeWaitsForBuffersAndADecoderRemovedMidPayloadGivesItsRequestBack() {
        Source src = new Source();
        src.buffers = false;
        EmbeddedChannel ch = new EmbeddedChannel(new RequestDecoder(src, NbdRequest.MAX_DATA));
        ch.writeInbound(Unpooled.wrappedBuffer(hex("25609513 0000 0001 0000000000000001 0000000000000000 00001000"),
                new byte[10]));
        assertThat((Object) ch.readInbound()).isNull();
        src.buffers = true;
        ch.writeInbound(Unpooled.EMPTY_BUFFER);
        assertThat((Object) ch.readInbound()).isNull();
        ch.pipeline().removeFirst();
        assertThat(src.discarded).hasSize(1);
        assertThat(src.discarded.get(0).bufferCount()).isZero();
    }

    @Test
    void badMagicAndOversizeWriteAreViolations() {
        EmbeddedChannel ch = new EmbeddedChannel(new RequestDecoder(new Source(), NbdRequest.MAX_DATA));
        ch.writeInbound(Unpooled.wrappedBuffer(hex("25609514 0000 0000 0000000000000001 0000000000000000 00000200")));
        assertThat(((RequestDecoder.RequestViolation) ch.readInbound()).reason()).contains("bad request magic");

        EmbeddedChannel ch2 = new EmbeddedChannel(new RequestDecoder(new Source(), 4096));
        ch2.writeInbound(Unpooled.wrappedBuffer(hex("25609513 0000 0001 0000000000000001 0000000000000000 00002000")));
        assertThat(((RequestDecoder.RequestViolation) ch2.readInbound()).reason()).contains("exceeds the maximum");
        // An oversize READ is not a violation: it has no payload and gets an EINVAL reply.
        EmbeddedChannel ch3 = new EmbeddedChannel(new RequestDecoder(new Source(), 4096));
        ch3.writeInbound(Unpooled.wrappedBuffer(hex("25609513 0000 0000 0000000000000001 0000000000000000 00002000")));
        assertThat(((NbdRequest) ch3.readInbound()).length()).isEqualTo(8192);
    }
}
