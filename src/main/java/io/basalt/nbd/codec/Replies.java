package io.basalt.nbd.codec;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * Encoders of the server's messages, each appending the exact wire bytes to a ByteBuf the caller
 * owns (and writes or releases). Layouts are in {@link NbdProtocol}.
 */
public final class Replies {
    private static final int ZERO_PAD = 124;

    private Replies() {
    }

    /** The newstyle greeting: NBDMAGIC, IHAVEOPT, handshake flags (16 bits). */
    public static void greeting(ByteBuf out, int handshakeFlags) {
        out.writeLong(NbdProtocol.NBDMAGIC);
        out.writeLong(NbdProtocol.IHAVEOPT);
        out.writeShort(handshakeFlags);
    }

    /** An option reply header; {@code length} bytes of data must follow. */
    public static void optionHeader(ByteBuf out, int option, int replyType, int length) {
        out.writeLong(NbdProtocol.OPTION_REPLY_MAGIC);
        out.writeInt(option);
        out.writeInt(replyType);
        out.writeInt(length);
    }

    /** NBD_REP_ACK. */
    public static void optionAck(ByteBuf out, int option) {
        optionHeader(out, option, NbdProtocol.REP_ACK, 0);
    }

    /** An error reply (type with bit 31 set) with a message for humans. */
    public static void optionError(ByteBuf out, int option, int errorType, String message) {
        byte[] m = utf8(message);
        optionHeader(out, option, errorType, m.length);
        out.writeBytes(m);
    }

    /** NBD_REP_SERVER: name length, name (no description). */
    public static void optionServer(ByteBuf out, int option, String name) {
        byte[] n = utf8(name);
        optionHeader(out, option, NbdProtocol.REP_SERVER, 4 + n.length);
        out.writeInt(n.length);
        out.writeBytes(n);
    }

    /** NBD_REP_INFO / NBD_INFO_EXPORT: size (64 bits), transmission flags (16 bits). */
    public static void infoExport(ByteBuf out, int option, long size, int transmissionFlags) {
        optionHeader(out, option, NbdProtocol.REP_INFO, 12);
        out.writeShort(NbdProtocol.INFO_EXPORT);
        out.writeLong(size);
        out.writeShort(transmissionFlags);
    }

    /** NBD_REP_INFO / NBD_INFO_NAME or NBD_INFO_DESCRIPTION: a string. */
    public static void infoString(ByteBuf out, int option, int infoType, String value) {
        byte[] v = utf8(value);
        optionHeader(out, option, NbdProtocol.REP_INFO, 2 + v.length);
        out.writeShort(infoType);
        out.writeBytes(v);
    }

    /** NBD_REP_INFO / NBD_INFO_BLOCK_SIZE: minimum, preferred, maximum. */
    public static void infoBlockSize(ByteBuf out, int option, int minimum, int preferred, int maximum) {
        optionHeader(out, option, NbdProtocol.REP_INFO, 14);
        out.writeShort(NbdProtocol.INFO_BLOCK_SIZE);
        out.writeInt(minimum);
        out.writeInt(preferred);
        out.writeInt(maximum);
    }

    /** The answer to NBD_OPT_EXPORT_NAME: size, flags, then 124 zeroes unless NO_ZEROES was agreed. */
    public static void exportName(ByteBuf out, long size, int transmissionFlags, boolean noZeroes) {
        out.writeLong(size);
        out.writeShort(transmissionFlags);
        if (!noZeroes) {
            out.writeZero(ZERO_PAD);
        }
    }

    /** A simple reply header; a successful READ's data follows it. */
    public static void simple(ByteBuf out, int error, long handle) {
        out.writeInt(NbdProtocol.SIMPLE_REPLY_MAGIC);
        out.writeInt(error);
        out.writeLong(handle);
    }

    /** A structured reply chunk header; {@code length} bytes of payload must follow. */
    public static void structuredHeader(ByteBuf out, int flags, int type, long handle, int length) {
        out.writeInt(NbdProtocol.STRUCTURED_REPLY_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeInt(length);
    }

    /** The final NBD_REPLY_TYPE_NONE chunk. */
    public static void structuredDone(ByteBuf out, long handle) {
        structuredHeader(out, NbdProtocol.REPLY_FLAG_DONE, NbdProtocol.REPLY_TYPE_NONE, handle, 0);
    }

    /** Header and offset of a final NBD_REPLY_TYPE_OFFSET_DATA chunk; {@code dataLength} bytes follow. */
    public static void offsetData(ByteBuf out, long handle, long offset, int dataLength) {
        structuredHeader(out, NbdProtocol.REPLY_FLAG_DONE, NbdProtocol.REPLY_TYPE_OFFSET_DATA, handle, 8 + dataLength);
        out.writeLong(offset);
    }

    /** A final NBD_REPLY_TYPE_ERROR chunk: error, message length (16 bits), message. */
    public static void structuredError(ByteBuf out, long handle, int error, byte[] message) {
        structuredHeader(out, NbdProtocol.REPLY_FLAG_DONE, NbdProtocol.REPLY_TYPE_ERROR, handle, 6 + message.length);
        out.writeInt(error);
        out.writeShort(message.length);
        out.writeBytes(message);
    }

    /** UTF-8 bytes of {@code s}, cut to the protocol's string limit. */
    public static byte[] utf8(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= NbdProtocol.MAX_STRING) {
            return b;
        }
        return java.util.Arrays.copyOf(b, NbdProtocol.MAX_STRING);
    }
}
