package io.basalt.nvmf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.nvme.LogPages;
import io.basalt.runtime.Json;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A transport address a subsystem listens on: TCP only, IPv4 or IPv6 literal and port. Equal
 * addresses are one listener, shared by the subsystems that name it.
 */
public record ListenAddress(String adrfam, String traddr, int port) {
    public static ListenAddress of(InetSocketAddress a) {
        InetAddress ia = a.getAddress();
        String fam = ia instanceof java.net.Inet6Address ? "IPv6" : "IPv4";
        return new ListenAddress(fam, ia.getHostAddress(), a.getPort());
    }

    public InetSocketAddress socketAddress() {
        try {
            return new InetSocketAddress(InetAddress.getByName(traddr), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    public String trsvcid() {
        return Integer.toString(port);
    }

    public int adrfamCode() {
        return "IPv6".equals(adrfam) ? LogPages.DiscoveryEntry.ADRFAM_IPV6 : LogPages.DiscoveryEntry.ADRFAM_IPV4;
    }

    /** SPDK's listen_address object. */
    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("trtype", "TCP");
        o.put("adrfam", adrfam);
        o.put("traddr", traddr);
        o.put("trsvcid", trsvcid());
        return o;
    }

    @Override
    public String toString() {
        return "IPv6".equals(adrfam) ? "[" + traddr + "]:" + port : traddr + ":" + port;
    }
}
