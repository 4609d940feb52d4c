package io.basalt.bdev.aio;

import io.basalt.runtime.Reactor;

/**
 * Where one channel's file operations go: the reactor's own io_uring ({@link RingEngine}), or the
 * bounded fallback worker pool ({@link PoolEngine}) when the reactors run epoll or NIO. This is
 * also the seam through which tests shorten, fail or delay operations.
 *
 * <p>Operations are named by their io_uring opcodes and mean what the kernel makes of them:
 * <ul>
 *   <li>{@link #READ} / {@link #WRITE}: pread / pwrite of {@code length} bytes at {@code offset}
 *       from / to native memory at {@code address}; {@code flags} are the RWF_* flags (RWF_DSYNC
 *       for a FUA write). Result: bytes transferred (possibly fewer than asked) or -errno.</li>
 *   <li>{@link #FSYNC}: fdatasync ({@code flags} = IORING_FSYNC_DATASYNC). Result: 0 or -errno.</li>
 *   <li>{@link #FALLOCATE}: fallocate with mode {@code flags} over [offset, offset+length).
 *       Result: 0 or -errno.</li>
 * </ul>
 *
 * <p>Threading: everything on the owning reactor; results come back to the {@link Completion}
 * on that reactor, never from inside {@link #submit}.
 */
interface AioEngine {
    /** IORING_OP_FSYNC. */
    int FSYNC = 3;
    /** IORING_OP_FALLOCATE. */
    int FALLOCATE = 17;
    /** IORING_OP_READ. */
    int READ = 22;
    /** IORING_OP_WRITE. */
    int WRITE = 23;

    /** IORING_FSYNC_DATASYNC: fdatasync rather than fsync. */
    int FSYNC_DATASYNC = 1;
    /** RWF_DSYNC: this write is durable when it completes (per-write O_DSYNC). */
    int RWF_DSYNC = 2;

    /**
     * Starts an operation for request {@code tag} (0..65535; one operation per tag at a time).
     *
     * @return 0 if started; -EAGAIN, -EBUSY or -ENOMEM if the engine is full for now (try again
     *         later); another -errno if the operation cannot be started at all
     */
    int submit(int tag, int op, int fd, long offset, long address, long length, int flags);

    /** Releases the engine; called once no operation is in flight. */
    void close();

    /** Receives results on the engine's reactor. */
    @FunctionalInterface
    interface Completion {
        void complete(int tag, int result);
    }

    /** Makes the engine of each channel of a bdev. */
    interface Factory {
        /** Called on {@code reactor}. */
        AioEngine create(Reactor reactor, Completion sink);

        /** "io_uring" or "thread_pool", for driver_specific and logs. */
        String kind();
    }
}
