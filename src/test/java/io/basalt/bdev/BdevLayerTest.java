package io.basalt.bdev;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BdevLayerTest {
    private ReactorFixture fx;
    private BdevLayer layer;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private RecordingModule mod;

    @BeforeEach
    void setUp() {
        fx = new ReactorFixture(2);
        layer = fx.bdevs;
        mod = new RecordingModule("test", log);
        layer.addModule(mod);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private TestBdev bdev(String name) {
        return new TestBdev(mod, name, null, 512, 1024);
    }

    private <B extends Bdev> B register(B b) throws Exception {
        fx.onAsync(0, () -> layer.register(b));
        return b;
    }

    private static void assertErrno(Throwable t, int errno, String text) {
        assertThat(t).isInstanceOf(BasaltException.class);
        BasaltException e = (BasaltException) t;
        assertThat(e.code()).isEqualTo(-errno);
        assertThat(e.describe()).contains(text);
    }

    @Test
    void aBdevIsFoundByNameAliasAndUuid() throws Exception {
        TestBdev b = bdev("b0");
        layer.addAlias(b, "first");
        register(b);
        TestBdev c = register(bdev("b1"));
        assertThat(layer.lookup("b0")).isSameAs(b);
        assertThat(layer.lookup("first")).isSameAs(b);
        assertThat(layer.lookup(b.uuid().toString())).isSameAs(b);
        layer.addAlias(b, "second");
        assertThat(layer.require("second")).isSameAs(b);
        assertThat(b.aliases()).containsExactly("first", "second");
        assertThat(b.toJson().get("aliases").toString()).isEqualTo("[\"first\",\"second\"]");
        layer.removeAlias(b, "second");
        assertThat(layer.lookup("second")).isNull();
        assertThat(layer.nameTaken("second")).isFalse();
        assertThat(layer.list()).containsExactly(b, c);
        assertThatThrownBy(() -> layer.require("nope")).satisfies(t -> assertErrno(t, Errno.ENODEV, "bdev nope not found"));
        assertThat(b.layer()).isSameAs(layer);
        assertThat(b.removing()).isFalse();
    }

    @Test
    void aTakenNameAliasOrUuidIsEexistAndChangesNothing() throws Exception {
        UUID u = UUID.randomUUID();
        TestBdev b = new TestBdev(mod, "b0", u, 512, 1024);
        layer.addAlias(b, "a0");
        register(b);

        assertThatThrownBy(() -> register(bdev("b0"))).satisfies(t -> assertErrno(t, Errno.EEXIST, "bdev name b0 already exists"));
        assertThatThrownBy(() -> register(bdev("a0"))).satisfies(t -> assertErrno(t, Errno.EEXIST, "a0 already exists (bdev b0)"));
        assertThatThrownBy(() -> register(bdev(u.toString()))).satisfies(t -> assertErrno(t, Errno.EEXIST, "already exists"));
        TestBdev x = bdev("x");
        layer.addAlias(x, "b0-alias-free");
        x.aliases.add("b0");
        assertThatThrownBy(() -> register(x)).satisfies(t -> assertErrno(t, Errno.EEXIST, "alias b0 already exists"));
        assertThatThrownBy(() -> register(new TestBdev(mod, "y", u, 512, 8)))
                .satisfies(t -> assertErrno(t, Errno.EEXIST, "bdev uuid " + u + " already exists (bdev b0)"));
        assertThatThrownBy(() -> layer.addAlias(b, "a0")).satisfies(t -> assertErrno(t, Errno.EEXIST, "alias a0"));
        TestBdev z = register(bdev("z"));
        assertThatThrownBy(() -> layer.addAlias(z, "b0")).satisfies(t -> assertErrno(t, Errno.EEXIST, "alias b0"));
        assertThatThrownBy(() -> layer.addAlias(z, u.toString())).satisfies(t -> assertErrno(t, Errno.EEXIST, "already exists"));
        assertThatThrownBy(() -> register(b)).satisfies(t -> assertErrno(t, Errno.EINVAL, "registered twice"));

        assertThat(layer.list()).containsExactly(b, z);
        for (String n : new String[] {"x", "y", "b0-alias-free"}) {
            assertThat(layer.nameTaken(n)).as(n).isFalse();
        }
        assertThat(layer.lookup("b0")).isSameAs(b);
        assertThat(z.aliases()).isEmpty();
    }

    @Test
    void badGeometryIsRefused() {
        assertThatThrownBy(() -> new TestBdev(mod, "", null, 512, 1)).satisfies(t -> assertErrno(t, Errno.EINVAL, "name"));
        assertThatThrownBy(() -> new TestBdev(mod, "b", null, 1000, 1)).satisfies(t -> assertErrno(t, Errno.EINVAL, "power of two"));
        assertThatThrownBy(() -> new TestBdev(mod, "b", null, 256, 1)).satisfies(t -> assertErrno(t, Errno.EINVAL, "power of two"));
        assertThatThrownBy(() -> new TestBdev(mod, "b", null, 512, 0)).satisfies(t -> assertErrno(t, Errno.EINVAL, "at least one block"));
    }

    @Test
    void everyModuleExaminesInTurnOnTheAppReactorAndRegisterCompletesAfterTheLast() throws Exception {
        RecordingModule slow = new RecordingModule("slow", log);
        RecordingModule last = new RecordingModule("last", log);
        RecordingModule broken = new RecordingModule("broken", log);
        layer.addModule(slow);
        layer.addModule(broken);
        layer.addModule(last);
        boolean[] slowDone = new boolean[1];
        slow.onExamine = (b, done) -> fx.reactors.get(1).schedule(() -> {
            slowDone[0] = true;
            done.run();
        }, 20, TimeUnit.MILLISECONDS);
        broken.onExamine = (b, done) -> {
            throw new IllegalStateException("test: examine fails");
        };
        List<Boolean> lastSawSlowDone = new ArrayList<>();
        last.onExamine = (b, done) -> {
            lastSawSlowDone.add(slowDone[0]);
            done.run();
        };
        TestBdev b = bdev("b0");
        CompletableFuture<Void> registered = fx.on(0, () -> layer.register(b));
        CompletableFuture<Void> waited = layer.waitForExamine();
        await(registered);
        await(waited);
        assertThat(log).containsExactly("test examines b0 on reactor_0", "slow examines b0 on reactor_0",
                "broken examines b0 on reactor_0", "last examines b0 on reactor_0");
        assertThat(lastSawSlowDone).containsExactly(true);
        assertThat(b.state).isEqualTo(BdevState.READY);
        assertThat(layer.waitForExamine()).isCompleted();
    }

    @Test
    void aModuleMayOpenAndClaimInExamine() throws Exception {
        RecordingModule raid = new RecordingModule("raid", log);
        layer.addModule(raid);
        List<BdevDesc> raidDescs = new ArrayList<>();
        raid.onExamine = (b, done) -> {
            BdevDesc d = layer.open(b.name(), true, (ev, bd, desc) -> {
                if (ev == BdevEvent.REMOVE) {
                    desc.close();
                }
            });
            layer.claim(d, ClaimType.EXCLUSIVE_WRITE, raid);
            raidDescs.add(d);
            done.run();
        };
        TestBdev b = register(bdev("b0"));
        assertThat(b.claimed()).isTrue();
        assertThat(layer.claimant(b)).isSameAs(raid);
        assertThat(b.toJson().get("claimed").asBoolean()).isTrue();
        assertThat(b.toJson().get("claim_type").asText()).isEqualTo("exclusive_write");
        assertThatThrownBy(() -> layer.open("b0", true, BdevEventHandler.IGNORE))
                .satisfies(t -> assertErrno(t, Errno.EPERM, "bdev b0 is claimed (exclusive_write) by module raid"));
        BdevDesc reader = layer.open("b0", false, BdevEventHandler.IGNORE);
        reader.close();
        // Removal tells the claimer, which closes; then the bdev goes.
        await(layer.unregister(b));
        assertThat(raidDescs.get(0).isClosed()).isTrue();
        assertThat(b.destructs.get()).isEqualTo(1);
    }

    @Test
    void openAndCloseCountDescriptorsAndEventsGoToTheOpeningReactor() throws Exception {
        register(bdev("b0"));
        assertThatThrownBy(() -> layer.open("nope", false, BdevEventHandler.IGNORE))
                .satisfies(t -> assertErrno(t, Errno.ENODEV, "bdev nope not found"));
        BdevDesc ro = layer.open("b0", false, BdevEventHandler.IGNORE);
        assertThat(ro.writable()).isFalse();
        assertThat(ro.reactor()).isSameAs(fx.app());
        BdevDesc rw = fx.on(1, () -> layer.open("b0", true, BdevEventHandler.IGNORE));
        assertThat(rw.writable()).isTrue();
        assertThat(rw.reactor()).isSameAs(fx.reactors.get(1));
        assertThat(rw.bdev().name()).isEqualTo("b0");
        Bdev b = layer.require("b0");
        assertThat(layer.openDescriptors(b)).isEqualTo(2);
        ro.close();
        ro.close();
        assertThat(ro.isClosed()).isTrue();
        assertThat(layer.openDescriptors(b)).isEqualTo(1);
        assertThatThrownBy(() -> fx.on(0, ro::getIoChannel)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(rw::getIoChannel).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("reactor");
        rw.close();
    }

    @Test
    void exclusiveWriteAndReadManyWriteOneLetOthersReadOnly() throws Exception {
        for (ClaimType type : new ClaimType[] {ClaimType.EXCLUSIVE_WRITE, ClaimType.READ_MANY_WRITE_ONE}) {
            TestBdev b = register(bdev("b-" + type.json()));
            String n = b.name();
            BdevDesc ro = layer.open(n, false, BdevEventHandler.IGNORE);
            assertThatThrownBy(() -> layer.claim(ro, type, mod)).as(type.json())
                    .satisfies(t -> assertErrno(t, Errno.EINVAL, "needs a descriptor open for write"));
            BdevDesc other = layer.open(n, true, BdevEventHandler.IGNORE);
            BdevDesc mine = layer.open(n, true, BdevEventHandler.IGNORE);
            assertThatThrownBy(() -> layer.claim(mine, type, mod))
                    .satisfies(t -> assertErrno(t, Errno.EPERM, "open for writing by another user"));
            assertThat(b.claimed()).isFalse();
            other.close();
            layer.claim(mine, type, mod);
            assertThat(b.toJson().get("claim_type").asText()).isEqualTo(type.json());
            assertThatThrownBy(() -> layer.open(n, true, BdevEventHandler.IGNORE)).satisfies(t -> assertErrno(t,
                    Errno.EPERM, "is claimed (" + type.json() + ") by module test; cannot open it for writing"));
            layer.open(n, false, BdevEventHandler.IGNORE).close();
            RecordingModule second = new RecordingModule("second", log);
            BdevDesc ro2 = layer.open(n, false, BdevEventHandler.IGNORE);
            assertThatThrownBy(() -> layer.claim(ro2, ClaimType.READ_MANY_WRITE_NONE, second))
                    .satisfies(t -> assertErrno(t, Errno.EPERM, "already claimed (" + type.json() + ") by module test"));
            // Closing the claiming descriptor releases the claim.
            mine.close();
            assertThat(b.claimed()).isFalse();
            assertThat(b.toJson().has("claim_type")).isFalse();
            layer.open(n, true, BdevEventHandler.IGNORE).close();
            ro.close();
            ro2.close();
        }
    }

    @Test
    void readManyWriteNoneForbidsEveryWriter() throws Exception {
        register(bdev("b0"));
        BdevDesc rw = layer.open("b0", true, BdevEventHandler.IGNORE);
        assertThatThrownBy(() -> layer.claim(rw, ClaimType.READ_MANY_WRITE_NONE, mod))
                .satisfies(t -> assertErrno(t, Errno.EINVAL, "needs a read-only descriptor"));
        BdevDesc ro = layer.open("b0", false, BdevEventHandler.IGNORE);
        assertThatThrownBy(() -> layer.claim(ro, ClaimType.READ_MANY_WRITE_NONE, mod))
                .satisfies(t -> assertErrno(t, Errno.EPERM, "open for writing by another user"));
        rw.close();
        layer.claim(ro, ClaimType.READ_MANY_WRITE_NONE, mod);
        assertThatThrownBy(() -> layer.open("b0", true, BdevEventHandler.IGNORE))
                .satisfies(t -> assertErrno(t, Errno.EPERM, "read_many_write_none"));
        layer.releaseClaim(ro);
        assertThat(layer.require("b0").claimed()).isFalse();
        layer.open("b0", true, BdevEventHandler.IGNORE).close();
        ro.close();
        assertThatThrownBy(() -> layer.claim(ro, ClaimType.READ_MANY_WRITE_NONE, mod))
                .satisfies(t -> assertErrno(t, Errno.EBADF, "closed"));
    }

    @Test
    void readManyWriteSharedAddsClaimsOfOneModuleAndEndsWithTheLast() throws Exception {
        Bdev b = register(bdev("b0"));
        BdevDesc d1 = layer.open("b0", true, BdevEventHandler.IGNORE);
        BdevDesc d2 = layer.open("b0", true, BdevEventHandler.IGNORE);
        layer.claim(d1, ClaimType.READ_MANY_WRITE_SHARED, mod);
        layer.claim(d2, ClaimType.READ_MANY_WRITE_SHARED, mod);
        layer.claim(d2, ClaimType.READ_MANY_WRITE_SHARED, mod);
        RecordingModule other = new RecordingModule("other", log);
        BdevDesc d3 = layer.open("b0", true, BdevEventHandler.IGNORE);
        assertThatThrownBy(() -> layer.claim(d3, ClaimType.READ_MANY_WRITE_SHARED, other))
                .satisfies(t -> assertErrno(t, Errno.EPERM, "already claimed (read_many_write_shared) by module test"));
        assertThatThrownBy(() -> layer.claim(d3, ClaimType.EXCLUSIVE_WRITE, mod))
                .satisfies(t -> assertErrno(t, Errno.EPERM, "already claimed"));
        d1.close();
        assertThat(b.claimed()).isTrue();
        d2.close();
        assertThat(b.claimed()).isFalse();
        d3.close();
    }

    @Test
    void unregisterTellsOpenersOnTheirReactorAndWaitsForDescriptorsAndChannels() throws Exception {
        TestBdev b = register(bdev("b0"));
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> removeSeen = new CompletableFuture<>();
        BdevDesc d = fx.on(1, () -> layer.open("b0", true, (ev, bd, desc) -> {
            events.add(ev + " " + bd.name() + " on " + Thread.currentThread().getName());
            removeSeen.complete(null);
        }));
        IoChannel ch = fx.on(1, d::getIoChannel);
        assertThat(b.channelsCreated.get()).isEqualTo(1);
        CompletableFuture<Void> gone = fx.on(0, () -> layer.unregister(b));
        assertThat(fx.on(0, () -> layer.unregister(b))).isSameAs(gone);
        await(removeSeen);
        assertThat(events).containsExactly("REMOVE b0 on reactor_1");
        assertThat(b.removing()).isTrue();
        assertThat(layer.lookup("b0")).isNull();
        assertThat(layer.list()).isEmpty();
        assertThat(layer.nameTaken("b0")).isTrue();
        assertThatThrownBy(() -> layer.open("b0", false, BdevEventHandler.IGNORE))
                .satisfies(t -> assertErrno(t, Errno.ENODEV, "not found"));
        d.close();
        // The channel is still held: nothing is destructed yet.
        fx.on(0, () -> null);
        fx.on(1, () -> null);
        assertThat(gone).isNotDone();
        assertThat(b.destructs.get()).isZero();
        fx.on(1, () -> {
            d.putIoChannel(ch);
            return null;
        });
        await(gone);
        assertThat(b.destructs.get()).isEqualTo(1);
        assertThat(b.channelsDestroyed.get()).isEqualTo(1);
        assertThat(b.state).isEqualTo(BdevState.REMOVED);
        assertThat(layer.nameTaken("b0")).isFalse();
        assertThat(layer.nameTaken(b.uuid().toString())).isFalse();
        // The name is free again.
        register(bdev("b0"));
        assertThatThrownBy(() -> layer.unregister(bdev("never"))).satisfies(t -> assertErrno(t, Errno.ENODEV, "not registered"));
        assertThatThrownBy(() -> layer.unregister("absent")).satisfies(t -> assertErrno(t, Errno.ENODEV, "absent"));
    }

    @Test
    void growingTellsOpenersShrinkingIsRefusedWhileOpen() throws Exception {
        TestBdev b = register(bdev("b0"));
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> resized = new CompletableFuture<>();
        BdevDesc d = fx.on(1, () -> layer.open("b0", false, (ev, bd, desc) -> {
            events.add(ev + " " + bd.numBlocks() + " on " + Thread.currentThread().getName());
            resized.complete(null);
        }));
        fx.on(0, () -> {
            b.grow(2048);
            return null;
        });
        await(resized);
        assertThat(events).containsExactly("RESIZE 2048 on reactor_1");
        assertThatThrownBy(() -> fx.on(0, () -> {
            b.grow(100);
            return null;
        })).satisfies(t -> assertErrno(t, Errno.EBUSY, "bdev b0 is open; it cannot shrink"));
        assertThat(b.numBlocks()).isEqualTo(2048);
        assertThatThrownBy(() -> fx.on(0, () -> {
            b.grow(0);
            return null;
        })).satisfies(t -> assertErrno(t, Errno.EINVAL, "cannot shrink to 0"));
        // The claimer's own descriptor does not stop a shrink.
        d.close();
        BdevDesc own = layer.open("b0", true, BdevEventHandler.IGNORE);
        layer.claim(own, ClaimType.EXCLUSIVE_WRITE, mod);
        fx.on(0, () -> {
            b.grow(100);
            return null;
        });
        assertThat(b.numBlocks()).isEqualTo(100);
        assertThat(b.sizeBytes()).isEqualTo(100 * 512);
        own.close();
    }

    @Test
    void finiRemovesTheTopOfEachStackFirstThenFinishesModulesInReverse() throws Exception {
        RecordingModule upperMod = new RecordingModule("upper", log);
        layer.addModule(upperMod);
        TestBdev base = register(bdev("base"));
        BdevDesc baseDesc = layer.open("base", true, BdevEventHandler.IGNORE);
        layer.claim(baseDesc, ClaimType.READ_MANY_WRITE_ONE, upperMod);
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        TestBdev upper = new TestBdev(upperMod, "upper", null, 512, 10) {
            @Override
            protected void destruct(Runnable done) {
                order.add("upper");
                baseDesc.close();
                done.run();
            }
        };
        register(upper);
        TestBdev lone = register(bdev("lone"));
        log.clear();
        await(layer.fini());
        assertThat(layer.list()).isEmpty();
        assertThat(order).containsExactly("upper");
        assertThat(base.destructs.get()).isEqualTo(1);
        assertThat(lone.destructs.get()).isEqualTo(1);
        assertThat(log).containsExactly("upper fini", "test fini");
    }

    @Test
    void theRemoveEventHandlerMayFailWithoutStoppingRemoval() throws Exception {
        TestBdev b = register(bdev("b0"));
        BdevDesc[] d = new BdevDesc[1];
        d[0] = layer.open("b0", false, (ev, bd, desc) -> {
            desc.close();
            throw new IllegalStateException("test: handler fails");
        });
        await(layer.unregister(b));
        assertThat(d[0].isClosed()).isTrue();
        assertThat(Reactor.current()).isNull();
    }
}
