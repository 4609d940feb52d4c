package io.basalt.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReactorTest {
    private ReactorGroup group;

    private Reactor start(long spinNanos) {
        group = ReactorGroup.start(new int[] {0}, 64L << 20, spinNanos);
        return group.app();
    }

    @AfterEach
    void stop() {
        if (group != null) {
            group.close();
        }
    }

    @Test
    void messagesFromManyThreadsArriveExactlyOnceInPerSenderOrder() throws Exception {
        Reactor r = start(ReactorGroup.DEFAULT_SPIN_NANOS);
        int senders = 8;
        int perSender = 20_000;
        // Touched only on the reactor thread.
        List<List<Integer>> seen = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            seen.add(new ArrayList<>());
        }
        CountDownLatch done = new CountDownLatch(senders * perSender);
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            int sender = s;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perSender; i++) {
                    int seq = i;
                    r.send(() -> {
                        r.assertInReactor();
                        seen.get(sender).add(seq);
                        done.countDown();
                    });
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
        List<List<Integer>> copy = await(r.call(() -> {
            List<List<Integer>> c = new ArrayList<>();
            seen.forEach(l -> c.add(List.copyOf(l)));
            return c;
        }));
        for (List<Integer> l : copy) {
            assertThat(l).hasSize(perSender);
            for (int i = 0; i < perSender; i++) {
                assertThat(l.get(i)).isEqualTo(i);
            }
        }
    }

    @Test
    void deferredWorkRunsLaterInOrderAndGrowsPastTheInitialRing() throws Exception {
        Reactor r = start(ReactorGroup.DEFAULT_SPIN_NANOS);
        List<Integer> order = await(r.callAsync(() -> {
            List<Integer> out = new ArrayList<>();
            CompletableFuture<List<Integer>> f = new CompletableFuture<>();
            for (int i = 0; i < 5000; i++) {
                int n = i;
                if (n % 2 == 0) {
                    r.deferTask(() -> out.add(n));
                } else {
                    r.defer(() -> out.add(n));
                }
            }
            // Nothing ran inside the calls above.
            assertThat(out).isEmpty();
            r.deferTask(() -> f.complete(out));
            return f;
        }));
        assertThat(order).hasSize(5000);
        for (int i = 0; i < 5000; i++) {
            assertThat(order.get(i)).isEqualTo(i);
        }
    }

    @Test
    void selfReschedulingDeferredWorkDoesNotStarveMessagesPollersOrTimers() throws Exception {
        Reactor r = start(ReactorGroup.DEFAULT_SPIN_NANOS);
        AtomicInteger spins = new AtomicInteger();
        boolean[] stop = new boolean[1];
        r.send(new Runnable() {
            @Override
            public void run() {
                spins.incrementAndGet();
                if (!stop[0]) {
                    r.deferTask(this);
                }
            }
        });
        CompletableFuture<Void> polled = new CompletableFuture<>();
        r.send(() -> r.registerPoller(() -> {
            polled.complete(null);
            return 0;
        }, 0, TimeUnit.MILLISECONDS));
        CompletableFuture<Void> timer = new CompletableFuture<>();
        r.schedule(() -> timer.complete(null), 1, TimeUnit.MILLISECONDS);
        await(polled);
        await(timer);
        await(r.call(() -> stop[0] = true));
        assertThat(spins.get()).isPositive();
    }

    @Test
    void aMessageThatKeepsSendingItselfDoesNotStarveDeferredWorkOrPollers() throws Exception {
        Reactor r = start(ReactorGroup.DEFAULT_SPIN_NANOS);
        boolean[] stop = new boolean[1];
        long[] floods = new long[1];
        r.send(new Runnable() {
            @Override
            public void run() {
                floods[0]++;
                if (!stop[0]) {
                    r.send(this);
                }
            }
        });
        CompletableFuture<Integer> chain = new CompletableFuture<>();
        CompletableFuture<Void> polled = new CompletableFuture<>();
        r.send(() -> {
            r.deferTask(new Runnable() {
                int steps;

                @Override
                public void run() {
                    if (++steps == 1000) {
                        chain.complete(steps);
                    } else {
                        r.deferTask(this);
                    }
                }
            });
            Poller.Registration[] reg = new Poller.Registration[1];
            reg[0] = r.registerPoller(() -> {
                reg[0].unregister();
                polled.complete(null);
                return 1;
            }, 0, TimeUnit.MILLISECONDS);
        });
        assertThat(await(chain)).isEqualTo(1000);
        await(polled);
        await(r.call(() -> stop[0] = true));
        assertThat(await(r.call(() -> floods[0]))).isPositive();
    }

    @Test
    void pollerWithoutPeriodRunsEveryIterationUntilItUnregisters() throws Exception {
        Reactor r = start(ReactorGroup.DEFAULT_SPIN_NANOS);
        int[] count = new int[1];
        CompletableFuture<Void> done = new CompletableFuture<>();
        await(r.call(() -> {
            Poller.Registration[] reg = new Poller.Registration[1];
            reg[0] = r.registerPoller(() -> {
                r.assertInReactor();
                if (++count[0] == 100) {
                    reg[0].unregister();
                    done.complete(null);
                }
                return 1;
            }, 0, TimeUnit.MILLISECONDS);
            return null;
        }));
        await(done);
        // A few more loop iterations: the count must not move any more.
        for (int i = 0; i < 5; i++) {
            await(r.call(() -> null));
        }
        assertThat(await(r.call(() -> count[0]))).isEqualTo(100);
    }

    @Test
    void pollerWithPeriodRunsOnATimerEvenWhileParkedAndStopsWhenUnregistered() throws Exception {
        Reactor r = start(0);
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch three = new CountDownLatch(3);
        long t0 = System.nanoTime();
        Poller.Registration reg = await(r.call(() -> r.registerPoller(() -> {
            r.assertInReactor();
            runs.incrementAndGet();
            three.countDown();
            return 0;
        }, 5, TimeUnit.MILLISECONDS)));
        assertThat(three.await(30, TimeUnit.SECONDS)).isTrue();
        // Lower bound only: three periods must have passed.
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(15));
        await(r.call(() -> {
            reg.unregister();
            return null;
        }));
        int after = runs.get();
        CompletableFuture<Void> later = new CompletableFuture<>();
        r.schedule(() -> later.complete(null), 25, TimeUnit.MILLISECONDS);
        await(later);
        assertThat(runs.get()).isEqualTo(after);
        assertThat(r.loopCounters()[2]).as("parks").isPositive();
    }

    @Test
    void timerRunsOnceOnTheReactorAfterItsDelay() throws Exception {
        Reactor r = start(0);
        AtomicInteger runs = new AtomicInteger();
        CompletableFuture<Long> ran = new CompletableFuture<>();
        long t0 = System.nanoTime();
        Thread.ofVirtual().start(() -> r.schedule(() -> {
            r.assertInReactor();
            runs.incrementAndGet();
            ran.complete(System.nanoTime());
        }, 20, TimeUnit.MILLISECONDS));
        long at = await(ran);
        assertThat(at - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(20));
        CompletableFuture<Void> later = new CompletableFuture<>();
        r.schedule(() -> later.complete(null), 20, TimeUnit.MILLISECONDS);
        await(later);
        assertThat(runs.get()).isEqualTo(1);
    }

    @Test
    void aParkedReactorWakesForAMessageFromAnotherThread() throws Exception {
        Reactor r = start(0);
        for (int i = 0; i < 20; i++) {
            long parks = r.loopCounters()[2];
            int n = i;
            assertThat(await(r.call(() -> n))).isEqualTo(n);
            // It parks again once idle (spin 0); the next message must wake it.
            while (r.loopCounters()[2] <= parks) {
                Thread.sleep(1);
            }
        }
    }

    @Test
    void stopRunsQueuedMessagesAndTheirDeferredWorkThenEndsDespiteAPendingTimer() throws Exception {
        Reactor r = start(ReactorGroup.DEFAULT_SPIN_NANOS);
        AtomicInteger ran = new AtomicInteger();
        AtomicInteger deferred = new AtomicInteger();
        r.schedule(() -> ran.addAndGet(1_000_000), 1, TimeUnit.HOURS);
        for (int i = 0; i < 1000; i++) {
            r.send(() -> {
                ran.incrementAndGet();
                r.deferTask(deferred::incrementAndGet);
            });
        }
        group.close();
        await(r.terminationFuture());
        assertThat(r.thread().isAlive()).isFalse();
        assertThat(ran.get()).isEqualTo(1000);
        assertThat(deferred.get()).isEqualTo(1000);
        group = null;
    }

    @Test
    void failingMessagesPollersAndDeferredWorkDoNotKillTheReactor() throws Exception {
        Reactor r = start(ReactorGroup.DEFAULT_SPIN_NANOS);
        r.send(() -> {
            throw new IllegalStateException("test: message fails");
        });
        await(r.call(() -> {
            r.deferTask(() -> {
                throw new IllegalStateException("test: deferred work fails");
            });
            Poller.Registration[] reg = new Poller.Registration[1];
            reg[0] = r.registerPoller(() -> {
                reg[0].unregister();
                throw new IllegalStateException("test: poller fails");
            }, 0, TimeUnit.MILLISECONDS);
            return null;
        }));
        for (int i = 0; i < 3; i++) {
            assertThat(await(r.call(() -> 7))).isEqualTo(7);
        }
        assertThat(r.terminationFuture()).isNotDone();
    }

    @Test
    void threadChecksCallAndCallAsync() throws Exception {
        Reactor r = start(ReactorGroup.DEFAULT_SPIN_NANOS);
        assertThat(Reactor.current()).isNull();
        assertThat(r.inReactor()).isFalse();
        assertThatThrownBy(r::assertInReactor).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("reactor_0");
        assertThatThrownBy(() -> r.registerPoller(() -> 0, 0, TimeUnit.MILLISECONDS))
                .isInstanceOf(IllegalStateException.class);
        assertThat(await(r.call(() -> Reactor.current()))).isSameAs(r);
        // On the reactor, call runs inline.
        assertThat(await(r.call(() -> {
            int[] x = new int[1];
            r.call(() -> x[0] = 5);
            return x[0];
        }))).isEqualTo(5);
        CompletableFuture<Integer> failed = r.call(() -> {
            throw new IllegalArgumentException("test");
        });
        assertThatThrownBy(() -> await(failed)).isInstanceOf(IllegalArgumentException.class);
        assertThat(await(r.callAsync(() -> {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            r.schedule(() -> f.complete(9), 1, TimeUnit.MILLISECONDS);
            return f;
        }))).isEqualTo(9);
        CompletableFuture<Integer> failedAsync = r.callAsync(
                () -> CompletableFuture.failedFuture(new BasaltException(Errno.EIO, "test")));
        assertThatThrownBy(() -> await(failedAsync)).isInstanceOf(BasaltException.class);
        assertThat(r.toString()).isEqualTo("reactor_0");
        assertThat(r.eventLoop()).isNotNull();
    }
}
