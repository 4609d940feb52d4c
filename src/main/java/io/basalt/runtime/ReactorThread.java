package io.basalt.runtime;

import io.netty.util.concurrent.FastThreadLocalThread;

/**
 * The thread of one reactor; lets {@link Reactor#current()} find its reactor without a ThreadLocal.
 * A FastThreadLocalThread, so that Netty's per-poll thread-local bookkeeping (the current
 * executor, set and restored on every poll) is an array slot rather than a ThreadLocal lookup.
 */
final class ReactorThread extends FastThreadLocalThread {
    final Reactor reactor;

    ReactorThread(Reactor reactor, Runnable body) {
        super(body, "reactor_" + reactor.id());
        this.reactor = reactor;
        setDaemon(false);
    }
}
