package io.basalt.bdev;

import io.basalt.bdev.malloc.MallocModule;
import io.basalt.runtime.DmaBuffer;
import io.basalt.testing.ReactorFixture;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

class MallocIoTest {
    @Test
    void writeThenReadBackAndOutOfRangeFails() throws Exception {
        try (ReactorFixture fx = new ReactorFixture(2)) {
            MallocModule mod = new MallocModule(fx.bdevs);
            fx.bdevs.addModule(mod);
            fx.on(0, () -> mod.create("m0", null, 512, 2048, 512, 0));
            IoStatus[] st = fx.onAsync(1, () -> {
                BdevDesc d = fx.bdevs.open("m0", true, BdevEventHandler.IGNORE);
                IoChannel ch = d.getIoChannel();
                DmaBuffer w = fx.reactors.buffers().get(4096);
                DmaBuffer r = fx.reactors.buffers().get(4096);
                for (int i = 0; i < 4096; i++) {
                    w.segment().set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7));
                }
                CompletableFuture<IoStatus[]> f = new CompletableFuture<>();
                IoStatus[] out = new IoStatus[3];
                d.write(ch, w.segment(), 0, 10, 8, (io, ok, a) -> {
                    out[0] = io.status();
                    d.read(ch, r.segment(), 0, 10, 8, (io2, ok2, a2) -> {
                        out[1] = io2.status();
                        d.read(ch, r.segment(), 0, 2045, 8, (io3, ok3, a3) -> {
                            out[2] = io3.status();
                            assertThat(r.segment().asSlice(0, 4096).mismatch(w.segment().asSlice(0, 4096))).isEqualTo(-1);
                            d.putIoChannel(ch);
                            d.close();
                            fx.reactors.buffers().put(w);
                            fx.reactors.buffers().put(r);
                            f.complete(out);
                        }, null);
                    }, null);
                }, null);
                return f;
            });
            assertThat(st).containsExactly(IoStatus.SUCCESS, IoStatus.SUCCESS, IoStatus.INVALID);
        }
    }
}
