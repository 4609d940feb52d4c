package io.basalt.nbd;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.IoType;
import io.basalt.nbd.codec.NbdProtocol;
import io.basalt.nbd.codec.NbdRequest;
import io.basalt.runtime.Reactor;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One bdev exported under one name on one listener. The export owns an open descriptor of the
 * bdev (closed when it stops) and knows its connections; each connection runs on its own reactor
 * with its own I/O channel.
 *
 * <p>States: RUNNING (connections may attach) → STOPPING (no new connections; the current ones
 * finish their in-flight I/O and close, at most {@link #STOP_TIMEOUT_SECONDS} later they are cut)
 * → STOPPED (descriptor closed). Lifecycle methods run on the application reactor;
 * {@link #attach}/{@link #detach} come from connection reactors and take the export's lock (once
 * per connection, never per I/O).
 */
public final class NbdExport {
    private static final System.Logger LOG = System.getLogger(NbdExport.class.getName());
    static final long STOP_TIMEOUT_SECONDS = 10;

    enum State { RUNNING, STOPPING, STOPPED }

    private final NbdServer server;
    private final String name;
    private final boolean readOnly;
    private final Reactor app;
    private BdevDesc desc;
    private NbdServer.ListenerSlot slot;

    private final Set<TransmissionHandler> connections = new HashSet<>();
    private State state = State.RUNNING;
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();

    NbdExport(NbdServer server, String name, boolean readOnly, Reactor app) {
        this.server = server;
        this.name = name;
        this.readOnly = readOnly;
        this.app = app;
    }

    void bind(BdevDesc desc) {
        this.desc = desc;
    }

    void place(NbdServer.ListenerSlot slot) {
        this.slot = slot;
    }

    /** Descriptor events arrive on the application reactor. */
    void onBdevEvent(BdevEvent event) {
        if (event == BdevEvent.REMOVE) {
            LOG.log(System.Logger.Level.INFO, "bdev " + bdevName() + " is being removed: stopping NBD export " + uri());
            server.stopExport(this, NbdProtocol.EIO);
        }
        // RESIZE: connected clients keep the size they were told; new connections see the new one.
    }

    public String name() {
        return name;
    }

    public String bdevName() {
        return desc.bdev().name();
    }

    public boolean readOnly() {
        return readOnly;
    }

    BdevDesc desc() {
        return desc;
    }

    Bdev bdev() {
        return desc.bdev();
    }

    NbdServer.ListenerSlot slot() {
        return slot;
    }

    /** The canonical nbd_device: the NBD URI of this export. */
    public String uri() {
        return slot.address().uri(name);
    }

    long sizeBytes() {
        return desc.bdev().sizeBytes();
    }

    String description() {
        Bdev b = desc.bdev();
        return "Basalt export of bdev " + b.name() + " (" + b.productName() + ", " + b.numBlocks() + " blocks of "
                + b.blockSize() + " bytes" + (readOnly ? ", read-only" : "") + ")";
    }

    int minimumBlockSize() {
        return desc.bdev().blockSize();
    }

    int preferredBlockSize() {
        return Math.max(4096, desc.bdev().blockSize());
    }

    int maximumBlockSize() {
        return (int) NbdRequest.MAX_DATA;
    }

    /**
     * The transmission flags for a connection. CAN_MULTI_CONN is safe: Basalt keeps no cache per
     * connection; every connection submits to the same bdev through the bdev layer, and a FLUSH
     * goes to the bdev and covers every write completed on any channel (modules flush
     * device-wide), so once a FLUSH or FUA reply is sent its effect holds for all connections.
     * DF is offered with structured replies, since a READ is always answered in one chunk.
     */
    int transmissionFlags(boolean structured) {
        Bdev b = desc.bdev();
        int f = NbdProtocol.FLAG_HAS_FLAGS | NbdProtocol.FLAG_SEND_FLUSH | NbdProtocol.FLAG_SEND_FUA
                | NbdProtocol.FLAG_CAN_MULTI_CONN;
        if (readOnly) {
            f |= NbdProtocol.FLAG_READ_ONLY;
        } else {
            if (b.supports(IoType.UNMAP)) {
                f |= NbdProtocol.FLAG_SEND_TRIM;
            }
            if (b.supports(IoType.WRITE_ZEROES)) {
                f |= NbdProtocol.FLAG_SEND_WRITE_ZEROES;
            }
        }
        if (structured) {
            f |= NbdProtocol.FLAG_SEND_DF;
        }
        return f;
    }

    /** Adds a connection; false once the export is stopping. Any reactor. */
    synchronized boolean attach(TransmissionHandler c) {
        if (state != State.RUNNING) {
            return false;
        }
        connections.add(c);
        return true;
    }

    /** A connection released everything it held. Any reactor. */
    void detach(TransmissionHandler c) {
        boolean last;
        synchronized (this) {
            connections.remove(c);
            last = state == State.STOPPING && connections.isEmpty();
        }
        if (last) {
            app.send(this::finish);
        }
    }

    synchronized int connectionCount() {
        return connections.size();
    }

    /**
     * Stops the export (application reactor): every connection is told to finish (queued requests
     * get {@code nbdError}), then the descriptor closes. Completes when that is done, or after
     * the stop timeout with connections cut.
     */
    CompletableFuture<Void> stop(int nbdError) {
        app.assertInReactor();
        List<TransmissionHandler> tell;
        synchronized (this) {
            if (state != State.RUNNING) {
                return stopped;
            }
            state = State.STOPPING;
            tell = new ArrayList<>(connections);
        }
        for (TransmissionHandler c : tell) {
            c.reactor().send(() -> c.shutdown(nbdError));
        }
        if (tell.isEmpty()) {
            finish();
        } else {
            app.schedule(() -> {
                if (!stopped.isDone()) {
                    LOG.log(System.Logger.Level.WARNING, "NBD export " + uri() + ": I/O still in flight after "
                            + STOP_TIMEOUT_SECONDS + " s; closing its connections");
                    finish();
                }
            }, STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        return stopped;
    }

    private void finish() {
        List<TransmissionHandler> left;
        synchronized (this) {
            if (state == State.STOPPED) {
                return;
            }
            state = State.STOPPED;
            left = new ArrayList<>(connections);
        }
        for (TransmissionHandler c : left) {
            c.reactor().send(c::abort);
        }
        // Connections cut by the timeout put their channels back when their last I/O completes;
        // the bdev layer waits for that before it destructs the bdev.
        desc.close();
        stopped.complete(null);
    }

    @Override
    public String toString() {
        return "NBD export " + name + " of " + bdevName();
    }
}
