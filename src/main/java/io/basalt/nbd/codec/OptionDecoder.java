package io.basalt.nbd.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Decodes the client's side of the fixed newstyle handshake: the client flags, then options.
 * A wrong magic ends decoding with a {@link HandshakeMessage.Violation} (never an exception);
 * an option longer than {@link #MAX_OPTION_DATA} is skipped and reported as
 * {@link HandshakeMessage.OptionTooBig}, so the handshake can go on.
 *
 * <p>Threading: the channel's event loop, as every Netty handler.
 */
public final class OptionDecoder extends ByteToMessageDecoder {
    /**
     * Most option data kept: NBD_OPT_GO with a 4096-byte name and many information requests
     * fits well below it.
     */
    public static final int MAX_OPTION_DATA = 64 * 1024;

    enum State { CLIENT_FLAGS, OPTION_HEADER, OPTION_DATA, SKIP_DATA, BAD_MESSAGE }

    private State state = State.CLIENT_FLAGS;
    private int option;
    private long length;
    private long skipLeft;

    State state() {
        return state;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case CLIENT_FLAGS -> {
                if (in.readableBytes() < 4) {
                    return;
                }
                out.add(new HandshakeMessage.ClientFlags(in.readInt()));
                state = State.OPTION_HEADER;
            }
            case OPTION_HEADER -> {
                if (in.readableBytes() < NbdProtocol.OPTION_HEADER) {
                    return;
                }
                long magic = in.readLong();
                if (magic != NbdProtocol.IHAVEOPT) {
                    fail(in, out, "bad option magic 0x" + Long.toHexString(magic));
                    return;
                }
                option = in.readInt();
                length = in.readUnsignedInt();
                if (length > MAX_OPTION_DATA) {
                    skipLeft = length;
                    state = State.SKIP_DATA;
                } else {
                    state = State.OPTION_DATA;
                    // Go on at once: an option without data leaves no bytes to call decode again.
                    optionData(in, out);
                }
            }
            case OPTION_DATA -> optionData(in, out);
            case SKIP_DATA -> {
                int n = (int) Math.min(in.readableBytes(), skipLeft);
                in.skipBytes(n);
                skipLeft -= n;
                if (skipLeft == 0) {
                    out.add(new HandshakeMessage.OptionTooBig(option, length));
                    state = State.OPTION_HEADER;
                }
            }
            case BAD_MESSAGE -> in.skipBytes(in.readableBytes());
        }
    }

    private void optionData(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < length) {
            return;
        }
        byte[] data = new byte[(int) length];
        in.readBytes(data);
        out.add(new HandshakeMessage.Option(option, data));
        state = State.OPTION_HEADER;
    }

    private void fail(ByteBuf in, List<Object> out, String reason) {
        state = State.BAD_MESSAGE;
        in.skipBytes(in.readableBytes());
        out.add(new HandshakeMessage.Violation(reason));
    }
}
