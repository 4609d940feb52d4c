package io.basalt.runtime;

import io.netty.channel.IoEventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.util.concurrent.AbstractEventExecutorGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * All reactors of a process, the buffer pool they share, and the Netty group view of them (so a
 * server bootstrap spreads accepted connections over the reactors).
 * Reactor 0 is the application reactor: the control plane (RPC handlers, registries) runs there.
 */
public final class ReactorGroup implements AutoCloseable {
    /** Default time a reactor spins without work before it parks. */
    public static final long DEFAULT_SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(200);
    /** Most reactors (and highest core number + 1) a group takes. */
    static final int MAX_CORES = 1024;
    private static final System.Logger LOG = System.getLogger(ReactorGroup.class.getName());

    private final List<Reactor> reactors;
    private final int[] cores;
    private final Transport transport;
    private final BufferPool buffers;
    private final NettyView netty = new NettyView();
    private final AtomicInteger nextChild = new AtomicInteger();
    private volatile boolean stopped;

    private ReactorGroup(int[] cores, Transport transport, long bufferLimit, long spinNanos) {
        this.cores = cores.clone();
        this.transport = transport;
        this.buffers = new BufferPool(bufferLimit, cores.length);
        List<Reactor> list = new ArrayList<>();
        for (int i = 0; i < cores.length; i++) {
            list.add(new Reactor(i, this, transport.handlerFactory(), spinNanos));
        }
        this.reactors = Collections.unmodifiableList(list);
    }

    /** Starts one reactor per entry of {@code cores} (the core numbers are labels: the JVM cannot pin). */
    public static ReactorGroup start(int[] cores, long bufferLimitBytes, long spinNanos) {
        if (cores.length == 0) {
            throw new IllegalArgumentException("at least one reactor");
        }
        ReactorGroup g = new ReactorGroup(cores, Transport.detect(), bufferLimitBytes, spinNanos);
        for (Reactor r : g.reactors) {
            r.start();
        }
        return g;
    }

    /** Starts {@code count} reactors with default settings. */
    public static ReactorGroup start(int count) {
        int[] cores = new int[count];
        for (int i = 0; i < count; i++) {
            cores[i] = i;
        }
        return start(cores, 1L << 30, DEFAULT_SPIN_NANOS);
    }

    /** Parses an SPDK-style core mask: a hex mask ("0x3", "3") or a list ("[0,2-3]"). */
    public static int[] parseCoreMask(String s) {
        String v = s.trim();
        BitSet cores = new BitSet();
        if (v.startsWith("[") && v.endsWith("]")) {
            for (String part : v.substring(1, v.length() - 1).split(",", -1)) {
                String p = part.trim();
                if (p.isEmpty() && v.substring(1, v.length() - 1).isBlank()) {
                    break;
                }
                int dash = p.indexOf('-');
                int a = coreNumber(dash < 0 ? p : p.substring(0, dash), s);
                int b = dash < 0 ? a : coreNumber(p.substring(dash + 1), s);
                if (a > b) {
                    throw new IllegalArgumentException("bad core range " + p + " in " + s);
                }
                cores.set(a, b + 1);
            }
            if (cores.isEmpty()) {
                throw new IllegalArgumentException("empty core list " + s);
            }
            return cores.stream().toArray();
        }
        String hex = v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v;
        if (!hex.matches("[0-9a-fA-F]+")) {
            throw new IllegalArgumentException("core mask " + s + " is not a hex number");
        }
        java.math.BigInteger mask = new java.math.BigInteger(hex, 16);
        if (mask.signum() == 0) {
            throw new IllegalArgumentException("core mask selects no core: " + s);
        }
        if (mask.bitLength() > MAX_CORES) {
            throw new IllegalArgumentException("core mask " + s + " selects core " + (mask.bitLength() - 1)
                    + "; cores are 0.." + (MAX_CORES - 1));
        }
        for (int i = 0; i < mask.bitLength(); i++) {
            if (mask.testBit(i)) {
                cores.set(i);
            }
        }
        return cores.stream().toArray();
    }

    private static int coreNumber(String p, String whole) {
        String t = p.trim();
        if (!t.matches("[0-9]{1,4}") || Integer.parseInt(t) >= MAX_CORES) {
            throw new IllegalArgumentException("bad core number '" + t + "' in " + whole + " (cores are 0.."
                    + (MAX_CORES - 1) + ")");
        }
        return Integer.parseInt(t);
    }

    /**
     * {@code -m} as the issue defines it: an SPDK hex core mask ("0x3") or list ("[0,1]"), or a
     * decimal count of reactors ("2"). A bare decimal is a count; hex masks need the 0x prefix.
     */
    public static int[] parseCoresOption(String s) {
        String v = s.trim();
        if (v.matches("[0-9]+")) {
            int n = v.length() > 5 ? Integer.MAX_VALUE : Integer.parseInt(v);
            if (n < 1 || n > MAX_CORES) {
                throw new IllegalArgumentException("reactor count must be 1.." + MAX_CORES + ", not " + v);
            }
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                out[i] = i;
            }
            return out;
        }
        if (!v.startsWith("0x") && !v.startsWith("0X") && !v.startsWith("[")) {
            throw new IllegalArgumentException("-m takes a count (2), a hex mask (0x3) or a list ([0,1]), not " + s);
        }
        return parseCoreMask(v);
    }

    public Reactor get(int i) {
        return reactors.get(i);
    }

    /** Reactor 0, where the control plane runs. */
    public Reactor app() {
        return reactors.get(0);
    }

    public int size() {
        return reactors.size();
    }

    public List<Reactor> all() {
        return reactors;
    }

    /** Core number the reactor with this index stands for. */
    public int core(int index) {
        return cores[index];
    }

    public Transport transport() {
        return transport;
    }

    public BufferPool buffers() {
        return buffers;
    }

    /** Netty's view of the reactors; {@code next()} goes round-robin. */
    public IoEventLoopGroup nettyGroup() {
        return netty;
    }

    /** The reactor the next connection goes to (round-robin). */
    public Reactor nextReactor() {
        return reactors.get(Math.floorMod(nextChild.getAndIncrement(), reactors.size()));
    }

    /**
     * SPDK's spdk_for_each_thread: runs {@code fn} on every reactor, one after the other, then
     * {@code done} on the reactor that called (or on reactor 0 when the caller is not a reactor).
     * A failing {@code fn} is logged and the walk goes on, so {@code done} always runs.
     */
    public void forEach(Consumer<Reactor> fn, Runnable done) {
        forEach(fn, (Throwable failure) -> {
            if (failure != null) {
                LOG.log(System.Logger.Level.ERROR, "forEach: a reactor failed", failure);
            }
            done.run();
        });
    }

    private void forEach(Consumer<Reactor> fn, Consumer<Throwable> done) {
        Reactor origin = Reactor.current() != null ? Reactor.current() : app();
        step(0, fn, origin, done, null);
    }

    private void step(int i, Consumer<Reactor> fn, Reactor origin, Consumer<Throwable> done, Throwable failed) {
        if (i == reactors.size()) {
            origin.send(() -> done.accept(failed));
            return;
        }
        Reactor r = reactors.get(i);
        r.send(() -> {
            Throwable f = failed;
            try {
                fn.accept(r);
            } catch (Throwable t) {
                if (f == null) {
                    f = t;
                }
            }
            step(i + 1, fn, origin, done, f);
        });
    }

    /**
     * As {@link #forEach(Consumer, Runnable)}, returning a future completed on the origin reactor,
     * exceptionally with the first failure once every reactor was visited.
     */
    public CompletableFuture<Void> forEach(Consumer<Reactor> fn) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        forEach(fn, (Throwable failure) -> {
            if (failure != null) {
                f.completeExceptionally(failure);
            } else {
                f.complete(null);
            }
        });
        return f;
    }

    /** Stops all reactors after their queued work and waits for their threads. */
    @Override
    public void close() {
        stopped = true;
        for (Reactor r : reactors) {
            r.stop();
        }
        for (Reactor r : reactors) {
            try {
                r.thread().join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The Netty face of the group; lifecycle calls go to the group, not to single loops. */
    private final class NettyView extends AbstractEventExecutorGroup implements IoEventLoopGroup {
        private final Promise<?> termination = GlobalEventExecutor.INSTANCE.newPromise();

        @Override
        public IoEventLoop next() {
            return nextReactor().eventLoop();
        }

        @Override
        @Deprecated
        public io.netty.channel.ChannelFuture register(io.netty.channel.Channel channel,
                                                       io.netty.channel.ChannelPromise promise) {
            return next().register(promise);
        }

        @Override
        public Iterator<EventExecutor> iterator() {
            List<EventExecutor> l = new ArrayList<>();
            for (Reactor r : reactors) {
                l.add(r.eventLoop());
            }
            return l.iterator();
        }

        @Override
        public boolean isShuttingDown() {
            return stopped;
        }

        @Override
        public Future<?> shutdownGracefully(long quietPeriod, long timeout, TimeUnit unit) {
            return termination;
        }

        @Override
        public Future<?> terminationFuture() {
            return termination;
        }

        @Override
        @Deprecated
        public void shutdown() {
            // Reactors are stopped by ReactorGroup.close(), never through Netty.
        }

        @Override
        public boolean isShutdown() {
            return stopped;
        }

        @Override
        public boolean isTerminated() {
            return stopped;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return stopped;
        }
    }
}
