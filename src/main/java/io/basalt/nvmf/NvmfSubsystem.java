package io.basalt.nvmf;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.nvme.Wire;
import io.basalt.runtime.Json;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An NVM subsystem (or the discovery subsystem): its NQN and identity strings, the hosts allowed
 * to connect, the addresses it listens on, its namespaces and its controllers.
 *
 * <p>Threading: configuration and the controller list belong to the application reactor. The
 * namespace table is published as an immutable array ({@link #namespace} is a volatile read from
 * any reactor, once per command).
 */
final class NvmfSubsystem {
    enum State { ACTIVE, DELETING }

    final String nqn;
    final boolean discovery;
    final String serialNumber;
    final String modelNumber;
    final int maxNamespaces;
    final int minCntlid;
    final int maxCntlid;
    boolean allowAnyHost;
    final Set<String> hosts = new LinkedHashSet<>();
    final List<ListenAddress> listeners = new ArrayList<>();
    final List<NvmfController> controllers = new ArrayList<>();
    State state = State.ACTIVE;
    private int nextCntlid;
    private volatile NvmfNamespace[] namespaces;

    NvmfSubsystem(String nqn, boolean discovery, String serialNumber, String modelNumber, boolean allowAnyHost,
                  int maxNamespaces, int minCntlid, int maxCntlid) {
        this.nqn = nqn;
        this.discovery = discovery;
        this.serialNumber = serialNumber;
        this.modelNumber = modelNumber;
        this.allowAnyHost = allowAnyHost;
        this.maxNamespaces = maxNamespaces;
        this.minCntlid = minCntlid;
        this.maxCntlid = maxCntlid;
        this.nextCntlid = minCntlid;
        this.namespaces = new NvmfNamespace[maxNamespaces];
    }

    /** The namespace with this NSID, or null if it is inactive. Any thread. */
    NvmfNamespace namespace(int nsid) {
        NvmfNamespace[] a = namespaces;
        if (nsid <= 0 || nsid > a.length) {
            return null;
        }
        return a[nsid - 1];
    }

    /** Active NSIDs in increasing order. Any thread. */
    int[] activeNsids() {
        NvmfNamespace[] a = namespaces;
        int n = 0;
        for (NvmfNamespace ns : a) {
            if (ns != null) {
                n++;
            }
        }
        int[] out = new int[n];
        int k = 0;
        for (NvmfNamespace ns : a) {
            if (ns != null) {
                out[k++] = ns.nsid;
            }
        }
        return out;
    }

    List<NvmfNamespace> namespaceList() {
        List<NvmfNamespace> out = new ArrayList<>();
        for (NvmfNamespace ns : namespaces) {
            if (ns != null) {
                out.add(ns);
            }
        }
        return out;
    }

    /** The lowest free NSID, or 0 if the table is full. Application reactor. */
    int freeNsid() {
        NvmfNamespace[] a = namespaces;
        for (int i = 0; i < a.length; i++) {
            if (a[i] == null) {
                return i + 1;
            }
        }
        return 0;
    }

    /** Publishes a namespace (null = removes it). Application reactor. */
    void publish(int nsid, NvmfNamespace ns) {
        NvmfNamespace[] a = namespaces.clone();
        a[nsid - 1] = ns;
        namespaces = a;
    }

    boolean hostAllowed(String hostnqn) {
        return discovery || allowAnyHost || hosts.contains(hostnqn);
    }

    /** A free controller ID in [min_cntlid, max_cntlid], or -1. Application reactor. */
    int allocateCntlid() {
        int span = maxCntlid - minCntlid + 1;
        for (int i = 0; i < span; i++) {
            int id = nextCntlid;
            nextCntlid = id == maxCntlid ? minCntlid : id + 1;
            boolean used = false;
            for (NvmfController c : controllers) {
                if (c.cntlid == id) {
                    used = true;
                    break;
                }
            }
            if (!used) {
                return id;
            }
        }
        return -1;
    }

    NvmfController controller(int cntlid) {
        for (NvmfController c : controllers) {
            if (c.cntlid == cntlid) {
                return c;
            }
        }
        return null;
    }

    /** The nvmf_get_subsystems entry, with SPDK's field names. */
    ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("nqn", nqn);
        o.put("subtype", discovery ? "Discovery" : "NVMe");
        ArrayNode la = o.putArray("listen_addresses");
        for (ListenAddress a : listeners) {
            la.add(a.toJson());
        }
        o.put("allow_any_host", allowAnyHost);
        ArrayNode h = o.putArray("hosts");
        for (String host : hosts) {
            h.add(Json.object().put("nqn", host));
        }
        if (!discovery) {
            o.put("serial_number", serialNumber);
            o.put("model_number", modelNumber);
            o.put("max_namespaces", maxNamespaces);
            o.put("min_cntlid", minCntlid);
            o.put("max_cntlid", maxCntlid);
            ArrayNode ns = o.putArray("namespaces");
            for (NvmfNamespace n : namespaceList()) {
                ObjectNode e = Json.object();
                e.put("nsid", n.nsid);
                e.put("bdev_name", n.bdev().name());
                e.put("name", n.bdev().name());
                if (n.ids.hasNguid()) {
                    e.put("nguid", Wire.hex(n.ids.nguid()));
                }
                if (n.ids.hasEui64()) {
                    e.put("eui64", Wire.hex(n.ids.eui64()));
                }
                if (n.ids.uuid() != null) {
                    e.put("uuid", n.ids.uuid().toString());
                }
                ns.add(e);
            }
        }
        return o;
    }

    @Override
    public String toString() {
        return "subsystem " + nqn;
    }
}
