package io.basalt.rpc;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.runtime.Json;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A JSON-RPC client for the target's socket, as rpc.py behaves: one connection per call, the
 * request sent as one JSON object, the answer read as one JSON value. Used by {@code basalt rpc}
 * and by the tests.
 */
public final class RpcClient {
    private static final AtomicLong IDS = new AtomicLong(1);

    private final Path socket;
    private final Duration timeout;

    public RpcClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
    }

    public Path socket() {
        return socket;
    }

    /** An error the server answered. */
    public static final class RpcError extends Exception {
        private final int code;

        public RpcError(int code, String message) {
            super(message, null, false, false);
            this.code = code;
        }

        public int code() {
            return code;
        }

        @Override
        public String toString() {
            return "RpcError(" + code + ", " + getMessage() + ")";
        }
    }

    /** Calls {@code method}; params null leaves "params" out (as rpc.py does when empty). */
    public JsonNode call(String method, JsonNode params) throws IOException, RpcError {
        ObjectNode req = Json.object();
        req.put("jsonrpc", "2.0");
        req.put("method", method);
        req.put("id", IDS.getAndIncrement());
        if (params != null) {
            req.set("params", params);
        }
        JsonNode resp = exchange(req);
        JsonNode err = resp.get("error");
        if (err != null) {
            throw new RpcError(err.path("code").asInt(), err.path("message").asText());
        }
        return resp.get("result");
    }

    /** Sends one raw request value and reads one response value. */
    public JsonNode exchange(JsonNode request) throws IOException {
        return exchangeRaw(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(request));
    }

    /** Sends bytes as they are and reads one JSON value back. */
    public JsonNode exchangeRaw(byte[] request) throws IOException {
        try (SocketChannel ch = connect()) {
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(timeout);
                    ch.close();
                } catch (InterruptedException | IOException e) {
                    // done in time
                }
            });
            try {
                ByteBuffer b = ByteBuffer.wrap(request);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                InputStream in = Channels.newInputStream(ch);
                JsonParser p = Json.MAPPER.getFactory().createParser(in);
                JsonToken t = p.nextToken();
                if (t == null) {
                    throw new IOException("connection closed by the target before it answered");
                }
                return Json.STREAM_READER.readTree(p);
            } catch (java.nio.channels.AsynchronousCloseException e) {
                throw new IOException("no answer from " + socket + " within " + timeout.toSeconds() + " s");
            } finally {
                watchdog.interrupt();
            }
        }
    }

    /** A connected channel, for tests that speak the protocol by hand. */
    public SocketChannel connect() throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot connect to " + socket + ": " + e.getMessage()
                    + " (is the target running? start it with: basalt tgt -r " + socket + ")", e);
        }
        return ch;
    }
}
