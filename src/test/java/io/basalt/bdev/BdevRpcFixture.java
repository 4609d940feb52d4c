package io.basalt.bdev;

import io.basalt.bdev.malloc.MallocModule;
import io.basalt.bdev.malloc.MallocRpc;
import io.basalt.bdev.nullbdev.NullModule;
import io.basalt.bdev.nullbdev.NullRpc;
import io.basalt.rpc.RpcRegistry;
import io.basalt.testing.ReactorFixture;

/** The malloc and null modules and the generic bdev methods, registered as the target does. */
final class BdevRpcFixture {
    private BdevRpcFixture() {
    }

    static RpcRegistry register(ReactorFixture fx) {
        RpcRegistry rpc = new RpcRegistry(fx.app());
        MallocModule malloc = new MallocModule(fx.bdevs);
        NullModule nul = new NullModule(fx.bdevs);
        fx.bdevs.addModule(malloc);
        fx.bdevs.addModule(nul);
        BdevRpc.register(rpc, fx.bdevs);
        MallocRpc.register(rpc, malloc);
        NullRpc.register(rpc, nul);
        return rpc;
    }
}
