package io.basalt.nvmf;

import java.util.ArrayList;
import java.util.List;

/**
 * The qpairs of one reactor (SPDK's poll group), so that a namespace removal can reach the
 * commands parked on each reactor. Touched only by its reactor.
 */
final class PollGroup {
    private final List<TcpQpair> qpairs = new ArrayList<>();

    void add(TcpQpair q) {
        qpairs.add(q);
    }

    void remove(TcpQpair q) {
        qpairs.remove(q);
    }

    void namespaceGone(NvmfNamespace ns) {
        for (TcpQpair q : List.copyOf(qpairs)) {
            q.namespaceGone(ns);
        }
    }

    int size() {
        return qpairs.size();
    }

    List<TcpQpair> qpairs() {
        return qpairs;
    }
}
