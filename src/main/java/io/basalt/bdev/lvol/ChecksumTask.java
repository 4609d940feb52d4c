package io.basalt.bdev.lvol;

import java.util.concurrent.CompletableFuture;

/**
 * A snapshot checksum being computed in the background for one lvol: the cancel flag the
 * computation looks at between two cluster reads, and a future that completes once it has
 * stopped (stored, failed or cancelled). Metadata reactor, except the flag (read there too).
 */
final class ChecksumTask {
    volatile boolean cancelled;
    final CompletableFuture<Void> finished = new CompletableFuture<>();

    CompletableFuture<Void> cancel() {
        cancelled = true;
        return finished;
    }
}
