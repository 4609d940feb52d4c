package io.basalt.bdev;

/**
 * Completion of a bdev I/O, called on the reactor that submitted it. The {@link BdevIo} is valid
 * only during the call: read its status there; the bdev layer reuses it afterwards. Implement this
 * on a long-lived object (a connection, a job) rather than a capturing lambda, so that no I/O
 * allocates.
 */
@FunctionalInterface
public interface IoCallback {
    void onComplete(BdevIo io, boolean success, Object arg);
}
