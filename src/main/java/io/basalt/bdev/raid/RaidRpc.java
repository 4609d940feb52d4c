package io.basalt.bdev.raid;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.basalt.bdev.BdevNames;
import io.basalt.rpc.RpcException;
import io.basalt.rpc.RpcRegistry;
import io.basalt.rpc.RpcSyntax;
import io.basalt.runtime.Json;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * bdev_raid_create / delete / get_bdevs / add_base_bdev / remove_base_bdev / set_options:
 * decode, check every parameter, call the module.
 */
public final class RaidRpc {
    private static final long UINT32_MAX = 0xFFFF_FFFFL;

    private RaidRpc() {
    }

    /** SPDK's parameters, plus Basalt's {@code overwrite_superblock} (false unless asked). */
    public record CreateParams(
            @JsonProperty(required = true) String name,
            @JsonProperty(required = true) String raidLevel,
            @JsonProperty(required = true) List<String> baseBdevs,
            Long stripSizeKb,
            String uuid,
            Boolean superblock,
            Boolean overwriteSuperblock) {
    }

    public record DeleteParams(@JsonProperty(required = true) String name, Boolean clearSb) {
    }

    public record GetBdevsParams(@JsonProperty(required = true) String category) {
    }

    public record AddBaseParams(
            @JsonProperty(required = true) String raidBdev,
            @JsonProperty(required = true) String baseBdev,
            Boolean overwriteSuperblock) {
    }

    public record NameParams(@JsonProperty(required = true) String name) {
    }

    public record SetOptionsParams(Long processWindowSizeKb, Long processMaxBandwidthMbSec) {
    }

    public static void register(RpcRegistry rpc, RaidModule module) {
        rpc.register("bdev_raid_create", CreateParams.class, RpcRegistry.RUNTIME,
                p -> module.create(request(p)).thenApply(v -> true));
        rpc.register("bdev_raid_delete", DeleteParams.class, RpcRegistry.RUNTIME,
                p -> module.delete(p.name(), Boolean.TRUE.equals(p.clearSb())).thenApply(v -> true));
        rpc.register("bdev_raid_get_bdevs", GetBdevsParams.class, RpcRegistry.RUNTIME, p -> getBdevs(module, p));
        rpc.register("bdev_raid_add_base_bdev", AddBaseParams.class, RpcRegistry.RUNTIME,
                p -> module.addBaseBdev(p.raidBdev(), p.baseBdev(), Boolean.TRUE.equals(p.overwriteSuperblock()))
                        .thenApply(v -> true));
        rpc.register("bdev_raid_remove_base_bdev", NameParams.class, RpcRegistry.RUNTIME,
                p -> module.removeBaseBdev(p.name()).thenApply(v -> true));
        rpc.register("bdev_raid_set_options", SetOptionsParams.class, RpcRegistry.ANY, p -> setOptions(module, p));
    }

    static RaidModule.CreateRequest request(CreateParams p) {
        String m = "bdev_raid_create";
        if (p.name().isEmpty()) {
            throw RpcException.invalidParams(m + ": name must not be empty");
        }
        if (p.name().getBytes(StandardCharsets.UTF_8).length >= Superblock.NAME_SIZE) {
            throw RpcException.invalidParams(m + ": name '" + p.name() + "' is longer than "
                    + (Superblock.NAME_SIZE - 1) + " bytes");
        }
        RaidLevel level = RaidLevel.parse(p.raidLevel());
        if (level == null) {
            throw RpcException.invalidParams(m + ": raid_level '" + p.raidLevel()
                    + "' must be one of raid0 (0), raid1 (1), raid5f (5f), concat");
        }
        List<String> bases = p.baseBdevs();
        if (bases.size() < level.minMembers) {
            throw RpcException.invalidParams(m + ": " + level.json + " needs at least " + level.minMembers
                    + " base bdevs, " + bases.size() + " given");
        }
        if (bases.size() > Superblock.MAX_SLOTS) {
            throw RpcException.invalidParams(m + ": at most " + Superblock.MAX_SLOTS + " base bdevs");
        }
        Set<String> seen = new HashSet<>();
        for (String b : bases) {
            if (b == null || b.isEmpty()) {
                throw RpcException.invalidParams(m + ": a base bdev name is empty");
            }
            if (!seen.add(b)) {
                throw RpcException.invalidParams(m + ": base bdev " + b + " is listed twice");
            }
        }
        long strip = p.stripSizeKb() == null ? 0 : p.stripSizeKb();
        if (strip < 0 || strip > UINT32_MAX) {
            throw RpcException.invalidParams(m + ": strip_size_kb " + strip + " is out of range");
        }
        if (level.striped) {
            if (strip == 0 || (strip & (strip - 1)) != 0) {
                throw RpcException.invalidParams(m + ": strip_size_kb must be a power of two for " + level.json
                        + (strip == 0 ? " (it is required)" : ", not " + strip));
            }
            if (strip > Integer.MAX_VALUE / 1024) {
                throw RpcException.invalidParams(m + ": strip_size_kb " + strip + " is too large");
            }
        } else if (strip != 0) {
            throw RpcException.invalidParams(m + ": raid1 has no strip; strip_size_kb must be absent or 0");
        }
        UUID uuid = BdevNames.parseUuid(m, "uuid", p.uuid());
        if (Superblock.NULL_UUID.equals(uuid)) {
            uuid = null;
        }
        return new RaidModule.CreateRequest(p.name(), level, (int) strip, List.copyOf(bases), uuid,
                Boolean.TRUE.equals(p.superblock()), Boolean.TRUE.equals(p.overwriteSuperblock()));
    }

    private static ArrayNode getBdevs(RaidModule module, GetBdevsParams p) {
        // SPDK compares the category with strcasecmp.
        String c = p.category().toLowerCase(java.util.Locale.ROOT);
        if (!c.equals("all") && !c.equals("online") && !c.equals("configuring") && !c.equals("offline")) {
            throw RpcException.invalidParams("bdev_raid_get_bdevs: category '" + c
                    + "' must be one of all, online, configuring, offline");
        }
        return module.list(c);
    }

    private static boolean setOptions(RaidModule module, SetOptionsParams p) {
        String m = "bdev_raid_set_options";
        long w = p.processWindowSizeKb() == null ? module.windowKb() : p.processWindowSizeKb();
        long bw = p.processMaxBandwidthMbSec() == null ? module.maxBandwidthMbSec() : p.processMaxBandwidthMbSec();
        if (w <= 0 || w > Integer.MAX_VALUE / 1024) {
            throw RpcException.invalidParams(m + ": process_window_size_kb must be between 1 and "
                    + Integer.MAX_VALUE / 1024);
        }
        if (bw < 0 || bw > UINT32_MAX) {
            throw RpcException.invalidParams(m + ": process_max_bandwidth_mb_sec must be between 0 and " + UINT32_MAX);
        }
        module.setOptions((int) w, (int) Math.min(bw, Integer.MAX_VALUE));
        return true;
    }

    /**
     * rpc.py's syntax: {@code bdev_raid_create -n NAME -r LEVEL -b "B1 B2" [-z KB] [--uuid U] [-s]}
     * (the base bdevs are one whitespace-separated string; superblock is always sent),
     * {@code bdev_raid_delete NAME [--clear-sb]}, {@code bdev_raid_get_bdevs CATEGORY},
     * {@code bdev_raid_add_base_bdev RAID BASE}, {@code bdev_raid_remove_base_bdev NAME},
     * {@code bdev_raid_set_options [-w KB] [-b MB_SEC]}. {@code --overwrite-superblock} is Basalt's.
     */
    public static void syntax(RpcSyntax.Registry r) {
        r.add(RpcSyntax.method("bdev_raid_create", "Create new raid bdev")
                .reqOpt("-n", "--name", "name", RpcSyntax.Type.STRING, "raid bdev name")
                .opt("-z", "--strip-size-kb", "strip_size_kb", RpcSyntax.Type.INT, "strip size in KB")
                .reqOpt("-r", "--raid-level", "raid_level", RpcSyntax.Type.STRING,
                        "raid level: raid0, raid1, raid5f or concat")
                .reqOpt("-b", "--base-bdevs", "base_bdevs", RpcSyntax.Type.STRING_LIST,
                        "base bdevs name, whitespace separated list in quotes")
                .opt(null, "--uuid", "uuid", RpcSyntax.Type.STRING, "UUID for this raid bdev")
                .flag("-s", "--superblock", "superblock",
                        "information about raid bdev will be stored in superblock on each base bdev")
                .flag(null, "--overwrite-superblock", "overwrite_superblock",
                        "Basalt: overwrite members' superblocks of other arrays")
                .build(a -> {
                    var p = Json.object();
                    p.put("name", a.string("name"));
                    if (a.has("strip_size_kb")) {
                        p.put("strip_size_kb", (Integer) a.get("strip_size_kb"));
                    }
                    p.put("raid_level", a.string("raid_level"));
                    p.set("base_bdevs", Json.MAPPER.valueToTree(a.get("base_bdevs")));
                    if (a.has("uuid")) {
                        p.put("uuid", a.string("uuid"));
                    }
                    p.put("superblock", a.has("superblock"));
                    if (a.has("overwrite_superblock")) {
                        p.put("overwrite_superblock", true);
                    }
                    return p;
                }));
        r.add(RpcSyntax.method("bdev_raid_delete", "Delete existing raid bdev")
                .pos("name", RpcSyntax.Type.STRING, "raid bdev name")
                .flag(null, "--clear-sb", "clear_sb", "clear the superblock on the base bdevs")
                .build(a -> {
                    var p = Json.object();
                    p.put("name", a.string("name"));
                    p.put("clear_sb", a.has("clear_sb"));
                    return p;
                }));
        r.add(RpcSyntax.method("bdev_raid_get_bdevs", "List raid bdevs by category")
                .pos("category", RpcSyntax.Type.STRING, "all or online or configuring or offline")
                .build());
        r.add(RpcSyntax.method("bdev_raid_add_base_bdev", "Add base bdev to existing raid bdev")
                .pos("raid_bdev", RpcSyntax.Type.STRING, "raid bdev name")
                .pos("base_bdev", RpcSyntax.Type.STRING, "base bdev name")
                .flag(null, "--overwrite-superblock", "overwrite_superblock",
                        "Basalt: overwrite a superblock of another array on the base bdev")
                .build());
        r.add(RpcSyntax.method("bdev_raid_remove_base_bdev", "Remove base bdev from existing raid bdev")
                .pos("name", RpcSyntax.Type.STRING, "base bdev name")
                .build());
        r.add(RpcSyntax.method("bdev_raid_set_options", "Set options for bdev raid")
                .opt("-w", "--process-window-size-kb", "process_window_size_kb", RpcSyntax.Type.INT,
                        "Background process (e.g. rebuild) window size in KiB")
                .opt("-b", "--process-max-bandwidth-mb-sec", "process_max_bandwidth_mb_sec", RpcSyntax.Type.INT,
                        "Background process (e.g. rebuild) maximum bandwidth in MiB/Sec")
                .build());
    }
}
