package io.basalt.blob;

/** Completion of a {@link BlobIo}, on the reactor of the channel it was submitted to. */
@FunctionalInterface
public interface BlobIoCallback {
    /** @param errno 0 on success, else a positive errno */
    void blobIoDone(BlobIo io, int errno, Object arg);
}
