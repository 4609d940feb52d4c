package io.basalt.bdev;

import io.basalt.runtime.Zero;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bdev for tests of the generic layer: memory-backed like malloc, but it can hold I/O instead of
 * completing it, answer NOMEM a given number of times, demand buffer alignment, refuse types, and
 * it records what the layer handed it.
 */
class TestBdev extends Bdev {
    private final MemorySegment data;
    volatile Set<IoType> supported = EnumSet.allOf(IoType.class);
    volatile int alignment = 1;
    /** Keep submitted I/O in {@link #held} instead of completing it. */
    volatile boolean hold;
    /** The next n submits complete with NOMEM. */
    final AtomicInteger nomemLeft = new AtomicInteger();
    /** Writes complete with NOMEM until this is cleared. */
    volatile boolean nomemWrites;
    /** Complete inside submit (true) or from a later deferred task (false). */
    volatile boolean completeInline = true;
    final ConcurrentLinkedDeque<BdevIo> held = new ConcurrentLinkedDeque<>();
    /** "TYPE offset+n" of every submit the module saw, in order. */
    final List<String> submits = Collections.synchronizedList(new ArrayList<>());
    /** Buffers the module was handed that were not native or not aligned. */
    final List<String> violations = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger destructs = new AtomicInteger();
    final AtomicInteger channelsCreated = new AtomicInteger();
    final AtomicInteger channelsDestroyed = new AtomicInteger();

    TestBdev(BdevModule module, String name, UUID uuid, int blockSize, long numBlocks) {
        super(module, name, uuid, blockSize, numBlocks);
        data = Arena.ofAuto().allocate(blockSize * numBlocks, 4096);
    }

    static String key(BdevIo io) {
        return io.type() + " " + io.offsetBlocks() + "+" + io.numBlocks();
    }

    @Override
    public String productName() {
        return "Test disk";
    }

    @Override
    public boolean supports(IoType type) {
        return supported.contains(type);
    }

    @Override
    public int requiredAlignment() {
        return alignment;
    }

    @Override
    protected Object createChannelContext(io.basalt.runtime.Reactor reactor) {
        channelsCreated.incrementAndGet();
        return "ctx-" + reactor.id();
    }

    @Override
    protected void destroyChannelContext(io.basalt.runtime.Reactor reactor, Object ctx) {
        channelsDestroyed.incrementAndGet();
    }

    @Override
    protected void submit(IoChannel ch, BdevIo io) {
        submits.add(key(io));
        if (alignment > 1 && io.type().hasData()) {
            MemorySegment b = io.buffer();
            if (!b.isNative() || ((b.address() + io.bufferOffset()) & (alignment - 1)) != 0) {
                violations.add(key(io) + " got an unaligned or heap buffer");
            }
        }
        if (nomemLeft.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0 || (nomemWrites && io.type() == IoType.WRITE)) {
            io.complete(IoStatus.NOMEM);
            return;
        }
        if (hold) {
            held.add(io);
            return;
        }
        if (completeInline) {
            execute(io);
        } else {
            ch.reactor().deferTask(() -> execute(io));
        }
    }

    /** Completes the oldest held I/O; on its channel's reactor. */
    BdevIo completeOldest() {
        BdevIo io = held.poll();
        if (io != null) {
            io.channel().reactor().assertInReactor();
            execute(io);
        }
        return io;
    }

    /** Completes every held I/O, each on its own channel's reactor. Any thread. */
    void completeAllHeld() {
        BdevIo io;
        while ((io = held.poll()) != null) {
            BdevIo x = io;
            io.channel().reactor().send(() -> execute(x));
        }
    }

    void execute(BdevIo io) {
        long bs = blockSize();
        long off = io.offsetBlocks() * bs;
        long len = io.numBlocks() * bs;
        switch (io.type()) {
            case READ -> MemorySegment.copy(data, off, io.buffer(), io.bufferOffset(), len);
            case WRITE -> MemorySegment.copy(io.buffer(), io.bufferOffset(), data, off, len);
            case WRITE_ZEROES, UNMAP -> Zero.fill(data, off, len);
            case COPY -> MemorySegment.copy(data, io.srcOffsetBlocks() * bs, data, off, len);
            case COMPARE -> {
                if (MemorySegment.mismatch(data, off, off + len, io.buffer(), io.bufferOffset(),
                        io.bufferOffset() + len) != -1) {
                    io.complete(IoStatus.MISCOMPARE);
                    return;
                }
            }
            default -> {
            }
        }
        io.complete(IoStatus.SUCCESS);
    }

    MemorySegment data() {
        return data;
    }

    void grow(long newNumBlocks) {
        resize(newNumBlocks);
    }

    @Override
    protected void destruct(Runnable done) {
        destructs.incrementAndGet();
        done.run();
    }
}
