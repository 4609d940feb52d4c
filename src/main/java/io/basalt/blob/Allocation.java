package io.basalt.blob;

import java.util.ArrayList;
import java.util.List;

/**
 * A cluster allocation in flight for one logical cluster of a blob (metadata reactor): the
 * reserved device cluster, the request filling it, and the requests for the same cluster that
 * wait and then go the normal way to the cluster once it is mapped.
 */
final class Allocation {
    final long k;
    final long cluster;
    final AllocRequest owner;
    final List<AllocRequest> waiters = new ArrayList<>();

    Allocation(long k, long cluster, AllocRequest owner) {
        this.k = k;
        this.cluster = cluster;
        this.owner = owner;
    }
}
