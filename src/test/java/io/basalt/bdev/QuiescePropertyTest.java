package io.basalt.bdev;

import io.basalt.runtime.Reactor;
import io.basalt.testing.ReactorFixture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random interleavings of I/O, module completions, quiesce and unquiesce: an I/O is never handed
 * to the module while a quiesced range that covers it is in force, a quiesce completes only when
 * no overlapping I/O is with the module, and in the end every I/O completed exactly once.
 */
class QuiescePropertyTest {
    private static final int BLOCKS = 64;
    private static ReactorFixture fx;
    private static RecordingModule mod;
    private static final AtomicInteger NAMES = new AtomicInteger();

    enum Kind { SUBMIT, COMPLETE, QUIESCE, UNQUIESCE, FLUSH }

    record Step(Kind kind, int a, int b) {
    }

    @BeforeContainer
    static void start() {
        fx = new ReactorFixture(1);
        mod = new RecordingModule("test", new ArrayList<>());
        fx.bdevs.addModule(mod);
    }

    @AfterContainer
    static void stop() {
        fx.close();
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Step> s = Combinators.combine(
                Arbitraries.frequency(Tuple.of(4, Kind.SUBMIT), Tuple.of(2, Kind.COMPLETE), Tuple.of(1, Kind.QUIESCE),
                        Tuple.of(1, Kind.UNQUIESCE), Tuple.of(1, Kind.FLUSH)),
                Arbitraries.integers().between(0, BLOCKS - 1), Arbitraries.integers().between(1, 12)).as(Step::new);
        return s.list().ofMinSize(1).ofMaxSize(60);
    }

    /** All state below is touched only on the single reactor. */
    private static final class Run {
        final Map<Integer, long[]> submitted = new HashMap<>();
        final Map<Integer, Integer> completions = new HashMap<>();
        /** Quiesced ranges whose quiesce completed and that are not unquiesced yet. */
        final List<LockedRange> inForce = new ArrayList<>();
        final List<String> violations = new ArrayList<>();
        int nextTag;
    }

    @Property(tries = 100)
    void quiesceNeverLetsOverlappingIoThroughAndNeverLosesOrDuplicatesOne(@ForAll("steps") List<Step> steps)
            throws Exception {
        Run run = new Run();
        Reactor r = fx.app();
        TestBdev b = new TestBdev(mod, "q" + NAMES.incrementAndGet(), null, 512, BLOCKS) {
            @Override
            protected void submit(IoChannel ch, BdevIo io) {
                long off = io.type() == IoType.FLUSH ? 0 : io.offsetBlocks();
                long n = io.type() == IoType.FLUSH ? BLOCKS : io.numBlocks();
                for (LockedRange lr : run.inForce) {
                    if (lr.overlaps(off, n)) {
                        run.violations.add(TestBdev.key(io) + " reached the module inside " + lr);
                    }
                }
                super.submit(ch, io);
            }
        };
        b.hold = true;
        fx.onAsync(0, () -> fx.bdevs.register(b));
        BdevDesc d = fx.bdevs.open(b.name(), true, BdevEventHandler.IGNORE);
        MemorySegment buf = Arena.ofAuto().allocate(12 * 512, 4096);
        IoChannel ch = fx.on(0, d::getIoChannel);
        List<CompletableFuture<LockedRange>> quiesces = new ArrayList<>();
        for (Step s : steps) {
            fx.on(0, () -> {
                switch (s.kind()) {
                    case SUBMIT, FLUSH -> {
                        int tag = run.nextTag++;
                        int n = Math.min(s.b(), BLOCKS - s.a());
                        run.submitted.put(tag, new long[] {s.a(), n});
                        IoCallback cb = (io, ok, arg) -> {
                            run.completions.merge(tag, 1, Integer::sum);
                            if (!ok) {
                                run.violations.add("I/O " + tag + " failed: " + io.status());
                            }
                        };
                        int rc = s.kind() == Kind.FLUSH ? d.flush(ch, 0, 0, cb, null)
                                : d.read(ch, buf, 0, s.a(), n, cb, null);
                        assertThat(rc).isZero();
                    }
                    case COMPLETE -> {
                        if (!b.held.isEmpty()) {
                            List<BdevIo> l = new ArrayList<>(b.held);
                            BdevIo io = l.get(s.a() % l.size());
                            b.held.remove(io);
                            b.execute(io);
                        }
                    }
                    case QUIESCE -> {
                        int n = Math.min(s.b(), BLOCKS - s.a());
                        CompletableFuture<LockedRange> q = b.quiesceRange(s.a(), n);
                        quiesces.add(q);
                        q.thenAccept(lr -> {
                            for (BdevIo io : b.held) {
                                long off = io.type() == IoType.FLUSH ? 0 : io.offsetBlocks();
                                long len = io.type() == IoType.FLUSH ? BLOCKS : io.numBlocks();
                                if (lr.overlaps(off, len)) {
                                    run.violations.add("quiesce " + lr + " done while " + TestBdev.key(io) + " is in flight");
                                }
                            }
                            run.inForce.add(lr);
                        });
                    }
                    case UNQUIESCE -> {
                        if (!run.inForce.isEmpty()) {
                            LockedRange lr = run.inForce.remove(s.a() % run.inForce.size());
                            b.unquiesceRange(lr);
                        }
                    }
                }
                return null;
            });
        }
        // Drain: unquiesce what is in force, complete what the module holds, until nothing is left.
        for (int round = 0; round < 1000; round++) {
            boolean idle = fx.on(0, () -> {
                for (LockedRange lr : List.copyOf(run.inForce)) {
                    run.inForce.remove(lr);
                    b.unquiesceRange(lr);
                }
                while (!b.held.isEmpty()) {
                    b.execute(b.held.poll());
                }
                return run.completions.size() == run.submitted.size() && quiesces.stream().allMatch(CompletableFuture::isDone)
                        && run.inForce.isEmpty();
            });
            if (idle) {
                break;
            }
        }
        List<String> violations = fx.on(0, () -> new ArrayList<>(run.violations));
        assertThat(violations).isEmpty();
        Map<Integer, Integer> completions = fx.on(0, () -> new HashMap<>(run.completions));
        assertThat(completions.keySet()).isEqualTo(run.submitted.keySet());
        assertThat(completions.values()).allMatch(c -> c == 1);
        assertThat(quiesces).allMatch(CompletableFuture::isDone);
        fx.on(0, () -> {
            d.putIoChannel(ch);
            return null;
        });
        d.close();
        ReactorFixture.await(fx.on(0, () -> fx.bdevs.unregister(b)));
    }
}
