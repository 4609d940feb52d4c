package io.basalt.nbd;

import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Transport;
import io.netty.channel.unix.DomainSocketAddress;

import java.io.ByteArrayOutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Where an NBD listener listens: a TCP address (an IP literal and a port) or a Unix socket path.
 *
 * <p>Basalt's {@code nbd_device} (SPDK's is a kernel /dev/nbdX, which a user-space target has
 * no use for) names an export by where a client reaches it:
 * <ul>
 *   <li>a listen address: {@code 127.0.0.1:10809}, {@code [::1]:10809}, {@code 0.0.0.0:10809},
 *       {@code unix:/run/basalt/nbd.sock}; the export name is then the bdev name;</li>
 *   <li>an NBD URI as libnbd and qemu take it: {@code nbd://127.0.0.1:10809/NAME},
 *       {@code nbd+unix:///NAME?socket=/run/basalt/nbd.sock}, naming the export as well.</li>
 * </ul>
 * Exports on the same address share one listener. The canonical form, which nbd_start_disk
 * returns, nbd_get_disks lists and save_config writes, is the URI: a client can use it as is.
 * Hosts are IP literals only (no name lookups on a reactor); port 0 binds an ephemeral port.
 */
public record NbdAddress(InetAddress ip, int port, Path path) {
    public static final int DEFAULT_PORT = 10809;
    /** The listener used when nbd_device is absent: loopback only. */
    public static final String DEFAULT = "127.0.0.1:" + DEFAULT_PORT;

    /** An nbd_device parsed: the listen address and the export name it names (null = the bdev name). */
    public record Device(NbdAddress address, String exportName) {
    }

    public boolean isUnix() {
        return path != null;
    }

    /** The listen-address form: {@code 127.0.0.1:10809}, {@code [::1]:10809}, {@code unix:/path}. */
    public String listenString() {
        if (isUnix()) {
            return "unix:" + path;
        }
        return hostString() + ":" + port;
    }

    private String hostString() {
        String h = ip.getHostAddress();
        return ip instanceof Inet6Address ? "[" + h + "]" : h;
    }

    /** The NBD URI of export {@code name} on this address. */
    public String uri(String name) {
        if (isUnix()) {
            return "nbd+unix:///" + encode(name, true) + "?socket=" + encode(path.toString(), false);
        }
        return "nbd://" + hostString() + ":" + port + "/" + encode(name, true);
    }

    public NbdAddress withPort(int p) {
        return new NbdAddress(ip, p, path);
    }

    /** The socket address to bind with {@code transport}'s channel classes. */
    public SocketAddress socketAddress(Transport transport) {
        if (isUnix()) {
            return transport == Transport.NIO ? UnixDomainSocketAddress.of(path) : new DomainSocketAddress(path.toFile());
        }
        return new InetSocketAddress(ip, port);
    }

    @Override
    public String toString() {
        return listenString();
    }

    // ------------------------------------------------------------------ parsing

    /** Parses an nbd_device; null means the default listener. -EINVAL with the accepted forms otherwise. */
    public static Device parseDevice(String s) {
        if (s == null) {
            return new Device(parseListen(DEFAULT), null);
        }
        String v = s.trim();
        if (v.startsWith("/dev/")) {
            throw bad(s, "Basalt has no kernel NBD devices; it serves NBD over the network itself. Give a listen"
                    + " address (127.0.0.1:10809, unix:/path/sock) or an NBD URI (nbd://127.0.0.1:10809/NAME)");
        }
        if (v.startsWith("nbd+unix://")) {
            return parseUnixUri(s, v.substring("nbd+unix://".length()));
        }
        if (v.startsWith("nbd://")) {
            return parseTcpUri(s, v.substring("nbd://".length()));
        }
        if (v.contains("://")) {
            throw bad(s, "only nbd:// and nbd+unix:// URIs are served (no TLS)");
        }
        return new Device(parseListen(v), null);
    }

    /** Parses a listen address ({@code IP:PORT}, {@code [IPv6]:PORT}, {@code unix:/path}). */
    public static NbdAddress parseListen(String s) {
        if (s.startsWith("unix:")) {
            return unix(s, s.substring(5));
        }
        int colon = s.lastIndexOf(':');
        if (colon <= 0) {
            throw bad(s, "expected IP:PORT, [IPv6]:PORT or unix:/path");
        }
        return tcp(s, s.substring(0, colon), s.substring(colon + 1));
    }

    private static Device parseTcpUri(String original, String rest) {
        int slash = rest.indexOf('/');
        String authority = slash < 0 ? rest : rest.substring(0, slash);
        String pathPart = slash < 0 ? "" : rest.substring(slash + 1);
        if (pathPart.contains("?") || pathPart.contains("#")) {
            throw bad(original, "nbd:// URIs take no query or fragment");
        }
        String host = authority;
        String port = String.valueOf(DEFAULT_PORT);
        int close = authority.lastIndexOf(']');
        int colon = authority.lastIndexOf(':');
        if (colon > close) {
            host = authority.substring(0, colon);
            port = authority.substring(colon + 1);
        }
        if (host.isEmpty()) {
            throw bad(original, "the URI has no host");
        }
        return new Device(tcp(original, host, port), decode(original, pathPart));
    }

    private static Device parseUnixUri(String original, String rest) {
        if (!rest.startsWith("/")) {
            throw bad(original, "nbd+unix URIs have an empty host: nbd+unix:///NAME?socket=/path");
        }
        int q = rest.indexOf('?');
        if (q < 0) {
            throw bad(original, "nbd+unix URIs need ?socket=/path");
        }
        String name = decode(original, rest.substring(1, q));
        String socket = null;
        for (String param : rest.substring(q + 1).split("&")) {
            if (param.startsWith("socket=")) {
                socket = decode(original, param.substring(7));
            } else {
                throw bad(original, "unknown URI parameter '" + param + "'");
            }
        }
        if (socket == null) {
            throw bad(original, "nbd+unix URIs need ?socket=/path");
        }
        return new Device(unix(original, socket), name);
    }

    private static NbdAddress unix(String original, String path) {
        if (!path.startsWith("/")) {
            throw bad(original, "the Unix socket path must be absolute");
        }
        if (path.getBytes(StandardCharsets.UTF_8).length > 107) {
            throw bad(original, "the Unix socket path is longer than 107 bytes");
        }
        return new NbdAddress(null, 0, Path.of(path).normalize());
    }

    private static NbdAddress tcp(String original, String host, String port) {
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw bad(original, "port '" + port + "' is not a number");
        }
        if (p < 0 || p > 65535) {
            throw bad(original, "port " + p + " is out of range 0..65535");
        }
        String h = host;
        boolean bracketed = h.startsWith("[") && h.endsWith("]");
        if (bracketed) {
            h = h.substring(1, h.length() - 1);
        }
        InetAddress ip;
        try {
            ip = InetAddress.ofLiteral(h);
        } catch (IllegalArgumentException e) {
            throw bad(original, "host '" + host + "' is not an IP address (names are not resolved)");
        }
        if (ip instanceof Inet6Address && !bracketed) {
            throw bad(original, "write IPv6 addresses in brackets: [" + h + "]:" + p);
        }
        return new NbdAddress(ip, p, null);
    }

    private static BasaltException bad(String device, String why) {
        return new BasaltException(Errno.EINVAL, "nbd_device '" + device + "': " + why);
    }

    // ------------------------------------------------------------------ percent-encoding (RFC 3986)

    private static boolean plain(int c, boolean inPath) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == ':' || c == '@'
                || (inPath && (c == '!' || c == '$' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+'
                || c == ',' || c == ';' || c == '=' || c == '&'));
    }

    static String encode(String s, boolean inPath) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (plain(c, inPath)) {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    static String decode(String original, String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
                int lo = i + 2 < s.length() ? Character.digit(s.charAt(i + 2), 16) : -1;
                if (hi < 0 || lo < 0) {
                    throw bad(original, "bad percent-escape in '" + s + "'");
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                int cp = s.codePointAt(i);
                byte[] b = Character.toString(cp).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
                i += Character.charCount(cp) - 1;
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
