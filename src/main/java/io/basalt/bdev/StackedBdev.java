package io.basalt.bdev;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A bdev stacked one-to-one on a base bdev (SPDK's virtual bdevs: passthru, error, delay): same
 * block size and count, the base's I/O types and properties, every I/O forwarded to the same
 * blocks of the base. Subclasses change what happens around the forwarding.
 *
 * <p>Ownership: the stacked bdev opens its base for writing and claims it
 * ({@code exclusive_write}) in {@link #create}; each channel of the stacked bdev holds the base's
 * channel of the same reactor, taken in {@link #createChannelContext} and put in
 * {@link #destroyChannelContext}; {@link #destruct} closes the base descriptor, which releases
 * the claim. A REMOVE of the base unregisters the stacked bdev (its own users get REMOVE in turn).
 * Nothing of the base is let go while an I/O of the stacked bdev is in flight, because the layer
 * destroys a channel only once its I/O has completed and destructs only once channels are gone.
 *
 * <p>Threading: creation on the application reactor; I/O on the channel's reactor.
 */
public abstract class StackedBdev extends Bdev implements IoCallback {
    private static final System.Logger LOG = System.getLogger(StackedBdev.class.getName());

    private final BdevDesc baseDesc;
    private final Bdev base;
    /** One slot per reactor, each touched only by its reactor. */
    private final Channel[] channelSlots;

    /** @param baseDesc the base, opened for writing and claimed (see {@link #create}) */
    protected StackedBdev(BdevModule module, String name, UUID uuid, BdevDesc baseDesc) {
        super(module, name, uuid, baseDesc.bdev().blockSize(), baseDesc.bdev().numBlocks());
        this.baseDesc = baseDesc;
        this.base = baseDesc.bdev();
        this.channelSlots = new Channel[base.layer().reactors().size()];
    }

    /**
     * Opens {@code baseName} for writing, claims it for {@code module}, builds the stacked bdev
     * {@code name} with {@code make} and registers it. Anything failing leaves the base as it was
     * (closed, unclaimed): -17 if the name (checked first) or the uuid is taken, -19 if the base is
     * absent, -1 if it is claimed or open for writing elsewhere. For modules' create methods;
     * application reactor only.
     */
    public static <B extends StackedBdev> B create(BdevLayer layer, BdevModule module, String name, String baseName,
                                                      Function<BdevDesc, B> make) {
        layer.reactors().app().assertInReactor();
        if (layer.nameTaken(name)) {
            throw new BasaltException(Errno.EEXIST, "bdev " + name + " already exists");
        }
        BaseEvents events = new BaseEvents();
        BdevDesc d = layer.open(baseName, true, events);
        try {
            layer.claim(d, ClaimType.EXCLUSIVE_WRITE, module);
            B b = make.apply(d);
            layer.register(b);
            // Events for d are delivered on this reactor, so none can run before this line.
            events.owner = b;
            return b;
        } catch (RuntimeException | Error e) {
            d.close();
            throw e;
        }
    }

    /** The base bdev. */
    public final Bdev base() {
        return base;
    }

    // ------------------------------------------------------------------ the base's properties

    @Override
    public boolean supports(IoType type) {
        return base.supports(type);
    }

    @Override
    public int requiredAlignment() {
        return base.requiredAlignment();
    }

    @Override
    public int optimalIoBoundary() {
        return base.optimalIoBoundary();
    }

    @Override
    public int physicalBlockSize() {
        return base.physicalBlockSize();
    }

    @Override
    public boolean writeCache() {
        return base.writeCache();
    }

    // ------------------------------------------------------------------ channels

    /** Per-reactor state of a stacked bdev: the base's channel, plus what a subclass adds. */
    public static class Channel {
        protected final Reactor reactor;
        protected final IoChannel baseChannel;

        protected Channel(Reactor reactor, IoChannel baseChannel) {
            this.reactor = reactor;
            this.baseChannel = baseChannel;
        }
    }

    /** A new channel state on {@code reactor} (runs there); override to return a subclass. */
    protected Channel newChannel(Reactor reactor, IoChannel baseChannel) {
        return new Channel(reactor, baseChannel);
    }

    /** Releases what a subclass added to a channel; runs on its reactor, with no I/O in flight. */
    protected void closeChannel(Channel ch) {
    }

    @Override
    protected final Object createChannelContext(Reactor reactor) {
        IoChannel bch = baseDesc.getIoChannel();
        Channel c;
        try {
            c = newChannel(reactor, bch);
        } catch (RuntimeException | Error e) {
            baseDesc.putIoChannel(bch);
            throw e;
        }
        channelSlots[reactor.id()] = c;
        return c;
    }

    @Override
    protected final void destroyChannelContext(Reactor reactor, Object ctx) {
        Channel c = (Channel) ctx;
        channelSlots[reactor.id()] = null;
        try {
            closeChannel(c);
        } finally {
            baseDesc.putIoChannel(c.baseChannel);
        }
    }

    /** The channel state of reactor {@code r}, or null if it has none. On {@code r} only. */
    protected final Channel channel(Reactor r) {
        r.assertInReactor();
        return channelSlots[r.id()];
    }

    /**
     * Runs {@code fn} on every reactor that has a channel of this bdev, on that reactor; the
     * future completes on the calling reactor afterwards.
     */
    protected final CompletableFuture<Void> forEachChannel(Consumer<Channel> fn) {
        return base.layer().reactors().forEach(r -> {
            Channel c = channelSlots[r.id()];
            if (c != null) {
                fn.accept(c);
            }
        });
    }

    // ------------------------------------------------------------------ I/O

    /**
     * The I/O object of a stacked bdev: carries what forwarding needs (a waiter for when the
     * base's channel has no free I/O). Subclasses of stacked bdevs extend it for their own state.
     */
    public static class StackedIo extends BdevIo {
        private final IoWaiter retry = new IoWaiter() {
            @Override
            public void ioAvailable() {
                ((StackedBdev) bdev()).forward(StackedIo.this);
            }
        };

        protected StackedIo() {
        }
    }

    @Override
    protected BdevIo newIo() {
        return new StackedIo();
    }

    /**
     * Submits {@code io} to the same blocks of the base, on the base channel of the I/O's
     * reactor. When the base has no free I/O it waits for one and submits again, so the I/O is
     * never failed for it. {@link #baseCompleted} runs when the base is done.
     */
    protected final void forward(StackedIo io) {
        IoChannel bch = ((Channel) io.channel().ctx()).baseChannel;
        long off = io.offsetBlocks();
        long n = io.numBlocks();
        int rc = switch (io.type()) {
            case READ -> baseDesc.read(bch, io.buffer(), io.bufferOffset(), off, n, this, io);
            case WRITE -> baseDesc.write(bch, io.buffer(), io.bufferOffset(), off, n, io.fua(), this, io);
            case COMPARE -> baseDesc.compare(bch, io.buffer(), io.bufferOffset(), off, n, this, io);
            case UNMAP -> baseDesc.unmap(bch, off, n, this, io);
            case WRITE_ZEROES -> baseDesc.writeZeroes(bch, off, n, this, io);
            case FLUSH -> baseDesc.flush(bch, off, n, this, io);
            case COPY -> baseDesc.copy(bch, off, io.srcOffsetBlocks(), n, this, io);
            case RESET -> baseDesc.reset(bch, this, io);
        };
        if (rc == -Errno.ENOMEM) {
            bch.waitForIo(io.retry);
        }
    }

    /** Completion of a forwarded I/O, from the base (the callback {@link #forward} registers). */
    @Override
    public final void onComplete(BdevIo baseIo, boolean success, Object arg) {
        baseCompleted((StackedIo) arg, baseIo);
    }

    /**
     * The base finished the forwarded {@code io}; {@code baseIo} is valid only during this call.
     * By default the stacked I/O ends as the base's did.
     */
    protected void baseCompleted(StackedIo io, BdevIo baseIo) {
        completeAs(io, baseIo.status(), baseIo.errno(), baseIo.nvmeSct(), baseIo.nvmeSc());
    }

    /** Ends {@code io} with a result taken from a base I/O (its status, errno and NVMe status). */
    protected static void completeAs(BdevIo io, IoStatus status, int errno, int sct, int sc) {
        switch (status) {
            case FAILED -> io.fail(errno);
            case NVME_ERROR -> io.completeNvme(sct, sc);
            // An INVALID base I/O loses its errno here; the stacked layer already checked range and type.
            default -> io.complete(status);
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * The base's size changed. Growing is followed; shrinking is followed when nothing but this
     * module has the stacked bdev open (otherwise I/O past the new end fails at the base).
     */
    protected void baseResized() {
        try {
            resize(base.numBlocks());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "bdev " + name() + " does not follow the resize of its base "
                    + base.name() + ": " + e.getMessage());
        }
    }

    /** Closes the base descriptor (releasing the claim); subclasses free their own state first. */
    @Override
    protected void destruct(Runnable done) {
        baseDesc.close();
        done.run();
    }

    /** Events of the base descriptor, on the application reactor. */
    private static final class BaseEvents implements BdevEventHandler {
        StackedBdev owner;

        @Override
        public void onEvent(BdevEvent event, Bdev bdev, BdevDesc desc) {
            StackedBdev b = owner;
            if (b == null) {
                return;
            }
            switch (event) {
                case REMOVE -> {
                    LOG.log(System.Logger.Level.INFO, "base " + bdev.name() + " of " + b.name()
                            + " is going away: unregistering " + b.name());
                    b.layer().unregister(b);
                }
                case RESIZE -> b.baseResized();
            }
        }
    }
}
