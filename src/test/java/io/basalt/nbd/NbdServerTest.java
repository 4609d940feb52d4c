package io.basalt.nbd;

import io.basalt.bdev.malloc.MallocModule;
import io.basalt.nbd.codec.NbdProtocol;
import io.basalt.runtime.BasaltException;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

import static io.basalt.nbd.codec.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The server in-process on real reactors and a malloc bdev, checked byte by byte with {@link NbdWire}. */
class NbdServerTest {
    private static final int BS = 512;
    private static final long BLOCKS = 2048;
    private static final long SIZE = BS * BLOCKS;

    private ReactorFixture fx;
    private MallocModule malloc;
    private NbdServer server;

    @BeforeEach
    void setUp() throws Exception {
        fx = new ReactorFixture(2);
        malloc = new MallocModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        fx.on(0, () -> malloc.create("m0", null, BS, BLOCKS, BS, 0));
        server = new NbdServer(fx.reactors, fx.bdevs);
    }

    @AfterEach
    void tearDown() throws Exception {
        ReactorFixture.await(server.fini());
        fx.close();
    }

    private String start(String bdev, String device, boolean readOnly) throws Exception {
        return fx.onAsync(0, () -> server.start(bdev, device, readOnly));
    }

    private static int port(String uri) {
        return NbdAddress.parseDevice(uri).address().port();
    }

    private NbdWire go(int port, String name, boolean structured) throws Exception {
        NbdWire w = new NbdWire(port);
        w.greet(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
        if (structured) {
            w.option(OPT_STRUCTURED_REPLY, new byte[0]);
            assertThat(w.optionReply().type()).isEqualTo(REP_ACK);
        }
        w.option(OPT_GO, NbdWire.infoData(name, INFO_BLOCK_SIZE));
        List<NbdWire.OptionReply> r = w.optionReplies();
        assertThat(r.getLast().type()).as("GO reply").isEqualTo(REP_ACK);
        return w;
    }

    private static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    @Test
    void handshakeOptionsAreAnsweredAsTheSpecSays() throws Exception {
        int port = port(start("m0", "127.0.0.1:0", false));
        try (NbdWire w = new NbdWire(port)) {
            assertThat(w.greet(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)).isEqualTo(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);

            w.option(OPT_LIST, new byte[0]);
            List<NbdWire.OptionReply> list = w.optionReplies();
            assertThat(list).hasSize(2);
            assertThat(list.get(0).type()).isEqualTo(REP_SERVER);
            assertThat(list.get(0).data()).containsExactly(0, 0, 0, 2, 'm', '0');
            assertThat(list.get(1).type()).isEqualTo(REP_ACK);

            w.option(OPT_LIST, new byte[1]);
            assertThat(w.optionReply().type()).isEqualTo(REP_ERR_INVALID);
            w.option(0x63, new byte[] {1, 2, 3});
            assertThat(w.optionReply().type()).isEqualTo(REP_ERR_UNSUP);
            w.option(OPT_STARTTLS, new byte[0]);
            assertThat(w.optionReply().type()).isEqualTo(REP_ERR_UNSUP);
            w.option(OPT_INFO, NbdWire.infoData("nope"));
            assertThat(w.optionReply().type()).isEqualTo(REP_ERR_UNKNOWN);
            w.option(OPT_INFO, new byte[] {0, 0, 0, 9, 'm', '0', 0, 0});
            assertThat(w.optionReply().type()).isEqualTo(REP_ERR_INVALID);

            w.option(OPT_INFO, NbdWire.infoData("m0", INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE));
            List<NbdWire.OptionReply> info = w.optionReplies();
            assertThat(info.getLast().type()).isEqualTo(REP_ACK);
            ByteBuffer export = null;
            ByteBuffer sizes = null;
            String name = null;
            for (NbdWire.OptionReply r : info.subList(0, info.size() - 1)) {
                ByteBuffer b = ByteBuffer.wrap(r.data());
                switch (b.getShort()) {
                    case INFO_EXPORT -> export = b;
                    case INFO_BLOCK_SIZE -> sizes = b;
                    case INFO_NAME -> name = new String(r.data(), 2, r.data().length - 2);
                    default -> {
                    }
                }
            }
            assertThat(export.getLong()).isEqualTo(SIZE);
            int flags = export.getShort() & 0xffff;
            assertThat(flags).isEqualTo(FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_CAN_MULTI_CONN
                    | FLAG_SEND_TRIM | FLAG_SEND_WRITE_ZEROES);
            assertThat(sizes.getInt()).isEqualTo(BS);
            assertThat(sizes.getInt()).isEqualTo(4096);
            assertThat(sizes.getInt()).isEqualTo(32 << 20);
            assertThat(name).isEqualTo("m0");

            w.option(OPT_ABORT, new byte[0]);
            assertThat(w.optionReply().type()).isEqualTo(REP_ACK);
            assertThat(w.closedByServer()).isTrue();
        }
    }

    @Test
    void simpleRepliesForEveryCommandAndItsErrors() throws Exception {
        int port = port(start("m0", "127.0.0.1:0", false));
        try (NbdWire w = go(port, "m0", false)) {
            byte[] data = pattern(8192, 7);
            w.request(0, CMD_WRITE, 1, 4096, data.length, data);
            NbdWire.Reply wr = w.simpleReply(0);
            assertThat(wr.error()).isZero();
            assertThat(wr.handle()).isEqualTo(1);
            w.request(0, CMD_READ, 2, 4096, data.length, null);
            NbdWire.Reply r = w.simpleReply(data.length);
            assertThat(r.handle()).isEqualTo(2);
            assertThat(r.data()).isEqualTo(data);

            w.request(CMD_FLAG_FUA, CMD_WRITE_ZEROES, 3, 4096, 1024, null);
            assertThat(w.simpleReply(0).error()).isZero();
            w.request(0, CMD_READ, 4, 4096, 2048, null);
            byte[] back = w.simpleReply(2048).data();
            assertThat(Arrays.copyOf(back, 1024)).isEqualTo(new byte[1024]);
            assertThat(Arrays.copyOfRange(back, 1024, 2048)).isEqualTo(Arrays.copyOfRange(data, 1024, 2048));

            w.request(CMD_FLAG_FUA, CMD_TRIM, 5, 0, 4096, null);
            assertThat(w.simpleReply(0).error()).isZero();
            w.request(0, CMD_FLUSH, 6, 0, 0, null);
            assertThat(w.simpleReply(0).error()).isZero();

            w.request(0, CMD_READ, 7, SIZE - 512, 1024, null);
            assertThat(w.simpleReply(1024).error()).isEqualTo(EINVAL);
            w.request(0, CMD_WRITE, 8, SIZE, 512, new byte[512]);
            assertThat(w.simpleReply(0).error()).isEqualTo(ENOSPC);
            w.request(0, CMD_READ, 9, 100, 512, null);
            assertThat(w.simpleReply(512).error()).isEqualTo(EINVAL);
            w.request(0, CMD_READ, 10, -512, 512, null);
            assertThat(w.simpleReply(512).error()).isEqualTo(EINVAL);
            w.request(CMD_FLAG_DF, CMD_READ, 11, 0, 512, null);
            assertThat(w.simpleReply(512).error()).isEqualTo(EINVAL);
            w.request(0, 9, 12, 0, 0, null);
            assertThat(w.simpleReply(0).error()).isEqualTo(EINVAL);
            w.request(0, CMD_BLOCK_STATUS, 13, 0, 512, null);
            assertThat(w.simpleReply(0).error()).isEqualTo(EINVAL);
            w.request(0, CMD_READ, 14, 0, 0, null);
            assertThat(w.simpleReply(0).error()).isZero();

            w.request(0, CMD_DISC, 15, 0, 0, null);
            assertThat(w.closedByServer()).isTrue();
        }
    }

    @Test
    void exportNameWithZeroPaddingAndStructuredReads() throws Exception {
        int port = port(start("m0", "127.0.0.1:0", false));
        try (NbdWire w = new NbdWire(port)) {
            w.greet(FLAG_C_FIXED_NEWSTYLE);
            w.option(OPT_STRUCTURED_REPLY, new byte[0]);
            assertThat(w.optionReply().type()).isEqualTo(REP_ACK);
            w.option(OPT_EXPORT_NAME, "m0".getBytes());
            assertThat(w.in.readLong()).isEqualTo(SIZE);
            assertThat(w.in.readUnsignedShort() & FLAG_SEND_DF).isEqualTo(FLAG_SEND_DF);
            byte[] pad = new byte[124];
            w.in.readFully(pad);
            assertThat(pad).isEqualTo(new byte[124]);

            byte[] data = pattern(4096, 3);
            w.request(0, CMD_WRITE, 1, 0, 4096, data);
            assertThat(w.simpleReply(0).error()).isZero();
            w.request(CMD_FLAG_DF, CMD_READ, 2, 0, 4096, null);
            NbdWire.Reply r = w.structuredReply();
            assertThat(r.chunkType()).isEqualTo(REPLY_TYPE_OFFSET_DATA);
            assertThat(r.data()).isEqualTo(data);
            w.request(0, CMD_READ, 3, SIZE, 512, null);
            NbdWire.Reply e = w.structuredReply();
            assertThat(e.chunkType()).isEqualTo(REPLY_TYPE_ERROR);
            assertThat(e.error()).isEqualTo(EINVAL);
            w.request(0, CMD_READ, 4, 0, 0, null);
            assertThat(w.structuredReply().chunkType()).isEqualTo(REPLY_TYPE_NONE);
        }
    }

    @Test
    void readOnlyExportRefusesWrites() throws Exception {
        int port = port(start("m0", "127.0.0.1:0", true));
        try (NbdWire w = go(port, "", false)) {
            w.request(0, CMD_WRITE, 1, 0, 512, new byte[512]);
            assertThat(w.simpleReply(0).error()).isEqualTo(EPERM);
            w.request(0, CMD_TRIM, 2, 0, 512, null);
            assertThat(w.simpleReply(0).error()).isEqualTo(EPERM);
            w.request(0, CMD_READ, 3, 0, 512, null);
            assertThat(w.simpleReply(512).error()).isZero();
        }
    }

    @Test
    void aBadClientLosesOnlyItsOwnConnection() throws Exception {
        int port = port(start("m0", "127.0.0.1:0", false));
        try (NbdWire good = go(port, "m0", false); NbdWire bad = go(port, "m0", false);
             NbdWire badHandshake = new NbdWire(port)) {
            bad.out.write(new byte[28]);
            bad.out.flush();
            assertThat(bad.closedByServer()).isTrue();
            badHandshake.greet(FLAG_C_FIXED_NEWSTYLE | 0x80);
            assertThat(badHandshake.closedByServer()).isTrue();

            good.request(0, CMD_READ, 1, 0, 512, null);
            assertThat(good.simpleReply(512).error()).isZero();
            // A WRITE longer than the maximum is a denial of service: that connection is dropped.
            bad.close();
            try (NbdWire huge = go(port, "m0", false)) {
                huge.request(0, CMD_WRITE, 2, 0, (64L << 20), null);
                assertThat(huge.closedByServer()).isTrue();
            }
            good.request(0, CMD_READ, 3, 0, 512, null);
            assertThat(good.simpleReply(512).error()).isZero();
        }
    }

    @Test
    void manyPipelinedRequestsPassTheInFlightLimit() throws Exception {
        int port = port(start("m0", "127.0.0.1:0", false));
        int n = TransmissionHandler.MAX_INFLIGHT * 4;
        try (NbdWire w = go(port, "m0", false)) {
            byte[] data = pattern(512, 9);
            for (int i = 0; i < n; i++) {
                w.request(0, CMD_WRITE, i, (i % BLOCKS) * 512, 512, data);
            }
            boolean[] seen = new boolean[n];
            for (int i = 0; i < n; i++) {
                NbdWire.Reply r = w.simpleReply(0);
                assertThat(r.error()).isZero();
                seen[(int) r.handle()] = true;
            }
            for (boolean s : seen) {
                assertThat(s).isTrue();
            }
        }
    }

    @Test
    void aFullBufferPoolPausesTheConnectionInsteadOfFailingIt() throws Exception {
        // Room for two 4 MiB buffers only: pipelined 4 MiB writes and reads must wait for each other.
        try (io.basalt.runtime.ReactorGroup small = io.basalt.runtime.ReactorGroup.start(new int[] {0}, 8L << 20,
                io.basalt.runtime.ReactorGroup.DEFAULT_SPIN_NANOS)) {
            io.basalt.bdev.BdevLayer layer = new io.basalt.bdev.BdevLayer(small);
            MallocModule m = new MallocModule(layer);
            layer.addModule(m);
            NbdServer s = new NbdServer(small, layer);
            String uri = small.app().callAsync(() -> {
                m.create("big", null, 4096, 8192, 4096, 0);
                return s.start("big", "127.0.0.1:0", false);
            }).get(30, java.util.concurrent.TimeUnit.SECONDS);
            int n = 6;
            int len = 4 << 20;
            try (NbdWire w = go(port(uri), "big", false)) {
                // Replies are read while requests are sent: the server stops reading a client that
                // does not take its replies, as a real client would.
                var replies = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        int errors = 0;
                        for (int k = 0; k < 2 * n; k++) {
                            assertThat(w.in.readInt()).isEqualTo(SIMPLE_REPLY_MAGIC);
                            errors += w.in.readInt() != 0 ? 1 : 0;
                            if (w.in.readLong() >= 100) {
                                w.in.readFully(new byte[len]);
                            }
                        }
                        return errors;
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                for (int i = 0; i < n; i++) {
                    w.request(0, CMD_WRITE, i, (long) i * len, len, pattern(len, i));
                    w.request(0, CMD_READ, 100 + i, (long) i * len, len, null);
                }
                assertThat(replies.get(60, java.util.concurrent.TimeUnit.SECONDS)).isZero();
            }
            // Everything written is there, read back on a fresh connection.
            try (NbdWire w = go(port(uri), "big", false)) {
                for (int i = 0; i < n; i++) {
                    w.request(0, CMD_READ, i, (long) i * len, len, null);
                    assertThat(w.simpleReply(len).data()).isEqualTo(pattern(len, i));
                }
            }
            s.fini().get(30, java.util.concurrent.TimeUnit.SECONDS);
            layer.fini().get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void stopAndRemovalCloseConnectionsAndFreeTheName() throws Exception {
        String uri = start("m0", "127.0.0.1:0", false);
        int port = port(uri);
        String second = start("m0", NbdAddress.parseDevice(uri).address().uri("again"), false);
        assertThat(second).endsWith("/again");
        assertThatThrownBy(() -> start("m0", uri, false)).isInstanceOfSatisfying(BasaltException.class,
                e -> assertThat(e.code()).isEqualTo(-17));
        try (NbdWire w = go(port, "m0", false); NbdWire w2 = go(port, "again", false)) {
            fx.onAsync(0, () -> server.stop(uri));
            assertThat(w.closedByServer()).isTrue();
            w2.request(0, CMD_READ, 1, 0, 512, null);
            assertThat(w2.simpleReply(512).error()).isZero();
            assertThat(fx.on(0, () -> server.list(null))).hasSize(1);

            fx.onAsync(0, () -> malloc.delete("m0"));
            assertThat(w2.closedByServer()).isTrue();
            assertThat(fx.on(0, () -> server.list(null))).isEmpty();
        }
    }
}
