package io.basalt.runtime;

/**
 * A function a reactor calls repeatedly, as SPDK's pollers. A poller with period 0 runs on every
 * loop iteration while the reactor is awake; a reactor parks when nothing reported work, so such a
 * poller must only wait for work that wakes the reactor (a message, I/O, a timer). A poller with a
 * period runs on a timer and may wake a parked reactor.
 */
@FunctionalInterface
public interface Poller {
    /** @return the amount of work done (0 when idle); used to decide when the reactor may park. */
    int poll();

    /** Handle to stop a registered poller. */
    interface Registration {
        /** Stops the poller. Must be called on the poller's reactor. */
        void unregister();
    }
}
