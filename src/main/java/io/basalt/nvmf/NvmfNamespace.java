package io.basalt.nvmf;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.IoChannel;
import io.basalt.nvme.IdentifyNamespace;
import io.basalt.nvme.NamespaceIds;
import io.basalt.runtime.Reactor;

/**
 * A bdev exposed as namespace {@link #nsid} of a subsystem. The namespace owns an open
 * descriptor (opened on the application reactor, which gets its REMOVE and RESIZE events) and one
 * I/O channel per reactor, taken lazily by the qpairs of that reactor and shared by them.
 *
 * <p>Removal: the subsystem unpublishes the namespace (new commands see it absent), then visits
 * every reactor once ({@link #releaseOn}): that reactor's channel is put back and its parked
 * commands for the namespace fail; only then is the descriptor closed. Commands already in the
 * bdev finish normally (a channel lives until its last I/O completes).
 */
final class NvmfNamespace {
    final int nsid;
    final NvmfSubsystem subsystem;
    private final BdevDesc desc;
    final NamespaceIds ids;
    final boolean ownIds;
    private final IoChannel[] channels;
    /** Per reactor: the removal visited it; touched only by that reactor. */
    private final boolean[] released;
    volatile boolean removed;

    NvmfNamespace(int nsid, NvmfSubsystem subsystem, BdevDesc desc, NamespaceIds ids, boolean ownIds, int reactors) {
        this.nsid = nsid;
        this.subsystem = subsystem;
        this.desc = desc;
        this.ids = ids;
        this.ownIds = ownIds;
        this.channels = new IoChannel[reactors];
        this.released = new boolean[reactors];
    }

    BdevDesc desc() {
        return desc;
    }

    Bdev bdev() {
        return desc.bdev();
    }

    /** Whether commands on {@code r} may still use this namespace. Reactor {@code r} only. */
    boolean usableOn(Reactor r) {
        return !removed && !released[r.id()];
    }

    /** This reactor's channel, taken on first use. Reactor {@code r} only; {@link #usableOn} must be true. */
    IoChannel channel(Reactor r) {
        IoChannel ch = channels[r.id()];
        if (ch == null) {
            ch = desc.getIoChannel();
            channels[r.id()] = ch;
        }
        return ch;
    }

    /** The removal's visit of reactor {@code r}: no new use here, the channel goes back. */
    void releaseOn(Reactor r) {
        released[r.id()] = true;
        IoChannel ch = channels[r.id()];
        if (ch != null) {
            channels[r.id()] = null;
            desc.putIoChannel(ch);
        }
    }

    IdentifyNamespace identify() {
        Bdev b = desc.bdev();
        int noiob = b.optimalIoBoundary() > 0 && b.optimalIoBoundary() <= 0xFFFF ? b.optimalIoBoundary() : 0;
        return new IdentifyNamespace(b.numBlocks(), b.numBlocks(), b.numBlocks(), 0, IdentifyNamespace.NMIC_SHARED, 0,
                noiob, ids.nguid(), ids.eui64(), b.blockSize());
    }

    @Override
    public String toString() {
        return "namespace " + nsid + " (" + desc.bdev().name() + ") of " + subsystem.nqn;
    }
}
