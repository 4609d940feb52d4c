package io.basalt.nbd.codec;

/** What the {@link OptionDecoder} hands on during the handshake. */
public sealed interface HandshakeMessage {
    /** The client's 32-bit flags, sent once after the greeting. */
    record ClientFlags(int flags) implements HandshakeMessage {
    }

    /** One option with its data (at most {@link OptionDecoder#MAX_OPTION_DATA} bytes). */
    record Option(int code, byte[] data) implements HandshakeMessage {
    }

    /** An option whose data was longer than the decoder keeps; the data was skipped. */
    record OptionTooBig(int code, long length) implements HandshakeMessage {
    }

    /** The client broke the protocol; nothing more is decoded and the connection must close. */
    record Violation(String reason) implements HandshakeMessage {
    }
}
