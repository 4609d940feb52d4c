package io.basalt.runtime;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.channel.uring.IoUringIoHandler;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Netty's io_uring handler, with a non-blocking poll that has nothing to do answered here.
 *
 * <p>Why: a reactor polls its ring on every pass while it waits for the disk, tens of times per
 * aio I/O. Netty's {@code IoUringIoHandler.run} allocates a method-reference callback on every
 * call, which C2 removes only when its inlining happens to take (it did not, on some runs: 300 to
 * 1000 bytes per aio I/O). This filter asks the ring itself first, and enters Netty only when
 * Netty would do something: completions are waiting, submissions are queued, or the kernel flags
 * deferred task work or a completion overflow. That is exactly the condition under which Netty's
 * non-blocking run does anything but return 0, so skipping it changes no behaviour. Blocking
 * polls (a parking reactor) always go to Netty.
 *
 * <p>Netty keeps the ring's queues package-private; they are reached once, with a private
 * lookup, for the Netty version the pom pins. If that fails (another Netty), the plain handler
 * is used and the reason logged.
 *
 * <p>Threading: the loop's thread only, as any IoHandler.
 */
final class IoUringIdleFilter implements IoHandler {
    private static final System.Logger LOG = System.getLogger(IoUringIdleFilter.class.getName());
    /** false: every pass enters Netty's handler (to compare). */
    static final String ENABLED_PROPERTY = "basalt.uring.idleFilter";

    private static final MethodHandle HAS_COMPLETIONS;
    private static final MethodHandle SQ_COUNT;
    private static final MethodHandle SQ_FLAGS;
    private static final MethodHandle RING;
    private static final MethodHandle RING_CQ;
    private static final MethodHandle RING_SQ;
    /** IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN: the kernel needs an io_uring_enter. */
    private static final int ENTER_FLAGS;
    private static final String UNAVAILABLE;

    static {
        MethodHandle has = null, count = null, flags = null, ring = null, cq = null, sq = null;
        int enter = 0;
        String why = null;
        try {
            MethodHandles.Lookup l = MethodHandles.privateLookupIn(IoUringIoHandler.class, MethodHandles.lookup());
            Class<?> ringBuffer = l.findClass("io.netty.channel.uring.RingBuffer");
            Class<?> cqClass = l.findClass("io.netty.channel.uring.CompletionQueue");
            Class<?> sqClass = l.findClass("io.netty.channel.uring.SubmissionQueue");
            Class<?> nativeClass = l.findClass("io.netty.channel.uring.Native");
            ring = l.findGetter(IoUringIoHandler.class, "ringBuffer", ringBuffer)
                    .asType(MethodType.methodType(Object.class, IoHandler.class));
            cq = l.findVirtual(ringBuffer, "ioUringCompletionQueue", MethodType.methodType(cqClass))
                    .asType(MethodType.methodType(Object.class, Object.class));
            sq = l.findVirtual(ringBuffer, "ioUringSubmissionQueue", MethodType.methodType(sqClass))
                    .asType(MethodType.methodType(Object.class, Object.class));
            has = l.findVirtual(cqClass, "hasCompletions", MethodType.methodType(boolean.class))
                    .asType(MethodType.methodType(boolean.class, Object.class));
            count = l.findVirtual(sqClass, "count", MethodType.methodType(int.class))
                    .asType(MethodType.methodType(int.class, Object.class));
            flags = l.findVirtual(sqClass, "flags", MethodType.methodType(int.class))
                    .asType(MethodType.methodType(int.class, Object.class));
            enter = (int) l.findStaticGetter(nativeClass, "IORING_SQ_CQ_OVERFLOW", int.class).invokeExact()
                    | (int) l.findStaticGetter(nativeClass, "IORING_SQ_TASKRUN", int.class).invokeExact();
        } catch (Throwable t) {
            why = t.toString();
        }
        HAS_COMPLETIONS = has;
        SQ_COUNT = count;
        SQ_FLAGS = flags;
        RING = ring;
        RING_CQ = cq;
        RING_SQ = sq;
        ENTER_FLAGS = enter;
        UNAVAILABLE = why;
    }

    private final IoHandler netty;
    private final Object completionQueue;
    private final Object submissionQueue;

    private IoUringIdleFilter(IoHandler netty, Object completionQueue, Object submissionQueue) {
        this.netty = netty;
        this.completionQueue = completionQueue;
        this.submissionQueue = submissionQueue;
    }

    /** Netty's io_uring handler factory, filtered when the ring's queues can be reached. */
    static IoHandlerFactory factory() {
        IoHandlerFactory netty = IoUringIoHandler.newFactory();
        if (!Boolean.parseBoolean(System.getProperty(ENABLED_PROPERTY, "true"))) {
            return netty;
        }
        if (UNAVAILABLE != null) {
            LOG.log(System.Logger.Level.WARNING, "io_uring idle-poll filter unavailable (" + UNAVAILABLE
                    + "); every reactor pass enters Netty's handler");
            return netty;
        }
        return executor -> wrap(netty.newHandler(executor));
    }

    private static IoHandler wrap(IoHandler handler) {
        try {
            Object ring = (Object) RING.invokeExact(handler);
            return new IoUringIdleFilter(handler, (Object) RING_CQ.invokeExact(ring),
                    (Object) RING_SQ.invokeExact(ring));
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "io_uring idle-poll filter not applied: " + t);
            return handler;
        }
    }

    /** True when Netty's non-blocking run would find nothing to submit, reap or enter for. */
    boolean idle() {
        try {
            return !(boolean) HAS_COMPLETIONS.invokeExact(completionQueue)
                    && (int) SQ_COUNT.invokeExact(submissionQueue) == 0
                    && ((int) SQ_FLAGS.invokeExact(submissionQueue) & ENTER_FLAGS) == 0;
        } catch (Throwable t) {
            // The handles are plain getters; should one ever throw, let Netty decide.
            return false;
        }
    }

    @Override
    public int run(IoHandlerContext context) {
        if (!context.canBlock() && !context.shouldReportActiveIoTime() && idle()) {
            return 0;
        }
        return netty.run(context);
    }

    @Override
    public void initialize() {
        netty.initialize();
    }

    @Override
    public void prepareToDestroy() {
        netty.prepareToDestroy();
    }

    @Override
    public void destroy() {
        netty.destroy();
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return netty.register(handle);
    }

    @Override
    public void wakeup() {
        netty.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return netty.isCompatible(handleType);
    }
}
