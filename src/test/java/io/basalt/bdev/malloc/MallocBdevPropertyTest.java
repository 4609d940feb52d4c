package io.basalt.bdev.malloc;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.testing.ReactorFixture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

/** Random I/O sequences on a malloc bdev, checked against a byte array that does the same. */
class MallocBdevPropertyTest {
    private static final int BS = 512;
    private static final int BLOCKS = 64;
    private static ReactorFixture fx;
    private static MallocModule malloc;
    private static final AtomicInteger NAMES = new AtomicInteger();

    enum Kind { WRITE, READ, UNMAP, WRITE_ZEROES, COPY, COMPARE, COMPARE_CORRUPT, FLUSH }

    record Op(Kind kind, long off, long n, long src, byte seed) {
    }

    @BeforeContainer
    static void start() {
        fx = new ReactorFixture(2);
        malloc = new MallocModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
    }

    @AfterContainer
    static void stop() {
        fx.close();
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(Arbitraries.of(Kind.class), Arbitraries.longs().between(-2, BLOCKS + 2),
                Arbitraries.longs().between(-1, 10), Arbitraries.longs().between(-1, BLOCKS), Arbitraries.bytes())
                .as(Op::new);
        return op.list().ofMinSize(1).ofMaxSize(40);
    }

    private static boolean inRange(long off, long n) {
        return off >= 0 && n >= 1 && off <= BLOCKS && n <= BLOCKS - off;
    }

    @Property(tries = 60)
    void aMallocBdevBehavesLikeAnArrayOfBlocks(@ForAll("ops") List<Op> ops) throws Exception {
        String name = "pm" + NAMES.incrementAndGet();
        fx.on(0, () -> malloc.create(name, null, BS, BLOCKS, BS, 0));
        byte[] model = new byte[BS * BLOCKS];
        BdevDesc d = fx.bdevs.open(name, true, BdevEventHandler.IGNORE);
        MemorySegment buf = Arena.ofAuto().allocate(BS * 16L, 4096);
        try {
            for (Op op : ops) {
                boolean valid = switch (op.kind()) {
                    case FLUSH -> op.off() >= 0 && op.n() >= 0 && op.off() <= BLOCKS && op.n() <= BLOCKS - op.off();
                    case COPY -> inRange(op.off(), op.n()) && inRange(op.src(), op.n());
                    default -> inRange(op.off(), op.n());
                };
                long bytes = Math.max(0, op.n()) * BS;
                if (op.kind() == Kind.WRITE) {
                    for (int i = 0; i < Math.min(bytes, buf.byteSize()); i++) {
                        buf.set(ValueLayout.JAVA_BYTE, i, (byte) (op.seed() + i * 13));
                    }
                }
                if ((op.kind() == Kind.COMPARE || op.kind() == Kind.COMPARE_CORRUPT) && valid) {
                    MemorySegment.copy(MemorySegment.ofArray(model), op.off() * BS, buf, 0, bytes);
                    if (op.kind() == Kind.COMPARE_CORRUPT) {
                        int at = (int) Math.floorMod(op.seed() * 31L, bytes);
                        buf.set(ValueLayout.JAVA_BYTE, at, (byte) (buf.get(ValueLayout.JAVA_BYTE, at) ^ 0x5a));
                    }
                }
                IoStatus st = fx.onAsync(1, () -> {
                    IoChannel ch = d.getIoChannel();
                    CompletableFuture<IoStatus> f = new CompletableFuture<>();
                    IoCallback cb = (io, ok, a) -> {
                        f.complete(io.status());
                        d.putIoChannel(ch);
                    };
                    int rc = switch (op.kind()) {
                        case WRITE -> d.write(ch, buf, 0, op.off(), op.n(), cb, null);
                        case READ -> d.read(ch, buf, 0, op.off(), op.n(), cb, null);
                        case UNMAP -> d.unmap(ch, op.off(), op.n(), cb, null);
                        case WRITE_ZEROES -> d.writeZeroes(ch, op.off(), op.n(), cb, null);
                        case COPY -> d.copy(ch, op.off(), op.src(), op.n(), cb, null);
                        case COMPARE, COMPARE_CORRUPT -> d.compare(ch, buf, 0, op.off(), op.n(), cb, null);
                        case FLUSH -> d.flush(ch, op.off(), op.n(), cb, null);
                    };
                    assertThat(rc).isZero();
                    return f;
                });
                if (!valid) {
                    assertThat(st).as(op.toString()).isEqualTo(IoStatus.INVALID);
                    continue;
                }
                IoStatus want = op.kind() == Kind.COMPARE_CORRUPT ? IoStatus.MISCOMPARE : IoStatus.SUCCESS;
                assertThat(st).as(op.toString()).isEqualTo(want);
                int o = (int) (op.off() * BS);
                switch (op.kind()) {
                    case WRITE -> MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, model, o, (int) bytes);
                    case UNMAP, WRITE_ZEROES -> Arrays.fill(model, o, o + (int) bytes, (byte) 0);
                    case COPY -> System.arraycopy(model, (int) (op.src() * BS), model, o, (int) bytes);
                    case READ -> assertThat(buf.asSlice(0, bytes).toArray(ValueLayout.JAVA_BYTE))
                            .as(op.toString()).isEqualTo(Arrays.copyOfRange(model, o, o + (int) bytes));
                    default -> {
                    }
                }
            }
        } finally {
            d.close();
            await(fx.on(0, () -> malloc.delete(name)));
        }
    }
}
