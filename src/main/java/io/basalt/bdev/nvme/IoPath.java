package io.basalt.bdev.nvme;

import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.nvme.Cqe;
import io.basalt.nvme.Opcodes;
import io.basalt.nvme.Sqe;
import io.basalt.nvme.Status;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A controller's I/O path on one reactor: the I/O qpair of this reactor (null while the
 * controller is disconnected) and the queue of bdev I/O waiting for the path or for an absent
 * namespace to come back. Shared by all namespaces of the controller as their channel context.
 *
 * <p>Bdev I/O becomes one or more NVMe commands (split at the controller's MDTS and at 65536
 * blocks); the bdev I/O completes when all have. A command lost with its connection, or failed
 * with a path or transient transport error, goes back to the queue and is sent again once the
 * path is up (block writes are idempotent); Invalid Namespace puts it back too and marks the
 * namespace absent. Queued and new I/O fails once the controller's fast_io_fail_timeout_sec has
 * passed (or the namespace's), and when the controller is deleted.
 *
 * <p>Threading: {@link #reactor} only; state changes come as messages from the application reactor.
 */
final class IoPath implements HostQpair.Done {
    private static final int MAX_NLB = 65536;
    private static final long ERROR = 1L << 40;

    final NvmeCtrlr ctrlr;
    final Reactor reactor;
    HostQpair qpair;
    boolean failFast;
    boolean deleted;
    private BdevIo head;
    private BdevIo tail;
    private final Sqe sqe = new Sqe();
    private int maxTransfer = 128 * 1024;

    IoPath(NvmeCtrlr ctrlr, Reactor reactor) {
        this.ctrlr = ctrlr;
        this.reactor = reactor;
    }

    /** The path is up with {@code q}; queued I/O goes out. */
    void up(HostQpair q, int maxTransferBytes) {
        qpair = q;
        maxTransfer = maxTransferBytes;
        failFast = false;
        drain();
    }

    /** The connection is gone: new I/O waits (or fails fast). */
    void down(HostQpair q) {
        if (qpair == q) {
            qpair = null;
        }
    }

    void submit(NvmeBdev b, BdevIo io) {
        if (deleted) {
            io.fail(Errno.ENODEV);
            return;
        }
        if (qpair == null || !b.active) {
            if (failFast || b.failFast) {
                io.fail(Errno.EIO);
            } else {
                enqueue(io);
            }
            return;
        }
        issue(b, io);
    }

    private void enqueue(BdevIo io) {
        io.driverCtx = null;
        if (tail == null) {
            head = io;
        } else {
            tail.driverCtx = io;
        }
        tail = io;
    }

    /** Sends what waits, in order, for namespaces that are there; keeps the rest. */
    void drain() {
        BdevIo io = head;
        head = null;
        tail = null;
        while (io != null) {
            BdevIo next = (BdevIo) io.driverCtx;
            io.driverCtx = null;
            submit((NvmeBdev) io.bdev(), io);
            io = next;
        }
    }

    /** Fails the queued I/O of {@code only} (all when null). */
    void failQueued(NvmeBdev only) {
        BdevIo io = head;
        head = null;
        tail = null;
        while (io != null) {
            BdevIo next = (BdevIo) io.driverCtx;
            io.driverCtx = null;
            if (only == null || io.bdev() == only) {
                io.fail(deleted ? Errno.ENODEV : Errno.EIO);
            } else {
                enqueue(io);
            }
            io = next;
        }
    }

    int queued() {
        int n = 0;
        for (BdevIo io = head; io != null; io = (BdevIo) io.driverCtx) {
            n++;
        }
        return n;
    }

    private void issue(NvmeBdev b, BdevIo io) {
        if (qpair.isDown()) {
            // The connection just broke; the controller has not heard yet.
            requeue(b, io);
            return;
        }
        IoType t = io.type();
        int bs = b.blockSize();
        long nlb = io.numBlocks();
        int perCmd = t.hasData() ? Math.max(1, Math.min(MAX_NLB, maxTransfer / bs)) : MAX_NLB;
        int chunks = t == IoType.FLUSH ? 1 : (int) ((nlb + perCmd - 1) / perCmd);
        if (t == IoType.FLUSH && !b.writeCache()) {
            io.complete(IoStatus.SUCCESS);
            return;
        }
        if (qpair.freeSlots() < chunks) {
            // The queue is full: the bdev layer retries when an I/O completes.
            io.complete(chunks > qpair.depth ? IoStatus.INVALID : IoStatus.NOMEM);
            return;
        }
        io.driverInt = chunks;
        io.driverLong = 0;
        for (int i = 0; i < chunks; i++) {
            long slba = io.offsetBlocks() + (long) i * perCmd;
            int n = (int) Math.min(perCmd, nlb - (long) i * perCmd);
            sqe.clear();
            sqe.nsid = b.nsid;
            sqe.cdw10 = (int) slba;
            sqe.cdw11 = (int) (slba >>> 32);
            sqe.cdw12 = n - 1;
            boolean ok;
            switch (t) {
                case READ, WRITE, COMPARE -> {
                    sqe.opcode = t == IoType.READ ? Opcodes.IO_READ : t == IoType.WRITE ? Opcodes.IO_WRITE : Opcodes.IO_COMPARE;
                    if (t == IoType.WRITE && io.fua()) {
                        sqe.cdw12 |= 1 << 30;
                    }
                    ok = qpair.submit(sqe, io.buffer(), io.bufferOffset() + (long) i * perCmd * bs, n * bs,
                            t != IoType.READ, this, io);
                }
                case WRITE_ZEROES -> {
                    sqe.opcode = Opcodes.IO_WRITE_ZEROES;
                    ok = qpair.submit(sqe, (ByteBuffer) null, 0, 0, false, this, io);
                }
                case UNMAP -> {
                    sqe.opcode = Opcodes.IO_DATASET_MANAGEMENT;
                    sqe.cdw10 = 0;
                    sqe.cdw11 = 1 << 2;
                    sqe.cdw12 = 0;
                    ByteBuffer range = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                    range.putInt(4, n).putLong(8, slba);
                    ok = qpair.submit(sqe, range, 0, 16, true, this, io);
                }
                case FLUSH -> {
                    sqe.clear();
                    sqe.opcode = Opcodes.IO_FLUSH;
                    sqe.nsid = b.nsid;
                    ok = qpair.submit(sqe, (ByteBuffer) null, 0, 0, false, this, io);
                }
                default -> {
                    io.driverInt = 0;
                    io.fail(Errno.EOPNOTSUPP);
                    return;
                }
            }
            if (!ok) {
                throw new IllegalStateException("a free slot vanished");
            }
        }
    }

    @Override
    public void done(HostQpair q, int status, Cqe cqe, Object arg) {
        BdevIo io = (BdevIo) arg;
        if (status != Status.SUCCESS && io.driverLong == 0) {
            io.driverLong = ERROR | (status & 0xFFFFFFFFL);
        }
        if (--io.driverInt > 0) {
            return;
        }
        long st = io.driverLong;
        io.driverLong = 0;
        if (st == 0) {
            io.complete(IoStatus.SUCCESS);
            return;
        }
        int s = (int) st;
        NvmeBdev b = (NvmeBdev) io.bdev();
        if (s == HostQpair.STATUS_LOST || Status.sct(s) == Status.SCT_PATH
                || Status.code(s) == Status.TRANSIENT_TRANSPORT_ERROR || Status.code(s) == Status.NAMESPACE_NOT_READY) {
            requeue(b, io);
            return;
        }
        if (Status.code(s) == Status.INVALID_NAMESPACE_OR_FORMAT) {
            // The controller no longer has the namespace: wait for it like for a lost path.
            ctrlr.namespaceMissing(b);
            requeue(b, io);
            return;
        }
        if (Status.code(s) == Status.COMPARE_FAILURE) {
            io.complete(IoStatus.MISCOMPARE);
            return;
        }
        io.completeNvme(Status.sct(s), Status.sc(s));
    }

    private void requeue(NvmeBdev b, BdevIo io) {
        if (deleted || failFast || b.failFast) {
            io.fail(deleted ? Errno.ENODEV : Errno.EIO);
            return;
        }
        enqueue(io);
        if (qpair != null && b.active && !retryScheduled) {
            // The path still looks up (a transient error): try again shortly.
            retryScheduled = true;
            reactor.schedule(retryTask, RETRY_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    private static final long RETRY_MILLIS = 10;
    private boolean retryScheduled;
    private final Runnable retryTask = () -> {
        retryScheduled = false;
        drain();
    };
}
