package io.basalt.bdev.nullbdev;

import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.IoCallback;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

class NullBdevTest {
    @Test
    void readsGiveZeroesWritesAreKeptNowhereAndCompareAndCopyAreRefused() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(1)) {
            NullModule mod = new NullModule(fx.bdevs);
            fx.bdevs.addModule(mod);
            fx.on(0, () -> mod.create("n0", null, 512, 64, 4096));
            BdevDesc d = fx.bdevs.open("n0", true, BdevEventHandler.IGNORE);
            MemorySegment buf = Arena.ofAuto().allocate(4096, 4096);
            buf.fill((byte) 0x5a);
            List<IoStatus> st = fx.onAsync(0, () -> {
                IoChannel ch = d.getIoChannel();
                List<IoStatus> out = new ArrayList<>();
                CompletableFuture<List<IoStatus>> f = new CompletableFuture<>();
                IoCallback cb = (io, ok, a) -> {
                    out.add(io.status());
                    if (out.size() == 6) {
                        d.putIoChannel(ch);
                        f.complete(out);
                    }
                };
                d.write(ch, buf, 0, 0, 8, cb, null);
                d.read(ch, buf, 0, 0, 8, cb, null);
                d.compare(ch, buf, 0, 0, 1, cb, null);
                d.copy(ch, 1, 0, 1, cb, null);
                d.flush(ch, 0, 64, cb, null);
                d.reset(ch, cb, null);
                return f;
            });
            assertThat(st).containsExactly(IoStatus.SUCCESS, IoStatus.SUCCESS, IoStatus.INVALID, IoStatus.INVALID,
                    IoStatus.SUCCESS, IoStatus.SUCCESS);
            assertThat(buf.mismatch(Arena.ofAuto().allocate(4096))).isEqualTo(-1);
            var j = fx.bdevs.require("n0").toJson();
            assertThat(j.get("product_name").asText()).isEqualTo("Null disk");
            assertThat(j.get("supported_io_types").get("compare").asBoolean()).isFalse();
            assertThat(fx.bdevs.require("n0").physicalBlockSize()).isEqualTo(4096);
            d.close();
        }
    }
}
