package io.basalt.runtime;

import io.basalt.rpc.RpcException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class BasaltExceptionTest {
    @Test
    void carriesAPositiveErrnoAndReportsTheNegativeCodeWithStrerror() {
        BasaltException e = new BasaltException(-Errno.ENODEV, "bdev m0 not found");
        assertThat(e.errno()).isEqualTo(19);
        assertThat(e.code()).isEqualTo(-19);
        assertThat(e.describe()).isEqualTo("No such device: bdev m0 not found");
        assertThat(new BasaltException(Errno.EEXIST, "x").code()).isEqualTo(-17);
        assertThat(new BasaltException(Errno.EBUSY, null).describe()).isEqualTo("Device or resource busy");
        assertThat(new BasaltException(Errno.EBUSY, "").describe()).isEqualTo("Device or resource busy");
        assertThat(e.toString()).contains("-19").contains("No such device");
        Throwable cause = new IllegalStateException("inner");
        assertThat(new BasaltException(Errno.EIO, "d", cause).getCause()).isSameAs(cause);
        // Stack-less: cheap enough to use for expected failures.
        assertThat(e.getStackTrace()).isEmpty();

        RpcException r = RpcException.of(new java.util.concurrent.CompletionException(e));
        assertThat(r.code()).isEqualTo(-19);
        assertThat(r.getMessage()).isEqualTo("No such device: bdev m0 not found");
    }
}
