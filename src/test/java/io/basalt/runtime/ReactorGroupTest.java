package io.basalt.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReactorGroupTest {
    @Test
    void forEachVisitsEveryReactorInOrderOnItsThreadThenCompletesOnTheCaller() throws Exception {
        try (ReactorGroup g = ReactorGroup.start(3)) {
            List<String> visits = new ArrayList<>();
            // From a non-reactor thread: done runs on reactor 0. (Observed inside done itself: a
            // thenApply attached afterwards runs on this thread when the future is already complete.)
            CompletableFuture<Reactor> where = new CompletableFuture<>();
            g.forEach(r -> {
                synchronized (visits) {
                    visits.add(r.id() + "@" + Thread.currentThread().getName());
                }
            }, () -> where.complete(Reactor.current()));
            assertThat(await(where)).isSameAs(g.app());
            assertThat(visits).containsExactly("0@reactor_0", "1@reactor_1", "2@reactor_2");
            // The future form completes on reactor 0 too: a stage attached before it can complete.
            CompletableFuture<Void> gate = new CompletableFuture<>();
            CompletableFuture<Reactor> futureWhere = g.forEach(r -> {
                if (r.id() == 0) {
                    gate.join();
                }
            }).thenApply(v -> Reactor.current());
            gate.complete(null);
            assertThat(await(futureWhere)).isSameAs(g.app());

            // From reactor 2: done runs on reactor 2.
            CompletableFuture<Reactor> origin = new CompletableFuture<>();
            g.get(2).send(() -> g.forEach(r -> { }, () -> origin.complete(Reactor.current())));
            assertThat(await(origin)).isSameAs(g.get(2));
        }
    }

    @Test
    void forEachGoesOnAfterAFailureAndTheFutureReportsIt() throws Exception {
        try (ReactorGroup g = ReactorGroup.start(3)) {
            List<Integer> visits = new ArrayList<>();
            CompletableFuture<Void> f = g.forEach(r -> {
                synchronized (visits) {
                    visits.add(r.id());
                }
                if (r.id() == 1) {
                    throw new IllegalStateException("test: reactor 1 fails");
                }
            });
            assertThatThrownBy(() -> await(f)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("reactor 1 fails");
            assertThat(visits).containsExactly(0, 1, 2);

            CompletableFuture<Void> done = new CompletableFuture<>();
            g.forEach(r -> {
                throw new IllegalStateException("test: every reactor fails");
            }, () -> done.complete(null));
            await(done);
        }
    }

    @Test
    void groupBasics() throws Exception {
        assertThatThrownBy(() -> ReactorGroup.start(new int[0], 1 << 20, 0)).isInstanceOf(IllegalArgumentException.class);
        try (ReactorGroup g = ReactorGroup.start(new int[] {2, 5}, 1 << 20, 0)) {
            assertThat(g.size()).isEqualTo(2);
            assertThat(g.core(1)).isEqualTo(5);
            assertThat(g.app()).isSameAs(g.get(0));
            assertThat(g.all()).extracting(Reactor::id).containsExactly(0, 1);
            assertThat(g.get(1).group()).isSameAs(g);
            Reactor a = g.nextReactor();
            Reactor b = g.nextReactor();
            assertThat(a).isNotSameAs(b);
            assertThat(g.nextReactor()).isSameAs(a);
            assertThat(g.nettyGroup().next()).isIn(g.get(0).eventLoop(), g.get(1).eventLoop());
            assertThat(g.buffers().limitBytes()).isEqualTo(1 << 20);
            g.close();
            for (Reactor r : g.all()) {
                assertThat(r.thread().isAlive()).isFalse();
                assertThat(r.terminationFuture()).isCompleted();
            }
            assertThat(g.nettyGroup().isShutdown()).isTrue();
        }
    }

    @Test
    void coreMasksAndListsAsSpdkWritesThem() {
        assertThat(ReactorGroup.parseCoreMask("0x3")).containsExactly(0, 1);
        assertThat(ReactorGroup.parseCoreMask("0X5")).containsExactly(0, 2);
        assertThat(ReactorGroup.parseCoreMask("c")).containsExactly(2, 3);
        assertThat(ReactorGroup.parseCoreMask("[0,2-3]")).containsExactly(0, 2, 3);
        assertThat(ReactorGroup.parseCoreMask("[ 3, 1 ,1]")).containsExactly(1, 3);
        assertThat(ReactorGroup.parseCoreMask("[1-1]")).containsExactly(1);
        assertThat(ReactorGroup.parseCoreMask(" 0x1 ")).containsExactly(0);
    }

    @Test
    void theMOptionTakesACountAMaskOrAList() {
        assertThat(ReactorGroup.parseCoresOption("1")).containsExactly(0);
        assertThat(ReactorGroup.parseCoresOption("2")).containsExactly(0, 1);
        assertThat(ReactorGroup.parseCoresOption(" 3 ")).containsExactly(0, 1, 2);
        assertThat(ReactorGroup.parseCoresOption("0x3")).containsExactly(0, 1);
        assertThat(ReactorGroup.parseCoresOption("0x10")).containsExactly(4);
        assertThat(ReactorGroup.parseCoresOption("[0,1]")).containsExactly(0, 1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "0", "-1", "1025", "99999999999", "abc", "3f", "0x", "0x0", "0xZZ", "0x-1",
        "[]", "[ ]", "[,]", "[3-1]", "[-1]", "[1-]", "[-]", "[a]", "[0-99999]", "[1,x]", "[0", "0x1" + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"})
    void badMOptionsAreRefusedWithAClearMessage(String s) {
        assertThatThrownBy(() -> ReactorGroup.parseCoresOption(s))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotStartWith("For input string")
                        .doesNotContain("Zero length").isNotBlank());
    }
}
