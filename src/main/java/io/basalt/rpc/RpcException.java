package io.basalt.rpc;

import io.basalt.runtime.BasaltException;

/** A JSON-RPC error to send back: code and message. */
public class RpcException extends RuntimeException {
    public static final int PARSE_ERROR = -32700;
    public static final int INVALID_REQUEST = -32600;
    public static final int METHOD_NOT_FOUND = -32601;
    public static final int INVALID_PARAMS = -32602;
    public static final int INTERNAL_ERROR = -32603;
    public static final int INVALID_STATE = -1;

    private final int code;

    public RpcException(int code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static RpcException invalidParams(String message) {
        return new RpcException(INVALID_PARAMS, message);
    }

    /** The error for any throwable: our own types keep their code, anything else is internal. */
    public static RpcException of(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException
                || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof RpcException r) {
            return r;
        }
        if (c instanceof BasaltException b) {
            return new RpcException(b.code(), b.describe());
        }
        return new RpcException(INTERNAL_ERROR, "Internal error: " + c);
    }
}
