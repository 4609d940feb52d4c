package io.basalt.bdev.aio;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.basalt.bdev.aio.AioTestKit.Req;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Create, its errors, read-only, rescan and delete of aio bdevs over real files. */
class AioLifecycleTest {
    private final List<Path> files = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (Path p : files) {
            Files.deleteIfExists(p);
        }
    }

    private Path file(long size) throws Exception {
        Path p = AioTestKit.sparseFile(Path.of("/tmp"), size);
        files.add(p);
        return p;
    }

    private static AioModule module(ReactorFixture fx, AioSyscalls sys) {
        AioModule m = new AioModule(fx.bdevs, sys, AioModule.ringEngines());
        fx.bdevs.addModule(m);
        return m;
    }

    private static AioBdev create(ReactorFixture fx, AioModule m, AioModule.Options o) throws Exception {
        return fx.onAsync(0, () -> m.create(o));
    }

    private static AioModule.Options opts(Path p, String name) {
        return new AioModule.Options(p.toString(), name, 0, false, false, null);
    }

    private static BasaltException createFails(ReactorFixture fx, AioModule m, AioModule.Options o) {
        Throwable[] t = new Throwable[1];
        assertThatThrownBy(() -> create(fx, m, o)).satisfies(e -> t[0] = e);
        assertThat(t[0]).isInstanceOf(BasaltException.class);
        return (BasaltException) t[0];
    }

    /** How many of this process's fds are open on {@code p}. */
    private static long openFds(Path p) throws Exception {
        Path real = p.toRealPath();
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (Exception e) {
                    return false;
                }
            }).count();
        }
    }

    @Test
    void createErrorsSayWhatAndChangeNothing() throws Exception {
        Path ok = file(1L << 20);
        Path empty = file(0);
        Path tiny = file(100);
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "aiodir");
        files.add(dir);
        try (ReactorFixture fx = new ReactorFixture(1)) {
            FaultySyscalls sys = new FaultySyscalls();
            AioModule m = module(fx, sys);

            BasaltException missing = createFails(fx, m, opts(Path.of("/tmp/no-such-aio-file.img"), "a"));
            assertThat(missing.errno()).isEqualTo(Errno.ENOENT);
            assertThat(missing.describe()).contains("/tmp/no-such-aio-file.img");

            assertThat(createFails(fx, m, opts(empty, "a")).errno()).isEqualTo(Errno.EINVAL);
            assertThat(createFails(fx, m, opts(tiny, "a")).errno()).isEqualTo(Errno.EINVAL);
            assertThat(createFails(fx, m, opts(dir, "a")).errno()).isEqualTo(Errno.EISDIR);
            assertThat(createFails(fx, m, new AioModule.Options(ok.toString(), "a", 1 << 21, false, false, null))
                    .errno()).isEqualTo(Errno.EINVAL);

            // A file system that needs 4 KiB direct I/O: detected as the block size; 512 is too small.
            sys.dioAlign = 4096;
            BasaltException small = createFails(fx, m, new AioModule.Options(ok.toString(), "a", 512, false, false,
                    null));
            assertThat(small.errno()).isEqualTo(Errno.EINVAL);
            assertThat(small.describe()).contains("smaller than the logical block size 4096");
            AioBdev b = create(fx, m, opts(ok, "a"));
            assertThat(b.blockSize()).isEqualTo(4096);
            assertThat(b.requiredAlignment()).isEqualTo(4096);
            assertThat(b.toJson().get("driver_specific").get("aio").get("block_size_override").asBoolean()).isFalse();
            sys.dioAlign = 0;

            Path other = file(1L << 20);
            assertThat(createFails(fx, m, opts(other, "a")).errno()).isEqualTo(Errno.EEXIST);
            // The same file under another name: its lock says it is taken.
            BasaltException busy = createFails(fx, m, opts(ok, "b"));
            assertThat(busy.errno()).isEqualTo(Errno.EBUSY);
            assertThat(busy.describe()).contains(ok.toString());

            assertThat(fx.bdevs.list()).extracting(x -> x.name()).containsExactly("a");
            assertThat(openFds(ok)).isEqualTo(1);
            assertThat(openFds(other)).isZero();
            assertThat(openFds(tiny)).isZero();
            assertThat(openFds(empty)).isZero();
        }
    }

    @Test
    void explicitBlockSizeAndUuidAreKeptAndSaved() throws Exception {
        Path p = file(1L << 20);
        try (ReactorFixture fx = new ReactorFixture(1)) {
            AioModule m = module(fx, LinuxSyscalls.INSTANCE);
            UUID u = UUID.fromString("0b8e2c6e-2f4b-4c1a-9a47-2b8b4c1e7f10");
            AioBdev b = create(fx, m, new AioModule.Options(p.toString(), "bs4k", 4096, false, true, u));
            assertThat(b.blockSize()).isEqualTo(4096);
            assertThat(b.numBlocks()).isEqualTo(256);
            assertThat(b.uuid()).isEqualTo(u);
            var call = b.configCall();
            assertThat(call.method()).isEqualTo("bdev_aio_create");
            assertThat(call.params().toString()).isEqualTo("{\"name\":\"bs4k\",\"block_size\":4096,\"filename\":\""
                    + p + "\",\"readonly\":false,\"fallocate\":true,\"uuid\":\"" + u + "\"}");
            var ds = b.toJson().get("driver_specific").get("aio");
            assertThat(ds.get("filename").asText()).isEqualTo(p.toString());
            assertThat(ds.get("block_size_override").asBoolean()).isTrue();
            assertThat(ds.get("readonly").asBoolean()).isFalse();
            assertThat(ds.get("fallocate").asBoolean()).isTrue();
            assertThat(ds.get("direct_io").asBoolean()).isTrue();
        }
    }

    /**
     * Read-only: opened O_RDONLY, writes refused by the layer and nothing reaches the file; two
     * read-only bdevs may share a file, a writer may not join them.
     */
    @Test
    void readonlyRefusesWritesAndSharesTheFileWithReaders() throws Exception {
        Path p = file(1L << 20);
        byte[] data = new byte[1 << 20];
        for (int i = 0; i < data.length; i++) {
            data[i] = AioTestKit.pattern(i, 21);
        }
        Files.write(p, data);
        try (ReactorFixture fx = new ReactorFixture(1); Arena arena = Arena.ofConfined()) {
            FaultySyscalls sys = new FaultySyscalls();
            AioModule m = module(fx, sys);
            AioBdev ro = create(fx, m, new AioModule.Options(p.toString(), "ro0", 0, true, true, null));
            assertThat(sys.openFlags).allMatch(f -> (f & 3) == AioSyscalls.O_RDONLY);
            var types = ro.toJson().get("supported_io_types");
            assertThat(types.get("write").asBoolean()).isFalse();
            assertThat(types.get("unmap").asBoolean()).isFalse();
            assertThat(types.get("write_zeroes").asBoolean()).isFalse();
            assertThat(types.get("read").asBoolean()).isTrue();
            create(fx, m, new AioModule.Options(p.toString(), "ro1", 0, true, false, null));
            assertThat(createFails(fx, m, opts(p, "rw0")).errno()).isEqualTo(Errno.EBUSY);

            BdevDesc d = AioTestKit.open(fx, "ro0");
            MemorySegment buf = arena.allocate(8192, 4096);
            AioTestKit.fill(buf, 0, 0, 4096, 99);
            AioTestKit.Result res = AioTestKit.run(fx, 0, d, buf, List.of(Req.write(0, 8, 0),
                    Req.of(IoType.UNMAP, 0, 8), Req.read(8, 8, 4096)), 3);
            assertThat(res.status()).containsExactly(IoStatus.INVALID, IoStatus.INVALID, IoStatus.SUCCESS);
            assertThat(AioTestKit.bytes(buf.asSlice(4096, 4096)))
                    .isEqualTo(Arrays.copyOfRange(data, 4096, 8192));
            assertThat(Files.readAllBytes(p)).isEqualTo(data);
            fx.on(0, () -> {
                d.close();
                return null;
            });
        }
    }

    /** bdev_aio_rescan after the file grew: more blocks, and open descriptors hear RESIZE. */
    @Test
    void rescanPicksUpANewSize() throws Exception {
        Path p = file(1L << 20);
        try (ReactorFixture fx = new ReactorFixture(1)) {
            AioModule m = module(fx, LinuxSyscalls.INSTANCE);
            AioBdev b = create(fx, m, opts(p, "grow0"));
            List<BdevEvent> events = new CopyOnWriteArrayList<>();
            BdevDesc d = fx.on(0, () -> fx.bdevs.open("grow0", false, (e, bd, dd) -> events.add(e)));
            assertThat(fx.<Long>onAsync(0, () -> m.rescan("grow0"))).isEqualTo(2048L);
            assertThat(events).isEmpty();
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength((3L << 20) + 100);
            }
            assertThat(fx.<Long>onAsync(0, () -> m.rescan("grow0"))).isEqualTo(6144L);
            assertThat(b.numBlocks()).isEqualTo(6144);
            fx.on(0, () -> null); // the RESIZE message is queued behind the rescan's completion
            assertThat(events).containsExactly(BdevEvent.RESIZE);
            assertThatThrownBy(() -> fx.onAsync(0, () -> m.rescan("nope")))
                    .isInstanceOf(BasaltException.class).hasMessageContaining("nope");
            fx.on(0, () -> {
                d.close();
                return null;
            });
        }
    }

    /** Delete closes the fd and drops the lock: the file can be taken again at once. */
    @Test
    void deleteClosesTheFileAndReleasesIt() throws Exception {
        Path p = file(1L << 20);
        try (ReactorFixture fx = new ReactorFixture(1)) {
            AioModule m = module(fx, LinuxSyscalls.INSTANCE);
            create(fx, m, opts(p, "del0"));
            assertThat(openFds(p)).isEqualTo(1);
            fx.onAsync(0, () -> m.delete("del0"));
            assertThat(openFds(p)).isZero();
            assertThat(fx.bdevs.lookup("del0")).isNull();
            assertThatThrownBy(() -> fx.onAsync(0, () -> m.delete("del0")))
                    .isInstanceOf(BasaltException.class)
                    .satisfies(e -> assertThat(((BasaltException) e).errno()).isEqualTo(Errno.ENODEV));
            create(fx, m, opts(p, "del1"));
            assertThat(openFds(p)).isEqualTo(1);
        }
    }

    /**
     * A block device (a loop device with 4 KiB sectors over a file, where losetup is allowed):
     * the block size comes from BLKSSZGET, the size from BLKGETSIZE64, and with fallocate the
     * kernel's zero-range and punch-hole work on it.
     */
    @Test
    void blockDeviceGeometryAndFallocate() throws Exception {
        Path backing = file(16L << 20);
        String dev = losetup(backing);
        org.junit.jupiter.api.Assumptions.assumeTrue(dev != null, "no loop device (losetup needs root)");
        try (ReactorFixture fx = new ReactorFixture(1); Arena arena = Arena.ofConfined()) {
            AioModule m = module(fx, LinuxSyscalls.INSTANCE);
            AioBdev b = create(fx, m, new AioModule.Options(dev, "loop0", 0, false, true, null));
            assertThat(b.blockSize()).isEqualTo(4096);
            assertThat(b.numBlocks()).isEqualTo(4096);
            assertThat(b.directIo()).isTrue();
            var ds = b.toJson().get("driver_specific").get("aio");
            assertThat(ds.get("file_type").asText()).isEqualTo("block_device");
            assertThat(ds.get("write_zeroes").asText()).isEqualTo("zero_range");
            assertThat(ds.get("unmap").asText()).isEqualTo("punch_hole");
            assertThat(createFails(fx, m, new AioModule.Options(dev, "loop1", 512, false, false, null)).errno())
                    .isEqualTo(Errno.EINVAL);

            BdevDesc d = AioTestKit.open(fx, "loop0");
            MemorySegment buf = arena.allocate(64 * 4096, 4096);
            AioTestKit.fill(buf, 0, 0, 64 * 4096, 31);
            AioTestKit.Result res = AioTestKit.run(fx, 0, d, buf, List.of(Req.write(0, 64, 0),
                    Req.of(IoType.WRITE_ZEROES, 8, 8), Req.of(IoType.UNMAP, 32, 8), Req.of(IoType.FLUSH, 0, 0),
                    Req.read(0, 64, 0)), 1);
            assertThat(res.status()).containsOnly(IoStatus.SUCCESS);
            byte[] want = new byte[64 * 4096];
            for (int i = 0; i < want.length; i++) {
                want[i] = i >= 8 * 4096 && i < 16 * 4096 || i >= 32 * 4096 && i < 40 * 4096 ? 0
                        : AioTestKit.pattern(i, 31);
            }
            assertThat(AioTestKit.bytes(buf)).isEqualTo(want);
            fx.on(0, () -> {
                d.close();
                return null;
            });
        } finally {
            new ProcessBuilder("losetup", "-d", dev).inheritIO().start().waitFor();
        }
    }

    /** Attaches a loop device with 4 KiB sectors; null where that is not allowed. */
    private static String losetup(Path backing) {
        try {
            Process p = new ProcessBuilder("losetup", "-f", "--show", "--sector-size", "4096", backing.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 && out.startsWith("/dev/") ? out : null;
        } catch (Exception e) {
            return null;
        }
    }
}
