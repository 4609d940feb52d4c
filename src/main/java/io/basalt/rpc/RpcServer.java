package io.basalt.rpc;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.Posix;

import java.io.CharConversionException;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * JSON-RPC 2.0 over a Unix stream socket, as SPDK serves it: no framing (requests are consecutive
 * JSON values, split or batched any way), one response object plus '\n' per request in
 * completion order, a parse error answered with -32700 and the connection closed.
 *
 * <p>The socket is guarded by {@code <path>.lock} held with flock (so two targets never share a
 * socket, also against SPDK's own target); a stale socket file is removed once the lock is held.
 * The socket is created owner-only: bound under a temporary name, chmod 0600, then renamed into
 * place, so there is no moment when others could connect.
 *
 * <p>Connections are served by virtual threads: the control plane may block on its socket; the
 * methods themselves run on the application reactor.
 */
public final class RpcServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RpcServer.class.getName());
    private static final int MAX_PATH = 107;
    /** How long close() waits for answers still being computed. */
    static final long CLOSE_GRACE_MILLIS = 5000;

    private final Path socket;
    private final Path lockPath;
    private final RpcRegistry registry;
    private final ExecutorService connections = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("rpc-conn-", 0).factory());
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private int lockFd = -1;
    private ServerSocketChannel server;
    private Thread acceptor;
    private volatile boolean closed;
    private final CompletableFuture<Void> closeDone = new CompletableFuture<>();

    public RpcServer(Path socket, RpcRegistry registry) {
        this.socket = socket.toAbsolutePath();
        this.lockPath = Path.of(this.socket + ".lock");
        this.registry = registry;
    }

    public Path socket() {
        return socket;
    }

    /**
     * Takes the lock and binds the socket. Throws {@link BasaltException} (-EBUSY) with a clear
     * message when another target holds the socket.
     */
    public void bind() throws IOException {
        if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_PATH) {
            throw new BasaltException(Errno.ENAMETOOLONG, "RPC socket path " + socket + " is longer than "
                    + MAX_PATH + " bytes");
        }
        Path dir = socket.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new BasaltException(Errno.ENOENT, "directory " + dir + " of the RPC socket does not exist");
        }
        int fd = Posix.open(lockPath.toString(), Posix.O_RDONLY | Posix.O_CREAT | Posix.O_CLOEXEC, 0600);
        if (!Posix.flock(fd, Posix.LOCK_EX | Posix.LOCK_NB)) {
            Posix.close(fd);
            throw new BasaltException(Errno.EBUSY, "RPC socket " + socket + " is in use by another target (lock "
                    + lockPath + " is held); stop it or choose another socket with -r");
        }
        lockFd = fd;
        try {
            Files.deleteIfExists(socket);
            Path tmp = tempName();
            Files.deleteIfExists(tmp);
            ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                // A full Unix-socket backlog refuses connect() with EAGAIN (no retry as on TCP):
                // SPDK's RPC server listens with 512, so do we.
                s.bind(UnixDomainSocketAddress.of(tmp), 512);
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
                if (!tmp.equals(socket)) {
                    try {
                        Files.move(tmp, socket, StandardCopyOption.ATOMIC_MOVE);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(tmp, socket);
                    }
                }
            } catch (IOException | RuntimeException e) {
                s.close();
                Files.deleteIfExists(tmp);
                throw e;
            }
            server = s;
        } catch (IOException | RuntimeException e) {
            releaseLock();
            throw e;
        }
    }

    /**
     * Where to bind before the rename into place: beside the socket (same directory, so the rename
     * is atomic), and no longer than a socket path may be. For a socket path near that limit with
     * a very short name no such name exists: then it binds in place and chmods at once.
     */
    private Path tempName() {
        String pid = Long.toString(ProcessHandle.current().pid(), 36);
        for (Path p : new Path[] {Path.of(socket + ".tmp" + pid), socket.resolveSibling("." + pid)}) {
            if (p.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_PATH) {
                return p;
            }
        }
        return socket;
    }

    /** Starts accepting connections. */
    public void start() {
        acceptor = Thread.ofPlatform().daemon(true).name("rpc-accept").start(this::acceptLoop);
        LOG.log(System.Logger.Level.INFO, "RPC server listening on " + socket);
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(System.Logger.Level.ERROR, "RPC accept failed", e);
                }
                return;
            }
            open.add(ch);
            try {
                connections.execute(() -> serve(ch));
            } catch (RuntimeException e) {
                open.remove(ch);
                closeQuietly(ch);
            }
        }
    }

    private void serve(SocketChannel ch) {
        Connection c = new Connection(ch);
        // The parser must not close the stream: that would close the socket before pending answers.
        InputStream in = Channels.newInputStream(ch);
        try (JsonParser p = Json.MAPPER.getFactory().createParser(in)
                .disable(JsonParser.Feature.AUTO_CLOSE_SOURCE)) {
            while (!closed) {
                JsonNode req;
                try {
                    JsonToken t = p.nextToken();
                    if (t == null) {
                        break;
                    }
                    req = Json.STREAM_READER.readTree(p);
                } catch (JsonProcessingException | CharConversionException e) {
                    // CharConversionException: bytes that are not text in the detected encoding.
                    if (!closed) {
                        c.send(RpcRegistry.error(null, RpcException.PARSE_ERROR, "Parse error"));
                    }
                    c.closeAfterPending();
                    return;
                }
                c.begin();
                registry.handle(req).whenCompleteAsync((resp, t) -> {
                    if (t != null) {
                        RpcException e = RpcException.of(t);
                        resp = RpcRegistry.error(req.get("id"), e.code(), e.getMessage());
                    }
                    if (resp != null) {
                        c.send(resp);
                    }
                    c.end();
                }, connections);
            }
        } catch (IOException e) {
            // the client went away
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "RPC connection failed", e);
        }
        c.closeAfterPending();
    }

    /**
     * Stops accepting and reading requests, sends the answers still pending (for at most
     * {@link #CLOSE_GRACE_MILLIS}, so spdk_kill_instance gets its "true"), closes the connections,
     * and, if this server bound the socket, removes it and releases the lock. Blocks: call it off
     * the reactors.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                // Another thread is closing (or closed): return once it is done.
                closeDone.join();
                return;
            }
            closed = true;
        }
        try {
            closeGracefully();
        } finally {
            closeDone.complete(null);
        }
    }

    private void closeGracefully() {
        if (server != null) {
            closeQuietly(server);
        }
        for (SocketChannel ch : open) {
            try {
                // The connection's reader sees end of stream and closes it once its answers are out.
                ch.shutdownInput();
            } catch (IOException e) {
                closeQuietly(ch);
            }
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_GRACE_MILLIS);
        while (!open.isEmpty() && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (SocketChannel ch : open) {
            closeQuietly(ch);
        }
        connections.shutdownNow();
        if (server != null) {
            // Only the socket this server bound: after a failed bind the file is another target's.
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "could not remove " + socket + ": " + e);
            }
        }
        releaseLock();
    }

    private void releaseLock() {
        if (lockFd >= 0) {
            try {
                Files.deleteIfExists(lockPath);
            } catch (IOException e) {
                // leave it; the lock, not the file, is what guards the socket
            }
            Posix.close(lockFd);
            lockFd = -1;
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    /** One client: responses are written whole, one at a time; the socket closes when all are sent. */
    private final class Connection {
        private final SocketChannel ch;
        private int pending;
        private boolean closing;

        Connection(SocketChannel ch) {
            this.ch = ch;
        }

        synchronized void begin() {
            pending++;
        }

        synchronized void end() {
            pending--;
            if (closing && pending == 0) {
                doClose();
            }
        }

        synchronized void send(JsonNode resp) {
            try {
                byte[] body = Json.MAPPER.writeValueAsBytes(resp);
                ByteBuffer b = ByteBuffer.allocate(body.length + 1);
                b.put(body).put((byte) '\n').flip();
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            } catch (IOException e) {
                // client gone: nothing to send to
            }
        }

        synchronized void closeAfterPending() {
            closing = true;
            if (pending == 0) {
                doClose();
            }
        }

        private void doClose() {
            open.remove(ch);
            closeQuietly(ch);
        }
    }
}
