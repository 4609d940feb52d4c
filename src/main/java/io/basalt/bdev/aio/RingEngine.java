package io.basalt.bdev.aio;

import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.netty.channel.IoEvent;
import io.netty.channel.IoRegistration;
import io.netty.channel.uring.IoUringIoEvent;
import io.netty.channel.uring.IoUringIoHandle;
import io.netty.channel.uring.IoUringIoOps;
import io.netty.util.concurrent.Future;

/**
 * A channel's file operations on the io_uring its reactor already runs (Netty's
 * {@code IoUringIoHandler}): one registration per channel, one SQE per operation, the request's
 * tag in the SQE's 16-bit user data. The reactor loop flushes the submission queue once per
 * iteration, so operations submitted in one pass go to the kernel in one io_uring_enter.
 *
 * <p>The SQE fields, as the kernel reads them for each opcode (liburing's io_uring_prep_read /
 * _write / _fsync / _fallocate; io_uring/rw.c and sync.c):
 * <pre>
 * struct io_uring_sqe {          READ / WRITE       FSYNC            FALLOCATE
 *   __u8  opcode;        //  0   22 / 23            3                17
 *   __s32 fd;            //  4   fd                 fd               fd
 *   __u64 off;           //  8   file offset        0                offset
 *   __u64 addr;          // 16   buffer address     0                length (!)
 *   __u32 len;           // 24   byte count         0                mode (!)
 *   __u32 rw_flags;      // 28   RWF_* flags        fsync_flags      0
 *   __u64 user_data;     // 32   Netty: registration id, opcode, our 16-bit tag
 * };
 * </pre>
 * Netty's {@code IoUringIoOps} takes them in that order: (opcode, flags, ioprio, fd, union1 =
 * off, union2 = addr, len, union3 = rw_flags, data, personality, union4, union5, union6), as its
 * own {@code newWrite} shows.
 *
 * <p>Netty's API takes an immutable {@code IoUringIoOps} per SQE, so each operation allocates
 * that one small, short-lived object; writing our own ring over FFM to avoid it would duplicate
 * the one the reactor already drives.
 *
 * <p>Threading: the owning reactor only.
 */
final class RingEngine implements AioEngine, IoUringIoHandle {
    private static final System.Logger LOG = System.getLogger(RingEngine.class.getName());
    private static final byte NO_SQE_FLAGS = 0;
    private static final short NO_PRIO = 0;
    private static final short NONE = 0;

    private final Completion sink;
    private IoRegistration registration;
    private boolean closed;

    private RingEngine(Completion sink) {
        this.sink = sink;
    }

    /** True if the reactor's event loop runs io_uring (it may run epoll or NIO instead). */
    static boolean available(Reactor reactor) {
        return reactor.eventLoop().isCompatible(IoUringIoHandle.class);
    }

    /**
     * Registers a new engine with the reactor's ring. Reactor thread only (registration on the
     * loop's own thread completes at once). Throws if the loop refuses (it is shutting down).
     */
    static RingEngine register(Reactor reactor, Completion sink) {
        reactor.assertInReactor();
        RingEngine e = new RingEngine(sink);
        Future<IoRegistration> f = reactor.eventLoop().register(e);
        if (!f.isSuccess()) {
            throw new IllegalStateException("cannot register with the io_uring of " + reactor, f.cause());
        }
        e.registration = f.getNow();
        return e;
    }

    @Override
    public int submit(int tag, int op, int fd, long offset, long address, long length, int flags) {
        IoUringIoOps sqe = switch (op) {
            case READ, WRITE -> new IoUringIoOps((byte) op, NO_SQE_FLAGS, NO_PRIO, fd, offset, address,
                    Math.toIntExact(length), flags, (short) tag, NONE, NONE, 0, 0L);
            case FSYNC -> new IoUringIoOps((byte) op, NO_SQE_FLAGS, NO_PRIO, fd, 0L, 0L, 0, flags, (short) tag,
                    NONE, NONE, 0, 0L);
            case FALLOCATE -> new IoUringIoOps((byte) op, NO_SQE_FLAGS, NO_PRIO, fd, offset, length, flags, 0,
                    (short) tag, NONE, NONE, 0, 0L);
            default -> throw new IllegalArgumentException("unknown operation " + op);
        };
        try {
            if (registration.submit(sqe) == 0) {
                // Netty answers 0 for a cancelled registration: the channel is gone.
                return -Errno.EBADF;
            }
            return 0;
        } catch (RuntimeException e) {
            // With the SQ ring full Netty enters the kernel to make room and throws if that fails
            // (e.g. -EBUSY while the completion queue overflows): retry later.
            return -Errno.EBUSY;
        }
    }

    @Override
    public void handle(IoRegistration reg, IoEvent event) {
        IoUringIoEvent e = (IoUringIoEvent) event;
        try {
            sink.complete(Short.toUnsignedInt(e.data()), e.res());
        } catch (Throwable t) {
            // Never let it reach Netty's loop, which sleeps 100 ms after an exception.
            LOG.log(System.Logger.Level.ERROR, "aio completion handler failed", t);
        }
    }

    /** Ends the registration (also called by Netty when the loop shuts down). Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            registration.cancel();
        }
    }
}
