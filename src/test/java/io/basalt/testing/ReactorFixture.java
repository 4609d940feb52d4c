package io.basalt.testing;

import io.basalt.bdev.BdevLayer;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Real reactors and a bdev layer for unit tests, with helpers to run code on a reactor and wait
 * for it from the test thread.
 */
public final class ReactorFixture implements AutoCloseable {
    public final ReactorGroup reactors;
    public final BdevLayer bdevs;

    public ReactorFixture(int reactorCount) {
        reactors = ReactorGroup.start(reactorCount);
        bdevs = new BdevLayer(reactors);
    }

    public Reactor app() {
        return reactors.app();
    }

    /** Runs {@code fn} on reactor {@code i} and returns its result (rethrowing its failure). */
    public <T> T on(int i, Callable<T> fn) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        reactors.get(i).send(() -> {
            try {
                f.complete(fn.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return await(f);
    }

    /** Runs {@code fn} on reactor i, which returns a future; waits for that future. */
    public <T> T onAsync(int i, Callable<CompletableFuture<T>> fn) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        reactors.get(i).send(() -> {
            try {
                fn.call().whenComplete((v, t) -> {
                    if (t != null) {
                        f.completeExceptionally(t);
                    } else {
                        f.complete(v);
                    }
                });
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return await(f);
    }

    public static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            bdevs.fini().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the test already failed or left something open; stop anyway
        }
        reactors.close();
    }
}
