package io.basalt.bdev.nvme;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoType;
import io.basalt.nvme.IdentifyController;
import io.basalt.nvme.NamespaceIds;
import io.basalt.nvme.Wire;
import io.basalt.runtime.Reactor;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * One namespace of a remote controller as a local bdev, named {@code <controller>n<nsid>}. Its
 * identity (NGUID / EUI-64 / UUID) is fixed: a namespace that comes back with the same identity
 * is this bdev again; a different identity is a different bdev.
 *
 * <p>{@link #active} says whether the controller currently reports the namespace; while it does
 * not (or while the controller is reconnecting), I/O waits in the reactor's {@link IoPath} queue.
 * Both flags are written on the application reactor and read by the data path on any reactor.
 */
final class NvmeBdev extends Bdev {
    final NvmeCtrlr ctrlr;
    final int nsid;
    final NamespaceIds ids;
    volatile boolean active = true;
    /** The namespace stayed absent past fast_io_fail_timeout_sec: its I/O fails instead of waiting. */
    volatile boolean failFast;

    NvmeBdev(NvmeModule module, NvmeCtrlr ctrlr, int nsid, NamespaceIds ids, int blockSize, long numBlocks) {
        super(module, ctrlr.name + "n" + nsid, bdevUuid(ctrlr.name, ids), blockSize, numBlocks);
        this.ctrlr = ctrlr;
        this.nsid = nsid;
        this.ids = ids;
    }

    /** A stable UUID for the bdev, derived from the controller name and the namespace's identity. */
    static UUID bdevUuid(String ctrlName, NamespaceIds ids) {
        String key = "basalt-nvme:" + ctrlName + ":" + (ids.uuid() != null ? ids.uuid() : Wire.hex(ids.nguid()) + Wire.hex(ids.eui64()));
        return UUID.nameUUIDFromBytes(key.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String productName() {
        return "NVMe disk";
    }

    @Override
    public boolean supports(IoType type) {
        IdentifyController id = ctrlr.identity();
        int oncs = id == null ? 0 : id.oncs();
        return switch (type) {
            case READ, WRITE, FLUSH -> true;
            case UNMAP -> (oncs & IdentifyController.ONCS_DSM) != 0;
            case WRITE_ZEROES -> (oncs & IdentifyController.ONCS_WRITE_ZEROES) != 0;
            case COMPARE -> (oncs & IdentifyController.ONCS_COMPARE) != 0;
            default -> false;
        };
    }

    @Override
    public boolean writeCache() {
        IdentifyController id = ctrlr.identity();
        return id != null && (id.vwc() & 1) != 0;
    }

    @Override
    protected Object createChannelContext(Reactor reactor) {
        return ctrlr.path(reactor);
    }

    @Override
    protected void submit(IoChannel ch, BdevIo io) {
        ((IoPath) ch.ctx()).submit(this, io);
    }

    @Override
    protected void unregistering() {
        ctrlr.bdevUnregistering(this);
    }

    @Override
    protected void destruct(Runnable done) {
        done.run();
    }

    void grow(long blocks) {
        resize(blocks);
    }

    @Override
    public void writeDriverSpecific(ObjectNode ds) {
        ObjectNode n = ds.putArray("nvme").addObject();
        n.put("ctrlr_name", ctrlr.name);
        n.set("trid", ctrlr.tridJson());
        ObjectNode d = n.putObject("ns_data");
        d.put("id", nsid);
        d.put("active", active);
        if (ids.hasNguid()) {
            d.put("nguid", Wire.hex(ids.nguid()));
        }
        if (ids.uuid() != null) {
            d.put("uuid", ids.uuid().toString());
        }
    }
}
