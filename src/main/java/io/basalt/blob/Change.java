package io.basalt.blob;

/**
 * One metadata mutation, applied to the working state of a commit. It may throw a
 * {@link io.basalt.runtime.BasaltException} to refuse: then only its own effects are dropped and
 * its future fails. Runs on the metadata reactor; must not block or do I/O.
 */
@FunctionalInterface
interface Change {
    void apply(Txn t);
}
