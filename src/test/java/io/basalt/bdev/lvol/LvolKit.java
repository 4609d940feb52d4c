package io.basalt.bdev.lvol;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.malloc.MallocModule;
import io.basalt.blob.ClearMethod;
import io.basalt.testing.BdevClient;
import io.basalt.testing.ReactorFixture;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/** Reactors, a malloc base and the lvol module, with helpers that run store operations from a test thread. */
final class LvolKit implements AutoCloseable {
    static final long MIB = 1 << 20;
    final ReactorFixture fx;
    final MallocModule malloc;
    final LvolModule lvol;

    LvolKit(int reactors) {
        fx = new ReactorFixture(reactors);
        malloc = new MallocModule(fx.bdevs);
        lvol = new LvolModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        fx.bdevs.addModule(lvol);
    }

    Bdev malloc(String name, long mib, int blockSize) throws Exception {
        Bdev b = fx.on(0, () -> malloc.create(name, null, blockSize, mib * MIB / blockSize, blockSize, 0));
        ReactorFixture.await(fx.bdevs.waitForExamine());
        return b;
    }

    LvolStore store(String base, String name, long clusterSize) throws Exception {
        return fx.onAsync(0, () -> lvol.createStore(base, name, clusterSize, ClearMethod.UNMAP, 100));
    }

    <T> T md(Callable<CompletableFuture<T>> op) throws Exception {
        return fx.onAsync(0, op);
    }

    <T> T on(Callable<T> fn) throws Exception {
        return fx.on(0, fn);
    }

    Lvol create(LvolStore s, String name, long mib, boolean thin) throws Exception {
        return md(() -> s.create(name, mib * MIB, thin, null));
    }

    Lvol snapshot(Lvol l, String name) throws Exception {
        return md(() -> l.store.snapshot(l, name, Map.of()));
    }

    Lvol clone(Lvol snap, String name) throws Exception {
        return md(() -> snap.store.clone(snap, name));
    }

    void delete(Lvol l) throws Exception {
        md(() -> l.store.delete(l));
    }

    /** Unloads the store and examines its base again, as a restart does; returns the reloaded store. */
    LvolStore restart(LvolStore s) throws Exception {
        String name = s.name;
        Bdev base = s.base;
        md(() -> lvol.unload(s));
        CompletableFuture<Void> done = new CompletableFuture<>();
        fx.app().send(() -> lvol.examine(base, () -> done.complete(null)));
        ReactorFixture.await(done);
        return on(() -> lvol.storeByName(name));
    }

    BdevClient open(Lvol l, int reactor) throws Exception {
        return BdevClient.open(fx, reactor, l.name(), !l.blob.readOnly());
    }

    void write(Lvol l, long offsetBlocks, MemorySegment data) throws Exception {
        try (BdevClient c = open(l, 1 % fx.reactors.size())) {
            var r = BdevClient.await(c.write(data, offsetBlocks, data.byteSize() / l.blockSize()));
            if (r.status() != io.basalt.bdev.IoStatus.SUCCESS) {
                throw new IllegalStateException("write failed: " + r);
            }
        }
    }

    MemorySegment read(Lvol l, long offsetBlocks, long blocks) throws Exception {
        MemorySegment buf = BdevClient.buffer(blocks * l.blockSize());
        try (BdevClient c = open(l, 0)) {
            var r = BdevClient.await(c.read(buf, offsetBlocks, blocks));
            if (r.status() != io.basalt.bdev.IoStatus.SUCCESS) {
                throw new IllegalStateException("read failed: " + r);
            }
        }
        return buf;
    }

    @Override
    public void close() {
        fx.close();
    }
}
