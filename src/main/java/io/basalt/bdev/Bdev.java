package io.basalt.bdev;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A block device. Modules subclass it and fill in the function table (SPDK's spdk_bdev_fn_table):
 * {@link #submit} and {@link #supports} (required), {@link #destruct} (required),
 * {@link #createChannelContext} / {@link #destroyChannelContext} (optional per-reactor state),
 * {@link #configCall} and {@link #writeDriverSpecific} (optional, for save_config and
 * bdev_get_bdevs) and {@link #newIo} (optional per-I/O context).
 *
 * <p>The generic layer's bookkeeping (state, descriptors, channels, claims, locked ranges) lives in
 * package-private fields that modules cannot reach.
 */
public abstract class Bdev {
    private final BdevModule module;
    private final String name;
    private final UUID uuid;
    private final int blockSize;
    private volatile long numBlocks;
    final CopyOnWriteArrayList<String> aliases = new CopyOnWriteArrayList<>();

    // ---- generic layer (guarded by the BdevLayer lock unless noted)
    BdevLayer layer;
    BdevState state = BdevState.NEW;
    final List<BdevDesc> descs = new ArrayList<>();
    /** One slot per reactor; each slot touched only by its reactor (count under the lock). */
    IoChannel[] channels;
    int channelCount;
    /**
     * Statistics of destroyed channels, one slot per reactor: a channel retires on its own reactor,
     * and collecting reads a slot on that reactor too, so no I/O is counted twice or missed.
     */
    IoStats[] retiredStats;
    final List<LockedRange> lockedRanges = new ArrayList<>();
    ClaimType claimType;
    BdevModule claimModule;
    final List<BdevDesc> claimDescs = new ArrayList<>();
    CompletableFuture<Void> examined = new CompletableFuture<>();
    CompletableFuture<Void> unregistered;
    boolean destructStarted;

    /**
     * @param uuid null for a random one
     */
    protected Bdev(BdevModule module, String name, UUID uuid, int blockSize, long numBlocks) {
        if (name == null || name.isEmpty()) {
            throw new BasaltException(Errno.EINVAL, "bdev name must not be empty");
        }
        if (blockSize <= 0 || (blockSize & (blockSize - 1)) != 0 || blockSize < 512) {
            throw new BasaltException(Errno.EINVAL, "block size " + blockSize + " of " + name
                    + " must be a power of two of at least 512");
        }
        if (numBlocks <= 0) {
            throw new BasaltException(Errno.EINVAL, "bdev " + name + " must have at least one block");
        }
        this.module = module;
        this.name = name;
        this.uuid = uuid == null ? UUID.randomUUID() : uuid;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
    }

    public final String name() {
        return name;
    }

    public final List<String> aliases() {
        return List.copyOf(aliases);
    }

    public final UUID uuid() {
        return uuid;
    }

    public final int blockSize() {
        return blockSize;
    }

    public final long numBlocks() {
        return numBlocks;
    }

    public final long sizeBytes() {
        return numBlocks * blockSize;
    }

    public final BdevModule module() {
        return module;
    }

    /** The layer this bdev is registered with (null before registration). */
    public final BdevLayer layer() {
        return layer;
    }

    /** True once unregistration started; new opens fail then. */
    public final boolean removing() {
        BdevLayer l = layer;
        if (l == null) {
            return false;
        }
        synchronized (l) {
            return state == BdevState.REMOVING;
        }
    }

    /** True if some module holds a claim on this bdev. */
    public final boolean claimed() {
        BdevLayer l = layer;
        if (l == null) {
            return false;
        }
        synchronized (l) {
            return claimType != null;
        }
    }

    // ------------------------------------------------------------------ module function table

    /** SPDK's product_name, e.g. "Malloc disk". */
    public abstract String productName();

    /** Whether this bdev can execute {@code type}. */
    public abstract boolean supports(IoType type);

    /**
     * Executes an I/O on the channel's reactor. The request is already validated (range, buffer,
     * supported type). Complete it exactly once through {@link BdevIo#complete} and friends; NOMEM
     * makes the layer retry it later.
     */
    protected abstract void submit(IoChannel ch, BdevIo io);

    /**
     * Releases the bdev's resources after every descriptor closed and every channel is gone.
     * Called on the application reactor; call {@code done} when finished (any thread).
     */
    protected abstract void destruct(Runnable done);

    /**
     * Unregistration has started: new opens fail and every descriptor is being told REMOVE. Runs
     * once, on the application reactor, before {@link #destruct}. A module that holds I/O back on
     * purpose (an injected hang, an added latency) completes it here; otherwise the channels never
     * drain and the bdev can never be destructed.
     */
    protected void unregistering() {
    }

    /**
     * Why a new descriptor may not be opened right now (e.g. the module is deleting the bdev and
     * waits for its users to leave), or null to allow it. Checked by {@link BdevLayer#open} under
     * the layer's lock: must be quick and take no lock. A refused open fails with -EBUSY and this
     * text.
     */
    protected String openRefusal(boolean write) {
        return null;
    }

    /** Per-reactor module state for a new channel; runs on that reactor. */
    protected Object createChannelContext(Reactor reactor) {
        return null;
    }

    /** Releases what {@link #createChannelContext} made; runs on the channel's reactor. */
    protected void destroyChannelContext(Reactor reactor, Object ctx) {
    }

    /** A new pooled I/O object; override to return a subclass carrying per-I/O module state. */
    protected BdevIo newIo() {
        return new BdevIo();
    }

    /** Buffer alignment the module needs, in bytes (power of two); misaligned or heap buffers are bounced. */
    public int requiredAlignment() {
        return 1;
    }

    /** SPDK optimal_io_boundary in blocks (0 = none). */
    public int optimalIoBoundary() {
        return 0;
    }

    /** Physical block size in bytes, for exports that advertise it (defaults to the block size). */
    public int physicalBlockSize() {
        return blockSize;
    }

    /** Whether the device has a volatile write cache (FLUSH does something). */
    public boolean writeCache() {
        return false;
    }

    /** The RPC that recreates this bdev in save_config, or null if it is not saved (e.g. examined). */
    public ConfigCall configCall() {
        return null;
    }

    /** Module fields for bdev_get_bdevs' driver_specific object. */
    public void writeDriverSpecific(ObjectNode driverSpecific) {
    }

    // ------------------------------------------------------------------ module services

    /**
     * Announces a new size. Growing always works; shrinking fails with -EBUSY while descriptors
     * other than the module's own claim are open. Open descriptors get a RESIZE event.
     */
    protected final void resize(long newNumBlocks) {
        layer.resize(this, newNumBlocks);
    }

    final void setNumBlocks(long n) {
        this.numBlocks = n;
    }

    // ------------------------------------------------------------------ channels

    /** The channel of the calling reactor, created on first use; the caller must put it back. */
    final IoChannel getChannel(Reactor r) {
        IoChannel ch = channels[r.id()];
        if (ch != null && !ch.destroyed) {
            if (ch.destroyRequested()) {
                ch.cancelDestroy();
            }
            ch.refs++;
            return ch;
        }
        ch = new IoChannel(this, r);
        synchronized (layer) {
            channelCount++;
            for (LockedRange lr : lockedRanges) {
                ch.addLock(lr, null);
            }
        }
        try {
            ch.setCtx(createChannelContext(r));
        } catch (RuntimeException | Error e) {
            synchronized (layer) {
                channelCount--;
            }
            layer.maybeDestruct(this);
            throw e;
        }
        ch.refs = 1;
        channels[r.id()] = ch;
        return ch;
    }

    final void putChannel(IoChannel ch) {
        if (ch.refs <= 0) {
            throw new IllegalStateException("channel of " + name + " put more often than taken");
        }
        if (--ch.refs == 0) {
            // Deferred, so a put followed at once by a get does not tear the channel down.
            ch.reactor.deferTask(() -> {
                if (ch.refs == 0 && !ch.destroyed) {
                    ch.requestDestroy();
                }
            });
        }
    }

    final void destroyChannel(IoChannel ch) {
        if (ch.destroyed) {
            return;
        }
        ch.destroyed = true;
        try {
            destroyChannelContext(ch.reactor, ch.ctx());
        } finally {
            channels[ch.reactor.id()] = null;
            synchronized (layer) {
                retiredStats[ch.reactor.id()].add(ch.stats);
                channelCount--;
            }
            layer.maybeDestruct(this);
        }
    }

    // ------------------------------------------------------------------ quiesce

    /**
     * Quiesces blocks [offset, offset+length): new I/O overlapping them waits, and {@code done}
     * runs on the calling reactor once no overlapping I/O is in flight on any channel. Used by the
     * RAID rebuild to copy one window at a time.
     */
    public final CompletableFuture<LockedRange> quiesceRange(long offset, long length) {
        if (offset < 0 || length <= 0) {
            throw new BasaltException(Errno.EINVAL, "bad quiesce range " + offset + "+" + length);
        }
        LockedRange lr = new LockedRange(offset, length);
        synchronized (layer) {
            lockedRanges.add(lr);
        }
        Reactor origin = Reactor.current() != null ? Reactor.current() : layer.reactors().app();
        CompletableFuture<LockedRange> f = new CompletableFuture<>();
        List<Reactor> all = layer.reactors().all();
        AtomicInteger left = new AtomicInteger(all.size());
        Runnable ack = () -> {
            if (left.decrementAndGet() == 0) {
                lr.quiesced.complete(lr);
                origin.send(() -> f.complete(lr));
            }
        };
        for (Reactor r : all) {
            r.send(() -> {
                IoChannel ch = channels[r.id()];
                if (ch != null && !ch.destroyed) {
                    ch.addLock(lr, ack);
                } else {
                    ack.run();
                }
            });
        }
        return f;
    }

    /**
     * Ends a quiesce and lets the I/O it held back go; completes on the calling reactor. -EBUSY
     * while the quiesce itself has not completed (its future would never complete otherwise).
     */
    public final CompletableFuture<Void> unquiesceRange(LockedRange lr) {
        synchronized (layer) {
            if (lockedRanges.contains(lr) && !lr.quiesced.isDone()) {
                throw new BasaltException(Errno.EBUSY, "range " + lr + " of " + name + " is still being quiesced");
            }
            if (!lockedRanges.remove(lr)) {
                throw new BasaltException(Errno.EINVAL, "range " + lr + " of " + name + " is not quiesced");
            }
        }
        Reactor origin = Reactor.current() != null ? Reactor.current() : layer.reactors().app();
        CompletableFuture<Void> f = new CompletableFuture<>();
        List<Reactor> all = layer.reactors().all();
        AtomicInteger left = new AtomicInteger(all.size());
        for (Reactor r : all) {
            r.send(() -> {
                IoChannel ch = channels[r.id()];
                if (ch != null && !ch.destroyed) {
                    ch.removeLock(lr);
                }
                if (left.decrementAndGet() == 0) {
                    origin.send(() -> f.complete(null));
                }
            });
        }
        return f;
    }

    // ------------------------------------------------------------------ statistics and JSON

    /**
     * Sums the statistics of every channel (each read on its own reactor) and of channels that
     * are gone. Completes on the calling reactor.
     */
    public final CompletableFuture<IoStats> collectStats() {
        IoStats total = new IoStats();
        return layer.reactors().forEach(r -> {
            synchronized (layer) {
                total.add(retiredStats[r.id()]);
            }
            IoChannel ch = channels[r.id()];
            if (ch != null && !ch.destroyed) {
                total.add(ch.stats);
            }
        }).thenApply(v -> total);
    }

    /** Per-channel statistics, for bdev_get_iostat's per_channel. Index = reactor id; null = none. */
    public final CompletableFuture<IoStats[]> collectChannelStats() {
        IoStats[] out = new IoStats[channels.length];
        return layer.reactors().forEach(r -> {
            IoChannel ch = channels[r.id()];
            if (ch != null && !ch.destroyed) {
                out[r.id()] = ch.stats.copy();
            }
        }).thenApply(v -> out);
    }

    /** The bdev_get_bdevs entry, with SPDK's field names. */
    public final ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("name", name);
        var al = o.putArray("aliases");
        for (String a : aliases) {
            al.add(a);
        }
        o.put("product_name", productName());
        o.put("block_size", blockSize);
        o.put("num_blocks", numBlocks);
        o.put("uuid", uuid.toString());
        if (optimalIoBoundary() > 0) {
            o.put("optimal_io_boundary", optimalIoBoundary());
        }
        ObjectNode rl = o.putObject("assigned_rate_limits");
        rl.put("rw_ios_per_sec", 0);
        rl.put("rw_mbytes_per_sec", 0);
        rl.put("r_mbytes_per_sec", 0);
        rl.put("w_mbytes_per_sec", 0);
        ClaimType ct;
        synchronized (layer) {
            ct = claimType;
        }
        o.put("claimed", ct != null);
        if (ct != null) {
            o.put("claim_type", ct.json());
        }
        o.put("zoned", false);
        ObjectNode io = o.putObject("supported_io_types");
        for (String k : IoType.SPDK_KEYS) {
            IoType t = IoType.fromJson(k);
            io.put(k, t != null && supports(t));
        }
        ObjectNode ds = o.putObject("driver_specific");
        writeDriverSpecific(ds);
        return o;
    }

    @Override
    public String toString() {
        return "bdev " + name;
    }
}
