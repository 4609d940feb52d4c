package io.basalt.nbd.codec;

/**
 * Where the {@link RequestDecoder} gets request objects and payload buffers from: the connection,
 * which uses it for back-pressure. A null or false answer pauses decoding; the owner resumes it by
 * firing an empty buffer into the pipeline once it can take more.
 */
public interface RequestSource {
    /** A request object to fill, or null while the connection takes no more requests. */
    NbdRequest acquire();

    /** Gives {@code r} buffers for its WRITE payload ({@link NbdRequest#allocateBuffers}); false = not now. */
    boolean attachPayload(NbdRequest r);

    /** Takes back a request the decoder held when it was removed (a half-received WRITE). */
    void discard(NbdRequest r);
}
