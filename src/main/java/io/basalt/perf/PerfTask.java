package io.basalt.perf;

import io.basalt.bdev.IoType;
import io.basalt.bdev.IoWaiter;
import io.basalt.runtime.DmaBuffer;

/**
 * One of a job's queue-depth slots (bdevperf's task): its buffers and the I/O it has in flight.
 * Passed as the callback argument, so a completion finds its slot without a lookup; also the
 * waiter that resubmits after -ENOMEM. Reactor thread of its job only.
 */
final class PerfTask extends IoWaiter {
    final PerfJob job;
    /** Data written, or read into (except a verify read-back). */
    final DmaBuffer buf;
    /** Verify only: where the written data is read back to. */
    final DmaBuffer readBuf;
    IoType type;
    long offsetBlocks;
    /** Index of the I/O-sized unit in the job's range (verify keeps them unique in flight). */
    long ioIndex;
    /** Verify: the write completed and this is its read-back. */
    boolean readBack;

    PerfTask(PerfJob job, DmaBuffer buf, DmaBuffer readBuf) {
        this.job = job;
        this.buf = buf;
        this.readBuf = readBuf;
    }

    @Override
    public void ioAvailable() {
        job.issue(this);
    }
}
