package io.basalt.runtime;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.Channel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringServerDomainSocketChannel;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;

import java.util.Locale;

/**
 * Which Netty I/O handler the reactors run, with the matching channel classes. io_uring when the
 * kernel has it (file I/O of the aio module shares that ring), else epoll, else NIO.
 * The system property {@code basalt.transport} (io_uring, epoll, nio) forces one.
 */
public enum Transport {
    IO_URING, EPOLL, NIO;

    public static Transport detect() {
        String forced = System.getProperty("basalt.transport", "").trim().toLowerCase(Locale.ROOT);
        switch (forced) {
            case "io_uring", "iouring", "uring" -> {
                IoUring.ensureAvailability();
                return IO_URING;
            }
            case "epoll" -> {
                Epoll.ensureAvailability();
                return EPOLL;
            }
            case "nio" -> {
                return NIO;
            }
            case "" -> {
            }
            default -> throw new IllegalArgumentException("basalt.transport must be io_uring, epoll or nio, not " + forced);
        }
        if (IoUring.isAvailable()) {
            return IO_URING;
        }
        if (Epoll.isAvailable()) {
            return EPOLL;
        }
        return NIO;
    }

    public IoHandlerFactory handlerFactory() {
        return switch (this) {
            case IO_URING -> IoUringIdleFilter.factory();
            case EPOLL -> EpollIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
    }

    public Class<? extends ServerChannel> serverSocketChannel() {
        return switch (this) {
            case IO_URING -> IoUringServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            case NIO -> NioServerSocketChannel.class;
        };
    }

    public Class<? extends Channel> socketChannel() {
        return switch (this) {
            case IO_URING -> IoUringSocketChannel.class;
            case EPOLL -> EpollSocketChannel.class;
            case NIO -> NioSocketChannel.class;
        };
    }

    public Class<? extends ServerChannel> serverDomainSocketChannel() {
        return switch (this) {
            case IO_URING -> IoUringServerDomainSocketChannel.class;
            case EPOLL -> EpollServerDomainSocketChannel.class;
            case NIO -> NioServerDomainSocketChannel.class;
        };
    }
}
