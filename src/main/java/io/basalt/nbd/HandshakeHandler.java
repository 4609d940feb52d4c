package io.basalt.nbd;

import io.basalt.nbd.codec.HandshakeMessage;
import io.basalt.nbd.codec.NbdProtocol;
import io.basalt.nbd.codec.NbdRequest;
import io.basalt.nbd.codec.OptionDecoder;
import io.basalt.nbd.codec.Replies;
import io.basalt.nbd.codec.RequestDecoder;
import io.basalt.runtime.Reactor;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The server side of the fixed newstyle handshake on one connection: greeting, client flags,
 * options (EXPORT_NAME, ABORT, LIST, INFO, GO, STRUCTURED_REPLY; anything else is answered
 * NBD_REP_ERR_UNSUP), then the switch to the transmission phase, where this handler and the
 * {@link OptionDecoder} are replaced by a {@link RequestDecoder} and a {@link TransmissionHandler}.
 * Only fixed newstyle is spoken: the greeting is never the oldstyle one.
 *
 * <p>Threading: the channel's event loop (a reactor).
 */
final class HandshakeHandler extends SimpleChannelInboundHandler<HandshakeMessage> {
    private static final System.Logger LOG = System.getLogger(HandshakeHandler.class.getName());
    private static final int KNOWN_CLIENT_FLAGS = NbdProtocol.FLAG_C_FIXED_NEWSTYLE | NbdProtocol.FLAG_C_NO_ZEROES;

    private final NbdListener listener;
    private boolean noZeroes;
    private boolean structured;

    HandshakeHandler(NbdListener listener) {
        this.listener = listener;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ByteBuf out = ctx.alloc().buffer(18);
        Replies.greeting(out, NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES);
        ctx.writeAndFlush(out);
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HandshakeMessage msg) {
        switch (msg) {
            case HandshakeMessage.ClientFlags f -> {
                if ((f.flags() & ~KNOWN_CLIENT_FLAGS) != 0) {
                    drop(ctx, "unknown client flags 0x" + Integer.toHexString(f.flags()));
                    return;
                }
                noZeroes = (f.flags() & NbdProtocol.FLAG_C_NO_ZEROES) != 0;
            }
            case HandshakeMessage.Option o -> option(ctx, o.code(), o.data());
            case HandshakeMessage.OptionTooBig t -> {
                if (t.code() == NbdProtocol.OPT_EXPORT_NAME) {
                    drop(ctx, "NBD_OPT_EXPORT_NAME of " + t.length() + " bytes");
                    return;
                }
                reply(ctx, t.code(), NbdProtocol.REP_ERR_TOO_BIG, "option data of " + t.length() + " bytes is too long");
            }
            case HandshakeMessage.Violation v -> drop(ctx, v.reason());
        }
    }

    private void option(ChannelHandlerContext ctx, int code, byte[] data) {
        switch (code) {
            case NbdProtocol.OPT_EXPORT_NAME -> exportName(ctx, data);
            case NbdProtocol.OPT_ABORT -> {
                ByteBuf out = ctx.alloc().buffer(20);
                Replies.optionAck(out, code);
                ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
            }
            case NbdProtocol.OPT_LIST -> {
                if (data.length != 0) {
                    reply(ctx, code, NbdProtocol.REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
                    return;
                }
                ByteBuf out = ctx.alloc().buffer();
                for (String name : listener.exportNames()) {
                    Replies.optionServer(out, code, name);
                }
                Replies.optionAck(out, code);
                ctx.writeAndFlush(out);
            }
            case NbdProtocol.OPT_INFO, NbdProtocol.OPT_GO -> infoOrGo(ctx, code, data);
            case NbdProtocol.OPT_STRUCTURED_REPLY -> {
                if (data.length != 0) {
                    reply(ctx, code, NbdProtocol.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
                    return;
                }
                structured = true;
                ByteBuf out = ctx.alloc().buffer(20);
                Replies.optionAck(out, code);
                ctx.writeAndFlush(out);
            }
            default -> reply(ctx, code, NbdProtocol.REP_ERR_UNSUP, "option " + code + " is not supported by Basalt");
        }
    }

    private void exportName(ChannelHandlerContext ctx, byte[] data) {
        String name = string(data, 0, data.length);
        NbdExport e = name == null ? null : listener.find(name);
        if (e == null) {
            // NBD_OPT_EXPORT_NAME cannot fail politely: the protocol says to end the session.
            drop(ctx, "NBD_OPT_EXPORT_NAME for unknown export '" + name + "'");
            return;
        }
        TransmissionHandler t = open(e);
        if (t == null) {
            drop(ctx, "export '" + name + "' is stopping");
            return;
        }
        ByteBuf out = ctx.alloc().buffer(134);
        Replies.exportName(out, e.sizeBytes(), t.transmissionFlags(), noZeroes);
        ctx.write(out);
        enterTransmission(ctx, t);
    }

    private void infoOrGo(ChannelHandlerContext ctx, int code, byte[] data) {
        ByteBuffer d = ByteBuffer.wrap(data);
        if (data.length < 6) {
            reply(ctx, code, NbdProtocol.REP_ERR_INVALID, "option data too short");
            return;
        }
        int nameLen = d.getInt();
        if (nameLen < 0 || nameLen > data.length - 6 || nameLen > NbdProtocol.MAX_STRING) {
            reply(ctx, code, NbdProtocol.REP_ERR_INVALID, "bad export name length " + Integer.toUnsignedString(nameLen));
            return;
        }
        String name = string(data, 4, nameLen);
        d.position(4 + nameLen);
        int requests = d.getShort() & 0xffff;
        if (data.length != 4 + nameLen + 2 + 2 * requests || name == null) {
            reply(ctx, code, NbdProtocol.REP_ERR_INVALID, "malformed NBD_OPT_INFO/GO data");
            return;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < requests; i++) {
            int info = d.getShort() & 0xffff;
            wantName |= info == NbdProtocol.INFO_NAME;
            wantDescription |= info == NbdProtocol.INFO_DESCRIPTION;
        }
        NbdExport e = listener.find(name);
        if (e == null) {
            reply(ctx, code, NbdProtocol.REP_ERR_UNKNOWN, "no export named '" + name + "' here");
            return;
        }
        TransmissionHandler t = null;
        int flags = e.transmissionFlags(structured);
        if (code == NbdProtocol.OPT_GO) {
            t = open(e);
            if (t == null) {
                reply(ctx, code, NbdProtocol.REP_ERR_SHUTDOWN, "export '" + name + "' is stopping");
                return;
            }
            flags = t.transmissionFlags();
        }
        ByteBuf out = ctx.alloc().buffer();
        Replies.infoExport(out, code, e.sizeBytes(), flags);
        if (wantName) {
            Replies.infoString(out, code, NbdProtocol.INFO_NAME, e.name());
        }
        if (wantDescription) {
            Replies.infoString(out, code, NbdProtocol.INFO_DESCRIPTION, e.description());
        }
        // Sent even when not asked: clients ignore it, and those that ask must obey it.
        Replies.infoBlockSize(out, code, e.minimumBlockSize(), e.preferredBlockSize(), e.maximumBlockSize());
        Replies.optionAck(out, code);
        if (t == null) {
            ctx.writeAndFlush(out);
            return;
        }
        ctx.write(out);
        enterTransmission(ctx, t);
    }

    /** A transmission handler attached to {@code e} on this reactor, or null if it is stopping. */
    private TransmissionHandler open(NbdExport e) {
        TransmissionHandler t = new TransmissionHandler(e, Reactor.current(), structured);
        if (!e.attach(t)) {
            return null;
        }
        t.openChannel();
        return t;
    }

    private void enterTransmission(ChannelHandlerContext ctx, TransmissionHandler t) {
        ctx.flush();
        ChannelPipeline p = ctx.pipeline();
        // Handler first: bytes the option decoder still holds are handed on to the request decoder.
        p.replace(this, "nbd-transmission", t);
        p.replace(OptionDecoder.class, "nbd-requests", new RequestDecoder(t, NbdRequest.MAX_DATA));
    }

    private void reply(ChannelHandlerContext ctx, int code, int errorType, String message) {
        ByteBuf out = ctx.alloc().buffer();
        Replies.optionError(out, code, errorType, message);
        ctx.writeAndFlush(out);
    }

    private void drop(ChannelHandlerContext ctx, String why) {
        LOG.log(System.Logger.Level.WARNING, "NBD client " + ctx.channel().remoteAddress() + " on "
                + listener.address().listenString() + ": " + why + "; closing the connection");
        ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.log(System.Logger.Level.DEBUG, "NBD handshake failed: " + cause);
        ctx.close();
    }

    /** Strict UTF-8 without NUL, or null. */
    private static String string(byte[] data, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (data[i] == 0) {
                return null;
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(data, off, len)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
