package io.basalt.bdev.delay;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.bdev.StackedBdev;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.Json;
import io.basalt.runtime.Poller;
import io.basalt.runtime.Reactor;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * SPDK's delay bdev: a passthrough whose reads and writes complete a set latency after their base
 * I/O completed; one in a hundred (chosen at random per I/O) gets the p99 latency instead of the
 * average. Other I/O types complete as soon as the base's do.
 *
 * <p>How the delay is kept without blocking and without a timer per I/O: each channel holds four
 * FIFOs (average and p99, read and write) of I/Os whose base I/O is done, each with its due time.
 * With a fixed latency every FIFO is in due order; after a latency is lowered, newer I/Os wait
 * behind older ones in their FIFO until those are due (SPDK's "dam", wanted to trigger initiator
 * timeouts). A period-0 poller completes what is due, across the four FIFOs in due order, while
 * the reactor is awake; since a parked reactor runs no pollers, one reactor timer per channel is
 * kept armed for the earliest due time. It is re-armed only when an earlier time appears or when
 * it fires, so I/O arriving while it is armed costs nothing; a lone I/O at queue depth 1 still
 * costs one Netty scheduled task (the only allocation on this path).
 *
 * <p>A reset aborts every I/O waiting out its delay (as SPDK), then resets the base. When the bdev
 * is being removed, waiting I/Os complete at once with their base result (SPDK keeps them
 * waiting), so that deleting a bdev with a long latency does not wait that long.
 *
 * <p>Threading: latencies are set on the application reactor and read by every reactor; the FIFOs,
 * the poller and the timer belong to their channel's reactor.
 */
public final class DelayBdev extends StackedBdev {
    /** The FIFO an I/O waits in; SPDK's latency_type names are the lower-case constant names. */
    public enum LatencyType {
        AVG_READ, P99_READ, AVG_WRITE, P99_WRITE
    }

    /** Largest latency accepted, in µs (keeps due times far from overflow). */
    public static final long MAX_LATENCY_US = Long.MAX_VALUE / 4 / 1000;
    private static final int NONE = -1;
    private static final LatencyType[] TYPES = LatencyType.values();

    /** Latencies in µs. */
    private volatile long avgReadUs;
    private volatile long p99ReadUs;
    private volatile long avgWriteUs;
    private volatile long p99WriteUs;
    private volatile boolean removing;

    DelayBdev(DelayModule module, String name, UUID uuid, BdevDesc baseDesc, long avgReadUs, long p99ReadUs,
              long avgWriteUs, long p99WriteUs) {
        super(module, name, uuid, baseDesc);
        this.avgReadUs = avgReadUs;
        this.p99ReadUs = p99ReadUs;
        this.avgWriteUs = avgWriteUs;
        this.p99WriteUs = p99WriteUs;
    }

    /** The latency of {@code t} in µs. */
    public long latency(LatencyType t) {
        return switch (t) {
            case AVG_READ -> avgReadUs;
            case P99_READ -> p99ReadUs;
            case AVG_WRITE -> avgWriteUs;
            case P99_WRITE -> p99WriteUs;
        };
    }

    /**
     * Sets one latency; I/Os whose base completes afterwards use it. Not checked against the
     * other latencies (SPDK checks p99 ≥ average only at creation). Any thread.
     */
    public void setLatency(LatencyType t, long us) {
        if (us < 0 || us > MAX_LATENCY_US) {
            throw new IllegalArgumentException("latency " + us + " µs out of range");
        }
        switch (t) {
            case AVG_READ -> avgReadUs = us;
            case P99_READ -> p99ReadUs = us;
            case AVG_WRITE -> avgWriteUs = us;
            case P99_WRITE -> p99WriteUs = us;
        }
    }

    // ------------------------------------------------------------------ data path

    /** Per-I/O state: which FIFO, when due, the link, and the base's result kept until then. */
    static final class DelayIo extends StackedIo {
        int fifo = NONE;
        long due;
        DelayIo next;
        IoStatus baseStatus;
        int baseErrno;
        int baseSct;
        int baseSc;

        void completeWithBaseResult() {
            IoStatus s = baseStatus;
            baseStatus = null;
            completeAs(this, s, baseErrno, baseSct, baseSc);
        }
    }

    @Override
    protected BdevIo newIo() {
        return new DelayIo();
    }

    /** Per-reactor state: the four FIFOs, the poller, the timer and the p99 dice. */
    final class DelayChannel extends StackedBdev.Channel {
        private final DelayIo[] heads = new DelayIo[TYPES.length];
        private final DelayIo[] tails = new DelayIo[TYPES.length];
        private int waiting;
        /** Seeded per bdev and reactor, so a run is reproducible; SPDK seeds with the time. */
        private final SplittableRandom dice;
        private final Poller.Registration poller;
        private final Runnable onTimer = this::timerFired;
        private ScheduledFuture<?> timer;
        private long timerDue;
        long p99Picks;

        DelayChannel(Reactor reactor, IoChannel baseChannel) {
            super(reactor, baseChannel);
            dice = new SplittableRandom(name().hashCode() * 31L + reactor.id());
            poller = reactor.registerPoller(this::poll, 0, TimeUnit.NANOSECONDS);
        }

        int pick(IoType t) {
            boolean p99 = dice.nextInt(100) == 0;
            if (p99) {
                p99Picks++;
            }
            if (t == IoType.READ) {
                return (p99 ? LatencyType.P99_READ : LatencyType.AVG_READ).ordinal();
            }
            return (p99 ? LatencyType.P99_WRITE : LatencyType.AVG_WRITE).ordinal();
        }

        void enqueue(DelayIo io) {
            int k = io.fifo;
            io.next = null;
            if (tails[k] == null) {
                heads[k] = io;
            } else {
                tails[k].next = io;
            }
            tails[k] = io;
            waiting++;
            arm(io.due);
        }

        private int poll() {
            return waiting == 0 ? 0 : completeDue(System.nanoTime(), false, null);
        }

        /**
         * Completes waiting I/Os in due order: those due by {@code now}, or all of them with
         * {@code all}. With a status they end with it instead of their base result.
         */
        int completeDue(long now, boolean all, IoStatus status) {
            int done = 0;
            while (true) {
                int best = NONE;
                for (int k = 0; k < heads.length; k++) {
                    DelayIo h = heads[k];
                    if (h != null && (all || h.due - now <= 0) && (best == NONE || h.due - heads[best].due < 0)) {
                        best = k;
                    }
                }
                if (best == NONE) {
                    return done;
                }
                DelayIo io = heads[best];
                heads[best] = io.next;
                if (heads[best] == null) {
                    tails[best] = null;
                }
                io.next = null;
                waiting--;
                done++;
                if (status == null) {
                    io.completeWithBaseResult();
                } else {
                    io.baseStatus = null;
                    io.complete(status);
                }
            }
        }

        /** Keeps the timer armed for the earliest due time (only ever moved earlier). */
        private void arm(long due) {
            if (timer != null) {
                if (due - timerDue >= 0) {
                    return;
                }
                timer.cancel(false);
            }
            timerDue = due;
            timer = reactor.schedule(onTimer, Math.max(0, due - System.nanoTime()), TimeUnit.NANOSECONDS);
        }

        private void timerFired() {
            timer = null;
            completeDue(System.nanoTime(), false, null);
            long earliest = 0;
            boolean any = false;
            for (DelayIo h : heads) {
                if (h != null && (!any || h.due - earliest < 0)) {
                    earliest = h.due;
                    any = true;
                }
            }
            if (any) {
                arm(earliest);
            }
        }

        void close() {
            poller.unregister();
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
        }
    }

    @Override
    protected StackedBdev.Channel newChannel(Reactor reactor, IoChannel baseChannel) {
        return new DelayChannel(reactor, baseChannel);
    }

    @Override
    protected void closeChannel(StackedBdev.Channel ch) {
        ((DelayChannel) ch).close();
    }

    @Override
    protected void submit(IoChannel ch, BdevIo bio) {
        DelayChannel c = (DelayChannel) ch.ctx();
        DelayIo io = (DelayIo) bio;
        IoType t = io.type();
        if (t == IoType.RESET) {
            io.fifo = NONE;
            forEachChannel(x -> ((DelayChannel) x).completeDue(0, true, IoStatus.ABORTED))
                    .thenRun(() -> forward(io));
            return;
        }
        io.fifo = t == IoType.READ || t == IoType.WRITE ? c.pick(t) : NONE;
        forward(io);
    }

    @Override
    protected void baseCompleted(StackedIo sio, BdevIo baseIo) {
        DelayIo io = (DelayIo) sio;
        if (io.fifo == NONE || removing) {
            super.baseCompleted(io, baseIo);
            return;
        }
        io.baseStatus = baseIo.status();
        io.baseErrno = baseIo.errno();
        io.baseSct = baseIo.nvmeSct();
        io.baseSc = baseIo.nvmeSc();
        io.due = System.nanoTime() + latency(TYPES[io.fifo]) * 1000;
        ((DelayChannel) io.channel().ctx()).enqueue(io);
    }

    @Override
    protected void unregistering() {
        removing = true;
        forEachChannel(c -> ((DelayChannel) c).completeDue(0, true, null));
    }

    /** p99 picks made by reactor {@code r}'s channel (0 without one). On {@code r} only; for tests. */
    long p99Picks(Reactor r) {
        return channel(r) instanceof DelayChannel c ? c.p99Picks : 0;
    }

    /** I/Os waiting out their delay on reactor {@code r}'s channel. On {@code r} only; for tests. */
    int waiting(Reactor r) {
        return channel(r) instanceof DelayChannel c ? c.waiting : 0;
    }

    // ------------------------------------------------------------------ description

    @Override
    public String productName() {
        return "delay";
    }

    private void writeConf(ObjectNode o) {
        o.put("name", name());
        o.put("base_bdev_name", base().name());
        o.put("uuid", uuid().toString());
        o.put("avg_read_latency", latency(LatencyType.AVG_READ));
        o.put("p99_read_latency", latency(LatencyType.P99_READ));
        o.put("avg_write_latency", latency(LatencyType.AVG_WRITE));
        o.put("p99_write_latency", latency(LatencyType.P99_WRITE));
    }

    @Override
    public void writeDriverSpecific(ObjectNode driverSpecific) {
        writeConf(driverSpecific.putObject("delay"));
    }

    @Override
    public ConfigCall configCall() {
        ObjectNode p = Json.object();
        writeConf(p);
        return new ConfigCall("bdev_delay_create", p);
    }
}
