package io.basalt.nbd;

import io.basalt.nbd.codec.OptionDecoder;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.ReactorGroup;
import io.basalt.runtime.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * One listening socket (TCP or Unix) and the exports served on it. The acceptor runs on the
 * application reactor; accepted connections are spread over all reactors
 * ({@link ReactorGroup#nettyGroup()}), each running its handshake and I/O on its own reactor.
 *
 * <p>The export map is read by handshakes on any reactor and changed on the application reactor.
 */
final class NbdListener {
    private static final System.Logger LOG = System.getLogger(NbdListener.class.getName());

    private volatile NbdAddress address;
    private volatile Channel server;
    private final ChannelGroup connections;
    private final ConcurrentSkipListMap<String, NbdExport> exports = new ConcurrentSkipListMap<>();

    private NbdListener(NbdAddress address) {
        this.address = address;
        this.connections = new DefaultChannelGroup("nbd " + address, GlobalEventExecutor.INSTANCE);
    }

    /** The bound address (with the real port when port 0 was asked). */
    NbdAddress address() {
        return address;
    }

    /** The export called {@code name}; the empty name (NBD's default export) picks the only one. */
    NbdExport find(String name) {
        if (name.isEmpty() && exports.size() == 1) {
            return exports.firstEntry().getValue();
        }
        return exports.get(name);
    }

    List<String> exportNames() {
        return List.copyOf(exports.keySet());
    }

    boolean has(String name) {
        return exports.containsKey(name);
    }

    void add(NbdExport e) {
        exports.put(e.name(), e);
    }

    void remove(NbdExport e) {
        exports.remove(e.name(), e);
    }

    /**
     * Binds {@code address}. A stale Unix socket file (nobody accepts on it) is replaced; a live
     * one or another kind of file is refused. Blocking checks run here, so call it off the reactors.
     */
    static CompletableFuture<NbdListener> bind(ReactorGroup reactors, NbdAddress address) {
        try {
            if (address.isUnix()) {
                clearStaleSocket(address.path());
            }
        } catch (BasaltException e) {
            return CompletableFuture.failedFuture(e);
        }
        NbdListener l = new NbdListener(address);
        Transport transport = reactors.transport();
        ServerBootstrap b = new ServerBootstrap()
                .group(reactors.app().eventLoop(), reactors.nettyGroup())
                .channel(address.isUnix() ? transport.serverDomainSocketChannel() : transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        l.connections.add(ch);
                        ch.pipeline().addLast("nbd-options", new OptionDecoder());
                        ch.pipeline().addLast("nbd-handshake", new HandshakeHandler(l));
                    }
                });
        if (!address.isUnix()) {
            b.childOption(ChannelOption.TCP_NODELAY, true);
            b.option(ChannelOption.SO_REUSEADDR, true);
        }
        CompletableFuture<NbdListener> f = new CompletableFuture<>();
        b.bind(address.socketAddress(transport)).addListener((ChannelFutureListener) cf -> {
            if (!cf.isSuccess()) {
                f.completeExceptionally(bindError(address, cf.cause()));
                return;
            }
            if (!address.isUnix() && cf.channel().localAddress() instanceof InetSocketAddress isa) {
                l.address = address.withPort(isa.getPort());
            } else if (address.isUnix()) {
                restrictToOwner(address.path());
            }
            l.server = cf.channel();
            LOG.log(System.Logger.Level.INFO, "NBD listening on " + l.address.listenString());
            f.complete(l);
        });
        return f;
    }

    /** Stops listening, closes every connection still open, removes a Unix socket file. */
    CompletableFuture<Void> close() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        server.close().addListener(x -> connections.close().addListener(y -> {
            if (address.isUnix()) {
                try {
                    Files.deleteIfExists(address.path());
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot remove " + address.path() + ": " + e);
                }
            }
            LOG.log(System.Logger.Level.INFO, "NBD stopped listening on " + address.listenString());
            f.complete(null);
        }));
        return f;
    }

    private static void clearStaleSocket(Path path) {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        boolean socket;
        try {
            socket = Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).isOther();
        } catch (IOException e) {
            socket = false;
        }
        if (!socket) {
            throw new BasaltException(Errno.EEXIST, path + " exists and is not a socket");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
        } catch (IOException refused) {
            // Nobody accepts: a socket left behind by a process that died.
            try {
                Files.delete(path);
                return;
            } catch (IOException e) {
                throw new BasaltException(Errno.EACCES, "cannot remove stale socket " + path + ": " + e.getMessage());
            }
        }
        throw new BasaltException(Errno.EADDRINUSE, "Unix socket " + path + " is in use by another process");
    }

    private static void restrictToOwner(Path path) {
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot restrict " + path + " to its owner: " + e);
        }
    }

    private static BasaltException bindError(NbdAddress address, Throwable cause) {
        String msg = String.valueOf(cause.getMessage());
        if (cause instanceof BindException || msg.contains("in use")) {
            return new BasaltException(Errno.EADDRINUSE, "cannot listen on " + address.listenString() + ": " + msg);
        }
        if (msg.contains("assign requested address")) {
            return new BasaltException(Errno.EADDRNOTAVAIL, "cannot listen on " + address.listenString() + ": " + msg);
        }
        if (msg.contains("ermission denied")) {
            return new BasaltException(Errno.EACCES, "cannot listen on " + address.listenString() + ": " + msg);
        }
        return new BasaltException(Errno.EIO, "cannot listen on " + address.listenString() + ": " + cause);
    }
}
