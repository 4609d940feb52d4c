package io.basalt.nbd.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Decodes transmission-phase requests into {@link NbdRequest}s from a {@link RequestSource}.
 * A WRITE's payload streams straight into the request's pooled buffers as it arrives, so large
 * writes are never gathered in Netty's cumulation buffer.
 *
 * <p>Protocol violations (wrong magic; a WRITE payload longer than {@code maxPayload}, which
 * cannot be skipped safely as a denial of service) end decoding with a {@link RequestViolation}
 * message instead of an exception. Semantic checks (flags, ranges, alignment) are the
 * connection's: they get an error reply, not a disconnect.
 *
 * <p>Threading: the channel's event loop.
 */
public final class RequestDecoder extends ByteToMessageDecoder {
    enum State { HEADER, PAYLOAD, BAD_MESSAGE }

    /** A request stream the decoder cannot follow; the connection must close. */
    public record RequestViolation(String reason) {
    }

    private final RequestSource source;
    private final long maxPayload;
    private State state = State.HEADER;
    private NbdRequest current;
    private boolean needBuffers;

    public RequestDecoder(RequestSource source, long maxPayload) {
        this.source = source;
        this.maxPayload = maxPayload;
    }

    State state() {
        return state;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case HEADER -> decodeHeader(in, out);
            case PAYLOAD -> decodePayload(in, out);
            case BAD_MESSAGE -> in.skipBytes(in.readableBytes());
        }
    }

    private void decodeHeader(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < NbdProtocol.REQUEST_HEADER) {
            return;
        }
        int at = in.readerIndex();
        int magic = in.getInt(at);
        if (magic != NbdProtocol.REQUEST_MAGIC) {
            fail(in, out, "bad request magic 0x" + Integer.toHexString(magic));
            return;
        }
        int type = in.getUnsignedShort(at + 6);
        long length = in.getUnsignedInt(at + 24);
        if (type == NbdProtocol.CMD_WRITE && length > maxPayload) {
            fail(in, out, "WRITE of " + length + " bytes exceeds the maximum of " + maxPayload);
            return;
        }
        NbdRequest r = source.acquire();
        if (r == null) {
            return;
        }
        r.set(in.getUnsignedShort(at + 4), type, in.getLong(at + 8), in.getLong(at + 16), length);
        in.skipBytes(NbdProtocol.REQUEST_HEADER);
        if (type == NbdProtocol.CMD_WRITE && length > 0) {
            current = r;
            needBuffers = true;
            state = State.PAYLOAD;
            decodePayload(in, out);
        } else {
            out.add(r);
        }
    }

    private void decodePayload(ByteBuf in, List<Object> out) {
        NbdRequest r = current;
        if (needBuffers) {
            if (!source.attachPayload(r)) {
                return;
            }
            needBuffers = false;
        }
        r.receive(in);
        if (r.payloadMissing() == 0) {
            current = null;
            state = State.HEADER;
            out.add(r);
        }
    }

    private void fail(ByteBuf in, List<Object> out, String reason) {
        state = State.BAD_MESSAGE;
        in.skipBytes(in.readableBytes());
        out.add(new RequestViolation(reason));
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        NbdRequest r = current;
        if (r != null) {
            current = null;
            source.discard(r);
        }
    }
}
