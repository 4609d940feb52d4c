package io.basalt.bdev;

import io.basalt.config.ConfigCall;
import io.basalt.config.Subsystem;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The "bdev" subsystem of save_config: module options first, then every bdev that a module saves
 * (in registration order, so bases come before what stacks on them), then bdev_wait_for_examine,
 * as SPDK writes it.
 */
public final class BdevSubsystem implements Subsystem {
    private final BdevLayer layer;

    public BdevSubsystem(BdevLayer layer) {
        this.layer = layer;
    }

    @Override
    public String name() {
        return "bdev";
    }

    @Override
    public CompletableFuture<List<ConfigCall>> config() {
        List<ConfigCall> out = new ArrayList<>();
        for (BdevModule m : layer.modules()) {
            m.writeModuleConfig(out);
        }
        for (Bdev b : layer.list()) {
            ConfigCall c = b.configCall();
            if (c != null) {
                out.add(c);
            }
        }
        out.add(new ConfigCall("bdev_wait_for_examine", null));
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public CompletableFuture<Void> fini() {
        return layer.fini();
    }
}
