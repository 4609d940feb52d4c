package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.bdev.IoChannel;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.BufferPool;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The RAID module (SPDK's bdev_raid): the arrays by name, their creation and deletion, member
 * changes, options, and examine, through which arrays with a superblock assemble themselves.
 *
 * <p>Examine (SPDK's raid_bdev_examine): a newly registered bdev nobody claims is read at block 0.
 * With a valid superblock, it joins the array of that uuid, which is created from the superblock
 * when it does not exist yet; of several copies the one with the highest seq_number wins (a
 * configuring array meets a newer copy: it is rebuilt from it). The array goes online when every
 * member its superblock lists as configured is there; with fewer, but enough for the level, it
 * starts degraded once no member has joined for {@link #degradedStartDelayMillis()} (Basalt; SPDK
 * waits forever). A member whose superblock slot is "spare" was being rebuilt when the target
 * stopped: it joins as the rebuild target and the rebuild starts again from the beginning. A
 * superblock with a bad signature, crc or version is ignored (logged) and the bdev left alone,
 * except that an array without superblock waiting for a bdev of that name takes it (as SPDK).
 *
 * <p>Threading: application reactor only (RPC handlers and examine run there).
 */
public final class RaidModule implements BdevModule {
    private static final System.Logger LOG = System.getLogger(RaidModule.class.getName());
    /** SPDK's RAID_BDEV_PROCESS_WINDOW_SIZE_KB_DEFAULT. */
    public static final int DEFAULT_WINDOW_KB = 1024;
    private static final long DEFAULT_DEGRADED_START_MS = Long.getLong("basalt.raid.degradedStartMs", 2000);

    private final BdevLayer layer;
    private final Map<String, RaidArray> arrays = new LinkedHashMap<>();
    private volatile int windowKb = DEFAULT_WINDOW_KB;
    private volatile int maxBandwidthMbSec;
    private volatile long degradedStartMs = DEFAULT_DEGRADED_START_MS;

    public RaidModule(BdevLayer layer) {
        this.layer = layer;
    }

    @Override
    public String name() {
        return "raid";
    }

    BdevLayer layer() {
        return layer;
    }

    // ------------------------------------------------------------------ options

    /** bdev_raid_set_options: window of the rebuild in KiB (> 0), its bandwidth in MiB/s (0 = unlimited). */
    public void setOptions(int processWindowSizeKb, int processMaxBandwidthMbSec) {
        if (processWindowSizeKb <= 0) {
            throw new BasaltException(Errno.EINVAL, "process_window_size_kb must be positive");
        }
        if (processMaxBandwidthMbSec < 0) {
            throw new BasaltException(Errno.EINVAL, "process_max_bandwidth_mb_sec must not be negative");
        }
        windowKb = processWindowSizeKb;
        maxBandwidthMbSec = processMaxBandwidthMbSec;
    }

    public int windowKb() {
        return windowKb;
    }

    public int maxBandwidthMbSec() {
        return maxBandwidthMbSec;
    }

    /** How long an assembled array with missing members waits for them before it starts degraded. */
    public long degradedStartDelayMillis() {
        return degradedStartMs;
    }

    public void setDegradedStartDelayMillis(long ms) {
        degradedStartMs = ms;
    }

    /**
     * The rebuild window in raid blocks: process_window_size_kb, aligned to the level (whole
     * stripes for raid5f) and capped so that a member's part fits in one pooled buffer.
     */
    long windowBlocks(int blockSize, LevelModule logic) {
        long w = Math.max(1, ((long) windowKb * 1024 + blockSize - 1) / blockSize);
        long align = logic.processAlignment();
        w = Math.max(align, w / align * align);
        long maxMember = BufferPool.maxBufferSize() / blockSize;
        if (logic instanceof Raid5f r5) {
            long stripes = Math.max(1, Math.min(w / r5.stripeBlocks, maxMember / logic.strip));
            return stripes * r5.stripeBlocks;
        }
        return Math.min(w, maxMember);
    }

    @Override
    public void writeModuleConfig(List<ConfigCall> out) {
        ObjectNode p = Json.object();
        p.put("process_window_size_kb", windowKb);
        p.put("process_max_bandwidth_mb_sec", maxBandwidthMbSec);
        out.add(new ConfigCall("bdev_raid_set_options", p));
    }

    // ------------------------------------------------------------------ registry

    RaidArray array(String name) {
        return arrays.get(name);
    }

    private RaidArray byUuid(UUID uuid) {
        for (RaidArray a : arrays.values()) {
            if (a.uuid.equals(uuid)) {
                return a;
            }
        }
        return null;
    }

    void forget(RaidArray a) {
        arrays.remove(a.name, a);
    }

    /** The arrays (bdev_raid_get_bdevs) in the category all / online / configuring / offline. */
    public ArrayNode list(String category) {
        ArrayNode out = Json.array();
        for (RaidArray a : arrays.values()) {
            if (category.equals("all") || a.stateName().equals(category)) {
                out.add(a.toJson());
            }
        }
        return out;
    }

    /** The state of array {@code name} ("online", ...), or null (for tests and diagnostics). */
    public String state(String name) {
        RaidArray a = arrays.get(name);
        return a == null ? null : a.stateName();
    }

    // ------------------------------------------------------------------ create

    /** A create request, already checked by the RPC layer. */
    public record CreateRequest(String name, RaidLevel level, int stripSizeKb, List<String> baseBdevs, UUID uuid,
                                boolean superblock, boolean overwriteSuperblock) {
    }

    /**
     * bdev_raid_create. Opens and claims the members that exist, reads their superblocks, then:
     * <ul>
     * <li>a member carrying another array's superblock: -17 naming the member and that array
     *     (unless {@code overwriteSuperblock}, a Basalt extension);</li>
     * <li>members carrying this array's superblock (same uuid): the array comes back as its
     *     newest superblock describes it, with its data; members are placed by their uuid, and
     *     a listed bdev that is not a configured member is rebuilt into a free slot;</li>
     * <li>otherwise a new array; members that do not exist yet are waited for by name (the array
     *     stays configuring, as SPDK).</li>
     * </ul>
     * Completes when the array is online or configuring; on failure everything is released.
     */
    public CompletableFuture<Void> create(CreateRequest r) {
        layer.reactors().app().assertInReactor();
        if (arrays.containsKey(r.name()) || layer.nameTaken(r.name())) {
            throw new BasaltException(Errno.EEXIST, "bdev " + r.name() + " already exists");
        }
        if (r.uuid() != null) {
            RaidArray same = byUuid(r.uuid());
            if (same != null) {
                throw new BasaltException(Errno.EEXIST, "raid bdev " + same.name + " already has uuid " + r.uuid());
            }
            if (layer.nameTaken(r.uuid().toString())) {
                throw new BasaltException(Errno.EEXIST, "a bdev with uuid " + r.uuid() + " already exists");
            }
        }
        int n = r.baseBdevs().size();
        RaidArray a = new RaidArray(this, r.name(), r.uuid() != null ? r.uuid() : UUID.randomUUID(), r.level(),
                r.stripSizeKb(), r.superblock(), n, false);
        arrays.put(r.name(), a);
        List<Member> opened = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                String base = r.baseBdevs().get(i);
                a.slots[i].name = base;
                if (layer.lookup(base) != null) {
                    opened.add(a.open(a.slots[i], base));
                }
            }
            for (Member m : opened) {
                if (m.bdev.blockSize() != opened.get(0).bdev.blockSize()) {
                    throw new BasaltException(Errno.EINVAL, "block size " + m.bdev.blockSize() + " of " + m.name()
                            + " differs from " + opened.get(0).bdev.blockSize() + " of " + opened.get(0).name());
                }
            }
        } catch (RuntimeException e) {
            opened.forEach(a::close);
            forget(a);
            throw e;
        }
        List<CompletableFuture<Superblock.Parsed>> reads = new ArrayList<>();
        for (Member m : opened) {
            reads.add(SuperblockIo.read(m.desc, m.appCh, layer.buffers()));
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture.allOf(reads.toArray(new CompletableFuture[0])).thenCompose(v -> {
            List<Superblock.Parsed> parsed = new ArrayList<>();
            reads.forEach(f -> parsed.add(f.join()));
            return decide(r, a, opened, parsed);
        }).whenComplete((v, t) -> {
            if (t != null) {
                opened.forEach(a::close);
                forget(a);
                done.completeExceptionally(unwrap(t));
            } else {
                done.complete(null);
            }
        });
        return done;
    }

    private CompletableFuture<Void> decide(CreateRequest r, RaidArray a, List<Member> opened,
                                           List<Superblock.Parsed> parsed) {
        Superblock newest = null;
        for (int i = 0; i < opened.size(); i++) {
            Member m = opened.get(i);
            Superblock.Parsed p = parsed.get(i);
            if (!p.valid()) {
                if (p.invalid() != Superblock.Invalid.NO_SIGNATURE) {
                    LOG.log(System.Logger.Level.WARNING, "bdev " + m.name() + " has an invalid raid superblock ("
                            + p.reason() + "); treating it as blank");
                }
                continue;
            }
            Superblock sb = p.sb();
            if (r.uuid() != null && sb.uuid.equals(r.uuid())) {
                if (newest == null || sb.seqNumber > newest.seqNumber) {
                    newest = sb;
                }
            } else if (!r.overwriteSuperblock()) {
                throw new BasaltException(Errno.EEXIST, "bdev " + m.name() + " carries the superblock of raid bdev "
                        + sb.name + " (uuid " + sb.uuid + "); delete that array with clear_sb, or create with"
                        + " overwrite_superblock");
            } else {
                LOG.log(System.Logger.Level.WARNING, "raid bdev " + r.name() + ": overwriting the superblock of raid bdev "
                        + sb.name + " (uuid " + sb.uuid + ") on " + m.name());
            }
        }
        if (newest == null) {
            for (Member m : opened) {
                a.attachConfigured(m);
            }
            return a.memberJoined();
        }
        return reassemble(r, a, opened, parsed, newest);
    }

    /** A create over members of the same array: it comes back from its newest superblock. */
    private CompletableFuture<Void> reassemble(CreateRequest r, RaidArray a, List<Member> opened,
                                               List<Superblock.Parsed> parsed, Superblock sb) {
        String m = "raid bdev " + r.name() + ": ";
        if (!r.superblock()) {
            throw new BasaltException(Errno.EINVAL, m + "its members carry its superblock; create it with superblock");
        }
        if (opened.size() != r.baseBdevs().size()) {
            for (String base : r.baseBdevs()) {
                if (layer.lookup(base) == null) {
                    throw new BasaltException(Errno.ENODEV, m + "member " + base + " not found");
                }
            }
        }
        int bs = opened.get(0).bdev.blockSize();
        long strip = r.level().striped ? (long) r.stripSizeKb() * 1024 / bs : 0;
        if (sb.level != r.level().code || sb.numBaseBdevs != r.baseBdevs().size() || sb.blockSize != bs
                || sb.stripSize != strip) {
            RaidLevel l = RaidLevel.ofCode(sb.level);
            throw new BasaltException(Errno.EINVAL, m + "does not match the superblock its members carry ("
                    + (l == null ? sb.level : l.json) + ", " + sb.numBaseBdevs + " members, strip "
                    + (long) sb.stripSize * sb.blockSize / 1024 + " KiB, block size " + sb.blockSize + ")");
        }
        // Place each bdev: a configured member of the newest superblock in its slot, anything else
        // (blank, stale, foreign) into a slot left over, to be rebuilt.
        String[] memberOf = new String[sb.numBaseBdevs];
        String[] spareOf = new String[sb.numBaseBdevs];
        List<String> loose = new ArrayList<>();
        for (int i = 0; i < opened.size(); i++) {
            Member o = opened.get(i);
            Superblock.Parsed p = parsed.get(i);
            Superblock.Slot e = sb.slotOf(o.bdev.uuid());
            boolean ours = p.valid() && p.sb().uuid.equals(sb.uuid);
            if (ours && e != null && memberOf[e.slot] == null && spareOf[e.slot] == null) {
                if (e.state == Superblock.SlotState.CONFIGURED) {
                    memberOf[e.slot] = o.name();
                } else {
                    spareOf[e.slot] = o.name();
                }
            } else {
                loose.add(o.name());
            }
        }
        for (int s = 0; s < sb.numBaseBdevs && !loose.isEmpty(); s++) {
            if (memberOf[s] == null && spareOf[s] == null) {
                spareOf[s] = loose.removeFirst();
            }
        }
        opened.forEach(a::close);
        forget(a);
        RaidArray b = RaidArray.fromSuperblock(this, sb, r.name());
        arrays.put(r.name(), b);
        List<Member> ms = new ArrayList<>();
        try {
            int present = 0;
            for (RaidArray.Slot s : b.slots) {
                if (memberOf[s.index] != null) {
                    Member x = b.open(s, memberOf[s.index]);
                    ms.add(x);
                    b.attachConfigured(x);
                    present++;
                } else {
                    if (s.sbState == Superblock.SlotState.CONFIGURED) {
                        s.sbState = Superblock.SlotState.MISSING;
                    }
                    if (spareOf[s.index] != null) {
                        Member x = b.open(s, spareOf[s.index]);
                        ms.add(x);
                        b.attachSpare(x);
                    }
                }
            }
            if (present < b.minOperational) {
                throw new BasaltException(Errno.EINVAL, m + "only " + present + " of its members are given, "
                        + b.minOperational + " needed");
            }
            b.expected = present;
        } catch (RuntimeException e) {
            ms.forEach(b::close);
            forget(b);
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, m + "re-created over its own members (superblock seq " + sb.seqNumber + ")");
        return b.configure().whenComplete((v, t) -> {
            if (t != null) {
                ms.forEach(b::close);
                forget(b);
            }
        });
    }

    // ------------------------------------------------------------------ delete, add, remove

    /** bdev_raid_delete; -19 if there is no such array. */
    public CompletableFuture<Void> delete(String name, boolean clearSb) {
        RaidArray a = arrays.get(name);
        if (a == null) {
            throw new BasaltException(Errno.ENODEV, "raid bdev " + name + " not found");
        }
        return a.delete(clearSb);
    }

    /**
     * bdev_raid_add_base_bdev: puts {@code baseName} in a free slot of the online array and starts
     * rebuilding it. -19 if either is absent, -1 while a rebuild runs or the array is not online,
     * -22 with no free slot or when the bdev does not fit, -17 when it carries another array's
     * superblock (unless {@code overwrite}). Completes once the rebuild has started.
     */
    public CompletableFuture<Void> addBaseBdev(String raidName, String baseName, boolean overwrite) {
        RaidArray a = arrays.get(raidName);
        if (a == null) {
            throw new BasaltException(Errno.ENODEV, "raid bdev " + raidName + " not found");
        }
        if (a.process != null) {
            throw new BasaltException(Errno.EPERM, "raid bdev " + raidName + " is rebuilding onto "
                    + a.process.target.name() + "; add " + baseName + " when it has finished");
        }
        if (a.state != RaidArray.State.ONLINE || a.deleting()) {
            throw new BasaltException(Errno.EPERM, "raid bdev " + raidName + " is " + a.stateName()
                    + "; members can be added to an online array only");
        }
        RaidArray.Slot free = null;
        for (RaidArray.Slot s : a.slots) {
            if (s.member == null && s.spare == null) {
                free = s;
                break;
            }
        }
        if (free == null) {
            throw new BasaltException(Errno.EINVAL, "raid bdev " + raidName + " has no free slot for " + baseName);
        }
        RaidArray.Slot slot = free;
        Member m = a.open(slot, baseName);
        return SuperblockIo.read(m.desc, m.appCh, layer.buffers()).thenCompose(p -> {
            if (p.valid() && !p.sb().uuid.equals(a.uuid) && !overwrite) {
                throw new BasaltException(Errno.EEXIST, "bdev " + baseName + " carries the superblock of raid bdev "
                        + p.sb().name + " (uuid " + p.sb().uuid + ")");
            }
            if (a.state != RaidArray.State.ONLINE || a.process != null || slot.member != null || slot.spare != null) {
                throw new BasaltException(Errno.EPERM, "raid bdev " + raidName + " changed while " + baseName
                        + " was being added");
            }
            return a.addSpare(m);
        }).whenComplete((v, t) -> {
            if (t != null && slot.spare != m) {
                a.close(m);
            }
        });
    }

    /** bdev_raid_remove_base_bdev: -19 if {@code name} is not a member of an array. */
    public CompletableFuture<Void> removeBaseBdev(String name) {
        Bdev b = layer.lookup(name);
        if (b != null) {
            for (RaidArray a : List.copyOf(arrays.values())) {
                Member m = a.memberOf(b);
                if (m != null) {
                    return a.detach(m, "was removed by bdev_raid_remove_base_bdev");
                }
            }
        }
        throw new BasaltException(Errno.ENODEV, "bdev " + name + " is not a member of any raid bdev");
    }

    // ------------------------------------------------------------------ examine

    @Override
    public void examine(Bdev bdev, Runnable done) {
        if (layer.claimant(bdev) != null) {
            done.run();
            return;
        }
        BdevDesc d;
        IoChannel ch;
        try {
            d = layer.open(bdev.name(), false, BdevEventHandler.IGNORE);
        } catch (RuntimeException e) {
            done.run();
            return;
        }
        try {
            ch = d.getIoChannel();
        } catch (RuntimeException e) {
            d.close();
            done.run();
            return;
        }
        SuperblockIo.read(d, ch, layer.buffers()).whenComplete((p, t) -> {
            d.putIoChannel(ch);
            d.close();
            // Examine ends once an array this bdev completes is registered, so that
            // bdev_wait_for_examine (and a replayed configuration after it) finds the raid bdev.
            CompletableFuture<Void> joined = CompletableFuture.completedFuture(null);
            try {
                if (t != null) {
                    LOG.log(System.Logger.Level.WARNING, "raid examine of " + bdev.name() + ": " + message(t));
                } else if (p.valid()) {
                    joined = examineSuperblock(p.sb(), bdev);
                } else {
                    if (p.invalid() != Superblock.Invalid.NO_SIGNATURE) {
                        LOG.log(System.Logger.Level.WARNING, "bdev " + bdev.name() + ": raid superblock ignored: "
                                + p.reason());
                    }
                    joined = examineNoSuperblock(bdev);
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "raid examine of " + bdev.name() + " failed", e);
            }
            joined.whenComplete((v, x) -> done.run());
        });
    }

    /** A bdev without superblock: an array waiting for a member of that name takes it. */
    private CompletableFuture<Void> examineNoSuperblock(Bdev bdev) {
        for (RaidArray a : List.copyOf(arrays.values())) {
            if (a.state != RaidArray.State.CONFIGURING || a.assembled || a.deleting()) {
                continue;
            }
            for (RaidArray.Slot s : a.slots) {
                if (s.member == null && bdev.name().equals(s.name)) {
                    Member m = a.open(s, bdev.name());
                    a.attachConfigured(m);
                    LOG.log(System.Logger.Level.INFO, "raid bdev " + a.name + ": member " + bdev.name() + " appeared");
                    return logFailure(a, a.memberJoined());
                }
            }
        }
        return CompletableFuture.completedFuture(null);
    }

    private CompletableFuture<Void> examineSuperblock(Superblock sb, Bdev bdev) {
        if (sb.blockSize != bdev.blockSize()) {
            LOG.log(System.Logger.Level.WARNING, "bdev " + bdev.name() + ": block size " + bdev.blockSize()
                    + " does not match its raid superblock (" + sb.blockSize + "); ignored");
            return CompletableFuture.completedFuture(null);
        }
        if (sb.uuid.equals(Superblock.NULL_UUID)) {
            LOG.log(System.Logger.Level.WARNING, "bdev " + bdev.name() + ": raid superblock with a null uuid; ignored");
            return CompletableFuture.completedFuture(null);
        }
        RaidArray a = byUuid(sb.uuid);
        List<String> rejoin = List.of();
        if (a != null) {
            if (!a.superblock || a.sb == null) {
                LOG.log(System.Logger.Level.WARNING, "bdev " + bdev.name() + " carries a superblock of uuid " + sb.uuid
                        + ", which raid bdev " + a.name + " has without superblock; ignored");
                return CompletableFuture.completedFuture(null);
            }
            if (sb.seqNumber > a.sb.seqNumber) {
                if (a.state != RaidArray.State.CONFIGURING || !a.assembled || a.deleting()) {
                    LOG.log(System.Logger.Level.WARNING, "bdev " + bdev.name() + " carries a newer superblock of raid"
                            + " bdev " + a.name + " (seq " + sb.seqNumber + " > " + a.sb.seqNumber + "), but the array is "
                            + a.stateName() + "; ignored");
                    return CompletableFuture.completedFuture(null);
                }
                // Start again from the newer superblock; the bdevs already taken rejoin under it.
                rejoin = new ArrayList<>();
                for (RaidArray.Slot s : a.slots) {
                    for (Member m : new Member[] {s.member, s.spare}) {
                        if (m != null) {
                            rejoin.add(m.name());
                            a.close(m);
                        }
                    }
                    s.member = null;
                    s.spare = null;
                }
                forget(a);
                a = null;
            }
        }
        if (a == null) {
            if (arrays.containsKey(sb.name) || layer.nameTaken(sb.name)) {
                LOG.log(System.Logger.Level.ERROR, "cannot assemble raid bdev " + sb.name + " (uuid " + sb.uuid + ") from "
                        + bdev.name() + ": the name is taken");
                return CompletableFuture.completedFuture(null);
            }
            a = RaidArray.fromSuperblock(this, sb, sb.name);
            arrays.put(a.name, a);
            LOG.log(System.Logger.Level.INFO, "assembling raid bdev " + a.name + " (uuid " + a.uuid + ", seq "
                    + sb.seqNumber + ") from its superblock on " + bdev.name());
        }
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        fs.add(join(a, bdev));
        for (String name : rejoin) {
            Bdev b = layer.lookup(name);
            if (b != null && layer.claimant(b) == null) {
                fs.add(join(a, b));
            }
        }
        return CompletableFuture.allOf(fs.toArray(new CompletableFuture[0]));
    }

    /**
     * Attaches {@code bdev} to the assembled array as the array's slots say (they come from the
     * newest superblock seen, and degraded starts and failures have updated them since).
     */
    private CompletableFuture<Void> join(RaidArray a, Bdev bdev) {
        RaidArray.Slot s = a.slotOf(bdev.uuid());
        if (s == null) {
            LOG.log(System.Logger.Level.INFO, "bdev " + bdev.name() + " is not a member of raid bdev " + a.name
                    + "; ignored");
            return CompletableFuture.completedFuture(null);
        }
        boolean free = s.member == null && s.spare == null;
        if (s.sbState == Superblock.SlotState.CONFIGURED && a.state == RaidArray.State.CONFIGURING && free) {
            Member m = a.open(s, bdev.name());
            a.attachConfigured(m);
            LOG.log(System.Logger.Level.INFO, "raid bdev " + a.name + ": member " + bdev.name() + " joined (slot "
                    + s.index + ", " + a.discovered() + " of " + a.expected + ")");
            return logFailure(a, a.memberJoined());
        } else if (s.sbState == Superblock.SlotState.SPARE && free && a.state != RaidArray.State.OFFLINE) {
            Member m = a.open(s, bdev.name());
            LOG.log(System.Logger.Level.INFO, "raid bdev " + a.name + ": " + bdev.name() + " was being rebuilt; it will"
                    + " be rebuilt again");
            if (a.state == RaidArray.State.ONLINE) {
                return logFailure(a, a.addSpare(m));
            } else {
                a.attachSpare(m);
            }
        } else {
            LOG.log(System.Logger.Level.INFO, "bdev " + bdev.name() + " is not an active member of raid bdev " + a.name
                    + " (" + s.sbState + (free ? "" : ", slot taken") + "); ignored");
        }
        return CompletableFuture.completedFuture(null);
    }

    private static CompletableFuture<Void> logFailure(RaidArray a, CompletableFuture<Void> f) {
        return f.exceptionally(t -> {
            LOG.log(System.Logger.Level.ERROR, "raid bdev " + a.name + ": " + message(t));
            return null;
        });
    }

    // ------------------------------------------------------------------ helpers

    static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static String message(Throwable t) {
        Throwable c = unwrap(t);
        return c instanceof BasaltException b ? b.describe() : String.valueOf(c);
    }

    /** The failure's own text, without the errno's (for messages that add it themselves). */
    static String detail(Throwable t) {
        Throwable c = unwrap(t);
        return c instanceof BasaltException b ? b.getMessage() : String.valueOf(c);
    }

    static int errno(Throwable t) {
        Throwable c = unwrap(t);
        return c instanceof BasaltException b ? b.errno() : Errno.EIO;
    }
}
