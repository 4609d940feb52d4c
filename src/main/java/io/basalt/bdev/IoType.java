package io.basalt.bdev;

/** The kinds of block I/O, named in JSON as SPDK's supported_io_types keys. */
public enum IoType {
    READ("read"),
    WRITE("write"),
    UNMAP("unmap"),
    FLUSH("flush"),
    RESET("reset"),
    WRITE_ZEROES("write_zeroes"),
    COMPARE("compare"),
    COPY("copy");

    /** All SPDK supported_io_types keys, in SPDK's order; the ones Basalt has no type for are false. */
    public static final String[] SPDK_KEYS = {
        "read", "write", "unmap", "copy", "write_zeroes", "flush", "reset", "compare", "compare_and_write",
        "abort", "seek_hole", "seek_data", "nvme_admin", "nvme_io", "nvme_io_md", "zcopy", "get_zone_info",
        "zone_management", "zone_append", "nvme_iov_md",
    };

    private final String json;

    IoType(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    /** True for types that move data through the buffer. */
    public boolean hasData() {
        return this == READ || this == WRITE || this == COMPARE;
    }

    /** True for types that change the medium. */
    public boolean mutates() {
        return this == WRITE || this == UNMAP || this == WRITE_ZEROES || this == COPY;
    }

    public static IoType fromJson(String s) {
        for (IoType t : values()) {
            if (t.json.equals(s)) {
                return t;
            }
        }
        return null;
    }
}
