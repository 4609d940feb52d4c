package io.basalt.bdev.raid;

import java.util.Locale;

/**
 * The RAID levels, with SPDK's names, superblock codes and member constraints
 * ({@code base_bdevs_min} and {@code base_bdevs_constraint} of each SPDK raid module).
 */
public enum RaidLevel {
    RAID0(0, "raid0", 1, 0, true),
    RAID1(1, "raid1", 2, -1, false),
    RAID5F(95, "raid5f", 3, 1, true),
    CONCAT(99, "concat", 1, 0, true);

    /** Code in the superblock's level field. */
    public final int code;
    /** Name in RPC output (raid_level). */
    public final String json;
    /** Fewest members the level accepts at create. */
    public final int minMembers;
    /** Members that may be lost without going offline; -1 means all but one (raid1). */
    private final int tolerated;
    /** Whether strip_size_kb is required (and must be a power of two). */
    public final boolean striped;

    RaidLevel(int code, String json, int minMembers, int tolerated, boolean striped) {
        this.code = code;
        this.json = json;
        this.minMembers = minMembers;
        this.tolerated = tolerated;
        this.striped = striped;
    }

    /** Fewest operational members an array of {@code n} members needs to stay online. */
    public int minOperational(int n) {
        return tolerated < 0 ? 1 : n - tolerated;
    }

    /** Whether the level keeps redundancy, so a lost member can be rebuilt. */
    public boolean redundant() {
        return this == RAID1 || this == RAID5F;
    }

    /** SPDK's names and aliases, in any case: raid0/0, raid1/1, raid5f/5f, concat. Null if unknown. */
    public static RaidLevel parse(String s) {
        if (s == null) {
            return null;
        }
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "raid0", "0" -> RAID0;
            case "raid1", "1" -> RAID1;
            case "raid5f", "5f" -> RAID5F;
            case "concat" -> CONCAT;
            default -> null;
        };
    }

    public static RaidLevel ofCode(int code) {
        for (RaidLevel l : values()) {
            if (l.code == code) {
                return l;
            }
        }
        return null;
    }
}
