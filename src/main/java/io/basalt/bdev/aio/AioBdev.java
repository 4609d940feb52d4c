package io.basalt.bdev.aio;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoType;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;

import java.util.UUID;

/**
 * A file or block device as a bdev (SPDK's bdev_aio). Reads and writes go to the reactor's
 * io_uring (or the fallback workers) through a per-channel {@link AioChannel}; FLUSH is
 * fdatasync; with {@code fallocate}, UNMAP punches a hole and WRITE_ZEROES zeroes the range, as
 * far as the file system really does them (see {@link AioFile}).
 *
 * <p>Ownership: the bdev owns its fd from registration until {@link #destruct}, which closes it
 * (on the module's control thread) once every channel is gone.
 */
public final class AioBdev extends Bdev {
    private final AioModule module;
    private final AioFile file;
    private final boolean readonly;
    private final boolean fallocate;
    private final boolean blockSizeOverride;
    private final AioEngine.Factory engines;
    /** The fd, or -1 once closed; read by the control thread (rescan) after the app reactor set it. */
    private volatile int fd;

    AioBdev(AioModule module, String name, UUID uuid, int blockSize, long numBlocks, AioFile file, boolean readonly,
            boolean fallocate, boolean blockSizeOverride, AioEngine.Factory engines) {
        super(module, name, uuid, blockSize, numBlocks);
        this.module = module;
        this.file = file;
        this.fd = file.fd();
        this.readonly = readonly;
        this.fallocate = fallocate;
        this.blockSizeOverride = blockSizeOverride;
        this.engines = engines;
    }

    @Override
    public String productName() {
        return "AIO disk";
    }

    @Override
    public boolean supports(IoType type) {
        return switch (type) {
            case READ, FLUSH, RESET -> true;
            case WRITE -> !readonly;
            case UNMAP -> file.unmapMode() != 0;
            case WRITE_ZEROES -> file.zeroesMode() != 0;
            default -> false;
        };
    }

    @Override
    public int requiredAlignment() {
        return file.memAlign();
    }

    @Override
    public int physicalBlockSize() {
        return Math.max(blockSize(), file.physicalBlock());
    }

    /** The page cache (buffered) or the device's cache may hold written data until a FLUSH. */
    @Override
    public boolean writeCache() {
        return true;
    }

    @Override
    protected BdevIo newIo() {
        return new AioIo();
    }

    @Override
    protected Object createChannelContext(Reactor reactor) {
        return new AioChannel(this, reactor, engines);
    }

    @Override
    protected void destroyChannelContext(Reactor reactor, Object ctx) {
        ((AioChannel) ctx).close();
    }

    @Override
    protected void submit(IoChannel ch, BdevIo io) {
        ((AioChannel) ch.ctx()).submit((AioIo) io);
    }

    @Override
    protected void destruct(Runnable done) {
        module.closeFile(this, done);
    }

    public String filename() {
        return file.path();
    }

    public boolean readonly() {
        return readonly;
    }

    /** True if the file was opened with O_DIRECT. */
    public boolean directIo() {
        return file.direct();
    }

    int fd() {
        return fd;
    }

    /** Marks the fd closed; control thread. Returns the fd that was open (or -1). */
    int takeFd() {
        int f = fd;
        fd = -1;
        return f;
    }

    boolean blockDevice() {
        return file.blockDevice();
    }

    int unmapMode() {
        return file.unmapMode();
    }

    int writeZeroesMode() {
        return file.zeroesMode();
    }

    /** Announces a new block count found by bdev_aio_rescan (RESIZE to open descriptors). */
    void resizeTo(long numBlocks) {
        resize(numBlocks);
    }

    @Override
    public ConfigCall configCall() {
        ObjectNode p = Json.object();
        p.put("name", name());
        if (blockSizeOverride) {
            p.put("block_size", blockSize());
        }
        p.put("filename", file.path());
        p.put("readonly", readonly);
        p.put("fallocate", fallocate);
        p.put("uuid", uuid().toString());
        return new ConfigCall("bdev_aio_create", p);
    }

    /** SPDK's "aio" object, and what Basalt chose for this file (direct I/O, engine, fallocate modes). */
    @Override
    public void writeDriverSpecific(ObjectNode driverSpecific) {
        ObjectNode o = driverSpecific.putObject("aio");
        o.put("filename", file.path());
        o.put("block_size_override", blockSizeOverride);
        o.put("readonly", readonly);
        o.put("fallocate", fallocate);
        o.put("file_type", file.blockDevice() ? "block_device" : "regular_file");
        o.put("direct_io", file.direct());
        if (!file.direct()) {
            o.put("buffered_reason", file.bufferedReason());
        }
        o.put("engine", engines.kind());
        o.put("unmap", AioFile.modeName(file.unmapMode()));
        o.put("write_zeroes", AioFile.modeName(file.zeroesMode()));
    }
}
