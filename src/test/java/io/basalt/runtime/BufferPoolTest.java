package io.basalt.runtime;

import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BufferPoolTest {
    @Test
    void buffersAre4KiBAlignedInPowerOfTwoClasses() {
        BufferPool p = new BufferPool(64L << 20, 0);
        int[][] cases = {{1, 4096}, {4096, 4096}, {4097, 8192}, {8192, 8192}, {12288, 16384}, {65536, 65536},
            {(1 << 20) + 1, 2 << 20}, {4 << 20, 4 << 20}};
        for (int[] c : cases) {
            DmaBuffer b = p.get(c[0]);
            assertThat(b.capacity()).as("size %d", c[0]).isEqualTo(c[1]);
            assertThat(b.address() % BufferPool.ALIGN).isZero();
            assertThat(b.segment().isNative()).isTrue();
            assertThat(b.nio().capacity()).isEqualTo(c[1]);
            assertThat(b.nio().isDirect()).isTrue();
            p.put(b);
        }
        assertThat(BufferPool.maxBufferSize()).isEqualTo(4 << 20);
        for (int bad : new int[] {0, -1, (4 << 20) + 1, Integer.MAX_VALUE}) {
            assertThatThrownBy(() -> p.get(bad)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aReturnedBufferIsReusedAndBuffersNeverOverlap() {
        BufferPool p = new BufferPool(64L << 20, 0);
        DmaBuffer a = p.get(4096);
        p.put(a);
        assertThat(p.get(100)).isSameAs(a);
        List<DmaBuffer> held = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            held.add(p.get(4096));
        }
        held.sort((x, y) -> Long.compare(x.address(), y.address()));
        for (int i = 1; i < held.size(); i++) {
            assertThat(held.get(i).address()).isGreaterThanOrEqualTo(held.get(i - 1).address() + 4096);
        }
    }

    @Test
    void atTheLimitGetReturnsNullUntilABufferComesBack() {
        BufferPool p = new BufferPool(64 << 10, 0);
        List<DmaBuffer> held = new ArrayList<>();
        DmaBuffer b;
        while ((b = p.get(4096)) != null) {
            held.add(b);
            assertThat(held.size()).isLessThanOrEqualTo(16);
        }
        assertThat(held).hasSize(16);
        assertThat(p.slabBytes()).isLessThanOrEqualTo(p.limitBytes());
        assertThat(p.get(8192)).isNull();
        p.put(held.remove(0));
        assertThat(p.get(4096)).isNotNull();
        assertThat(p.get(4096)).isNull();
    }

    @Test
    void onReactorsTheLimitHoldsTooAndBuffersMoveBetweenReactors() throws Exception {
        try (ReactorGroup g = ReactorGroup.start(new int[] {0, 1}, 1 << 20, ReactorGroup.DEFAULT_SPIN_NANOS)) {
            BufferPool p = g.buffers();
            List<DmaBuffer> got = await(g.get(0).call(() -> {
                List<DmaBuffer> l = new ArrayList<>();
                DmaBuffer b;
                while ((b = p.get(4096)) != null) {
                    l.add(b);
                }
                return l;
            }));
            assertThat(got).hasSize(256);
            assertThat(p.slabBytes()).isLessThanOrEqualTo(1 << 20);
            // Put on reactor 1 (not the reactor that took them), then take them all again there.
            List<DmaBuffer> again = await(g.get(1).call(() -> {
                got.forEach(p::put);
                List<DmaBuffer> l = new ArrayList<>();
                DmaBuffer b;
                while ((b = p.get(4096)) != null) {
                    l.add(b);
                }
                return l;
            }));
            assertThat(again).hasSize(256);
            assertThat(Set.copyOf(again)).isEqualTo(Set.copyOf(got));
            // And from a plain thread, back to the shared lists.
            again.forEach(p::put);
            int n = 0;
            while (p.get(4096) != null) {
                n++;
            }
            // Buffers parked in reactor caches are not reachable from other threads; the rest are.
            assertThat(n).isBetween(1, 256);
        }
    }

    @Test
    void concurrentReactorsAndThreadsNeverGetTheSameBufferTwice() throws Exception {
        try (ReactorGroup g = ReactorGroup.start(new int[] {0, 1}, 256L << 20, ReactorGroup.DEFAULT_SPIN_NANOS)) {
            BufferPool p = g.buffers();
            Set<DmaBuffer> inUse = ConcurrentHashMap.newKeySet();
            AtomicReference<String> failure = new AtomicReference<>();
            int workers = 4;
            CountDownLatch done = new CountDownLatch(workers);
            Runnable work = () -> {
                try {
                    List<DmaBuffer> mine = new ArrayList<>();
                    for (int i = 0; i < 20_000; i++) {
                        if (mine.size() < 50 && (i % 3 != 0 || mine.isEmpty())) {
                            DmaBuffer b = p.get(4096 << (i % 3));
                            if (!inUse.add(b)) {
                                failure.compareAndSet(null, "buffer handed out twice");
                            }
                            b.segment().set(ValueLayout.JAVA_LONG, 0, Thread.currentThread().threadId());
                            mine.add(b);
                        } else {
                            DmaBuffer b = mine.remove(mine.size() - 1);
                            if (b.segment().get(ValueLayout.JAVA_LONG, 0) != Thread.currentThread().threadId()) {
                                failure.compareAndSet(null, "buffer written by someone else");
                            }
                            inUse.remove(b);
                            p.put(b);
                        }
                    }
                    mine.forEach(b -> {
                        inUse.remove(b);
                        p.put(b);
                    });
                } catch (Throwable t) {
                    failure.compareAndSet(null, t.toString());
                } finally {
                    done.countDown();
                }
            };
            g.get(0).send(work);
            g.get(1).send(work);
            Thread.ofPlatform().start(work);
            // A reactor of another group uses this pool: it must not touch reactor 0's cache.
            try (ReactorGroup other = ReactorGroup.start(1)) {
                other.app().send(work);
                assertThat(done.await(120, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(failure.get()).isNull();
        }
    }

    @Test
    void classesAndCachesAreSized() {
        assertThat(BufferPool.classOf(1)).isZero();
        assertThat(BufferPool.classOf(4096)).isZero();
        assertThat(BufferPool.classOf(4097)).isEqualTo(1);
        assertThat(BufferPool.classOf(4 << 20)).isEqualTo(10);
        Map<Integer, Integer> caps = new IdentityHashMap<>();
        for (int c = 0; c <= 10; c++) {
            assertThat(BufferPool.cacheCapacity(c)).isGreaterThanOrEqualTo(4);
            caps.put(c, BufferPool.cacheCapacity(c));
        }
        assertThat(caps.get(0)).isEqualTo(256);
    }
}
