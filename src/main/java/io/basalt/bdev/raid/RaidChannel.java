package io.basalt.bdev.raid;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.IoChannel;
import io.basalt.runtime.Reactor;

/**
 * The raid bdev's state on one reactor (SPDK's raid_bdev_io_channel): an I/O channel of every
 * member in service, the rebuild target's channel and how far the rebuild has come.
 *
 * <p>Threading: every field is touched only on {@link #reactor}. Membership changes reach the
 * channel through {@link #sync}, which reconciles it with the view the application reactor
 * published in {@link RaidBdev}; it is idempotent, so a channel created while a change is being
 * spread and the change's own message agree.
 */
final class RaidChannel {
    final RaidBdev raid;
    final Reactor reactor;
    /** Per slot: the member in service whose channel is held (null: none). */
    final Member[] members;
    final IoChannel[] chans;
    /** raid1: blocks of reads outstanding per slot, to send a read to the least busy member. */
    final long[] readBlocks;
    /** The member a rebuild copies onto, or null; written below {@link #processOffset} only. */
    Member target;
    IoChannel targetCh;
    /** Raid blocks below this are rebuilt: writes there also go to the target. */
    long processOffset;

    RaidChannel(RaidBdev raid, Reactor reactor, int n) {
        this.raid = raid;
        this.reactor = reactor;
        this.members = new Member[n];
        this.chans = new IoChannel[n];
        this.readBlocks = new long[n];
    }

    /** Slot {@code i} can take I/O: attached here and not failed. */
    boolean usable(int i) {
        Member m = members[i];
        return m != null && !m.failed();
    }

    BdevDesc desc(int i) {
        return members[i].desc;
    }

    /** The target, if a rebuild runs and it has not failed. */
    Member liveTarget() {
        Member t = target;
        return t != null && !t.failed() ? t : null;
    }

    /** Makes the held channels match the published view; on {@link #reactor}. */
    void sync() {
        reactor.assertInReactor();
        Member[] view = raid.view;
        for (int i = 0; i < members.length; i++) {
            Member want = view[i];
            if (members[i] != want) {
                if (members[i] != null) {
                    // The target becoming a member keeps its channel.
                    if (members[i] != target) {
                        members[i].desc.putIoChannel(chans[i]);
                    }
                }
                members[i] = null;
                chans[i] = null;
                if (want != null) {
                    chans[i] = want == target ? targetCh : want.desc.getIoChannel();
                    members[i] = want;
                }
            }
        }
        Member wantTarget = raid.viewTarget;
        if (target != wantTarget) {
            if (target != null && members[target.slot] != target) {
                target.desc.putIoChannel(targetCh);
            }
            target = null;
            targetCh = null;
            if (wantTarget != null) {
                targetCh = wantTarget.desc.getIoChannel();
                target = wantTarget;
            }
        }
        processOffset = raid.viewProcessOffset;
    }

    /** Puts every held channel (the raid channel is being destroyed). */
    void release() {
        for (int i = 0; i < members.length; i++) {
            if (members[i] != null) {
                members[i].desc.putIoChannel(chans[i]);
                members[i] = null;
                chans[i] = null;
            }
        }
        if (target != null) {
            target.desc.putIoChannel(targetCh);
            target = null;
            targetCh = null;
        }
    }
}
