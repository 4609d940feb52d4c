package io.basalt.runtime;

/** The thread of one reactor; lets {@link Reactor#current()} find its reactor without a ThreadLocal. */
final class ReactorThread extends Thread {
    final Reactor reactor;

    ReactorThread(Reactor reactor, Runnable body) {
        super(body, "reactor_" + reactor.id());
        this.reactor = reactor;
        setDaemon(false);
    }
}
