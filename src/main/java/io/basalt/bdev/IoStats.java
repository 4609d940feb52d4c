package io.basalt.bdev;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * I/O counters of one channel (updated only by its reactor) or the sum of several. Latencies are
 * in nanoseconds, which is the tick unit Basalt reports (tick_rate 1e9).
 */
public final class IoStats {
    long bytesRead;
    long numReadOps;
    long bytesWritten;
    long numWriteOps;
    long bytesUnmapped;
    long numUnmapOps;
    long bytesCopied;
    long numCopyOps;
    long numWriteZeroesOps;
    long bytesWriteZeroes;
    long numFlushOps;
    long readLatency;
    long maxReadLatency;
    long minReadLatency = Long.MAX_VALUE;
    long writeLatency;
    long maxWriteLatency;
    long minWriteLatency = Long.MAX_VALUE;
    long unmapLatency;
    long maxUnmapLatency;
    long minUnmapLatency = Long.MAX_VALUE;
    long copyLatency;
    long maxCopyLatency;
    long minCopyLatency = Long.MAX_VALUE;
    long errorsFailed;
    long errorsInvalid;
    long errorsAborted;
    long errorsMiscompare;
    long errorsNvme;
    long nomemRetries;

    void record(IoType type, long bytes, long latency) {
        switch (type) {
            case READ -> {
                bytesRead += bytes;
                numReadOps++;
                readLatency += latency;
                if (latency > maxReadLatency) {
                    maxReadLatency = latency;
                }
                if (latency < minReadLatency) {
                    minReadLatency = latency;
                }
            }
            case WRITE -> {
                bytesWritten += bytes;
                numWriteOps++;
                writeLatency += latency;
                if (latency > maxWriteLatency) {
                    maxWriteLatency = latency;
                }
                if (latency < minWriteLatency) {
                    minWriteLatency = latency;
                }
            }
            case UNMAP -> {
                bytesUnmapped += bytes;
                numUnmapOps++;
                unmapLatency += latency;
                if (latency > maxUnmapLatency) {
                    maxUnmapLatency = latency;
                }
                if (latency < minUnmapLatency) {
                    minUnmapLatency = latency;
                }
            }
            case COPY -> {
                bytesCopied += bytes;
                numCopyOps++;
                copyLatency += latency;
                if (latency > maxCopyLatency) {
                    maxCopyLatency = latency;
                }
                if (latency < minCopyLatency) {
                    minCopyLatency = latency;
                }
            }
            case WRITE_ZEROES -> {
                bytesWriteZeroes += bytes;
                numWriteZeroesOps++;
            }
            case FLUSH -> numFlushOps++;
            default -> {
            }
        }
    }

    void recordError(IoStatus s) {
        switch (s) {
            case INVALID -> errorsInvalid++;
            case ABORTED -> errorsAborted++;
            case MISCOMPARE -> errorsMiscompare++;
            case NVME_ERROR -> errorsNvme++;
            default -> errorsFailed++;
        }
    }

    /** Adds {@code o} into this. */
    public void add(IoStats o) {
        bytesRead += o.bytesRead;
        numReadOps += o.numReadOps;
        bytesWritten += o.bytesWritten;
        numWriteOps += o.numWriteOps;
        bytesUnmapped += o.bytesUnmapped;
        numUnmapOps += o.numUnmapOps;
        bytesCopied += o.bytesCopied;
        numCopyOps += o.numCopyOps;
        numWriteZeroesOps += o.numWriteZeroesOps;
        bytesWriteZeroes += o.bytesWriteZeroes;
        numFlushOps += o.numFlushOps;
        readLatency += o.readLatency;
        maxReadLatency = Math.max(maxReadLatency, o.maxReadLatency);
        minReadLatency = Math.min(minReadLatency, o.minReadLatency);
        writeLatency += o.writeLatency;
        maxWriteLatency = Math.max(maxWriteLatency, o.maxWriteLatency);
        minWriteLatency = Math.min(minWriteLatency, o.minWriteLatency);
        unmapLatency += o.unmapLatency;
        maxUnmapLatency = Math.max(maxUnmapLatency, o.maxUnmapLatency);
        minUnmapLatency = Math.min(minUnmapLatency, o.minUnmapLatency);
        copyLatency += o.copyLatency;
        maxCopyLatency = Math.max(maxCopyLatency, o.maxCopyLatency);
        minCopyLatency = Math.min(minCopyLatency, o.minCopyLatency);
        errorsFailed += o.errorsFailed;
        errorsInvalid += o.errorsInvalid;
        errorsAborted += o.errorsAborted;
        errorsMiscompare += o.errorsMiscompare;
        errorsNvme += o.errorsNvme;
        nomemRetries += o.nomemRetries;
    }

    public IoStats copy() {
        IoStats s = new IoStats();
        s.add(this);
        return s;
    }

    public long numReadOps() {
        return numReadOps;
    }

    public long numWriteOps() {
        return numWriteOps;
    }

    public long bytesRead() {
        return bytesRead;
    }

    public long bytesWritten() {
        return bytesWritten;
    }

    public long numUnmapOps() {
        return numUnmapOps;
    }

    public long errors() {
        return errorsFailed + errorsInvalid + errorsAborted + errorsMiscompare + errorsNvme;
    }

    private static long min(long v) {
        return v == Long.MAX_VALUE ? 0 : v;
    }

    /** Writes SPDK's bdev_get_iostat fields for one bdev or channel into {@code o}. */
    public void toJson(ObjectNode o) {
        o.put("bytes_read", bytesRead);
        o.put("num_read_ops", numReadOps);
        o.put("bytes_written", bytesWritten);
        o.put("num_write_ops", numWriteOps);
        o.put("bytes_unmapped", bytesUnmapped);
        o.put("num_unmap_ops", numUnmapOps);
        o.put("bytes_copied", bytesCopied);
        o.put("num_copy_ops", numCopyOps);
        o.put("read_latency_ticks", readLatency);
        o.put("max_read_latency_ticks", maxReadLatency);
        o.put("min_read_latency_ticks", min(minReadLatency));
        o.put("write_latency_ticks", writeLatency);
        o.put("max_write_latency_ticks", maxWriteLatency);
        o.put("min_write_latency_ticks", min(minWriteLatency));
        o.put("unmap_latency_ticks", unmapLatency);
        o.put("max_unmap_latency_ticks", maxUnmapLatency);
        o.put("min_unmap_latency_ticks", min(minUnmapLatency));
        o.put("copy_latency_ticks", copyLatency);
        o.put("max_copy_latency_ticks", maxCopyLatency);
        o.put("min_copy_latency_ticks", min(minCopyLatency));
        // Basalt extensions: counters SPDK does not report.
        o.put("num_write_zeroes_ops", numWriteZeroesOps);
        o.put("bytes_write_zeroes", bytesWriteZeroes);
        o.put("num_flush_ops", numFlushOps);
        o.put("nomem_retries", nomemRetries);
        ObjectNode err = o.putObject("io_error");
        if (errorsFailed > 0) {
            err.put("failed", errorsFailed);
        }
        if (errorsInvalid > 0) {
            err.put("invalid", errorsInvalid);
        }
        if (errorsAborted > 0) {
            err.put("aborted", errorsAborted);
        }
        if (errorsMiscompare > 0) {
            err.put("miscompare", errorsMiscompare);
        }
        if (errorsNvme > 0) {
            err.put("nvme_error", errorsNvme);
        }
    }
}
