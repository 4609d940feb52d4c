package io.basalt.bdev.aio;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Transport;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static io.basalt.bdev.aio.AioTestKit.Req;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The aio data path on real files in /tmp (ext4 here, O_DIRECT) with real reactors and their
 * io_uring: many I/Os in flight, short transfers, errors, retries, flush, fallocate modes.
 */
class AioIoTest {
    private static final int BS = 512;
    private final List<Path> files = new ArrayList<>();
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void cleanUp() throws Exception {
        for (Path p : files) {
            Files.deleteIfExists(p);
        }
        arena.close();
    }

    private Path file(long size) throws Exception {
        Path p = AioTestKit.sparseFile(Path.of("/tmp"), size);
        files.add(p);
        return p;
    }

    private static AioModule module(ReactorFixture fx, AioSyscalls sys, AioEngine.Factory engines) {
        AioModule m = new AioModule(fx.bdevs, sys, engines);
        fx.bdevs.addModule(m);
        return m;
    }

    private static AioBdev create(ReactorFixture fx, AioModule m, Path p, String name, boolean fallocate)
            throws Exception {
        return fx.onAsync(0, () -> m.create(new AioModule.Options(p.toString(), name, 0, false, fallocate, null)));
    }

    /** Real reactors with one aio bdev over {@code p}, open for writing; closes both. */
    private record Env(ReactorFixture fx, AioBdev bdev, BdevDesc desc) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            try {
                fx.on(0, () -> {
                    desc.close();
                    return null;
                });
            } finally {
                fx.close();
            }
        }
    }

    private static Env env(int reactors, AioSyscalls sys, AioEngine.Factory engines, Path p, String name,
                           boolean fallocate) throws Exception {
        ReactorFixture fx = new ReactorFixture(reactors);
        return env(fx, sys == null ? null : module(fx, sys, engines), p, name, fallocate);
    }

    /** With the given reactors, and the module the target would make ({@code m} null). */
    private static Env env(ReactorFixture fx, AioModule m, Path p, String name, boolean fallocate) throws Exception {
        try {
            if (m == null) {
                m = new AioModule(fx.bdevs);
                fx.bdevs.addModule(m);
            }
            AioBdev b = create(fx, m, p, name, fallocate);
            return new Env(fx, b, AioTestKit.open(fx, name));
        } catch (Exception | Error e) {
            fx.close();
            throw e;
        }
    }

    private static JsonNode driverSpecific(AioBdev b) {
        return b.toJson().get("driver_specific").get("aio");
    }

    /**
     * Writes random extents from two reactors at queue depth 64 each, reads them back, flushes,
     * and checks the file itself with plain Java: what was written is there, the rest is zeroes.
     */
    @Test
    void manyIosInFlightPerReactorRoundTrip() throws Exception {
        long size = 16L << 20;
        Path p = file(size);
        FaultyEngines engines = new FaultyEngines(AioModule.ringEngines());
        try (Env env = env(2, LinuxSyscalls.INSTANCE, engines, p, "aio0", false)) {
            ReactorFixture fx = env.fx();
            AioBdev b = env.bdev();
            BdevDesc d = env.desc();
            assertThat(b.blockSize()).isEqualTo(BS);
            assertThat(b.numBlocks()).isEqualTo(size / BS);
            assertThat(b.directIo()).isTrue();
            assertThat(driverSpecific(b).get("engine").asText()).isEqualTo("io_uring");

            long half = b.numBlocks() / 2;
            MemorySegment[] bufs = new MemorySegment[2];
            byte[] expect = new byte[(int) size];
            List<List<Req>> writes = new ArrayList<>();
            List<List<Req>> reads = new ArrayList<>();
            Random rnd = new Random(42);
            for (int r = 0; r < 2; r++) {
                bufs[r] = arena.allocate(half * BS, 4096);
                List<Req> w = new ArrayList<>();
                List<Req> rd = new ArrayList<>();
                for (long[] e : AioTestKit.randomExtents(rnd, r * half, half, 64)) {
                    long bufOff = (e[0] - r * half) * BS;
                    AioTestKit.fill(bufs[r], bufOff, e[0] * BS, e[1] * BS, 1);
                    for (long j = 0; j < e[1] * BS; j++) {
                        expect[(int) (e[0] * BS + j)] = AioTestKit.pattern(e[0] * BS + j, 1);
                    }
                    w.add(Req.write(e[0], e[1], bufOff));
                }
                for (long blk = 0; blk < half; blk += 128) {
                    rd.add(Req.read(r * half + blk, 128, blk * BS));
                }
                writes.add(w);
                reads.add(rd);
            }
            for (int r = 0; r < 2; r++) {
                AioTestKit.Result res = AioTestKit.run(fx, r, d, bufs[r], writes.get(r), 64);
                assertThat(res.count(IoStatus.SUCCESS)).isEqualTo(writes.get(r).size());
                assertThat(res.peakOps()).as("engine operations in flight at once").isGreaterThanOrEqualTo(32);
            }
            for (int r = 0; r < 2; r++) {
                bufs[r].fill((byte) 0x5a);
                AioTestKit.Result res = AioTestKit.run(fx, r, d, bufs[r], reads.get(r), 64);
                assertThat(res.count(IoStatus.SUCCESS)).isEqualTo(reads.get(r).size());
                byte[] got = AioTestKit.bytes(bufs[r]);
                assertThat(got).isEqualTo(Arrays.copyOfRange(expect, (int) (r * half * BS),
                        (int) ((r + 1) * half * BS)));
            }
            AioTestKit.Result fl = AioTestKit.run(fx, 1, d, null, List.of(Req.of(IoType.FLUSH, 0, 0)), 1);
            assertThat(fl.status()).containsExactly(IoStatus.SUCCESS);
            assertThat(engines.ops).anyMatch(o -> o.op() == AioEngine.FSYNC && o.flags() == AioEngine.FSYNC_DATASYNC);
            assertThat(AioTestKit.readFile(p)).isEqualTo(expect);
        }
    }

    /** A 64-block write or read through an engine that transfers half of what it is asked. */
    private static List<Req> halvesWorkload(MemorySegment buf, long blocks, int gen) {
        List<Req> w = new ArrayList<>();
        for (long blk = 0; blk + 64 <= blocks; blk += 64) {
            AioTestKit.fill(buf, blk * BS, blk * BS, 64 * BS, gen);
            w.add(Req.write(blk, 64, blk * BS));
        }
        return w;
    }

    private static List<Req> readAll(long blocks, int chunk) {
        List<Req> r = new ArrayList<>();
        for (long blk = 0; blk < blocks; blk += chunk) {
            r.add(Req.read(blk, Math.min(chunk, blocks - blk), blk * BS));
        }
        return r;
    }

    private static byte[] expected(long bytes, int gen) {
        byte[] e = new byte[(int) bytes];
        for (int i = 0; i < e.length; i++) {
            e[i] = AioTestKit.pattern(i, gen);
        }
        return e;
    }

    /**
     * The kernel really transfers only part of each read and write (the engine submits half the
     * length, or one block): every I/O still completes with all of its data, none is an error.
     */
    @Test
    void shortTransfersAreContinuedNeverFailed() throws Exception {
        long size = 2L << 20;
        Path p = file(size);
        FaultyEngines eng = new FaultyEngines(AioModule.ringEngines());
        try (Env e = env(1, LinuxSyscalls.INSTANCE, eng, p, "short0", false)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            MemorySegment buf = arena.allocate(size, 4096);
            eng.fault = new FaultyEngines.Fault() {
                @Override
                public long length(FaultyEngines.Op op) {
                    boolean rw = op.op() == AioEngine.READ || op.op() == AioEngine.WRITE;
                    return rw && op.length() > BS ? op.length() / 2 / BS * BS : op.length();
                }
            };
            List<Req> writes = halvesWorkload(buf, b.numBlocks(), 3);
            AioTestKit.Result w = AioTestKit.run(fx, 0, d, buf, writes, 16);
            assertThat(w.count(IoStatus.SUCCESS)).isEqualTo(writes.size());
            // 32 KiB halves down to 512 bytes: 7 operations per write.
            assertThat(eng.count(AioEngine.WRITE)).isEqualTo(7L * writes.size());

            eng.fault = new FaultyEngines.Fault() {
                @Override
                public long length(FaultyEngines.Op op) {
                    return op.op() == AioEngine.READ ? Math.min(op.length(), BS) : op.length();
                }
            };
            buf.fill((byte) 0);
            AioTestKit.Result r = AioTestKit.run(fx, 0, d, buf, readAll(b.numBlocks(), 128), 8);
            assertThat(r.count(IoStatus.SUCCESS)).isEqualTo(r.status().length);
            assertThat(eng.count(AioEngine.READ)).isEqualTo(b.numBlocks());
            assertThat(AioTestKit.bytes(buf)).isEqualTo(expected(size, 3));
        }
    }

    private static void close(ReactorFixture fx, BdevDesc d) throws Exception {
        fx.on(0, () -> {
            d.close();
            return null;
        });
    }

    /**
     * Where O_DIRECT is refused the file is opened buffered, with the reason in driver_specific;
     * then buffers need no alignment and short counts can be any number of bytes.
     */
    @Test
    void bufferedFallbackTakesOddShortCountsAndUnalignedBuffers() throws Exception {
        long size = 1L << 20;
        Path p = file(size);
        FaultySyscalls sys = new FaultySyscalls();
        sys.refuseDirect = true;
        FaultyEngines eng = new FaultyEngines(AioModule.ringEngines());
        eng.fault = new FaultyEngines.Fault() {
            @Override
            public long length(FaultyEngines.Op op) {
                boolean rw = op.op() == AioEngine.READ || op.op() == AioEngine.WRITE;
                return rw ? Math.min(op.length(), 1000) : op.length();
            }
        };
        try (Env e = env(1, sys, eng, p, "buf0", false)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            assertThat(b.directIo()).isFalse();
            assertThat(b.requiredAlignment()).isEqualTo(1);
            assertThat(driverSpecific(b).get("direct_io").asBoolean()).isFalse();
            assertThat(driverSpecific(b).get("buffered_reason").asText()).contains("O_DIRECT");
            assertThat(sys.openFlags.getLast() & AioSyscalls.O_DIRECT).isZero();

            MemorySegment buf = arena.allocate(size + 3, 4096);
            List<Req> writes = new ArrayList<>();
            for (long blk = 0; blk < b.numBlocks(); blk += 16) {
                AioTestKit.fill(buf, 3 + blk * BS, blk * BS, 16 * BS, 5);
                writes.add(Req.write(blk, 16, 3 + blk * BS));
            }
            AioTestKit.Result w = AioTestKit.run(fx, 0, d, buf, writes, 32);
            assertThat(w.count(IoStatus.SUCCESS)).isEqualTo(writes.size());
            assertThat(AioTestKit.run(fx, 0, d, null, List.of(Req.of(IoType.FLUSH, 0, 0)), 1).status())
                    .containsExactly(IoStatus.SUCCESS);
            assertThat(AioTestKit.readFile(p)).isEqualTo(expected(size, 5));
            buf.fill((byte) 0);
            List<Req> reads = new ArrayList<>();
            for (long blk = 0; blk < b.numBlocks(); blk += 32) {
                reads.add(Req.read(blk, 32, 3 + blk * BS));
            }
            AioTestKit.Result r = AioTestKit.run(fx, 0, d, buf, reads, 32);
            assertThat(r.count(IoStatus.SUCCESS)).isEqualTo(reads.size());
            assertThat(AioTestKit.bytes(buf.asSlice(3, size))).isEqualTo(expected(size, 5));
        }
    }

    /** A negative result fails that I/O with that errno; the others in flight complete normally. */
    @Test
    void negativeResultFailsTheIoWithThatErrno() throws Exception {
        Path p = file(1L << 20);
        FaultyEngines eng = new FaultyEngines(AioModule.ringEngines());
        try (Env e = env(1, LinuxSyscalls.INSTANCE, eng, p, "err0", false)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            MemorySegment buf = arena.allocate(64 * 1024, 4096);
            eng.fault = new FaultyEngines.Fault() {
                @Override
                public int result(FaultyEngines.Op op, int result) {
                    if (op.op() == AioEngine.WRITE && op.offset() == 8 * BS) {
                        return -Errno.EIO;
                    }
                    if (op.op() == AioEngine.WRITE && op.offset() == 24 * BS) {
                        return -Errno.ENOSPC;
                    }
                    return result;
                }

                @Override
                public int refuse(FaultyEngines.Op op) {
                    return op.op() == AioEngine.FSYNC ? -Errno.EBADF : 0;
                }
            };
            List<Req> reqs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                reqs.add(Req.write(i * 8L, 8, i * 8L * BS));
            }
            reqs.add(Req.of(IoType.FLUSH, 0, 0));
            AioTestKit.Result res = AioTestKit.run(fx, 0, d, buf, reqs, 16);
            for (int i = 0; i < 8; i++) {
                IoStatus want = i == 1 || i == 3 ? IoStatus.FAILED : IoStatus.SUCCESS;
                assertThat(res.status()[i]).as("write " + i).isEqualTo(want);
            }
            assertThat(res.errno()[1]).isEqualTo(Errno.EIO);
            assertThat(res.errno()[3]).isEqualTo(Errno.ENOSPC);
            assertThat(res.status()[8]).isEqualTo(IoStatus.FAILED);
            assertThat(res.errno()[8]).isEqualTo(Errno.EBADF);
        }
    }

    /**
     * -EAGAIN, -EBUSY and -ENOMEM when submitting, and -EAGAIN or -EINTR as a result, send the
     * I/O back to the bdev layer's retry: every I/O succeeds with its data in place.
     */
    @Test
    void transientErrorsAreRetriedNotReported() throws Exception {
        long size = 1L << 20;
        Path p = file(size);
        FaultyEngines eng = new FaultyEngines(AioModule.ringEngines());
        try (Env e = env(1, LinuxSyscalls.INSTANCE, eng, p, "again0", false)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            MemorySegment buf = arena.allocate(size, 4096);
            AtomicInteger refusals = new AtomicInteger();
            AtomicInteger rewrites = new AtomicInteger();
            int[] refuseWith = {-Errno.EAGAIN, -Errno.EBUSY, -Errno.ENOMEM};
            eng.fault = new FaultyEngines.Fault() {
                @Override
                public int refuse(FaultyEngines.Op op) {
                    int n = refusals.getAndIncrement();
                    return n < 30 && n % 2 == 0 ? refuseWith[n % 3] : 0;
                }

                @Override
                public int result(FaultyEngines.Op op, int result) {
                    int n = rewrites.getAndIncrement();
                    return n < 20 && n % 3 == 0 ? (n % 2 == 0 ? -Errno.EAGAIN : -Errno.EINTR) : result;
                }
            };
            List<Req> writes = halvesWorkload(buf, b.numBlocks(), 7);
            AioTestKit.Result w = AioTestKit.run(fx, 0, d, buf, writes, 8);
            assertThat(w.count(IoStatus.SUCCESS)).isEqualTo(writes.size());
            buf.fill((byte) 0);
            AioTestKit.Result r = AioTestKit.run(fx, 0, d, buf, readAll(b.numBlocks(), 64), 8);
            assertThat(r.count(IoStatus.SUCCESS)).isEqualTo(r.status().length);
            assertThat(AioTestKit.bytes(buf)).isEqualTo(expected(size, 7));
            // Submit refusals: 15 (every other one of the first 30); rewritten results: 7.
            assertThat(w.nomemRetries() + r.nomemRetries()).isEqualTo(15 + 7);
        }
    }

    /** FLUSH is fdatasync and a FUA write carries RWF_DSYNC, on the ring and on the fallback pool. */
    @Test
    void flushIsFdatasyncAndFuaIsDsync() throws Exception {
        Path p = file(1L << 20);
        PoolEngine.Workers workers = new PoolEngine.Workers(2, 64);
        try (ReactorFixture fx = new ReactorFixture(1)) {
            FaultyEngines ring = new FaultyEngines(AioModule.ringEngines());
            FaultyEngines pool = new FaultyEngines(AioModule.poolEngines(LinuxSyscalls.INSTANCE, workers));
            AioModule mr = module(fx, LinuxSyscalls.INSTANCE, ring);
            AioModule mp = module(fx, LinuxSyscalls.INSTANCE, pool);
            Path p2 = file(1L << 20);
            create(fx, mr, p, "fua0", false);
            create(fx, mp, p2, "fua1", false);
            MemorySegment buf = arena.allocate(8192, 4096);
            for (String name : List.of("fua0", "fua1")) {
                BdevDesc d = AioTestKit.open(fx, name);
                List<Req> reqs = List.of(new Req(IoType.WRITE, 0, 8, 0, true), new Req(IoType.WRITE, 8, 8, 4096, false),
                        Req.of(IoType.FLUSH, 0, 0));
                AioTestKit.Result res = AioTestKit.run(fx, 0, d, buf, reqs, 1);
                assertThat(res.status()).containsOnly(IoStatus.SUCCESS);
                close(fx, d);
            }
            for (FaultyEngines e : List.of(ring, pool)) {
                assertThat(e.ops).containsExactly(
                        new FaultyEngines.Op(AioEngine.WRITE, 0, 4096, AioEngine.RWF_DSYNC),
                        new FaultyEngines.Op(AioEngine.WRITE, 4096, 4096, 0),
                        new FaultyEngines.Op(AioEngine.FSYNC, 0, 0, AioEngine.FSYNC_DATASYNC));
            }
        } finally {
            workers.shutdown();
        }
    }

    /**
     * With fallocate on ext4, UNMAP punches a hole (the file's allocated blocks go down) and
     * WRITE_ZEROES zeroes a range; both read back as zeroes and leave the rest alone.
     */
    @Test
    void unmapPunchesHoleAndWriteZeroesZeroesRange() throws Exception {
        long size = 4L << 20;
        Path p = file(size);
        FaultyEngines eng = new FaultyEngines(AioModule.ringEngines());
        try (Env e = env(1, LinuxSyscalls.INSTANCE, eng, p, "fa0", true)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            assertThat(driverSpecific(b).get("unmap").asText()).isEqualTo("punch_hole");
            assertThat(driverSpecific(b).get("write_zeroes").asText()).isEqualTo("zero_range");
            assertThat(b.toJson().get("supported_io_types").get("unmap").asBoolean()).isTrue();
            assertThat(b.toJson().get("supported_io_types").get("write_zeroes").asBoolean()).isTrue();
            // The create probes past the end of the file: its size and its (absent) data stay.
            assertThat(Files.size(p)).isEqualTo(size);
            assertThat(allocated(p)).isZero();

            MemorySegment buf = arena.allocate(size, 4096);
            AioTestKit.fill(buf, 0, 0, size, 9);
            AioTestKit.Result w = AioTestKit.run(fx, 0, d, buf, List.of(Req.write(0, b.numBlocks(), 0),
                    Req.of(IoType.FLUSH, 0, 0)), 1);
            assertThat(w.status()).containsOnly(IoStatus.SUCCESS);
            long before = allocated(p);
            assertThat(before).isGreaterThanOrEqualTo(size / 512);

            AioTestKit.Result z = AioTestKit.run(fx, 0, d, buf, List.of(Req.of(IoType.UNMAP, 0, 2048),
                    Req.of(IoType.WRITE_ZEROES, 4096, 1024), Req.of(IoType.FLUSH, 0, 0)), 4);
            assertThat(z.status()).containsOnly(IoStatus.SUCCESS);
            assertThat(eng.ops).contains(new FaultyEngines.Op(AioEngine.FALLOCATE, 0, 2048 * BS, AioFile.PUNCH),
                    new FaultyEngines.Op(AioEngine.FALLOCATE, 4096 * BS, 1024 * BS, AioFile.ZERO_RANGE));
            assertThat(allocated(p)).as("512-byte units allocated after punching 1 MiB").isLessThanOrEqualTo(before - 2048);

            byte[] want = expected(size, 9);
            Arrays.fill(want, 0, 2048 * BS, (byte) 0);
            Arrays.fill(want, 4096 * BS, 5120 * BS, (byte) 0);
            buf.fill((byte) 0x77);
            AioTestKit.Result r = AioTestKit.run(fx, 0, d, buf, readAll(b.numBlocks(), 256), 16);
            assertThat(r.count(IoStatus.SUCCESS)).isEqualTo(r.status().length);
            assertThat(AioTestKit.bytes(buf)).isEqualTo(want);
            assertThat(AioTestKit.readFile(p)).isEqualTo(want);
        }
    }

    private static long allocated(Path p) {
        int fd = LinuxSyscalls.INSTANCE.open(p.toString(), AioSyscalls.O_RDONLY);
        try {
            return LinuxSyscalls.INSTANCE.statx(fd).blocks();
        } finally {
            LinuxSyscalls.INSTANCE.close(fd);
        }
    }

    /** Without fallocate (SPDK's default) UNMAP and WRITE_ZEROES are not offered, and are refused. */
    @Test
    void withoutFallocateUnmapIsNotOffered() throws Exception {
        Path p = file(1L << 20);
        FaultyEngines eng = new FaultyEngines(AioModule.ringEngines());
        try (Env e = env(1, LinuxSyscalls.INSTANCE, eng, p, "nofa0", false)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            JsonNode types = b.toJson().get("supported_io_types");
            assertThat(types.get("unmap").asBoolean()).isFalse();
            assertThat(types.get("write_zeroes").asBoolean()).isFalse();
            assertThat(types.get("flush").asBoolean()).isTrue();
            assertThat(types.get("reset").asBoolean()).isTrue();
            AioTestKit.Result res = AioTestKit.run(fx, 0, d, null, List.of(Req.of(IoType.UNMAP, 0, 8),
                    Req.of(IoType.WRITE_ZEROES, 0, 8)), 2);
            assertThat(res.status()).containsOnly(IoStatus.INVALID);
            assertThat(res.errno()).containsOnly(Errno.EOPNOTSUPP);
            assertThat(eng.count(AioEngine.FALLOCATE)).isZero();
        }
    }

    /** tmpfs punches holes but has no zero-range: WRITE_ZEROES is then done by punching. */
    @Test
    void onTmpfsWriteZeroesPunchesHoles() throws Exception {
        Path shm = Path.of("/dev/shm");
        Assumptions.assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm),
                "no writable /dev/shm");
        Path p = AioTestKit.sparseFile(shm, 1L << 20);
        files.add(p);
        try (Env e = env(1, LinuxSyscalls.INSTANCE, AioModule.ringEngines(), p, "shm0", true)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            assertThat(driverSpecific(b).get("unmap").asText()).isEqualTo("punch_hole");
            assertThat(driverSpecific(b).get("write_zeroes").asText()).isEqualTo("punch_hole");
            MemorySegment buf = arena.allocate(1L << 20, 4096);
            AioTestKit.fill(buf, 0, 0, 1L << 20, 11);
            AioTestKit.Result res = AioTestKit.run(fx, 0, d, buf, List.of(Req.write(0, b.numBlocks(), 0),
                    Req.of(IoType.WRITE_ZEROES, 100, 300), Req.read(0, b.numBlocks(), 0)), 1);
            assertThat(res.status()).containsOnly(IoStatus.SUCCESS);
            byte[] want = expected(1L << 20, 11);
            Arrays.fill(want, 100 * BS, 400 * BS, (byte) 0);
            assertThat(AioTestKit.bytes(buf)).isEqualTo(want);
        }
    }

    /** A file that shrank under the bdev: a read past its end fails with EIO, it does not hang or pass. */
    @Test
    void readPastEndOfFileIsEio() throws Exception {
        Path p = file(1L << 20);
        try (Env e = env(1, LinuxSyscalls.INSTANCE, AioModule.ringEngines(), p, "eof0", false)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            try (var raf = new RandomAccessFile(p.toFile(), "rw")) {
                raf.setLength(512 * 1024);
            }
            MemorySegment buf = arena.allocate(8192, 4096);
            AioTestKit.Result res = AioTestKit.run(fx, 0, d, buf, List.of(Req.read(0, 8, 0),
                    Req.read(b.numBlocks() - 8, 8, 4096)), 2);
            assertThat(res.status()).containsExactly(IoStatus.SUCCESS, IoStatus.FAILED);
            assertThat(res.errno()[1]).isEqualTo(Errno.EIO);
        }
    }

    /**
     * The fallback pool (reactors without io_uring) at queue depth 128 over a 16-deep worker
     * queue: a full queue is a retry, never an error, and the data round-trips.
     */
    @Test
    void fallbackPoolRoundTripUnderBackpressure() throws Exception {
        long size = 2L << 20;
        Path p = file(size);
        PoolEngine.Workers workers = new PoolEngine.Workers(2, 16);
        FaultyEngines eng = new FaultyEngines(AioModule.poolEngines(LinuxSyscalls.INSTANCE, workers));
        try (Env e = env(2, LinuxSyscalls.INSTANCE, eng, p, "pool0", true)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            assertThat(driverSpecific(b).get("engine").asText()).isEqualTo("thread_pool");
            MemorySegment buf = arena.allocate(size, 4096);
            List<Req> writes = new ArrayList<>();
            for (long blk = 0; blk < b.numBlocks(); blk += 8) {
                AioTestKit.fill(buf, blk * BS, blk * BS, 8 * BS, 13);
                writes.add(Req.write(blk, 8, blk * BS));
            }
            AioTestKit.Result w = AioTestKit.run(fx, 1, d, buf, writes, 128);
            assertThat(w.count(IoStatus.SUCCESS)).isEqualTo(writes.size());
            assertThat(w.nomemRetries()).as("full worker queue retried").isPositive();
            AioTestKit.Result z = AioTestKit.run(fx, 1, d, buf, List.of(Req.of(IoType.UNMAP, 0, 64),
                    Req.of(IoType.FLUSH, 0, 0)), 2);
            assertThat(z.status()).containsOnly(IoStatus.SUCCESS);
            byte[] want = expected(size, 13);
            Arrays.fill(want, 0, 64 * BS, (byte) 0);
            buf.fill((byte) 1);
            AioTestKit.Result r = AioTestKit.run(fx, 0, d, buf, readAll(b.numBlocks(), 16), 64);
            assertThat(r.count(IoStatus.SUCCESS)).isEqualTo(r.status().length);
            assertThat(AioTestKit.bytes(buf)).isEqualTo(want);
            assertThat(AioTestKit.readFile(p)).isEqualTo(want);
        } finally {
            workers.shutdown();
        }
    }

    /**
     * A RESET completes after the I/O in progress when it came, and is not held up by the I/O
     * that keeps coming after it (the driver keeps 16 writes in flight all the time).
     */
    @Test
    void resetWaitsForEarlierIoButNotForLaterIo() throws Exception {
        Path p = file(1L << 20);
        try (Env e = env(1, LinuxSyscalls.INSTANCE, AioModule.ringEngines(), p, "rst0", false)) {
            MemorySegment buf = arena.allocate(1L << 20, 4096);
            List<Req> reqs = new ArrayList<>();
            for (int i = 0; i < 256; i++) {
                reqs.add(Req.write(i * 8L, 8, i * 8L * BS));
                if (i == 20) {
                    reqs.add(Req.of(IoType.RESET, 0, 0));
                }
            }
            List<Integer> order = new CopyOnWriteArrayList<>();
            AioTestKit.Result res = AioTestKit.run(e.fx(), 0, e.desc(), buf, reqs, 16, order::add);
            assertThat(res.status()).containsOnly(IoStatus.SUCCESS);
            int at = order.indexOf(21);
            assertThat(order.subList(0, at)).as("completed before the reset")
                    .containsAll(java.util.stream.IntStream.range(0, 21).boxed().toList());
            assertThat(at).as("the reset does not wait for the writes after it").isLessThan(100);
        }
    }

    /**
     * Reactors on epoll (forced as with -Dbasalt.transport=epoll): the module picks its worker
     * pool by itself and the data still round-trips.
     */
    @Test
    void withoutIoUringTheModuleFallsBackToWorkers() throws Exception {
        Path p = file(1L << 20);
        ReactorFixture made;
        System.setProperty("basalt.transport", "epoll");
        try {
            made = new ReactorFixture(1);
        } finally {
            System.clearProperty("basalt.transport");
        }
        try (Env e = env(made, null, p, "epoll0", false)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            assertThat(fx.reactors.transport()).isEqualTo(Transport.EPOLL);
            assertThat(driverSpecific(b).get("engine").asText()).isEqualTo("thread_pool");
            MemorySegment buf = arena.allocate(1L << 20, 4096);
            AioTestKit.fill(buf, 0, 0, 1L << 20, 17);
            List<Req> writes = new ArrayList<>();
            for (long blk = 0; blk < b.numBlocks(); blk += 64) {
                writes.add(Req.write(blk, 64, blk * BS));
            }
            assertThat(AioTestKit.run(fx, 0, d, buf, writes, 32).count(IoStatus.SUCCESS)).isEqualTo(writes.size());
            buf.fill((byte) 0);
            AioTestKit.Result r = AioTestKit.run(fx, 0, d, buf, readAll(b.numBlocks(), 64), 32);
            assertThat(r.count(IoStatus.SUCCESS)).isEqualTo(r.status().length);
            assertThat(AioTestKit.bytes(buf)).isEqualTo(expected(1L << 20, 17));
        }
    }

    /**
     * 2048 I/Os in flight on one reactor, far more than the reactor's ring has entries (Netty's
     * default is 128): submissions overflow into extra io_uring_enter calls and completions into
     * the kernel's overflow list, and every I/O still completes with its data.
     */
    @Test
    void queueDeeperThanTheRing() throws Exception {
        long size = 4L << 20;
        Path p = file(size);
        try (Env e = env(1, LinuxSyscalls.INSTANCE, AioModule.ringEngines(), p, "deep0", false)) {
            ReactorFixture fx = e.fx();
            AioBdev b = e.bdev();
            BdevDesc d = e.desc();
            MemorySegment buf = arena.allocate(size, 4096);
            AioTestKit.fill(buf, 0, 0, size, 19);
            List<Req> writes = new ArrayList<>();
            for (long blk = 0; blk < b.numBlocks(); blk += 2) {
                writes.add(Req.write(blk, 2, blk * BS));
            }
            java.util.Collections.shuffle(writes, new Random(5));
            AioTestKit.Result w = AioTestKit.run(fx, 0, d, buf, writes, 2048);
            assertThat(w.count(IoStatus.SUCCESS)).isEqualTo(writes.size());
            assertThat(w.peakOps()).isGreaterThanOrEqualTo(1024);
            buf.fill((byte) 0);
            AioTestKit.Result r = AioTestKit.run(fx, 0, d, buf, readAll(b.numBlocks(), 1), 2048);
            assertThat(r.count(IoStatus.SUCCESS)).isEqualTo(r.status().length);
            assertThat(AioTestKit.bytes(buf)).isEqualTo(expected(size, 19));
        }
    }
}
