package io.basalt.bdev.aio;

import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fallback when the reactors do not run io_uring (transport epoll or NIO): a small bounded
 * pool of worker threads makes the blocking calls (pread, pwrite, fdatasync, fallocate) and sends
 * each result back to the channel's reactor as a message. A full queue is -EAGAIN, which the
 * channel turns into the bdev layer's out-of-memory retry.
 *
 * <p>One reusable task object per tag carries the operation to the worker and its result back,
 * so nothing is allocated per I/O.
 *
 * <p>Threading: {@link #submit} on the owning reactor; tasks run on a worker, then on the reactor.
 */
final class PoolEngine implements AioEngine {
    private static final System.Logger LOG = System.getLogger(PoolEngine.class.getName());

    private final Workers workers;
    private final AioSyscalls sys;
    private final Reactor reactor;
    private final Completion sink;
    private Op[] ops = new Op[64];

    PoolEngine(Workers workers, AioSyscalls sys, Reactor reactor, Completion sink) {
        this.workers = workers;
        this.sys = sys;
        this.reactor = reactor;
        this.sink = sink;
    }

    @Override
    public int submit(int tag, int op, int fd, long offset, long address, long length, int flags) {
        if (tag >= ops.length) {
            Op[] n = new Op[Math.max(ops.length * 2, tag + 1)];
            System.arraycopy(ops, 0, n, 0, ops.length);
            ops = n;
        }
        Op o = ops[tag];
        if (o == null) {
            o = new Op(tag);
            ops[tag] = o;
        }
        o.op = op;
        o.fd = fd;
        o.offset = offset;
        o.address = address;
        o.length = length;
        o.flags = flags;
        return workers.offer(o) ? 0 : -Errno.EAGAIN;
    }

    @Override
    public void close() {
        // The workers are the module's; nothing of this channel's is left in flight.
    }

    /** One operation; run first on a worker (the call), then on the reactor (the completion). */
    private final class Op implements Runnable {
        final int tag;
        int op;
        int fd;
        long offset;
        long address;
        long length;
        int flags;
        long result;
        boolean done;

        Op(int tag) {
            this.tag = tag;
        }

        @Override
        public void run() {
            if (!done) {
                result = execute();
                done = true;
                try {
                    reactor.send(this);
                } catch (RejectedExecutionException e) {
                    LOG.log(System.Logger.Level.ERROR, reactor + " stopped; result of an aio operation dropped");
                }
                return;
            }
            // Back on the reactor. The sink may submit the next operation of this tag at once,
            // reusing this object, so nothing of it is read after the call.
            done = false;
            int res = (int) result;
            sink.complete(tag, res);
        }

        private long execute() {
            try {
                return switch (op) {
                    case READ -> sys.pread(fd, address, length, offset);
                    case WRITE -> {
                        long n = sys.pwrite(fd, address, length, offset);
                        if (n > 0 && (flags & RWF_DSYNC) != 0) {
                            int rc = sys.fdatasync(fd);
                            yield rc < 0 ? rc : n;
                        }
                        yield n;
                    }
                    case FSYNC -> sys.fdatasync(fd);
                    case FALLOCATE -> sys.fallocate(fd, flags, offset, length);
                    default -> -Errno.EINVAL;
                };
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "aio worker: operation " + op + " failed", e);
                return -Errno.EIO;
            }
        }
    }

    /** The module's bounded worker pool, shared by every fallback channel. */
    static final class Workers {
        private final ThreadPoolExecutor pool;
        private final ArrayBlockingQueue<Runnable> queue;

        Workers(int threads, int queueCapacity) {
            AtomicInteger n = new AtomicInteger();
            queue = new ArrayBlockingQueue<>(queueCapacity);
            pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, queue, r -> {
                Thread t = new Thread(r, "aio-worker-" + n.getAndIncrement());
                t.setDaemon(true);
                return t;
            });
        }

        /** Queues a task; false when the queue is full or the pool stopped. Any thread. */
        boolean offer(Runnable task) {
            if (queue.remainingCapacity() == 0) {
                return false;
            }
            try {
                pool.execute(task);
                return true;
            } catch (RejectedExecutionException e) {
                return false;
            }
        }

        void shutdown() {
            pool.shutdown();
        }
    }
}
