package io.basalt.bdev;

/** Receives {@link BdevEvent}s for an open descriptor. */
@FunctionalInterface
public interface BdevEventHandler {
    void onEvent(BdevEvent event, Bdev bdev, BdevDesc desc);

    /** For openers that hold a bdev only for a moment and close it themselves. */
    BdevEventHandler IGNORE = (e, b, d) -> {
    };
}
