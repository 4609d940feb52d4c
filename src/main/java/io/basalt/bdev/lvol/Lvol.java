package io.basalt.bdev.lvol;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.blob.Blob;
import io.basalt.blob.BlobChannel;
import io.basalt.blob.BlobIo;
import io.basalt.blob.BlobIoCallback;
import io.basalt.blob.ClearMethod;
import io.basalt.runtime.Reactor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A logical volume: a blob of an {@link LvolStore} as a bdev named by its uuid, with the alias
 * "lvs/name". I/O goes straight to the blob through the reactor's {@link BlobChannel}.
 *
 * <p>Lifecycle: besides its bdev descriptors, an lvol has internal users (a checksum being
 * computed, an inflate, a clone being created from it), counted by name. A delete first refuses
 * new openers ({@link #openRefusal}), then waits a bounded time for the current users, and either
 * frees the lvol or fails with -EBUSY naming who holds it, leaving everything as it was.
 *
 * <p>Threading: the bookkeeping fields are touched on the application (metadata) reactor only;
 * I/O runs on any reactor.
 */
public final class Lvol extends Bdev {
    final LvolStore store;
    final Blob blob;
    String name;
    final ClearMethod clearMethod;
    /** Snapshots are read-only from birth and writable blobs never become read-only. */
    private final boolean readOnly;
    /** The exclusive operation in progress ("delete", "snapshot", ...), or null. */
    String busy;
    /** Why new opens are refused right now, or null. Read under the bdev layer's lock. */
    private volatile String refusal;
    /** Internal users by kind, e.g. "snapshot checksum" -> 1. */
    final Map<String, Integer> users = new LinkedHashMap<>();
    /** The running checksum computation, or null. */
    ChecksumTask checksum;

    Lvol(LvolStore store, Blob blob, String name, UUID uuid, ClearMethod clearMethod) {
        super(store.module, uuid.toString(), uuid, store.blobstore.blockSize(), blocks(store, blob));
        this.store = store;
        this.blob = blob;
        this.name = name;
        this.clearMethod = clearMethod;
        this.readOnly = blob.readOnly();
    }

    private static long blocks(LvolStore s, Blob b) {
        return b.numClusters() * s.blobstore.clusterSize() / s.blobstore.blockSize();
    }

    public String lvolName() {
        return name;
    }

    public LvolStore store() {
        return store;
    }

    public Blob blob() {
        return blob;
    }

    /** "lvs/name". */
    public String alias() {
        return store.name + "/" + name;
    }

    void refuseOpens(String why) {
        refusal = why;
    }

    @Override
    protected String openRefusal(boolean write) {
        return refusal;
    }

    void addUser(String kind) {
        users.merge(kind, 1, Integer::sum);
    }

    void removeUser(String kind) {
        users.computeIfPresent(kind, (k, v) -> v == 1 ? null : v - 1);
    }

    /** Updates the block count after the blob was resized. Metadata reactor. */
    void sizeChanged() {
        resize(blocks(store, blob));
    }

    // ------------------------------------------------------------------ function table

    @Override
    public String productName() {
        return "Logical Volume";
    }

    @Override
    public boolean supports(IoType type) {
        return switch (type) {
            case READ, FLUSH, RESET -> true;
            case WRITE, WRITE_ZEROES, UNMAP -> !readOnly;
            default -> false;
        };
    }

    @Override
    public int requiredAlignment() {
        return store.base.requiredAlignment();
    }

    @Override
    protected Object createChannelContext(Reactor reactor) {
        return store.blobstore.channel();
    }

    @Override
    protected void destroyChannelContext(Reactor reactor, Object ctx) {
        store.blobstore.putChannel((BlobChannel) ctx);
    }

    @Override
    protected BdevIo newIo() {
        return new LvolIo();
    }

    /** The per-I/O context: the blob request it becomes, and its completion. */
    static final class LvolIo extends BdevIo implements BlobIoCallback {
        final BlobIo blobIo = new BlobIo();
        /** A FUA write is followed by a flush before it completes. */
        boolean flushAfter;

        @Override
        public void blobIoDone(BlobIo io, int errno, Object arg) {
            if (errno != 0) {
                fail(errno);
            } else if (flushAfter) {
                flushAfter = false;
                Lvol lvol = (Lvol) bdev();
                ((BlobChannel) channel().ctx()).submit(blobIo.set(lvol.blob, BlobIo.Op.FLUSH, null, 0, 0, 0, this, null));
            } else {
                complete(IoStatus.SUCCESS);
            }
        }
    }

    @Override
    protected void submit(IoChannel ch, BdevIo io) {
        LvolIo l = (LvolIo) io;
        BlobChannel bc = (BlobChannel) ch.ctx();
        BlobIo.Op op = switch (io.type()) {
            case READ -> BlobIo.Op.READ;
            case WRITE -> BlobIo.Op.WRITE;
            case WRITE_ZEROES, UNMAP -> BlobIo.Op.WRITE_ZEROES;
            case FLUSH -> BlobIo.Op.FLUSH;
            default -> null;
        };
        if (op == null) {
            // RESET: every I/O completes on its own; there is nothing to abort.
            io.complete(IoStatus.SUCCESS);
            return;
        }
        l.flushAfter = op == BlobIo.Op.WRITE && io.fua();
        long len = op == BlobIo.Op.FLUSH ? 0 : io.lengthBytes();
        long off = op == BlobIo.Op.FLUSH ? 0 : io.offsetBytes();
        bc.submit(l.blobIo.set(blob, op, io.buffer(), io.bufferOffset(), off, len, l, null));
    }

    @Override
    protected void destruct(Runnable done) {
        done.run();
    }

    @Override
    public void writeDriverSpecific(ObjectNode ds) {
        ObjectNode o = ds.putObject("lvol");
        o.put("lvol_store_uuid", store.uuid.toString());
        o.put("base_bdev", store.base.name());
        o.put("thin_provision", blob.thin());
        o.put("num_allocated_clusters", blob.allocatedClusters());
        o.put("snapshot", blob.snapshot());
        o.put("clone", blob.parent() != null);
        Lvol parent = store.lvolOf(blob.parent());
        if (parent != null) {
            o.put("base_snapshot", parent.name);
        }
        if (blob.snapshot()) {
            var clones = o.putArray("clones");
            for (Blob c : blob.children()) {
                Lvol l = store.lvolOf(c);
                if (l != null) {
                    clones.add(l.name);
                }
            }
        }
        o.put("esnap_clone", false);
    }
}
