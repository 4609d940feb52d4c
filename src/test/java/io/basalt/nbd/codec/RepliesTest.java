package io.basalt.nbd.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** Each server message against the bytes proto.md prescribes. */
class RepliesTest {
    private static String bytes(Consumer<ByteBuf> writer) {
        ByteBuf b = Unpooled.buffer();
        writer.accept(b);
        return ByteBufUtil.hexDump(b);
    }

    @Test
    void greeting() {
        assertThat(bytes(b -> Replies.greeting(b, 3))).isEqualTo("4e42444d41474943" + "49484156454f5054" + "0003");
    }

    @Test
    void optionReplies() {
        assertThat(bytes(b -> Replies.optionAck(b, 8))).isEqualTo("0003e889045565a9" + "00000008" + "00000001" + "00000000");
        assertThat(bytes(b -> Replies.optionServer(b, 3, "m0")))
                .isEqualTo("0003e889045565a9" + "00000003" + "00000002" + "00000006" + "00000002" + "6d30");
        assertThat(bytes(b -> Replies.optionError(b, 9, NbdProtocol.REP_ERR_UNSUP, "no")))
                .isEqualTo("0003e889045565a9" + "00000009" + "80000001" + "00000002" + "6e6f");
        assertThat(bytes(b -> Replies.infoExport(b, 7, 0x4000000L, 0x1ed)))
                .isEqualTo("0003e889045565a9" + "00000007" + "00000003" + "0000000c" + "0000" + "0000000004000000" + "01ed");
        assertThat(bytes(b -> Replies.infoBlockSize(b, 7, 512, 4096, 32 << 20)))
                .isEqualTo("0003e889045565a9" + "00000007" + "00000003" + "0000000e" + "0003" + "00000200" + "00001000"
                        + "02000000");
        assertThat(bytes(b -> Replies.infoString(b, 6, NbdProtocol.INFO_NAME, "m0")))
                .isEqualTo("0003e889045565a9" + "00000006" + "00000003" + "00000004" + "0001" + "6d30");
    }

    @Test
    void exportNameReplyWithAndWithoutZeroes() {
        assertThat(bytes(b -> Replies.exportName(b, 1L << 20, 0x0003, true))).isEqualTo("0000000000100000" + "0003");
        assertThat(bytes(b -> Replies.exportName(b, 1L << 20, 0x0003, false)))
                .isEqualTo("0000000000100000" + "0003" + "00".repeat(124));
    }

    @Test
    void transmissionReplies() {
        assertThat(bytes(b -> Replies.simple(b, 22, 0x1122334455667788L)))
                .isEqualTo("67446698" + "00000016" + "1122334455667788");
        assertThat(bytes(b -> Replies.structuredDone(b, 5)))
                .isEqualTo("668e33ef" + "0001" + "0000" + "0000000000000005" + "00000000");
        assertThat(bytes(b -> Replies.offsetData(b, 5, 4096, 512)))
                .isEqualTo("668e33ef" + "0001" + "0001" + "0000000000000005" + "00000208" + "0000000000001000");
        assertThat(bytes(b -> Replies.structuredError(b, 5, 5, new byte[] {'x'})))
                .isEqualTo("668e33ef" + "0001" + "8001" + "0000000000000005" + "00000007" + "00000005" + "0001" + "78");
    }
}
