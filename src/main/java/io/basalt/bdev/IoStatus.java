package io.basalt.bdev;

/**
 * How an I/O ended. Maps onto NVMe status codes at the exports: FAILED is a generic media/internal
 * error, INVALID a request the bdev cannot take (range, alignment, unsupported type), MISCOMPARE a
 * compare that found different data, NVME_ERROR carries an explicit NVMe status (sct/sc).
 * NOMEM never reaches the submitter: the bdev layer retries it.
 */
public enum IoStatus {
    PENDING,
    SUCCESS,
    FAILED,
    INVALID,
    ABORTED,
    MISCOMPARE,
    NOMEM,
    NVME_ERROR
}
