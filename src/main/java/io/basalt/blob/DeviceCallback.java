package io.basalt.blob;

/**
 * Completion of a {@link DeviceChannel} request, on the channel's reactor. Implemented by long-lived
 * request objects (blob I/O, metadata writes) so that device I/O allocates nothing.
 */
@FunctionalInterface
public interface DeviceCallback {
    /** @param errno 0 on success, else a positive errno */
    void ioDone(int errno, Object arg);
}
