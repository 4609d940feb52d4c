package io.basalt.bdev;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.BiConsumer;

/** A module that records the layer's calls into a shared log and can act in examine. */
final class RecordingModule implements BdevModule {
    private final String name;
    private final List<String> log;
    /** What examine does; by default it finishes at once. */
    volatile BiConsumer<Bdev, Runnable> onExamine = (b, done) -> done.run();
    final List<String> finis = Collections.synchronizedList(new ArrayList<>());

    RecordingModule(String name, List<String> log) {
        this.name = name;
        this.log = log;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void examine(Bdev bdev, Runnable done) {
        log.add(name + " examines " + bdev.name() + " on " + Thread.currentThread().getName());
        onExamine.accept(bdev, done);
    }

    @Override
    public void fini(Runnable done) {
        log.add(name + " fini");
        done.run();
    }
}
