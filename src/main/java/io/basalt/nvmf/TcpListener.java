package io.basalt.nvmf;

import io.basalt.nvme.tcp.Pdu;
import io.basalt.nvme.tcp.PduDecoder;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.BindException;
import java.util.concurrent.CompletableFuture;

/**
 * One listening TCP socket of the NVMe/TCP transport, shared by the subsystems that listen on its
 * address. The acceptor runs on the application reactor; accepted connections are spread over
 * all reactors, each connection (one queue pair) living on its reactor.
 */
final class TcpListener {
    private static final System.Logger LOG = System.getLogger(TcpListener.class.getName());

    final ListenAddress address;
    final int portId;
    private Channel server;
    private final ChannelGroup connections;

    private TcpListener(ListenAddress address, int portId) {
        this.address = address;
        this.portId = portId;
        this.connections = new DefaultChannelGroup("nvmf " + address, GlobalEventExecutor.INSTANCE);
    }

    static CompletableFuture<TcpListener> bind(NvmfTarget target, ReactorGroup reactors, ListenAddress address, int portId) {
        TcpListener l = new TcpListener(address, portId);
        int maxPlen = maxPlen(target.transportOptions());
        ServerBootstrap b = new ServerBootstrap()
                .group(reactors.app().eventLoop(), reactors.nettyGroup())
                .channel(reactors.transport().serverSocketChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        l.connections.add(ch);
                        Reactor r = reactorOf(reactors, ch);
                        TcpQpair q = new TcpQpair(target, r);
                        PduDecoder d = new PduDecoder(q, true, maxPlen);
                        q.attachDecoder(d);
                        ch.pipeline().addLast("nvme-tcp-pdu", d);
                        ch.pipeline().addLast("nvme-tcp-qpair", q);
                    }
                });
        CompletableFuture<TcpListener> f = new CompletableFuture<>();
        b.bind(address.socketAddress()).addListener((ChannelFutureListener) cf -> {
            if (!cf.isSuccess()) {
                String msg = String.valueOf(cf.cause().getMessage());
                int errno = cf.cause() instanceof BindException || msg.contains("in use") ? Errno.EADDRINUSE
                        : msg.contains("assign requested address") ? Errno.EADDRNOTAVAIL : Errno.EIO;
                f.completeExceptionally(new BasaltException(errno, "cannot listen on " + address + ": " + msg));
                return;
            }
            l.server = cf.channel();
            LOG.log(System.Logger.Level.INFO, "NVMe/TCP listening on " + address);
            f.complete(l);
        });
        return f;
    }

    /** Longest PDU a controller takes: a capsule with the largest in-capsule data, or an H2CData of MAXH2CDATA. */
    static int maxPlen(TransportOptions o) {
        int data = Math.max(o.inCapsuleLimit(true), TransportOptions.MAX_H2C_DATA);
        return Pdu.CAPSULE_CMD_HLEN + 2 * Pdu.DIGEST_SIZE + 128 + data;
    }

    private static Reactor reactorOf(ReactorGroup reactors, Channel ch) {
        for (Reactor r : reactors.all()) {
            if (r.eventLoop() == ch.eventLoop()) {
                return r;
            }
        }
        throw new IllegalStateException("connection on an event loop that is no reactor");
    }

    /** Stops listening and closes every connection accepted here. */
    CompletableFuture<Void> close() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        server.close().addListener(x -> connections.close().addListener(y -> {
            LOG.log(System.Logger.Level.INFO, "NVMe/TCP stopped listening on " + address);
            f.complete(null);
        }));
        return f;
    }

    /** Closes the connections accepted here whose qpairs belong to {@code subsystem} (listener removed). */
    void closeConnectionsOf(NvmfSubsystem subsystem) {
        for (Channel ch : connections) {
            TcpQpair q = ch.pipeline().get(TcpQpair.class);
            if (q != null) {
                ch.eventLoop().execute(() -> {
                    if (q.subsystem == subsystem) {
                        q.disconnect();
                    }
                });
            }
        }
    }
}
