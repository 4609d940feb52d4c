package io.basalt.nvmf;

import io.basalt.nvme.NamespaceIds;

import java.util.List;

/** A snapshot of one NVM subsystem's configuration, for save_config. */
public record NvmfSubsystemView(String nqn, String serialNumber, String modelNumber, boolean allowAnyHost,
                                int maxNamespaces, int minCntlid, int maxCntlid, List<String> hosts,
                                List<ListenAddress> listeners, List<Ns> namespaces) {
    /** A namespace: its NSID, bdev and identifiers. */
    public record Ns(int nsid, String bdevName, NamespaceIds ids) {
    }
}
