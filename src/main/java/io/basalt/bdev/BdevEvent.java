package io.basalt.bdev;

/** Events an open descriptor receives, on the reactor where it was opened. */
public enum BdevEvent {
    /** The bdev is going away: finish or fail in-flight work, put the channels, close the descriptor. */
    REMOVE,
    /** The block count changed; read it from the bdev. */
    RESIZE
}
