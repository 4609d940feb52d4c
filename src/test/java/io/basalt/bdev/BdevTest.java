package io.basalt.bdev;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.rpc.RpcRegistry;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.basalt.testing.ReactorFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Quiesce of block ranges, statistics and the bdev_get_bdevs JSON of a bdev. */
class BdevTest {
    private ReactorFixture fx;
    private BdevLayer layer;
    private RecordingModule mod;
    private TestBdev b;
    private BdevDesc d;
    private final List<String> completed = Collections.synchronizedList(new ArrayList<>());
    private final MemorySegment buf = Arena.ofAuto().allocate(64 * 512, 4096);

    @BeforeEach
    void setUp() throws Exception {
        fx = new ReactorFixture(2);
        layer = fx.bdevs;
        mod = new RecordingModule("test", Collections.synchronizedList(new ArrayList<>()));
        layer.addModule(mod);
        b = new TestBdev(mod, "b0", null, 512, 1024);
        fx.onAsync(0, () -> layer.register(b));
        d = layer.open("b0", true, BdevEventHandler.IGNORE);
    }

    @AfterEach
    void tearDown() {
        d.close();
        fx.close();
    }

    /** Submits a read on reactor r; its channel is put back when it completes. */
    private void read(int r, long off, long n) throws Exception {
        fx.on(r, () -> {
            IoChannel ch = d.getIoChannel();
            return d.read(ch, buf, 0, off, n, (io, ok, a) -> {
                completed.add(TestBdev.key(io));
                d.putIoChannel(ch);
            }, null);
        });
    }

    /** Lets both reactors run their queued messages and deferred work (completions) to the end. */
    private void sync() throws Exception {
        for (int i = 0; i < 3; i++) {
            for (int r = 0; r < 2; r++) {
                var reactor = fx.reactors.get(r);
                fx.onAsync(r, () -> {
                    CompletableFuture<Void> f = new CompletableFuture<>();
                    reactor.deferTask(() -> f.complete(null));
                    return f;
                });
            }
        }
    }

    @Test
    void quiesceHoldsOverlappingIoLetsTheRestPassAndCompletesOnceInFlightIoDrained() throws Exception {
        b.hold = true;
        read(1, 12, 1);
        List<String> doneOn = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<LockedRange> q = fx.on(1, () -> b.quiesceRange(10, 10)
                .whenComplete((v, t) -> doneOn.add(Thread.currentThread().getName())));
        sync();
        assertThat(q).as("an overlapping I/O is still in flight").isNotDone();
        read(1, 15, 1);
        read(1, 30, 1);
        read(0, 9, 2);
        fx.on(1, () -> {
            IoChannel ch = d.getIoChannel();
            return d.flush(ch, 0, 0, (io, ok, a) -> {
                completed.add("FLUSH");
                d.putIoChannel(ch);
            }, null);
        });
        read(1, 20, 5);
        sync();
        assertThat(b.submits).containsExactly("READ 12+1", "READ 30+1", "READ 20+5");
        fx.on(1, b::completeOldest);
        LockedRange lr = await(q);
        assertThat(doneOn).containsExactly("reactor_1");
        assertThat(lr.offset()).isEqualTo(10);
        assertThat(lr.length()).isEqualTo(10);
        assertThat(lr.toString()).isEqualTo("[10, +10)");
        // A second overlapping range: its I/O stays held when the first one goes.
        LockedRange second = await(fx.on(1, () -> b.quiesceRange(14, 2)));
        await(fx.on(1, () -> b.unquiesceRange(lr)));
        sync();
        assertThat(b.submits).containsExactly("READ 12+1", "READ 30+1", "READ 20+5", "READ 9+2");
        await(fx.on(0, () -> b.unquiesceRange(second)));
        sync();
        assertThat(b.submits).containsExactly("READ 12+1", "READ 30+1", "READ 20+5", "READ 9+2", "READ 15+1",
                "FLUSH 0+0");
        b.hold = false;
        b.completeAllHeld();
        sync();
        assertThat(completed).containsExactlyInAnyOrder("READ 12+1", "READ 30+1", "READ 20+5", "READ 9+2",
                "READ 15+1", "FLUSH");
    }

    @Test
    void aChannelMadeAfterTheQuiesceIsQuiescedTooAndUnquiesceReleasesInOrder() throws Exception {
        LockedRange lr = await(fx.on(0, () -> b.quiesceRange(0, 100)));
        for (int i = 0; i < 5; i++) {
            read(1, 50 - i, 1);
        }
        read(1, 100, 1);
        sync();
        assertThat(b.submits).containsExactly("READ 100+1");
        await(fx.on(0, () -> b.unquiesceRange(lr)));
        sync();
        assertThat(b.submits).containsExactly("READ 100+1", "READ 50+1", "READ 49+1", "READ 48+1", "READ 47+1",
                "READ 46+1");
        assertThat(completed).hasSize(6);
        assertThatThrownBy(() -> fx.on(0, () -> b.unquiesceRange(lr))).isInstanceOf(BasaltException.class)
                .satisfies(t -> assertThat(((BasaltException) t).code()).isEqualTo(-Errno.EINVAL));
        assertThatThrownBy(() -> b.quiesceRange(-1, 1)).isInstanceOf(BasaltException.class);
        assertThatThrownBy(() -> b.quiesceRange(0, 0)).isInstanceOf(BasaltException.class);
        // Unquiescing before the quiesce completed is refused: that quiesce would never complete.
        b.hold = true;
        read(1, 40, 1);
        CompletableFuture<LockedRange> pending = fx.on(1, () -> b.quiesceRange(40, 1));
        sync();
        LockedRange early = fx.on(1, () -> {
            for (LockedRange x : b.lockedRanges) {
                if (x.offset() == 40) {
                    return x;
                }
            }
            return null;
        });
        assertThatThrownBy(() -> fx.on(1, () -> b.unquiesceRange(early))).isInstanceOf(BasaltException.class)
                .satisfies(t -> assertThat(((BasaltException) t).code()).isEqualTo(-Errno.EBUSY));
        fx.on(1, () -> {
            for (BdevIo io : List.copyOf(b.held)) {
                if (io.offsetBlocks() == 40) {
                    b.held.remove(io);
                    b.execute(io);
                }
            }
            return null;
        });
        await(fx.on(1, () -> b.unquiesceRange(await(pending))));
    }

    @Test
    void aChannelPutWhileItHoldsQuiescedIoLivesUntilThatIoCompletes() throws Exception {
        b.hold = true;
        fx.on(1, () -> d.read(d.getIoChannel(), buf, 0, 0, 1, (io, ok, a) -> completed.add("A " + io.status()), null));
        LockedRange q = await(fx.on(1, () -> b.quiesceRange(10, 10)));
        fx.on(1, () -> {
            IoChannel ch = d.getIoChannel();
            d.read(ch, buf, 0, 15, 1, (io, ok, a) -> completed.add("B " + io.status()), null);
            // Both references given back while B waits behind the quiesce and A is with the module.
            d.putIoChannel(ch);
            d.putIoChannel(ch);
            return null;
        });
        sync();
        fx.on(1, b::completeOldest);
        sync();
        assertThat(completed).containsExactly("A SUCCESS");
        await(fx.on(0, () -> b.unquiesceRange(q)));
        sync();
        fx.on(1, b::completeOldest);
        sync();
        assertThat(completed).containsExactly("A SUCCESS", "B SUCCESS");
        assertThat(layer.channelCount(b)).isZero();
    }

    @Test
    void iostatCountsWhatWasDoneOnEveryChannelIncludingClosedOnes() throws Exception {
        RpcRegistry rpc = new RpcRegistry(fx.app());
        BdevRpc.register(rpc, layer);
        // A channel kept on each reactor, so per_channel sees them.
        IoChannel c0 = fx.on(0, d::getIoChannel);
        IoChannel c1 = fx.on(1, d::getIoChannel);
        // Reactor 0: 3 reads of 4 blocks, 2 writes of 8; reactor 1: 1 read of 1, unmap 16, zeroes 2, flush, copy 4.
        for (int i = 0; i < 3; i++) {
            read(0, i * 4, 4);
        }
        for (int i = 0; i < 2; i++) {
            fx.on(0, () -> {
                IoChannel ch = d.getIoChannel();
                return d.write(ch, buf, 0, 100, 8, (io, ok, a) -> {
                    completed.add("w");
                    d.putIoChannel(ch);
                }, null);
            });
        }
        read(1, 0, 1);
        fx.on(1, () -> {
            IoChannel ch = d.getIoChannel();
            d.unmap(ch, 0, 16, (io, ok, a) -> completed.add("u"), null);
            d.writeZeroes(ch, 0, 2, (io, ok, a) -> completed.add("z"), null);
            d.flush(ch, 0, 1024, (io, ok, a) -> completed.add("f"), null);
            d.copy(ch, 500, 0, 4, (io, ok, a) -> completed.add("c"), null);
            d.read(ch, buf, 0, 5000, 1, (io, ok, a) -> {
                completed.add("bad");
                d.putIoChannel(ch);
            }, null);
            return null;
        });
        sync();
        assertThat(completed).as(b.submits + " / " + completed).hasSize(11);
        JsonNode all = await(rpc.call("bdev_get_iostat", Json.MAPPER.readTree("{\"name\":\"b0\"}")));
        assertThat(all.get("tick_rate").asLong()).isEqualTo(1_000_000_000L);
        JsonNode s = all.get("bdevs").get(0);
        assertThat(s.get("name").asText()).isEqualTo("b0");
        assertThat(s.get("num_read_ops").asLong()).isEqualTo(4);
        assertThat(s.get("bytes_read").asLong()).isEqualTo((3 * 4 + 1) * 512);
        assertThat(s.get("num_write_ops").asLong()).isEqualTo(2);
        assertThat(s.get("bytes_written").asLong()).isEqualTo(2 * 8 * 512);
        assertThat(s.get("num_unmap_ops").asLong()).isEqualTo(1);
        assertThat(s.get("bytes_unmapped").asLong()).isEqualTo(16 * 512);
        assertThat(s.get("num_write_zeroes_ops").asLong()).isEqualTo(1);
        assertThat(s.get("bytes_write_zeroes").asLong()).isEqualTo(2 * 512);
        assertThat(s.get("num_flush_ops").asLong()).isEqualTo(1);
        assertThat(s.get("num_copy_ops").asLong()).isEqualTo(1);
        assertThat(s.get("bytes_copied").asLong()).isEqualTo(4 * 512);
        assertThat(s.get("io_error").get("invalid").asLong()).isEqualTo(1);
        assertThat(s.get("read_latency_ticks").asLong()).isGreaterThanOrEqualTo(s.get("max_read_latency_ticks").asLong());
        assertThat(s.get("max_read_latency_ticks").asLong()).isGreaterThanOrEqualTo(s.get("min_read_latency_ticks").asLong());
        assertThat(s.get("min_write_latency_ticks").asLong()).isPositive();
        assertThat(s.get("min_unmap_latency_ticks").asLong()).isPositive();

        JsonNode per = await(rpc.call("bdev_get_iostat", Json.MAPPER.readTree("{\"name\":\"b0\",\"per_channel\":true}")));
        assertThat(per.get("name").asText()).isEqualTo("b0");
        assertThat(per.get("channels")).hasSize(2);
        assertThat(per.get("channels").get(0).get("thread_id").asInt()).isZero();
        assertThat(per.get("channels").get(0).get("num_read_ops").asLong()).isEqualTo(3);
        assertThat(per.get("channels").get(1).get("num_read_ops").asLong()).isEqualTo(1);
        assertThatThrownBy(() -> await(rpc.call("bdev_get_iostat", Json.MAPPER.readTree("{\"per_channel\":true}"))))
                .hasMessageContaining("per_channel needs exactly one bdev name");
        assertThatThrownBy(() -> await(rpc.call("bdev_get_iostat", Json.MAPPER.readTree("{\"name\":\"zz\"}"))))
                .hasMessageContaining("bdev zz not found");

        // Channels go away once put and the descriptor is closed: their counts stay.
        fx.on(0, () -> {
            d.putIoChannel(c0);
            return null;
        });
        fx.on(1, () -> {
            d.putIoChannel(c1);
            return null;
        });
        d.close();
        sync();
        assertThat(layer.channelCount(b)).isZero();
        JsonNode after = await(rpc.call("bdev_get_iostat", null)).get("bdevs").get(0);
        assertThat(after.get("num_read_ops").asLong()).isEqualTo(4);
        assertThat(after.get("num_write_ops").asLong()).isEqualTo(2);
        d = layer.open("b0", true, BdevEventHandler.IGNORE);
    }

    @Test
    void bdevGetBdevsFieldsAreSpdks() throws Exception {
        JsonNode j = b.toJson();
        assertThat(j.get("name").asText()).isEqualTo("b0");
        assertThat(j.get("product_name").asText()).isEqualTo("Test disk");
        assertThat(j.get("block_size").asInt()).isEqualTo(512);
        assertThat(j.get("num_blocks").asLong()).isEqualTo(1024);
        assertThat(j.get("uuid").asText()).isEqualTo(b.uuid().toString());
        assertThat(j.get("claimed").asBoolean()).isFalse();
        assertThat(j.get("zoned").asBoolean()).isFalse();
        assertThat(j.get("assigned_rate_limits").get("rw_ios_per_sec").asLong()).isZero();
        assertThat(j.get("supported_io_types").size()).isEqualTo(IoType.SPDK_KEYS.length);
        assertThat(j.get("supported_io_types").get("read").asBoolean()).isTrue();
        assertThat(j.get("supported_io_types").get("nvme_admin").asBoolean()).isFalse();
        assertThat(j.get("driver_specific").isObject()).isTrue();
    }
}
