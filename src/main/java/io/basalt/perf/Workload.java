package io.basalt.perf;

import io.basalt.bdev.IoType;

import java.util.Locale;

/** bdevperf's workloads ({@code -w}), with the same names and semantics. */
public enum Workload {
    READ(false, 100, IoType.READ),
    WRITE(false, 0, IoType.WRITE),
    RANDREAD(true, 100, IoType.READ),
    RANDWRITE(true, 0, IoType.WRITE),
    /** Sequential mix of reads and writes; needs a read percentage ({@code -M}). */
    RW(false, -1, null),
    /** Random mix of reads and writes; needs a read percentage ({@code -M}). */
    RANDRW(true, -1, null),
    /** Sequential writes of unique data, each read back and compared. */
    VERIFY(false, 0, IoType.WRITE),
    UNMAP(false, 0, IoType.UNMAP),
    WRITE_ZEROES(false, 0, IoType.WRITE_ZEROES),
    FLUSH(false, 0, IoType.FLUSH);

    private final boolean random;
    private final int fixedReadPercent;
    private final IoType type;

    Workload(boolean random, int fixedReadPercent, IoType type) {
        this.random = random;
        this.fixedReadPercent = fixedReadPercent;
        this.type = type;
    }

    /** Random offsets (else sequential, wrapping at the end of the job's range). */
    public boolean random() {
        return random;
    }

    /** True for rw and randrw, which take {@code -M}. */
    public boolean mixed() {
        return fixedReadPercent < 0;
    }

    /** Read percentage of a workload that is not mixed (100 for reads, else 0). */
    int fixedReadPercent() {
        return fixedReadPercent;
    }

    /** The one I/O type of a workload that is not mixed; null for rw and randrw. */
    IoType type() {
        return type;
    }

    /** Whether the workload changes the bdev (the descriptor is opened for write then). */
    public boolean writes() {
        return type == null || type.mutates();
    }

    /** bdevperf's name: randread, write_zeroes, ... */
    public String json() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The workload of a bdevperf name, or null. */
    public static Workload fromJson(String s) {
        for (Workload w : values()) {
            if (w.json().equals(s)) {
                return w;
            }
        }
        return null;
    }
}
