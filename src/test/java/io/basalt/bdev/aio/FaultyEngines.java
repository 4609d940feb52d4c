package io.basalt.bdev.aio;

import io.basalt.runtime.Reactor;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Wraps real engines (the reactor's io_uring or the fallback pool) and lets a test shorten,
 * refuse or rewrite operations: the operations still go to the kernel, so a shortened read really
 * reads fewer bytes and the module must continue it. Records every submitted operation.
 */
final class FaultyEngines implements AioEngine.Factory {
    /** What to do to operations; every method is called on the channel's reactor. */
    interface Fault {
        /** The length to really submit (shorter = a short transfer). */
        default long length(Op op) {
            return op.length();
        }

        /** 0 to submit, or a -errno that the submit returns instead. */
        default int refuse(Op op) {
            return 0;
        }

        /** The result to report for a completed operation (as submitted, after {@link #length}). */
        default int result(Op op, int result) {
            return result;
        }
    }

    /** One submitted operation, as the engine saw it. */
    record Op(int op, long offset, long length, int flags) {
    }

    static final Fault NONE = new Fault() {
    };

    private final AioEngine.Factory real;
    volatile Fault fault = NONE;
    final List<Op> ops = new CopyOnWriteArrayList<>();
    final AtomicInteger submits = new AtomicInteger();

    FaultyEngines(AioEngine.Factory real) {
        this.real = real;
    }

    long count(int op) {
        return ops.stream().filter(o -> o.op() == op).count();
    }

    @Override
    public String kind() {
        return real.kind();
    }

    @Override
    public AioEngine create(Reactor reactor, AioEngine.Completion sink) {
        Op[] opOfTag = new Op[1 << 16];
        AioEngine inner = real.create(reactor, (tag, res) -> sink.complete(tag, fault.result(opOfTag[tag], res)));
        return new AioEngine() {
            @Override
            public int submit(int tag, int op, int fd, long offset, long address, long length, int flags) {
                submits.incrementAndGet();
                Fault f = fault;
                Op asked = new Op(op, offset, length, flags);
                int refuse = f.refuse(asked);
                if (refuse != 0) {
                    return refuse;
                }
                Op sent = new Op(op, offset, f.length(asked), flags);
                ops.add(sent);
                opOfTag[tag] = sent;
                return inner.submit(tag, op, fd, offset, address, sent.length(), flags);
            }

            @Override
            public void close() {
                inner.close();
            }
        };
    }
}
