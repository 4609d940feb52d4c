package io.basalt.nvmf;

import io.basalt.nvme.Sqe;
import io.basalt.runtime.DmaBuffer;

import java.nio.ByteBuffer;

/**
 * One command slot of a queue pair: the SQE, its data buffer and its progress. Slots are created
 * once per qpair (at most its queue depth) and reused; the slot index is the R2T transfer tag.
 * Touched only on the qpair's reactor (admin commands also on the controller's, which is the
 * same reactor).
 */
final class Request {
    enum State { FREE, RECEIVING, AWAITING_H2C, EXECUTING, WAITING }

    final int index;
    final Sqe sqe = new Sqe();
    State state = State.FREE;

    /** Command data (in-capsule, from H2CData, or to be sent in C2HData); null if none. */
    DmaBuffer buf;
    /** Bytes of data the command moves (host-to-controller: to receive; controller-to-host: the buffer size). */
    int dataLength;
    /** Host-to-controller bytes received so far. */
    int received;
    boolean inCapsule;

    /** Controller-to-host data of an admin command (heap), or null. */
    ByteBuffer adminData;
    /** Bytes to send in C2HData after success (0 = none). */
    int c2hLength;

    NvmfNamespace ns;
    int status;
    int dw0;
    int dw1;
    /** Bdev I/Os in flight for this command. */
    int pending;
    /** Progress of multi-step commands (DSM ranges, emulated write zeroes). */
    int step;
    long cursor;
    /** Why the command waits: it needs a buffer, or the bdev channel had no free I/O. */
    boolean needsBuffer;
    Request nextWaiting;

    Request(int index) {
        this.index = index;
    }

    void reset() {
        state = State.FREE;
        buf = null;
        dataLength = 0;
        received = 0;
        inCapsule = false;
        adminData = null;
        c2hLength = 0;
        ns = null;
        status = 0;
        dw0 = 0;
        dw1 = 0;
        pending = 0;
        step = 0;
        cursor = 0;
        needsBuffer = false;
        nextWaiting = null;
    }

    void complete(int status) {
        this.status = status;
    }

    @Override
    public String toString() {
        return "Request{#" + index + " " + sqe + " " + state + "}";
    }
}
