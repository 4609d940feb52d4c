package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.ClaimType;
import io.basalt.bdev.IoChannel;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * One RAID array (SPDK's struct raid_bdev without its spdk_bdev): its configuration, its slots
 * and the members attached to them, its state, its superblock, and the background rebuild.
 * The block device it registers when online is a {@link RaidBdev}.
 *
 * <p>States as SPDK: CONFIGURING (not every expected member is there; not registered), ONLINE
 * (registered; serving I/O, degraded when a member is missing), OFFLINE (fewer members than the
 * level needs, or being deleted; unregistered).
 *
 * <p>Threading: everything here runs on the application reactor; data-path reactors only read
 * {@link Member}s and the {@link RaidBdev}'s published view.
 */
final class RaidArray {
    private static final System.Logger LOG = System.getLogger(RaidArray.class.getName());

    enum State {
        CONFIGURING("configuring"), ONLINE("online"), OFFLINE("offline");

        final String json;

        State(String json) {
            this.json = json;
        }
    }

    /** Why the raid bdev is being unregistered. */
    enum Stop {
        DELETE, SHUTDOWN, OFFLINE
    }

    /** One slot (SPDK's raid_base_bdev_info): what is expected there and what is attached. */
    static final class Slot {
        final int index;
        /** Bdev name awaited or attached (null: free). */
        String name;
        /** Member uuid expected (from the superblock) or attached; null: any. */
        UUID uuid;
        long dataOffset;
        long dataSize;
        Superblock.SlotState sbState = Superblock.SlotState.MISSING;
        /** The member in service (or configured, while configuring). */
        Member member;
        /** A member attached but not in service: waiting to be rebuilt, or the rebuild's target. */
        Member spare;

        Slot(int index) {
            this.index = index;
        }
    }

    final RaidModule module;
    final BdevLayer layer;
    final String name;
    final UUID uuid;
    final RaidLevel level;
    final boolean superblock;
    final int n;
    final int minOperational;
    final Slot[] slots;
    /** Assembled from superblocks found on members: may start degraded. */
    final boolean assembled;
    private final int stripSizeKb;

    State state = State.CONFIGURING;
    Stop stop;
    Superblock sb;
    int blockSize;
    long stripBlocks;
    long numBlocks;
    /** Members expected while configuring (SPDK's num_base_bdevs_operational). */
    int expected;
    LevelModule logic;
    RaidBdev bdev;
    private BdevDesc selfDesc;
    RaidProcess process;
    /** What stopped the last rebuild, for bdev_raid_get_bdevs (null after a successful one). */
    ObjectNode lastProcessError;
    private ScheduledFuture<?> degradedTimer;
    /** Going online: the superblock is being written and the bdev registered. */
    private boolean configuring;
    private CompletableFuture<Void> deleting;
    private boolean sbWriting;
    private CompletableFuture<Void> sbNext;

    RaidArray(RaidModule module, String name, UUID uuid, RaidLevel level, int stripSizeKb, boolean superblock, int n,
              boolean assembled) {
        this.module = module;
        this.layer = module.layer();
        this.name = name;
        this.uuid = uuid;
        this.level = level;
        this.stripSizeKb = stripSizeKb;
        this.superblock = superblock;
        this.n = n;
        this.minOperational = level.minOperational(n);
        this.assembled = assembled;
        this.slots = new Slot[n];
        for (int i = 0; i < n; i++) {
            slots[i] = new Slot(i);
        }
        this.expected = n;
    }

    /** An array as a superblock describes it (examine, or a re-create of the same array). */
    static RaidArray fromSuperblock(RaidModule module, Superblock sb, String name) {
        RaidLevel level = RaidLevel.ofCode(sb.level);
        int kb = (int) ((long) sb.stripSize * sb.blockSize / 1024);
        RaidArray a = new RaidArray(module, name, sb.uuid, level, kb, true, sb.numBaseBdevs, true);
        a.sb = sb.copy();
        a.blockSize = sb.blockSize;
        a.stripBlocks = sb.stripSize;
        int configured = 0;
        for (Superblock.Slot e : sb.slots) {
            Slot s = a.slots[e.slot];
            s.uuid = Superblock.NULL_UUID.equals(e.uuid) ? null : e.uuid;
            s.dataOffset = e.dataOffset;
            s.dataSize = e.dataSize;
            s.sbState = e.state;
            if (e.state == Superblock.SlotState.CONFIGURED) {
                configured++;
            }
        }
        a.expected = configured;
        return a;
    }

    String stateName() {
        return state.json;
    }

    int stripSizeKb() {
        return stripBlocks > 0 && blockSize > 0 ? (int) (stripBlocks * blockSize / 1024) : stripSizeKb;
    }

    /** The slot that expects the member with uuid {@code u}, or null. */
    Slot slotOf(UUID u) {
        for (Slot s : slots) {
            if (u.equals(s.uuid)) {
                return s;
            }
        }
        return null;
    }

    /** Members in service (or configured, while configuring). */
    int discovered() {
        int c = 0;
        for (Slot s : slots) {
            if (s.member != null) {
                c++;
            }
        }
        return c;
    }

    private int inService() {
        int c = 0;
        for (Slot s : slots) {
            if (s.member != null && !s.member.detaching) {
                c++;
            }
        }
        return c;
    }

    boolean deleting() {
        return deleting != null;
    }

    /** The member (in service or spare) whose bdev is {@code b}, or null. */
    Member memberOf(Bdev b) {
        for (Slot s : slots) {
            if (s.member != null && s.member.bdev == b) {
                return s.member;
            }
            if (s.spare != null && s.spare.bdev == b) {
                return s.spare;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ members

    /**
     * Opens {@code bdevName} for writing and claims it for slot {@code slot}: -19 if absent, -1
     * if claimed or open for writing elsewhere, -22 if its block size or size does not fit.
     * Nothing is left open when it fails.
     */
    Member open(Slot slot, String bdevName) {
        MemberEvents events = new MemberEvents();
        BdevDesc d = layer.open(bdevName, true, events);
        try {
            layer.claim(d, ClaimType.EXCLUSIVE_WRITE, module);
            Bdev b = d.bdev();
            int bs = b.blockSize();
            if (blockSize != 0 && bs != blockSize) {
                throw new BasaltException(Errno.EINVAL, "block size " + bs + " of " + b.name() + " differs from "
                        + blockSize + " of raid bdev " + name);
            }
            long off = slot.dataOffset;
            if (off == 0 && superblock) {
                off = Superblock.DATA_OFFSET_BYTES / bs;
                int oib = b.optimalIoBoundary();
                if (oib > 0) {
                    off = (off + oib - 1) / oib * oib;
                }
            }
            if (off >= b.numBlocks()) {
                throw new BasaltException(Errno.EINVAL, "data offset " + off + " is past the end of " + b.name()
                        + " (" + b.numBlocks() + " blocks)");
            }
            long size = b.numBlocks() - off;
            if (slot.dataSize != 0) {
                if (slot.dataSize > size) {
                    throw new BasaltException(Errno.EINVAL, b.name() + " is too small for raid bdev " + name + ": "
                            + (off + slot.dataSize) + " blocks needed, " + b.numBlocks() + " there");
                }
                size = slot.dataSize;
            }
            IoChannel appCh = d.getIoChannel();
            Member m = new Member(slot.index, b, d, appCh, off, size);
            events.member = m;
            return m;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** Gives a member back: its channel, its descriptor and so its claim. Idempotent. */
    void close(Member m) {
        if (m.closed) {
            return;
        }
        m.closed = true;
        m.markFailed();
        m.desc.putIoChannel(m.appCh);
        m.desc.close();
    }

    /** Events of a member's descriptor, on the application reactor. */
    private final class MemberEvents implements BdevEventHandler {
        Member member;

        @Override
        public void onEvent(BdevEvent event, Bdev b, BdevDesc desc) {
            Member m = member;
            if (m == null || m.closed) {
                return;
            }
            if (event == BdevEvent.REMOVE) {
                LOG.log(System.Logger.Level.WARNING, "raid bdev " + name + ": member " + b.name() + " is going away");
                detach(m, "was removed").exceptionally(t -> {
                    LOG.log(System.Logger.Level.ERROR, "raid bdev " + name + ": removing " + b.name() + " failed", t);
                    return null;
                });
            } else {
                LOG.log(System.Logger.Level.INFO, "raid bdev " + name + ": member " + b.name() + " now has "
                        + b.numBlocks() + " blocks; the array keeps its size");
            }
        }
    }

    /** Puts {@code m} in slot {@code m.slot} as a member in service (configuring). */
    void attachConfigured(Member m) {
        Slot s = slots[m.slot];
        s.member = m;
        s.name = m.name();
        s.uuid = m.bdev.uuid();
        s.dataOffset = m.dataOffset;
        if (blockSize == 0) {
            blockSize = m.bdev.blockSize();
        }
    }

    /** Puts {@code m} in its slot as a spare, to be rebuilt once the array is online. */
    void attachSpare(Member m) {
        Slot s = slots[m.slot];
        s.spare = m;
        s.name = m.name();
        if (blockSize == 0) {
            blockSize = m.bdev.blockSize();
        }
    }

    // ------------------------------------------------------------------ configure

    /**
     * Called after a member joined a configuring array: goes online when every expected member is
     * there; an assembled array that has enough members starts degraded once no member has joined
     * for the module's assembly delay. The future completes when the array is online (or at once
     * when it is still waiting); it fails when going online failed.
     */
    CompletableFuture<Void> memberJoined() {
        if (state != State.CONFIGURING || deleting != null || configuring) {
            return CompletableFuture.completedFuture(null);
        }
        int found = discovered();
        if (found >= expected && found >= minOperational) {
            return configure();
        }
        if (assembled && found >= minOperational) {
            if (degradedTimer != null) {
                degradedTimer.cancel(false);
            }
            long delay = module.degradedStartDelayMillis();
            degradedTimer = layer.reactors().app().schedule(this::startDegraded, delay, TimeUnit.MILLISECONDS);
        }
        return CompletableFuture.completedFuture(null);
    }

    private void startDegraded() {
        degradedTimer = null;
        if (state != State.CONFIGURING || deleting != null || configuring || discovered() < minOperational) {
            return;
        }
        for (Slot s : slots) {
            if (s.member == null && s.sbState == Superblock.SlotState.CONFIGURED) {
                LOG.log(System.Logger.Level.WARNING, "raid bdev " + name + ": member " + s.uuid + " of slot " + s.index
                        + " did not appear; starting degraded without it");
                s.sbState = Superblock.SlotState.MISSING;
            }
        }
        expected = discovered();
        configure().exceptionally(t -> {
            LOG.log(System.Logger.Level.ERROR, "raid bdev " + name + " could not start: " + RaidModule.message(t));
            return null;
        });
    }

    /** Computes the size, writes the superblock and registers the raid bdev. */
    CompletableFuture<Void> configure() {
        if (degradedTimer != null) {
            degradedTimer.cancel(false);
            degradedTimer = null;
        }
        try {
            prepare();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        configuring = true;
        CompletableFuture<Void> written = superblock ? writeSuperblock() : CompletableFuture.completedFuture(null);
        return written.thenRun(this::register).whenComplete((v, t) -> {
            configuring = false;
            if (t != null) {
                logic = null;
            }
        });
    }

    private void prepare() {
        if (level.striped) {
            long strip = assembled ? stripBlocks : (long) stripSizeKb * 1024 / blockSize;
            if (strip == 0) {
                throw new BasaltException(Errno.EINVAL, "strip size " + stripSizeKb + " KiB of raid bdev " + name
                        + " is smaller than the block size " + blockSize);
            }
            if (level == RaidLevel.RAID5F && strip * blockSize > BufferPool.maxBufferSize()) {
                throw new BasaltException(Errno.EINVAL, "raid5f strip of " + strip * blockSize / 1024
                        + " KiB is larger than Basalt's largest buffer (" + BufferPool.maxBufferSize() / 1024 + " KiB)");
            }
            stripBlocks = strip;
        } else {
            stripBlocks = 0;
        }
        long[] sizes = new long[n];
        for (int i = 0; i < n; i++) {
            Slot s = slots[i];
            sizes[i] = s.member != null ? s.member.dataSize : s.dataSize;
            if (sizes[i] <= 0) {
                // A slot with no member and no known size does not limit the array (degraded start).
                sizes[i] = Long.MAX_VALUE;
            }
        }
        LevelModule l = LevelModule.create(level, n, stripBlocks, blockSize);
        long blocks = l.size(sizes);
        if (assembled && sb != null && sb.raidSize != blocks) {
            throw new BasaltException(Errno.EINVAL, "raid bdev " + name + " would have " + blocks
                    + " blocks, but its superblock says " + sb.raidSize);
        }
        for (int i = 0; i < n; i++) {
            Slot s = slots[i];
            s.dataSize = sizes[i];
            if (s.member != null) {
                s.member.dataSize = sizes[i];
                s.sbState = Superblock.SlotState.CONFIGURED;
            }
        }
        for (Slot s : slots) {
            Member sp = s.spare;
            if (sp != null && sp.dataSize < s.dataSize) {
                LOG.log(System.Logger.Level.WARNING, "raid bdev " + name + ": " + sp.name() + " is too small to be"
                        + " rebuilt into slot " + s.index + "; released");
                s.spare = null;
                close(sp);
            } else if (sp != null) {
                sp.dataSize = s.dataSize;
            }
        }
        logic = l;
        numBlocks = blocks;
    }

    private void register() {
        Member[] view = new Member[n];
        for (Slot s : slots) {
            view[s.index] = s.member;
        }
        RaidBdev b = new RaidBdev(this, logic, uuid, numBlocks, view);
        layer.register(b);
        bdev = b;
        state = State.ONLINE;
        selfDesc = layer.open(b.name(), false, (e, x, d) -> {
            if (e == BdevEvent.REMOVE) {
                selfRemoved();
            }
        });
        LOG.log(System.Logger.Level.INFO, "raid bdev " + name + " (" + level.json + ", " + discovered() + "/" + n
                + " members) is online: " + numBlocks + " blocks of " + blockSize);
        startNextRebuild().exceptionally(t -> null);
    }

    // ------------------------------------------------------------------ superblock

    /** Brings the in-memory superblock up to date with the array. */
    private void syncSuperblock() {
        if (sb == null) {
            sb = new Superblock();
        }
        // Written in the version Basalt knows, whatever the copy it was assembled from said.
        sb.versionMinor = Superblock.VERSION_MINOR;
        sb.uuid = uuid;
        sb.name = name;
        sb.raidSize = numBlocks;
        sb.blockSize = blockSize;
        sb.level = level.code;
        sb.stripSize = (int) stripBlocks;
        sb.numBaseBdevs = n;
        sb.slots.clear();
        for (Slot s : slots) {
            sb.slots.add(new Superblock.Slot(s.index, s.uuid == null ? Superblock.NULL_UUID : s.uuid, s.dataOffset,
                    s.dataSize, s.sbState));
        }
    }

    /**
     * Members a superblock goes to: every attached one that has not failed, except the rebuild
     * target, which the rebuild writes itself (with its retries) before its first window.
     */
    private List<Member> attached() {
        List<Member> out = new ArrayList<>();
        for (Slot s : slots) {
            if (s.member != null && !s.member.failed()) {
                out.add(s.member);
            }
            if (s.spare != null && !s.spare.failed() && (process == null || process.target != s.spare)) {
                out.add(s.spare);
            }
        }
        return out;
    }

    /** The superblock as last written (the rebuild copies it to its target), in whole blocks. */
    byte[] superblockBytes() {
        byte[] body = sb.encode();
        byte[] data = new byte[Superblock.ioSize(body.length, blockSize)];
        System.arraycopy(body, 0, data, 0, body.length);
        return data;
    }

    /**
     * Writes the superblock, with seq_number one higher, to every attached member (SPDK's
     * raid_bdev_write_superblock). Writes are one at a time per array; asking while one runs
     * makes one more write of the state then current. Fails with the first member's error after
     * every write finished; while online, a member that failed the write is failed.
     */
    CompletableFuture<Void> writeSuperblock() {
        if (sbWriting) {
            if (sbNext == null) {
                sbNext = new CompletableFuture<>();
            }
            return sbNext;
        }
        sbWriting = true;
        CompletableFuture<Void> f = writeSuperblockNow();
        f.whenComplete((v, t) -> {
            sbWriting = false;
            CompletableFuture<Void> next = sbNext;
            if (next != null) {
                sbNext = null;
                writeSuperblock().whenComplete((v2, t2) -> {
                    if (t2 != null) {
                        next.completeExceptionally(t2);
                    } else {
                        next.complete(null);
                    }
                });
            }
        });
        return f;
    }

    private CompletableFuture<Void> writeSuperblockNow() {
        syncSuperblock();
        sb.seqNumber++;
        return toMembers(attached(), superblockBytes(), "superblock (seq " + sb.seqNumber + ")");
    }

    /** Zeroes the superblock area of every attached member (bdev_raid_delete with clear_sb). */
    CompletableFuture<Void> wipeSuperblocks() {
        if (!superblock) {
            // Without a superblock the members' data starts at block 0: nothing to wipe.
            return CompletableFuture.completedFuture(null);
        }
        List<Member> ms = new ArrayList<>();
        for (Slot s : slots) {
            if (s.member != null) {
                ms.add(s.member);
            }
            if (s.spare != null) {
                ms.add(s.spare);
            }
        }
        return toMembers(ms, zeroes(), "zeroes");
    }

    /** Zeroes over the largest superblock SPDK writes (all below the 1 MiB data offset). */
    private byte[] zeroes() {
        return new byte[Superblock.ioSize(Superblock.MAX_LENGTH, blockSize == 0 ? 512 : blockSize)];
    }

    private CompletableFuture<Void> toMembers(List<Member> ms, byte[] data, String what) {
        BufferPool pool = layer.buffers();
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        List<Member> failed = new ArrayList<>();
        for (Member m : ms) {
            fs.add(SuperblockIo.write(m.desc, m.appCh, pool, data).exceptionally(t -> {
                LOG.log(System.Logger.Level.ERROR, "raid bdev " + name + ": writing " + what + " to " + m.name()
                        + " failed: " + RaidModule.message(t));
                failed.add(m);
                throw t instanceof CompletionException ce ? ce : new CompletionException(t);
            }));
        }
        return CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).whenComplete((v, t) -> {
            if (state == State.ONLINE) {
                for (Member m : failed) {
                    if (m.markFailed()) {
                        memberFailed(m, "superblock write failed");
                    }
                }
            }
        });
    }

    // ------------------------------------------------------------------ losing members

    /** A member failed an I/O (it is already marked failed). */
    void memberFailed(Member m, String why) {
        LOG.log(System.Logger.Level.WARNING, "raid bdev " + name + ": member " + m.name() + " failed (" + why + ")");
        detach(m, why).exceptionally(t -> {
            LOG.log(System.Logger.Level.ERROR, "raid bdev " + name + ": removing " + m.name() + " failed", t);
            return null;
        });
    }

    /**
     * Takes {@code m} out of the array (removal, hot-remove, failure): a rebuild target rolls its
     * rebuild back; a member in service degrades the array, or takes it offline when fewer than
     * the level's minimum would be left. The superblock says so. Idempotent.
     */
    CompletableFuture<Void> detach(Member m, String why) {
        if (m.detachDone != null) {
            return m.detachDone;
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        m.detachDone = done;
        m.detaching = true;
        m.markFailed();
        Slot s = slots[m.slot];
        if (s.spare == m) {
            if (process != null && process.target == m) {
                process.stop(Errno.ENODEV, "rebuild target " + m.name() + " " + why, true)
                        .whenComplete((v, t) -> done.complete(null));
            } else {
                s.spare = null;
                close(m);
                done.complete(null);
            }
            return done;
        }
        if (s.member != m) {
            close(m);
            done.complete(null);
            return done;
        }
        if (state != State.ONLINE) {
            s.member = null;
            close(m);
            if (state == State.CONFIGURING && discovered() == 0 && deleting == null) {
                for (Slot x : slots) {
                    if (x.spare != null) {
                        close(x.spare);
                        x.spare = null;
                    }
                }
                LOG.log(System.Logger.Level.INFO, "raid bdev " + name + " has no member left; forgotten");
                module.forget(this);
            }
            done.complete(null);
            return done;
        }
        if (inService() < minOperational) {
            LOG.log(System.Logger.Level.ERROR, "raid bdev " + name + ": member " + m.name() + " " + why + "; "
                    + inService() + " of " + n + " members left, " + minOperational + " needed: going offline");
            goOffline();
            return done;
        }
        degrade(m, s, why).whenComplete((v, t) -> {
            if (t != null) {
                done.completeExceptionally(t);
            } else {
                done.complete(null);
            }
        });
        return done;
    }

    private CompletableFuture<Void> degrade(Member m, Slot s, String why) {
        RaidBdev b = bdev;
        Member[] view = b.view.clone();
        view[m.slot] = null;
        b.view = view;
        // No raid I/O in flight while channels drop the member.
        return b.quiesceRange(0, b.numBlocks()).thenCompose(lr -> b.syncChannels()
                .thenCompose(v -> b.unquiesceRange(lr))).thenCompose(v -> {
                    s.member = null;
                    close(m);
                    s.sbState = Superblock.SlotState.FAILED;
                    LOG.log(System.Logger.Level.WARNING, "raid bdev " + name + " is degraded: " + m.name() + " " + why
                            + " (" + inService() + " of " + n + " members in service)");
                    if (!superblock) {
                        return CompletableFuture.<Void>completedFuture(null);
                    }
                    return writeSuperblock().exceptionally(t -> null);
                });
    }

    /**
     * Too few members left: unregister. The members that failed are closed once the bdev is gone;
     * the others stay claimed until bdev_raid_delete (as SPDK), and their superblocks are left as
     * they were, so the array comes back when its members do.
     */
    private void goOffline() {
        if (state != State.ONLINE) {
            return;
        }
        state = State.OFFLINE;
        if (stop == null) {
            stop = Stop.OFFLINE;
        }
        CompletableFuture<Void> stopped = process != null
                ? process.stop(Errno.ENODEV, "raid bdev going offline", false) : CompletableFuture.completedFuture(null);
        stopped.whenComplete((v, t) -> {
            if (bdev != null) {
                layer.unregister(bdev);
            }
        });
    }

    // ------------------------------------------------------------------ rebuild

    /** Adds {@code m} as a spare of a free slot and starts rebuilding it (bdev_raid_add_base_bdev). */
    CompletableFuture<Void> addSpare(Member m) {
        attachSpare(m);
        return startNextRebuild();
    }

    /** Starts the rebuild of the first waiting spare, if none runs. */
    CompletableFuture<Void> startNextRebuild() {
        if (state != State.ONLINE || process != null || stop != null || deleting != null || !level.redundant()) {
            return CompletableFuture.completedFuture(null);
        }
        Member t = null;
        for (Slot s : slots) {
            if (s.spare != null && s.member == null) {
                t = s.spare;
                break;
            }
        }
        if (t == null) {
            return CompletableFuture.completedFuture(null);
        }
        Member target = t;
        Slot s = slots[target.slot];
        s.uuid = target.bdev.uuid();
        s.name = target.name();
        s.dataOffset = target.dataOffset;
        s.sbState = Superblock.SlotState.SPARE;
        RaidProcess p = new RaidProcess(this, bdev, target, module.windowBlocks(blockSize, logic));
        process = p;
        lastProcessError = null;
        CompletableFuture<Void> written = superblock ? writeSuperblock() : CompletableFuture.completedFuture(null);
        return written.thenCompose(v -> {
            if (process != p) {
                // Stopped (delete, shutdown, target gone) while the superblock was written.
                return CompletableFuture.<Void>completedFuture(null);
            }
            bdev.viewProcessOffset = 0;
            bdev.viewTarget = target;
            return bdev.syncChannels();
        }).whenComplete((v, t2) -> {
            if (process != p) {
                return;
            }
            if (t2 != null) {
                p.abort(RaidModule.errno(t2), "could not start: " + RaidModule.detail(t2));
            } else {
                LOG.log(System.Logger.Level.INFO, "raid bdev " + name + ": rebuild onto " + target.name() + " started");
                p.start();
            }
        });
    }

    /** A write of a client I/O to the rebuild target failed at raid block {@code lba}. */
    void targetWriteFailed(Member t, long lba) {
        if (process != null && process.target == t) {
            process.rewind(lba);
        }
    }

    /**
     * The rebuild ended: {@code error} null means the target is rebuilt and becomes a member in
     * service; otherwise it is released (its slot marked failed in the superblock when
     * {@code persist}). Completes when channels and superblock are done.
     */
    CompletableFuture<Void> processEnded(RaidProcess p, ObjectNode error, boolean persist) {
        RaidBdev b = bdev;
        Member t = p.target;
        Slot s = slots[t.slot];
        boolean ok = error == null && !t.failed();
        if (ok) {
            Member[] view = b.view.clone();
            view[t.slot] = t;
            b.view = view;
        }
        b.viewTarget = null;
        return b.quiesceRange(0, b.numBlocks()).thenCompose(lr -> b.syncChannels()
                .thenCompose(v -> b.unquiesceRange(lr))).thenCompose(v -> {
                    process = null;
                    s.spare = null;
                    if (ok) {
                        s.member = t;
                        s.sbState = Superblock.SlotState.CONFIGURED;
                        lastProcessError = null;
                        LOG.log(System.Logger.Level.INFO, "raid bdev " + name + ": rebuild onto " + t.name() + " finished");
                        return CompletableFuture.<Void>completedFuture(null);
                    }
                    s.sbState = Superblock.SlotState.FAILED;
                    lastProcessError = error;
                    LOG.log(System.Logger.Level.WARNING, "raid bdev " + name + ": rebuild onto " + t.name()
                            + " stopped: " + (error == null ? "target failed" : error.path("message").asText())
                            + "; " + t.name() + " released");
                    // Deleted with clear_sb: the target's superblock goes too.
                    CompletableFuture<Void> wiped = deleting != null && clearOnDelete
                            ? toMembers(List.of(t), zeroes(), "zeroes").exceptionally(x -> null)
                            : CompletableFuture.completedFuture(null);
                    return wiped.thenRun(() -> close(t));
                }).thenCompose(v -> {
                    CompletableFuture<Void> w = superblock && (ok || persist) && stop == null
                            ? writeSuperblock().exceptionally(x -> null) : CompletableFuture.completedFuture(null);
                    return w.thenCompose(x -> startNextRebuild().exceptionally(y -> null));
                });
    }

    // ------------------------------------------------------------------ delete and unregister

    /**
     * bdev_raid_delete: stops the rebuild, unregisters the raid bdev (waiting for its users),
     * wipes the superblocks when asked, releases every member and forgets the array.
     */
    CompletableFuture<Void> delete(boolean clearSb) {
        if (deleting != null) {
            return CompletableFuture.failedFuture(new BasaltException(Errno.EALREADY, "raid bdev " + name
                    + " is already being deleted"));
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        deleting = done;
        clearOnDelete = clearSb;
        if (degradedTimer != null) {
            degradedTimer.cancel(false);
            degradedTimer = null;
        }
        if (stop == null) {
            stop = Stop.DELETE;
        }
        CompletableFuture<Void> stopped = process != null
                ? process.stop(Errno.ECANCELED, "raid bdev deleted", false) : CompletableFuture.completedFuture(null);
        stopped.whenComplete((v, t) -> {
            if (bdev != null) {
                if (state == State.ONLINE) {
                    state = State.OFFLINE;
                }
                // Answer once the bdev is gone from the registry, so its name is free again.
                layer.unregister(bdev).whenComplete((v2, t2) -> finishDelete(clearSb));
            } else {
                finishDelete(clearSb);
            }
        });
        return done;
    }

    private boolean clearOnDelete;

    private void finishDelete(boolean clearSb) {
        CompletableFuture<Void> wiped = clearSb ? wipeSuperblocks().exceptionally(t -> null)
                : CompletableFuture.completedFuture(null);
        wiped.whenComplete((v, t) -> {
            closeAll();
            module.forget(this);
            LOG.log(System.Logger.Level.INFO, "raid bdev " + name + " deleted" + (clearSb ? " (superblocks wiped)" : ""));
            deleting.complete(null);
        });
    }

    private void closeAll() {
        for (Slot s : slots) {
            for (Member m : new Member[] {s.member, s.spare}) {
                if (m != null) {
                    close(m);
                    if (m.detachDone != null) {
                        m.detachDone.complete(null);
                    }
                }
            }
            s.member = null;
            s.spare = null;
        }
    }

    /** The raid bdev's unregistration started (from the layer, on the application reactor). */
    void bdevUnregistering(RaidBdev b) {
        if (stop == null) {
            // Not our doing: the target is shutting down. Leave the superblocks as they are.
            stop = Stop.SHUTDOWN;
        }
        if (state == State.ONLINE) {
            state = State.OFFLINE;
        }
    }

    /** Our own descriptor got REMOVE: let the rebuild finish its window first, then let go. */
    private void selfRemoved() {
        CompletableFuture<Void> stopped = process != null
                ? process.stop(Errno.ECANCELED, "raid bdev going away", false) : CompletableFuture.completedFuture(null);
        stopped.whenComplete((v, t) -> {
            if (selfDesc != null) {
                selfDesc.close();
                selfDesc = null;
            }
        });
    }

    /** The raid bdev is destructed: release what its stop calls for. */
    void bdevDestructed(RaidBdev b, Runnable done) {
        bdev = null;
        logic = null;
        try {
            if (deleting != null) {
                // finishDelete runs once the layer has forgotten the bdev.
                return;
            } else if (stop == Stop.SHUTDOWN) {
                closeAll();
                module.forget(this);
            } else {
                for (Slot s : slots) {
                    if (s.member != null && s.member.detaching) {
                        Member m = s.member;
                        s.member = null;
                        close(m);
                        m.detachDone.complete(null);
                    }
                }
            }
        } finally {
            done.run();
        }
    }

    // ------------------------------------------------------------------ JSON

    /** SPDK's raid_bdev_write_info_json fields (plus Basalt's process_error). */
    void writeInfo(ObjectNode o) {
        o.put("uuid", uuid.toString());
        o.put("strip_size_kb", stripSizeKb());
        o.put("state", state.json);
        o.put("raid_level", level.json);
        o.put("superblock", superblock);
        o.put("num_base_bdevs", n);
        int found = discovered() + (process != null ? 1 : 0);
        o.put("num_base_bdevs_discovered", found);
        o.put("num_base_bdevs_operational", state == State.CONFIGURING ? expected : found);
        RaidProcess p = process;
        if (p != null) {
            ObjectNode po = o.putObject("process");
            po.put("type", "rebuild");
            po.put("target", p.target.name());
            ObjectNode pr = po.putObject("progress");
            long done = p.progress();
            pr.put("blocks", done);
            pr.put("percent", numBlocks == 0 ? 0 : (int) (done * 100.0 / numBlocks));
        }
        if (lastProcessError != null) {
            o.set("process_error", lastProcessError.deepCopy());
        }
        ArrayNode list = o.putArray("base_bdevs_list");
        for (Slot s : slots) {
            ObjectNode e = list.addObject();
            Member m = s.member != null ? s.member : s.spare;
            if (m != null) {
                e.put("name", m.name());
            } else if (s.name != null && state == State.CONFIGURING) {
                e.put("name", s.name);
            } else {
                e.putNull("name");
            }
            e.put("uuid", (s.uuid == null ? Superblock.NULL_UUID : s.uuid).toString());
            e.put("is_configured", s.member != null || (p != null && s.spare == p.target));
            e.put("data_offset", s.dataOffset);
            e.put("data_size", s.dataSize);
        }
    }

    /** The bdev_raid_get_bdevs entry. */
    ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("name", name);
        writeInfo(o);
        return o;
    }

    /** bdev_raid_create for save_config, only for arrays without a superblock (as SPDK). */
    ConfigCall configCall() {
        if (superblock) {
            return null;
        }
        ObjectNode p = Json.object();
        p.put("name", name);
        p.put("uuid", uuid.toString());
        p.put("strip_size_kb", stripSizeKb());
        p.put("raid_level", level.json);
        p.put("superblock", false);
        ArrayNode bases = p.putArray("base_bdevs");
        for (Slot s : slots) {
            if (s.member != null) {
                bases.add(s.member.name());
            }
        }
        return new ConfigCall("bdev_raid_create", p);
    }

    @Override
    public String toString() {
        return "raid bdev " + name;
    }
}
