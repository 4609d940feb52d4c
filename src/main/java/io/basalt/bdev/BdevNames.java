package io.basalt.bdev;

import io.basalt.rpc.RpcException;

import java.util.UUID;

/** Small helpers the module RPCs share: uuid parsing and generated names. */
public final class BdevNames {
    private BdevNames() {
    }

    /** Parses an optional uuid parameter; -32602 naming the parameter if malformed. */
    public static UUID parseUuid(String method, String param, String value) {
        if (value == null) {
            return null;
        }
        try {
            if (value.length() != 36) {
                throw new IllegalArgumentException();
            }
            return UUID.fromString(value);
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(method + ": " + param + " '" + value + "' is not a valid UUID");
        }
    }

    /** The first free name prefix+N, counting from 0 (SPDK's Malloc0, Malloc1, ...). */
    public static String nextFreeName(BdevLayer layer, String prefix) {
        for (int i = 0; ; i++) {
            String n = prefix + i;
            if (!layer.nameTaken(n)) {
                return n;
            }
        }
    }
}
