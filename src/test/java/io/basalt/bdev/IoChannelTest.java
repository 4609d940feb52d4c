package io.basalt.bdev;

import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IoChannelTest {
    private ReactorFixture fx;
    private BdevLayer layer;
    private RecordingModule mod;

    /** How one I/O ended, as its submitter saw it. */
    record Done(IoStatus status, boolean ok, int errno, String thread, boolean afterSubmitReturned) {
    }

    @FunctionalInterface
    interface Submit {
        int submit(IoChannel ch, IoCallback cb);
    }

    @BeforeEach
    void setUp() {
        fx = new ReactorFixture(2);
        layer = fx.bdevs;
        mod = new RecordingModule("test", Collections.synchronizedList(new ArrayList<>()));
        layer.addModule(mod);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private TestBdev register(String name, long blocks) throws Exception {
        TestBdev b = new TestBdev(mod, name, null, 512, blocks);
        fx.onAsync(0, () -> layer.register(b));
        return b;
    }

    /** Submits one I/O on reactor {@code r} and waits for its completion. */
    private Done run(BdevDesc d, int r, Submit s) throws Exception {
        return fx.onAsync(r, () -> {
            IoChannel ch = d.getIoChannel();
            CompletableFuture<Done> f = new CompletableFuture<>();
            boolean[] returned = new boolean[1];
            int rc = s.submit(ch, (io, ok, a) -> {
                f.complete(new Done(io.status(), ok, io.errno(), Thread.currentThread().getName(), returned[0]));
                d.putIoChannel(ch);
            });
            returned[0] = true;
            if (rc != 0) {
                f.completeExceptionally(new AssertionError("submit returned " + rc));
            }
            return f;
        });
    }

    private static MemorySegment buf(long size) {
        return Arena.ofAuto().allocate(size, 4096);
    }

    private void assertInvalid(BdevDesc d, int errno, Submit s) throws Exception {
        Done done = run(d, 1, s);
        assertThat(done.status()).isEqualTo(IoStatus.INVALID);
        assertThat(done.ok()).isFalse();
        assertThat(done.errno()).isEqualTo(errno);
        assertThat(done.thread()).isEqualTo("reactor_1");
        assertThat(done.afterSubmitReturned()).as("completed outside the submit call").isTrue();
    }

    @Test
    void everyInvalidRequestCompletesInvalidWithItsErrnoAndNeverReachesTheModule() throws Exception {
        TestBdev b = register("b0", 1024);
        b.supported = EnumSet.complementOf(EnumSet.of(IoType.COMPARE));
        BdevDesc rw = layer.open("b0", true, BdevEventHandler.IGNORE);
        BdevDesc ro = layer.open("b0", false, BdevEventHandler.IGNORE);
        MemorySegment one = buf(512);
        MemorySegment two = buf(1024);

        assertInvalid(rw, Errno.EOPNOTSUPP, (ch, cb) -> rw.compare(ch, one, 0, 0, 1, cb, null));
        assertInvalid(ro, Errno.EBADF, (ch, cb) -> ro.write(ch, one, 0, 0, 1, cb, null));
        assertInvalid(ro, Errno.EBADF, (ch, cb) -> ro.write(ch, one, 0, 0, 1, true, cb, null));
        assertInvalid(ro, Errno.EBADF, (ch, cb) -> ro.unmap(ch, 0, 1, cb, null));
        assertInvalid(ro, Errno.EBADF, (ch, cb) -> ro.writeZeroes(ch, 0, 1, cb, null));
        assertInvalid(ro, Errno.EBADF, (ch, cb) -> ro.copy(ch, 1, 0, 1, cb, null));
        long[][] ranges = {{0, 0}, {0, -1}, {-1, 1}, {1024, 1}, {1020, 5}, {1, Long.MAX_VALUE}, {Long.MAX_VALUE, 1},
            {Long.MIN_VALUE, 2}, {1025, 0}};
        for (long[] r : ranges) {
            assertInvalid(rw, Errno.EINVAL, (ch, cb) -> rw.read(ch, two, 0, r[0], r[1], cb, null));
            assertInvalid(rw, Errno.EINVAL, (ch, cb) -> rw.unmap(ch, r[0], r[1], cb, null));
        }
        assertInvalid(rw, Errno.EINVAL, (ch, cb) -> rw.copy(ch, 0, 1020, 5, cb, null));
        assertInvalid(rw, Errno.EINVAL, (ch, cb) -> rw.copy(ch, 0, -1, 1, cb, null));
        assertInvalid(rw, Errno.EINVAL, (ch, cb) -> rw.flush(ch, 1025, 0, cb, null));
        assertInvalid(rw, Errno.EFAULT, (ch, cb) -> rw.read(ch, null, 0, 0, 1, cb, null));
        assertInvalid(rw, Errno.EFAULT, (ch, cb) -> rw.read(ch, one, -1, 0, 1, cb, null));
        assertInvalid(rw, Errno.EFAULT, (ch, cb) -> rw.read(ch, one, 0, 0, 2, cb, null));
        assertInvalid(rw, Errno.EFAULT, (ch, cb) -> rw.write(ch, two, 513, 0, 1, cb, null));
        assertInvalid(rw, Errno.EFAULT, (ch, cb) -> rw.write(ch, two, Long.MAX_VALUE, 0, 1, cb, null));
        assertThat(b.submits).isEmpty();

        // Valid edge cases do reach the module.
        assertThat(run(rw, 1, (ch, cb) -> rw.read(ch, two, 0, 1022, 2, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(run(ro, 1, (ch, cb) -> ro.flush(ch, 0, 0, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(run(rw, 1, (ch, cb) -> rw.write(ch, two, 512, 1023, 1, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(b.submits).containsExactly("READ 1022+2", "FLUSH 0+0", "WRITE 1023+1");

        IoStats s = await(b.collectStats());
        assertThat(s.errorsInvalid).isEqualTo(6 + ranges.length * 2 + 3 + 5);
        assertThat(s.numReadOps()).isEqualTo(1);
        rw.close();
        ro.close();
    }

    @Test
    void aBounceLargerThanThePoolsBiggestBufferIsInvalid() throws Exception {
        TestBdev b = register("big", 16384);
        b.alignment = 4096;
        BdevDesc d = layer.open("big", false, BdevEventHandler.IGNORE);
        MemorySegment m = buf(8L << 20);
        assertInvalid(d, Errno.EINVAL, (ch, cb) -> d.read(ch, m, 512, 0, 8192 + 1, cb, null));
        d.close();
    }

    @Test
    void nomemIsRetriedUntilItSucceedsAndTheSubmitterSeesOneSuccess() throws Exception {
        TestBdev b = register("b0", 1024);
        BdevDesc d = layer.open("b0", true, BdevEventHandler.IGNORE);
        MemorySegment m = buf(4096);
        m.fill((byte) 7);
        b.nomemLeft.set(3);
        List<Done> seen = Collections.synchronizedList(new ArrayList<>());
        Done done = run(d, 1, (ch, cb) -> d.write(ch, m, 0, 8, 8, (io, ok, a) -> {
            seen.add(new Done(io.status(), ok, io.errno(), "", true));
            cb.onComplete(io, ok, a);
        }, null));
        assertThat(done.status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(seen).hasSize(1);
        assertThat(b.submits).containsExactly("WRITE 8+8", "WRITE 8+8", "WRITE 8+8", "WRITE 8+8");
        assertThat(b.data().asSlice(8 * 512, 4096).mismatch(m)).isEqualTo(-1);
        IoStats s = await(b.collectStats());
        assertThat(s.nomemRetries).isEqualTo(3);
        assertThat(s.numWriteOps()).isEqualTo(1);
        assertThat(s.errors()).isZero();

        // Many in flight, every one refused once: each still completes exactly once.
        b.completeInline = false;
        int n = 200;
        b.nomemLeft.set(n);
        List<Integer> completions = await(fx.onAsync(1, () -> {
            IoChannel ch = d.getIoChannel();
            List<Integer> got = new ArrayList<>();
            CompletableFuture<List<Integer>> f = new CompletableFuture<>();
            for (int i = 0; i < n; i++) {
                int tag = i;
                int rc = d.read(ch, buf(512), 0, i, 1, (io, ok, a) -> {
                    assertThat(ok).isTrue();
                    got.add(tag);
                    if (got.size() == n) {
                        d.putIoChannel(ch);
                        f.complete(got);
                    }
                }, null);
                assertThat(rc).isZero();
            }
            return CompletableFuture.completedFuture(f);
        }));
        assertThat(completions).hasSize(n).doesNotHaveDuplicates();
        d.close();
    }

    @Test
    void whenThePoolIsExhaustedSubmitSaysEnomemAndWaitForIoTellsWhenToRetry() throws Exception {
        TestBdev b = register("b0", 1024);
        b.hold = true;
        BdevDesc d = layer.open("b0", false, BdevEventHandler.IGNORE);
        MemorySegment m = buf(512);
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        IoCallback cb = (io, ok, a) -> events.add("done " + ok);
        IoChannel ch = fx.on(1, () -> {
            IoChannel c = d.getIoChannel();
            for (int i = 0; i < IoChannel.MAX_IOS; i++) {
                assertThat(d.read(c, m, 0, 0, 1, cb, null)).isZero();
            }
            assertThat(d.read(c, m, 0, 0, 1, cb, null)).isEqualTo(-Errno.ENOMEM);
            assertThat(d.flush(c, 0, 0, cb, null)).isEqualTo(-Errno.ENOMEM);
            assertThat(c.inflight()).isEqualTo(IoChannel.MAX_IOS);
            IoWaiter w = new IoWaiter() {
                @Override
                public void ioAvailable() {
                    events.add("available on " + Thread.currentThread().getName());
                    assertThat(d.read(c, m, 0, 0, 1, cb, null)).isZero();
                }
            };
            c.waitForIo(w);
            c.waitForIo(w);
            return c;
        });
        assertThat(events).isEmpty();
        fx.on(1, b::completeOldest);
        fx.on(1, () -> null);
        assertThat(events).containsExactly("done true", "available on reactor_1");
        fx.on(1, () -> {
            b.hold = false;
            while (b.completeOldest() != null) {
                // drain
            }
            return null;
        });
        fx.on(1, () -> null);
        assertThat(events).hasSize(2 + IoChannel.MAX_IOS);
        // With free I/O objects, a waiter is told at once, but not inside the call.
        List<String> told = fx.on(1, () -> {
            List<String> l = new ArrayList<>();
            ch.waitForIo(new IoWaiter() {
                @Override
                public void ioAvailable() {
                    l.add("told");
                }
            });
            l.add("returned");
            return l;
        });
        fx.on(1, () -> null);
        assertThat(told).containsExactly("returned", "told");
        fx.on(1, () -> {
            d.putIoChannel(ch);
            return null;
        });
        d.close();
    }

    @Test
    void aMisalignedOrHeapBufferIsBouncedForAModuleThatNeedsAlignment() throws Exception {
        TestBdev b = register("b0", 1024);
        b.alignment = 4096;
        BdevDesc d = layer.open("b0", true, BdevEventHandler.IGNORE);
        DmaBuffer dma = fx.reactors.buffers().get(3 * 4096);
        MemorySegment misaligned = dma.segment();
        for (int i = 0; i < 8192; i++) {
            misaligned.set(ValueLayout.JAVA_BYTE, 100 + i, (byte) (i * 31 + 1));
        }
        byte[] heapBytes = new byte[8192];
        for (int i = 0; i < heapBytes.length; i++) {
            heapBytes[i] = (byte) (i * 17 + 3);
        }
        MemorySegment heap = MemorySegment.ofArray(heapBytes);
        assertThat(run(d, 1, (ch, cb) -> d.write(ch, misaligned, 100, 0, 16, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(run(d, 1, (ch, cb) -> d.write(ch, heap, 0, 16, 16, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(b.data().asSlice(0, 8192).mismatch(misaligned.asSlice(100, 8192))).isEqualTo(-1);
        assertThat(b.data().asSlice(8192, 8192).mismatch(heap)).isEqualTo(-1);

        byte[] back = new byte[8192 + 7];
        MemorySegment into = MemorySegment.ofArray(back);
        assertThat(run(d, 1, (ch, cb) -> d.read(ch, into, 7, 16, 16, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(into.asSlice(7, 8192).mismatch(heap)).isEqualTo(-1);
        MemorySegment into2 = buf(8192 + 4096);
        assertThat(run(d, 1, (ch, cb) -> d.read(ch, into2, 1, 0, 16, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(into2.asSlice(1, 8192).mismatch(misaligned.asSlice(100, 8192))).isEqualTo(-1);
        // A compare is bounced too, and sees the same data.
        assertThat(run(d, 1, (ch, cb) -> d.compare(ch, heap, 0, 16, 16, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(run(d, 1, (ch, cb) -> d.compare(ch, heap, 0, 0, 16, cb, null)).status()).isEqualTo(IoStatus.MISCOMPARE);
        // An aligned native buffer goes through as it is.
        MemorySegment aligned = buf(8192);
        assertThat(run(d, 1, (ch, cb) -> d.read(ch, aligned, 4096, 0, 8, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        assertThat(b.violations).isEmpty();
        fx.reactors.buffers().put(dma);
        d.close();
    }

    @Test
    void aResetAbortsTheIoWaitingForMemoryThenCompletes() throws Exception {
        TestBdev b = register("b0", 1024);
        b.nomemWrites = true;
        BdevDesc d = layer.open("b0", true, BdevEventHandler.IGNORE);
        MemorySegment m = buf(512);
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> bothDone = new CompletableFuture<>();
        IoChannel ch = fx.on(1, () -> {
            IoChannel c = d.getIoChannel();
            d.write(c, m, 0, 0, 1, (io, ok, a) -> events.add("write " + io.status()), null);
            d.write(c, m, 0, 1, 1, (io, ok, a) -> events.add("write " + io.status()), null);
            return c;
        });
        // Let the writes be refused and queued for a retry at least once.
        while (b.submits.size() < 4) {
            Thread.onSpinWait();
        }
        fx.on(1, () -> {
            d.reset(ch, (io, ok, a) -> {
                events.add("reset " + io.status());
                bothDone.complete(null);
            }, null);
            events.add("reset returned");
            return null;
        });
        await(bothDone);
        assertThat(events).containsExactly("reset returned", "write ABORTED", "write ABORTED", "reset SUCCESS");
        IoStats s = await(b.collectStats());
        assertThat(s.errorsAborted).isEqualTo(2);
        int submitsAfter = b.submits.size();
        fx.on(1, () -> null);
        assertThat(b.submits).hasSize(submitsAfter);
        assertThat(fx.on(1, ch::inflight)).isZero();
        fx.on(1, () -> {
            d.putIoChannel(ch);
            return null;
        });
        d.close();
    }

    @Test
    void completionsInsideSubmitAreDeferredSoResubmittingNeverRecurses() throws Exception {
        register("b0", 1024);
        BdevDesc d = layer.open("b0", false, BdevEventHandler.IGNORE);
        MemorySegment m = buf(512);
        int[] depth = new int[2];
        int total = await(fx.onAsync(1, () -> {
            IoChannel ch = d.getIoChannel();
            CompletableFuture<Integer> f = new CompletableFuture<>();
            int[] count = new int[1];
            IoCallback again = new IoCallback() {
                @Override
                public void onComplete(BdevIo io, boolean ok, Object arg) {
                    depth[0]++;
                    depth[1] = Math.max(depth[1], depth[0]);
                    if (++count[0] < 50_000) {
                        d.read(ch, m, 0, count[0] % 1024, 1, this, null);
                    } else {
                        d.putIoChannel(ch);
                        f.complete(count[0]);
                    }
                    depth[0]--;
                }
            };
            d.read(ch, m, 0, 0, 1, again, null);
            return CompletableFuture.completedFuture(f);
        }));
        assertThat(total).isEqualTo(50_000);
        assertThat(depth[1]).isEqualTo(1);
        d.close();
    }

    @Test
    void aModuleThatThrowsFailsTheIoAndCompletingTwiceIsRefused() throws Exception {
        TestBdev b = new TestBdev(mod, "b0", null, 512, 64) {
            @Override
            protected void submit(IoChannel ch, BdevIo io) {
                if (io.type() == IoType.READ) {
                    throw new IllegalStateException("test: module bug");
                }
                io.complete(IoStatus.SUCCESS);
                assertThatThrownBy(() -> io.complete(IoStatus.SUCCESS)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("completed twice");
            }
        };
        fx.onAsync(0, () -> layer.register(b));
        BdevDesc d = layer.open("b0", true, BdevEventHandler.IGNORE);
        Done r = run(d, 1, (ch, cb) -> d.read(ch, buf(512), 0, 0, 1, cb, null));
        assertThat(r.status()).isEqualTo(IoStatus.FAILED);
        assertThat(r.errno()).isEqualTo(Errno.EIO);
        assertThat(run(d, 1, (ch, cb) -> d.unmap(ch, 0, 1, cb, null)).status()).isEqualTo(IoStatus.SUCCESS);
        d.close();
    }

    @Test
    void oneChannelPerBdevAndReactorWithItsModuleContext() throws Exception {
        TestBdev b = register("b0", 64);
        BdevDesc d = layer.open("b0", false, BdevEventHandler.IGNORE);
        IoChannel a0 = fx.on(0, d::getIoChannel);
        IoChannel a0again = fx.on(0, d::getIoChannel);
        IoChannel a1 = fx.on(1, d::getIoChannel);
        assertThat(a0again).isSameAs(a0);
        assertThat(a1).isNotSameAs(a0);
        assertThat(a0.ctx()).isEqualTo("ctx-0");
        assertThat(a1.ctx()).isEqualTo("ctx-1");
        assertThat(a1.bdev()).isSameAs(b);
        assertThat(a1.reactor()).isSameAs(fx.reactors.get(1));
        assertThat(layer.channelCount(b)).isEqualTo(2);
        assertThatThrownBy(() -> d.putIoChannel(a1)).isInstanceOf(IllegalStateException.class);
        fx.on(0, () -> {
            d.putIoChannel(a0);
            d.putIoChannel(a0);
            assertThatThrownBy(() -> d.putIoChannel(a0)).isInstanceOf(IllegalStateException.class);
            return null;
        });
        fx.on(1, () -> {
            d.putIoChannel(a1);
            // Put then taken again at once: the same channel lives on.
            assertThat(d.getIoChannel()).isSameAs(a1);
            d.putIoChannel(a1);
            return null;
        });
        fx.on(0, () -> null);
        fx.on(1, () -> null);
        assertThat(layer.channelCount(b)).isZero();
        assertThat(b.channelsDestroyed.get()).isEqualTo(2);
        TestBdev other = register("other", 8);
        BdevDesc od = layer.open("other", false, BdevEventHandler.IGNORE);
        assertThatThrownBy(() -> fx.on(1, () -> {
            IoChannel c = d.getIoChannel();
            try {
                return od.read(c, buf(512), 0, 0, 1, (io, ok, a) -> { }, null);
            } finally {
                d.putIoChannel(c);
            }
        })).isInstanceOf(IllegalArgumentException.class);
        assertThat(other.submits).isEmpty();
        d.close();
        od.close();
    }
}
