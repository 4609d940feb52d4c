package io.basalt.testing;

import java.io.IOException;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An NVMe/TCP proxy on loopback that can turn into a target that hangs: with {@link #stallAfter}
 * set, each new connection forwards that many PDUs from the host (each PDU's length read from its
 * common header) and then swallows the rest while keeping the connection open, so the host's
 * commands after that point are never answered. PDUs from the target always pass. Blocking
 * threads, one pair per connection (a test tool).
 */
public final class StallingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile long stallAfter = -1;

    public StallingProxy(InetSocketAddress upstream) throws IOException {
        this.upstream = upstream;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "stalling-proxy");
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Connections made from now on pass {@code pdus} host PDUs, then stall; -1 passes everything. */
    public void stallAfter(long pdus) {
        stallAfter = pdus;
    }

    /** Closes every proxied connection (both sides see the connection end). */
    public void dropConnections() {
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        sockets.clear();
    }

    @Override
    public void close() {
        closeQuietly(server);
        dropConnections();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket target = new Socket(upstream.getAddress(), upstream.getPort());
                client.setTcpNoDelay(true);
                target.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(target);
                long limit = stallAfter;
                pump(client, target, limit, true);
                // A stalled connection stays open to the client even when the server ends it
                // (say, at its keep-alive timeout): a hung target does not close connections.
                pump(target, client, -1, limit < 0);
            } catch (IOException e) {
                // closed, or the upstream refused: the client sees its connection end
            }
        }
    }

    private void pump(Socket from, Socket to, long pduLimit, boolean closeOnEnd) {
        Thread t = new Thread(() -> {
            try {
                DataInputStream in = new DataInputStream(from.getInputStream());
                OutputStream out = to.getOutputStream();
                if (pduLimit < 0) {
                    in.transferTo(out);
                    return;
                }
                byte[] header = new byte[8];
                for (long n = 0; n < pduLimit; n++) {
                    in.readFully(header);
                    int plen = (header[4] & 0xFF) | (header[5] & 0xFF) << 8 | (header[6] & 0xFF) << 16
                            | (header[7] & 0xFF) << 24;
                    byte[] rest = new byte[plen - 8];
                    in.readFully(rest);
                    out.write(header);
                    out.write(rest);
                    out.flush();
                }
                in.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                // either side closed
            } finally {
                closeQuietly(from);
                if (closeOnEnd) {
                    closeQuietly(to);
                }
            }
        }, "stalling-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
