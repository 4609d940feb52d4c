package io.basalt.bdev;

/** Life of a bdev in the layer: NEW, EXAMINING (registered, modules looking at it), READY, REMOVING. */
enum BdevState {
    NEW, EXAMINING, READY, REMOVING, REMOVED
}
