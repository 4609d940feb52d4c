package io.basalt.bdev;

/** Module claims on a bdev, as SPDK's spdk_bdev_claim_type; json() is the claim_type in bdev_get_bdevs. */
public enum ClaimType {
    /** Only the claiming descriptor writes; nobody else may open for write. */
    EXCLUSIVE_WRITE("exclusive_write"),
    /** The claiming descriptor writes; others may read. */
    READ_MANY_WRITE_ONE("read_many_write_one"),
    /** Nobody writes. */
    READ_MANY_WRITE_NONE("read_many_write_none"),
    /** Several claims of one module may write. */
    READ_MANY_WRITE_SHARED("read_many_write_shared");

    private final String json;

    ClaimType(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }
}
