package io.basalt.bdev.raid;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.aio.AioModule;
import io.basalt.bdev.delay.DelayModule;
import io.basalt.bdev.error.ErrorBdev;
import io.basalt.bdev.error.ErrorModule;
import io.basalt.bdev.IoStats;
import io.basalt.bdev.IoType;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.testing.BdevClient;
import io.basalt.testing.ReactorFixture;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real reactors with the malloc, error, delay and raid modules, and helpers for the raid tests:
 * create members and arrays, do I/O through the raid bdev and look at the members' blocks.
 */
final class RaidKit implements AutoCloseable {
    final ReactorFixture fx;
    final MallocModule malloc;
    final ErrorModule errors;
    final DelayModule delay;
    final AioModule aio;
    final RaidModule raid;

    RaidKit(int reactors) {
        fx = new ReactorFixture(reactors);
        malloc = new MallocModule(fx.bdevs);
        errors = new ErrorModule(fx.bdevs);
        delay = new DelayModule(fx.bdevs);
        aio = new AioModule(fx.bdevs);
        raid = new RaidModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        fx.bdevs.addModule(aio);
        fx.bdevs.addModule(errors);
        fx.bdevs.addModule(delay);
        fx.bdevs.addModule(raid);
    }

    void malloc(String name, long blocks, int bs) throws Exception {
        fx.on(0, () -> malloc.create(name, null, bs, blocks, bs, 0));
        fx.bdevs.waitForExamine().get(30, TimeUnit.SECONDS);
    }

    void mallocs(String prefix, int count, long blocks, int bs) throws Exception {
        for (int i = 0; i < count; i++) {
            malloc(prefix + i, blocks, bs);
        }
    }

    /** A file-backed member with a fixed uuid (so that it is the same member after a restart). */
    void aio(Path file, String name, UUID uuid) throws Exception {
        fx.onAsync(0, () -> aio.create(new AioModule.Options(file.toString(), name, 512, false, false, uuid)));
        fx.bdevs.waitForExamine().get(30, TimeUnit.SECONDS);
    }

    ErrorBdev error(String base) throws Exception {
        ErrorBdev e = fx.on(0, () -> errors.create(base, null));
        fx.bdevs.waitForExamine().get(30, TimeUnit.SECONDS);
        return e;
    }

    void inject(String errorBdev, IoType type, ErrorBdev.ErrorType kind, long num) throws Exception {
        fx.onAsync(0, () -> errors.require(errorBdev).inject(Set.of(type), kind, num, 0, 0, 0));
    }

    void create(String name, RaidLevel level, int stripKb, List<String> bases, boolean superblock, UUID uuid)
            throws Exception {
        fx.onAsync(0, () -> raid.create(new RaidModule.CreateRequest(name, level, stripKb, bases, uuid, superblock,
                false)));
        fx.bdevs.waitForExamine().get(30, TimeUnit.SECONDS);
    }

    void create(String name, RaidLevel level, int stripKb, List<String> bases) throws Exception {
        create(name, level, stripKb, bases, false, null);
    }

    void delete(String name, boolean clearSb) throws Exception {
        fx.onAsync(0, () -> raid.delete(name, clearSb));
    }

    void remove(String member) throws Exception {
        fx.onAsync(0, () -> raid.removeBaseBdev(member));
    }

    void add(String raidName, String member) throws Exception {
        fx.onAsync(0, () -> raid.addBaseBdev(raidName, member, false));
    }

    void options(int windowKb, int mbSec) throws Exception {
        fx.on(0, () -> {
            raid.setOptions(windowKb, mbSec);
            return null;
        });
    }

    /** The bdev_raid_get_bdevs entry of {@code name}, or null. */
    JsonNode info(String name) throws Exception {
        JsonNode all = fx.on(0, () -> raid.list("all"));
        for (JsonNode a : all) {
            if (a.get("name").asText().equals(name)) {
                return a;
            }
        }
        return null;
    }

    String state(String name) throws Exception {
        return fx.on(0, () -> raid.state(name));
    }

    Bdev bdev(String name) {
        return fx.bdevs.lookup(name);
    }

    BdevClient client(int reactor, String name) throws Exception {
        return BdevClient.open(fx, reactor, name, true);
    }

    /** Reads blocks of any bdev (a member: read-only opens are allowed next to the raid's claim). */
    byte[] read(String bdev, long block, long blocks) throws Exception {
        int bs = bdev(bdev).blockSize();
        try (BdevClient c = BdevClient.open(fx, 0, bdev, false)) {
            MemorySegment buf = BdevClient.buffer(blocks * bs);
            BdevClient.Result r = BdevClient.await(c.read(buf, block, blocks));
            assertThat(r.status()).as("read of " + bdev).isEqualTo(io.basalt.bdev.IoStatus.SUCCESS);
            return buf.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    IoStats stats(String bdev) throws Exception {
        Bdev b = bdev(bdev);
        return fx.onAsync(0, b::collectStats);
    }

    /** The superblock on {@code bdev}'s first blocks (the member may be claimed: reads are allowed). */
    Superblock.Parsed superblock(String bdev) throws Exception {
        int bs = bdev(bdev).blockSize();
        long blocks = Superblock.ioSize(Superblock.MAX_LENGTH, bs) / bs;
        byte[] raw = read(bdev, 0, blocks);
        return Superblock.decode(raw, raw.length);
    }

    /** Waits (at most 30 s) for a condition the test cannot wait for otherwise. */
    static void eventually(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.sleep(5);
        }
    }

    interface Check {
        boolean get() throws Exception;
    }

    static void eventuallyTrue(String what, Check cond) throws InterruptedException {
        eventually(what, () -> {
            try {
                return cond.get();
            } catch (Exception e) {
                return false;
            }
        });
    }

    @Override
    public void close() {
        fx.close();
    }
}
