package io.basalt.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.ReactorGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The server over a real Unix socket, spoken to in raw bytes. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RpcServerTest {
    private ReactorGroup reactors;
    private RpcRegistry rpc;
    private Path dir;
    private Path socket;
    private RpcServer server;
    private volatile CompletableFuture<Boolean> gate = new CompletableFuture<>();

    @BeforeEach
    void setUp() throws Exception {
        reactors = ReactorGroup.start(1);
        rpc = new RpcRegistry(reactors.app());
        rpc.register("echo", com.fasterxml.jackson.databind.JsonNode.class, RpcRegistry.ANY, p -> p);
        rpc.register("wait", NoParams.class, RpcRegistry.ANY, p -> gate);
        rpc.register("release", NoParams.class, RpcRegistry.ANY, p -> gate.complete(true));
        dir = Files.createTempDirectory(Path.of("/tmp"), "rpcs");
        socket = dir.resolve("t.sock");
        server = start(socket);
    }

    private RpcServer start(Path path) throws IOException {
        RpcServer s = new RpcServer(path, rpc);
        s.bind();
        s.start();
        return s;
    }

    @AfterEach
    void tearDown() throws IOException {
        gate.complete(true);
        server.close();
        reactors.close();
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** One raw client connection: writes bytes, reads newline-terminated answers; closed after 20 s at most. */
    private static final class Conn implements AutoCloseable {
        final SocketChannel ch;
        final BufferedReader in;
        final Thread watchdog;

        Conn(Path socket) throws IOException {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
            in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(Duration.ofSeconds(20));
                    ch.close();
                } catch (InterruptedException | IOException e) {
                    // closed in time
                }
            });
        }

        void send(String s) throws IOException {
            send(s.getBytes(StandardCharsets.UTF_8));
        }

        void send(byte[] b) throws IOException {
            ByteBuffer bb = ByteBuffer.wrap(b);
            while (bb.hasRemaining()) {
                ch.write(bb);
            }
        }

        /** The next answer, or null at end of stream. */
        JsonNode answer() throws IOException {
            String line = in.readLine();
            return line == null ? null : Json.MAPPER.readTree(line);
        }

        @Override
        public void close() throws IOException {
            watchdog.interrupt();
            ch.close();
        }
    }

    private JsonNode call(String request) throws IOException {
        try (Conn c = new Conn(socket)) {
            c.send(request);
            return c.answer();
        }
    }

    @Test
    void malformedJsonIsAnsweredWithMinus32700ThenTheServerClosesAfterPendingAnswers() throws Exception {
        try (Conn c = new Conn(socket)) {
            c.send("{\"method\":\"echo\",\"id\":1,\"params\":[1]}{\"method\":\"wait\",\"id\":2} {\"method\": ]");
            // Answers go out in completion order: the echo and the parse error in either order.
            JsonNode x = c.answer();
            JsonNode y = c.answer();
            JsonNode err = x.has("error") ? x : y;
            assertThat((x.has("error") ? y : x).get("id").asInt()).isEqualTo(1);
            assertThat(err.get("error").get("code").asInt()).isEqualTo(-32700);
            assertThat(err.get("error").get("message").asText()).isEqualTo("Parse error");
            assertThat(err.get("id").isNull()).isTrue();
            // The request still in progress is answered before the server closes.
            assertThat(call("{\"method\":\"release\",\"id\":9}").get("result").asBoolean()).isTrue();
            JsonNode late = c.answer();
            assertThat(late.get("id").asInt()).isEqualTo(2);
            assertThat(late.get("result").asBoolean()).isTrue();
            assertThat(c.answer()).as("server closed the connection").isNull();
        }
    }

    @Test
    void bytesThatAreNotJsonOrNotUtf8AreAParseErrorToo() throws Exception {
        byte[][] bad = {
            "nope\n".getBytes(StandardCharsets.US_ASCII),
            "{\"a\" 1}".getBytes(StandardCharsets.US_ASCII),
            {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'},
            {(byte) 0xFF, '{', '}', '\n'},
            {0, 0, 0, '{', 0, 0, 0, '"', (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0, 0, 0, '"'},
            ("[".repeat(5000)).getBytes(StandardCharsets.US_ASCII),
            "{\"method\":\"echo\",\"method\":\"echo\",\"id\":1}".getBytes(StandardCharsets.US_ASCII),
        };
        for (byte[] b : bad) {
            try (Conn c = new Conn(socket)) {
                c.send(b);
                JsonNode a = c.answer();
                assertThat(a).as(new String(b, StandardCharsets.ISO_8859_1)).isNotNull();
                assertThat(a.get("error").get("code").asInt()).isEqualTo(-32700);
                assertThat(c.answer()).isNull();
            }
        }
    }

    @Test
    void aRequestSplitIntoOneByteWritesIsAnswered() throws Exception {
        byte[] req = "{\n  \"jsonrpc\": \"2.0\",\n  \"method\": \"echo\",\n  \"id\": 5,\n  \"params\": {\"k\": \"\u00e9\u4e2d\"}\n}"
                .getBytes(StandardCharsets.UTF_8);
        try (Conn c = new Conn(socket)) {
            for (int i = 0; i < req.length; i++) {
                c.send(new byte[] {req[i]});
                if (i % 8 == 0) {
                    Thread.sleep(1);
                }
            }
            JsonNode a = c.answer();
            assertThat(a.get("id").asInt()).isEqualTo(5);
            assertThat(a.get("result").get("k").asText()).isEqualTo("\u00e9\u4e2d");
        }
    }

    @Test
    void manyRequestsInOneWriteAreAllAnswered() throws Exception {
        StringBuilder sb = new StringBuilder();
        int n = 300;
        for (int i = 0; i < n; i++) {
            sb.append("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":").append(i).append(",\"params\":[").append(i)
                    .append("]}").append(i % 3 == 0 ? "" : i % 3 == 1 ? "\n" : " \t\r\n ");
        }
        try (Conn c = new Conn(socket)) {
            c.send(sb.toString());
            Set<Integer> ids = new HashSet<>();
            for (int i = 0; i < n; i++) {
                JsonNode a = c.answer();
                assertThat(a.get("result").get(0).asInt()).isEqualTo(a.get("id").asInt());
                ids.add(a.get("id").asInt());
            }
            assertThat(ids).hasSize(n);
        }
    }

    @Test
    void answersGoOutInCompletionOrder() throws Exception {
        try (Conn c = new Conn(socket)) {
            c.send("{\"method\":\"wait\",\"id\":1}{\"method\":\"echo\",\"id\":2,\"params\":{}}");
            assertThat(c.answer().get("id").asInt()).isEqualTo(2);
            c.send("{\"method\":\"release\",\"id\":3}");
            List<Integer> ids = new ArrayList<>();
            ids.add(c.answer().get("id").asInt());
            ids.add(c.answer().get("id").asInt());
            assertThat(ids).containsExactlyInAnyOrder(1, 3);
        }
    }

    @Test
    void notificationsAndBatchesOnTheWire() throws Exception {
        try (Conn c = new Conn(socket)) {
            c.send("{\"method\":\"echo\",\"params\":{}}{\"method\":\"nope\"}[{\"method\":\"echo\",\"id\":1},7][]");
            List<JsonNode> got = List.of(c.answer(), c.answer(), c.answer());
            assertThat(got).anySatisfy(a -> assertThat(a.path("error").path("code").asInt()).isEqualTo(-32601));
            assertThat(got).anySatisfy(a -> assertThat(a.path("error").path("code").asInt()).isEqualTo(-32600));
            JsonNode batch = got.stream().filter(JsonNode::isArray).findFirst().orElseThrow();
            assertThat(batch).hasSize(2);
            assertThat(batch.get(0).get("id").asInt()).isEqualTo(1);
            assertThat(batch.get(1).get("error").get("code").asInt()).isEqualTo(-32600);
            c.send("42 \"x\" null ");
            for (int i = 0; i < 3; i++) {
                assertThat(c.answer().get("error").get("code").asInt()).isEqualTo(-32600);
            }
            // Still open and serving.
            c.send("{\"method\":\"echo\",\"id\":8}");
            assertThat(c.answer().get("id").asInt()).isEqualTo(8);
        }
    }

    @Test
    void manyClientsAtOnceAreAllServed() throws Exception {
        int clients = 100;
        List<CompletableFuture<Integer>> done = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            int n = i;
            CompletableFuture<Integer> f = new CompletableFuture<>();
            done.add(f);
            Thread.ofVirtual().start(() -> {
                try (Conn c = new Conn(socket)) {
                    int ok = 0;
                    for (int k = 0; k < 10; k++) {
                        c.send("{\"method\":\"echo\",\"id\":" + (n * 100 + k) + ",\"params\":[" + n + "]}");
                        JsonNode a = c.answer();
                        if (a.get("id").asInt() == n * 100 + k && a.get("result").get(0).asInt() == n) {
                            ok++;
                        }
                    }
                    f.complete(ok);
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
        }
        for (CompletableFuture<Integer> f : done) {
            assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(10);
        }
    }

    @Test
    void clientsThatGoAwayMidRequestDoNotHurtTheServer() throws Exception {
        try (Conn c = new Conn(socket)) {
            c.send("{\"method\":\"echo\",\"id\":1,\"par");
        }
        try (Conn c = new Conn(socket)) {
            c.send("{\"method\":\"wait\",\"id\":1}");
        }
        try (Conn c = new Conn(socket)) {
            c.send("{\"method\":\"wait\",\"id\":1}");
            c.ch.shutdownOutput();
            assertThat(call("{\"method\":\"release\",\"id\":2}").get("result").asBoolean()).isTrue();
            // Output shut: the answer still comes, then the server closes.
            assertThat(c.answer().get("id").asInt()).isEqualTo(1);
            assertThat(c.answer()).isNull();
        }
        for (int i = 0; i < 20; i++) {
            assertThat(call("{\"method\":\"echo\",\"id\":" + i + "}").get("id").asInt()).isEqualTo(i);
        }
    }

    @Test
    void theSocketIsOwnerOnlyAndGuardedByAFlockedLockFile() throws Exception {
        assertThat(Files.getPosixFilePermissions(socket)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        Path lock = Path.of(socket + ".lock");
        assertThat(lock).exists();
        assertThat(flockNonBlocking(lock)).as("flock -n on the held lock").isEqualTo(1);
        server.close();
        assertThat(socket).doesNotExist();
        if (Files.exists(lock)) {
            assertThat(flockNonBlocking(lock)).isZero();
        }
        server = start(socket);
    }

    private static int flockNonBlocking(Path lock) throws Exception {
        Process p = new ProcessBuilder("flock", "-n", lock.toString(), "true").redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    @Test
    void aSecondServerOnTheSameSocketRefusesToStartAndLeavesTheFirstAlone() throws Exception {
        RpcServer second = new RpcServer(socket, rpc);
        assertThatThrownBy(second::bind).isInstanceOf(BasaltException.class).satisfies(e -> {
            BasaltException b = (BasaltException) e;
            assertThat(b.code()).isEqualTo(-Errno.EBUSY);
            assertThat(b.describe()).contains("RPC socket " + socket + " is in use by another target");
        });
        second.close();
        assertThat(socket).exists();
        assertThat(Path.of(socket + ".lock")).exists();
        assertThat(call("{\"method\":\"echo\",\"id\":1}").get("id").asInt()).isEqualTo(1);
        assertThat(flockNonBlocking(Path.of(socket + ".lock"))).isEqualTo(1);
    }

    @Test
    void aStaleSocketFileWithoutALockHolderIsReplaced() throws Exception {
        Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            old.bind(UnixDomainSocketAddress.of(stale));
        }
        assertThat(stale).exists();
        Files.writeString(Path.of(stale + ".lock"), "");
        RpcServer s = start(stale);
        try (Conn c = new Conn(stale)) {
            c.send("{\"method\":\"echo\",\"id\":1}");
            assertThat(c.answer().get("id").asInt()).isEqualTo(1);
        } finally {
            s.close();
        }
        Path file = dir.resolve("file.sock");
        Files.writeString(file, "not a socket");
        RpcServer s2 = start(file);
        s2.close();
        assertThat(file).doesNotExist();
    }

    @Test
    void aSocketPathOfTheLongestAllowedLengthWorks() throws Exception {
        String base = dir.toString() + "/";
        // 106: the longest path the JDK's own client connects to (the server takes 107, as sun_path does).
        Path longest = Path.of(base + "s".repeat(106 - base.length()));
        RpcServer s = start(longest);
        try {
            assertThat(Files.getPosixFilePermissions(longest)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
            try (Conn c = new Conn(longest)) {
                c.send("{\"method\":\"echo\",\"id\":1}");
                assertThat(c.answer().get("id").asInt()).isEqualTo(1);
            }
        } finally {
            s.close();
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsOnly("t.sock", "t.sock.lock");
        }
    }

    @Test
    void badSocketPathsAreRefusedClearly() {
        RpcServer longPath = new RpcServer(dir.resolve("x".repeat(120)), rpc);
        assertThatThrownBy(longPath::bind).isInstanceOf(BasaltException.class)
                .satisfies(e -> assertThat(((BasaltException) e).code()).isEqualTo(-Errno.ENAMETOOLONG));
        RpcServer noDir = new RpcServer(dir.resolve("missing/t.sock"), rpc);
        assertThatThrownBy(noDir::bind).isInstanceOf(BasaltException.class)
                .satisfies(e -> assertThat(((BasaltException) e).describe()).contains("does not exist"));
    }

    @Test
    void closingFromAHandlerStillSendsItsAnswer() throws Exception {
        for (int i = 0; i < 20; i++) {
            Path p = dir.resolve("q" + i + ".sock");
            RpcServer[] s = new RpcServer[1];
            RpcRegistry r = new RpcRegistry(reactors.app());
            r.register("quit", NoParams.class, RpcRegistry.ANY, x -> {
                Thread.ofPlatform().start(s[0]::close);
                return true;
            });
            s[0] = new RpcServer(p, r);
            s[0].bind();
            s[0].start();
            try (Conn c = new Conn(p)) {
                c.send("{\"method\":\"quit\",\"id\":1}");
                JsonNode a = c.answer();
                assertThat(a).as("answer to quit, round " + i).isNotNull();
                assertThat(a.get("result").asBoolean()).isTrue();
                assertThat(c.answer()).isNull();
            } finally {
                s[0].close();
            }
            assertThat(p).doesNotExist();
        }
    }

    @Test
    void rpcPysExactBytesOnOneConnection() throws Exception {
        // SPDK's rpc.py (python/spdk/rpc/client.py): json.dumps(req, indent=2), keys jsonrpc, method, id,
        // params; "params" left out when empty; no trailing newline; several calls on one connection.
        String first = "{\n  \"jsonrpc\": \"2.0\",\n  \"method\": \"echo\",\n  \"id\": 1\n}";
        String second = "{\n  \"jsonrpc\": \"2.0\",\n  \"method\": \"echo\",\n  \"id\": 2,\n  \"params\": {\n"
                + "    \"name\": \"bdev\"\n  }\n}";
        try (Conn c = new Conn(socket)) {
            c.send(first);
            JsonNode a = c.answer();
            assertThat(a.get("id").asInt()).isEqualTo(1);
            assertThat(a.get("result").toString()).isEqualTo("{}");
            c.send(second);
            JsonNode b = c.answer();
            assertThat(b.get("id").asInt()).isEqualTo(2);
            assertThat(b.get("result").get("name").asText()).isEqualTo("bdev");
        }
    }

    @Test
    void theClientTalksToTheServer() throws Exception {
        RpcClient client = new RpcClient(socket, Duration.ofSeconds(20));
        assertThat(client.socket()).isEqualTo(socket);
        assertThat(client.call("echo", Json.MAPPER.readTree("{\"a\":1}")).get("a").asInt()).isEqualTo(1);
        assertThatThrownBy(() -> client.call("nope", null)).isInstanceOf(RpcClient.RpcError.class)
                .satisfies(e -> assertThat(((RpcClient.RpcError) e).code()).isEqualTo(-32601));
        RpcClient nobody = new RpcClient(dir.resolve("none.sock"), Duration.ofSeconds(5));
        assertThatThrownBy(() -> nobody.call("echo", null)).isInstanceOf(IOException.class)
                .hasMessageContaining("is the target running?");
        RpcClient impatient = new RpcClient(socket, Duration.ofMillis(200));
        assertThatThrownBy(() -> impatient.call("wait", null)).isInstanceOf(IOException.class)
                .hasMessageContaining("no answer");
    }
}
