package io.basalt.blob;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;

import java.util.concurrent.CompletableFuture;

/**
 * Runs {@code count} asynchronous device operations with at most {@code window} in flight, in
 * order of their index, stopping to issue more at the first error. The future completes (on the
 * completions' reactor) when every issued operation is done: normally, or with -EIO naming
 * {@code what} and the first errno.
 */
final class Window {
    /** Issues operation {@code i}; it must call {@code done.ioDone(errno, null)} once, later. */
    @FunctionalInterface
    interface Op {
        void issue(int i, DeviceCallback done);
    }

    private final int count;
    private final int window;
    private final Op op;
    private final String what;
    private final CompletableFuture<Void> future = new CompletableFuture<>();
    private final DeviceCallback done = this::completed;
    private int next;
    private int inflight;
    private int first;

    private Window(int count, int window, Op op, String what) {
        this.count = count;
        this.window = window;
        this.op = op;
        this.what = what;
    }

    static CompletableFuture<Void> run(int count, int window, String what, Op op) {
        Window w = new Window(count, window, op, what);
        w.pump();
        return w.future;
    }

    private void completed(int errno, Object arg) {
        inflight--;
        if (errno != 0 && first == 0) {
            first = errno;
        }
        pump();
    }

    private void pump() {
        while (next < count && inflight < window && first == 0) {
            inflight++;
            op.issue(next++, done);
        }
        if (inflight == 0 && !future.isDone()) {
            if (first != 0) {
                future.completeExceptionally(new BasaltException(first == Errno.ENOMEM ? Errno.ENOMEM : Errno.EIO,
                        what + " failed: " + Errno.text(first)));
            } else {
                future.complete(null);
            }
        }
    }
}
