package io.basalt.runtime;

/**
 * Work that a reactor runs later on its own thread, queued without allocation
 * (see {@link Reactor#defer(Deferred)}). Objects that are deferred often, such as I/O
 * completions, implement this themselves instead of wrapping a lambda.
 */
public interface Deferred {
    /** Runs on the reactor that deferred it. */
    void runDeferred();
}
