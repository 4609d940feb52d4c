package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoType;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.Reactor;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * The block device an online array registers (SPDK's raid_bdev's spdk_bdev): generic over the
 * levels. It routes each I/O to its {@link LevelModule} with the reactor's {@link RaidChannel},
 * and keeps the view of the members that channels follow.
 *
 * <p>Membership view: the application reactor publishes which member serves each slot
 * ({@link #view}), the rebuild target ({@link #viewTarget}) and the rebuild's progress
 * ({@link #viewProcessOffset}), then runs {@link #syncChannels}, which makes every existing
 * channel follow on its own reactor; a channel created meanwhile reads the view itself. Removing
 * a member is done under a quiesce of the whole bdev, so no raid I/O is in flight while channels
 * drop it; adding the target or moving the rebuild's progress needs none.
 *
 * <p>Ownership: created and registered by its {@link RaidArray} when the array goes online; the
 * array unregisters it and closes the members after {@link #destruct}.
 */
final class RaidBdev extends Bdev {
    final RaidArray array;
    final LevelModule logic;
    private final int alignment;
    private final boolean writeCache;
    private final RaidChannel[] channelSlots;

    volatile Member[] view;
    volatile Member viewTarget;
    volatile long viewProcessOffset;

    RaidBdev(RaidArray array, LevelModule logic, UUID uuid, long numBlocks, Member[] initialView) {
        super(array.module, array.name, uuid, logic.blockSize, numBlocks);
        this.array = array;
        this.logic = logic;
        this.view = initialView;
        int align = 1;
        boolean wc = false;
        for (Member m : initialView) {
            if (m != null) {
                align = Math.max(align, m.bdev.requiredAlignment());
                wc |= m.bdev.writeCache();
            }
        }
        this.alignment = align;
        this.writeCache = wc;
        this.channelSlots = new RaidChannel[array.layer.reactors().size()];
        logic.bind(this, array.layer.reactors());
    }

    // ------------------------------------------------------------------ description

    @Override
    public String productName() {
        return "Raid Volume";
    }

    @Override
    public boolean supports(IoType type) {
        return switch (type) {
            case READ, WRITE -> true;
            case FLUSH, RESET -> membersSupport(type);
            case UNMAP, WRITE_ZEROES -> logic.supportsNullPayload() && membersSupport(type);
            default -> false;
        };
    }

    private boolean membersSupport(IoType type) {
        for (Member m : view) {
            if (m != null && !m.bdev.supports(type)) {
                return false;
            }
        }
        Member t = viewTarget;
        return t == null || t.bdev.supports(type);
    }

    @Override
    public int requiredAlignment() {
        return alignment;
    }

    @Override
    public int optimalIoBoundary() {
        return logic.optimalIoBoundary();
    }

    @Override
    public boolean writeCache() {
        return writeCache;
    }

    @Override
    public void writeDriverSpecific(ObjectNode driverSpecific) {
        array.writeInfo(driverSpecific.putObject("raid"));
    }

    @Override
    public ConfigCall configCall() {
        return array.configCall();
    }

    // ------------------------------------------------------------------ channels

    @Override
    protected Object createChannelContext(Reactor reactor) {
        RaidChannel c = new RaidChannel(this, reactor, logic.n);
        c.sync();
        channelSlots[reactor.id()] = c;
        return c;
    }

    @Override
    protected void destroyChannelContext(Reactor reactor, Object ctx) {
        channelSlots[reactor.id()] = null;
        ((RaidChannel) ctx).release();
    }

    /** Makes every channel follow the published view; completes on the calling reactor. */
    CompletableFuture<Void> syncChannels() {
        return layer().reactors().forEach(r -> {
            RaidChannel c = channelSlots[r.id()];
            if (c != null) {
                c.sync();
            }
        });
    }

    // ------------------------------------------------------------------ I/O

    @Override
    protected BdevIo newIo() {
        return new RaidIo(logic, logic.n);
    }

    @Override
    protected void submit(IoChannel ch, BdevIo bio) {
        RaidIo io = (RaidIo) bio;
        io.start((RaidChannel) ch.ctx());
        logic.start(io);
    }

    /**
     * A member failed a write (or a read write-back) on {@code reactor}: the member leaves the
     * array, or, when it is the rebuild target, the rebuild copies again from {@code raidLba}.
     */
    void memberIoFailed(Member m, Reactor reactor, long raidLba) {
        Reactor app = layer().reactors().app();
        if (m == viewTarget) {
            app.send(() -> array.targetWriteFailed(m, raidLba));
        } else if (m.markFailed()) {
            app.send(() -> array.memberFailed(m, "I/O error"));
        }
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    protected void unregistering() {
        array.bdevUnregistering(this);
    }

    @Override
    protected void destruct(Runnable done) {
        array.bdevDestructed(this, done);
    }
}
