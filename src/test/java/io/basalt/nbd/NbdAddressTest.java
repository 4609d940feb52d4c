package io.basalt.nbd;

import io.basalt.runtime.BasaltException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NbdAddressTest {
    @Test
    void listenAddressesAndTheirUris() {
        var d = NbdAddress.parseDevice("127.0.0.1:10809");
        assertThat(d.exportName()).isNull();
        assertThat(d.address().listenString()).isEqualTo("127.0.0.1:10809");
        assertThat(d.address().uri("Malloc0")).isEqualTo("nbd://127.0.0.1:10809/Malloc0");

        var v6 = NbdAddress.parseDevice("[::1]:10810").address();
        assertThat(v6.listenString()).isEqualTo("[0:0:0:0:0:0:0:1]:10810");
        assertThat(NbdAddress.parseDevice(v6.listenString()).address()).isEqualTo(v6);

        var unix = NbdAddress.parseDevice("unix:/run/basalt/nbd.sock").address();
        assertThat(unix.uri("lvs/lv 1")).isEqualTo("nbd+unix:///lvs/lv%201?socket=/run/basalt/nbd.sock");
        assertThat(NbdAddress.parseDevice(null).address().listenString()).isEqualTo(NbdAddress.DEFAULT);
    }

    @Test
    void urisRoundTrip() {
        for (String name : new String[] {"Malloc0", "lvs0/lvol0", "a b%c?d#e", "ünï"}) {
            for (String addr : new String[] {"127.0.0.1:10809", "[::1]:1", "unix:/tmp/x y.sock"}) {
                String uri = NbdAddress.parseListen(addr).uri(name);
                var d = NbdAddress.parseDevice(uri);
                assertThat(d.exportName()).as(uri).isEqualTo(name);
                assertThat(d.address()).as(uri).isEqualTo(NbdAddress.parseListen(addr));
            }
        }
        assertThat(NbdAddress.parseDevice("nbd://10.0.0.1/x").address().port()).isEqualTo(NbdAddress.DEFAULT_PORT);
    }

    @Test
    void refusals() {
        for (String bad : new String[] {"/dev/nbd0", "localhost:10809", "::1:10809", "127.0.0.1:99999", "127.0.0.1",
                "unix:relative.sock", "nbds://127.0.0.1/x", "nbd+unix:///x", "nbd://127.0.0.1:1/x?tls=1",
                "nbd://127.0.0.1:1/%zz"}) {
            assertThatThrownBy(() -> NbdAddress.parseDevice(bad)).as(bad)
                    .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.code()).isEqualTo(-22));
        }
        assertThatThrownBy(() -> NbdAddress.parseDevice("/dev/nbd0")).hasMessageContaining("no kernel NBD devices");
    }
}
