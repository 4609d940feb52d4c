package io.basalt.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The pooled allocator of aligned off-heap buffers (SPDK's iobuf). Buffers come in power-of-two
 * size classes from 4 KiB to 4 MiB, carved from slabs that are never returned to the OS (as
 * hugepage pools are not). Each reactor keeps a small cache per class, so the hot path takes no
 * lock and allocates nothing; caches refill from and spill to the shared lists in batches.
 *
 * <p>The pool has a byte limit: {@link #get} returns null when the limit would be passed, and the
 * caller takes its out-of-memory path (retry later), never an error for the client.
 */
public final class BufferPool {
    public static final int ALIGN = 4096;
    static final int MIN_SHIFT = 12;
    static final int MAX_SHIFT = 22;
    private static final int CLASSES = MAX_SHIFT - MIN_SHIFT + 1;
    private static final long SLAB_BYTES = 2L << 20;

    private final long limitBytes;
    private final Arena arena = Arena.ofShared();
    private final Shared[] shared = new Shared[CLASSES];
    private final Cache[] caches;
    private final ReentrantLock slabLock = new ReentrantLock();
    private long slabBytes;

    /**
     * @param limitBytes   most bytes the pool may hold in slabs
     * @param reactorCount number of reactors that get a lock-free cache (ids 0..n-1)
     */
    public BufferPool(long limitBytes, int reactorCount) {
        this.limitBytes = limitBytes;
        for (int i = 0; i < CLASSES; i++) {
            shared[i] = new Shared(i);
        }
        caches = new Cache[reactorCount];
        for (int i = 0; i < reactorCount; i++) {
            caches[i] = new Cache();
        }
    }

    /** Largest buffer the pool hands out. */
    public static int maxBufferSize() {
        return 1 << MAX_SHIFT;
    }

    static int classOf(int size) {
        if (size <= (1 << MIN_SHIFT)) {
            return 0;
        }
        int shift = 32 - Integer.numberOfLeadingZeros(size - 1);
        return shift - MIN_SHIFT;
    }

    /**
     * A buffer of at least {@code size} bytes, or null if the pool is at its limit. Sizes above
     * {@link #maxBufferSize()} are refused with IllegalArgumentException (callers split I/O).
     */
    public DmaBuffer get(int size) {
        if (size <= 0 || size > maxBufferSize()) {
            throw new IllegalArgumentException("buffer size " + size + " out of range 1.." + maxBufferSize());
        }
        int c = classOf(size);
        Cache cache = cacheOfCaller();
        if (cache != null) {
            DmaBuffer b = cache.pop(c);
            if (b != null) {
                return b;
            }
            shared[c].refill(cache, c);
            return cache.pop(c);
        }
        return shared[c].takeOne();
    }

    /** Returns a buffer to the pool. Any thread. */
    public void put(DmaBuffer b) {
        int c = b.sizeClass();
        Cache cache = cacheOfCaller();
        if (cache != null) {
            if (!cache.push(c, b)) {
                shared[c].spill(cache, c);
                cache.push(c, b);
            }
            return;
        }
        shared[c].giveOne(b);
    }

    /**
     * The lock-free cache of the calling reactor, or null for any other thread, including a
     * reactor of another group (its id would name a cache that belongs to someone else).
     */
    private Cache cacheOfCaller() {
        Reactor r = Reactor.current();
        if (r == null || r.id() >= caches.length || r.group() == null || r.group().buffers() != this) {
            return null;
        }
        return caches[r.id()];
    }

    /** Bytes held in slabs (in use or free). */
    public long slabBytes() {
        slabLock.lock();
        try {
            return slabBytes;
        } finally {
            slabLock.unlock();
        }
    }

    public long limitBytes() {
        return limitBytes;
    }

    /** Carves a new slab for class {@code c}; null when the limit is reached. */
    private DmaBuffer[] carve(int c) {
        int size = 1 << (c + MIN_SHIFT);
        long bytes = Math.max(SLAB_BYTES, size);
        slabLock.lock();
        try {
            if (slabBytes + bytes > limitBytes) {
                if (slabBytes + size > limitBytes) {
                    return null;
                }
                bytes = size;
            }
            slabBytes += bytes;
        } finally {
            slabLock.unlock();
        }
        MemorySegment slab = arena.allocate(bytes, ALIGN);
        int n = (int) (bytes / size);
        DmaBuffer[] out = new DmaBuffer[n];
        for (int i = 0; i < n; i++) {
            out[i] = new DmaBuffer(slab.asSlice((long) i * size, size), c);
        }
        return out;
    }

    static int cacheCapacity(int c) {
        // 4 KiB: 256 buffers; halves per class, at least 4.
        return Math.max(4, 256 >> c);
    }

    /** Per-reactor stacks; touched only by their reactor. */
    private static final class Cache {
        final DmaBuffer[][] stacks = new DmaBuffer[CLASSES][];
        final int[] counts = new int[CLASSES];

        Cache() {
            for (int i = 0; i < CLASSES; i++) {
                stacks[i] = new DmaBuffer[cacheCapacity(i)];
            }
        }

        DmaBuffer pop(int c) {
            int n = counts[c];
            if (n == 0) {
                return null;
            }
            DmaBuffer b = stacks[c][--n];
            stacks[c][n] = null;
            counts[c] = n;
            return b;
        }

        boolean push(int c, DmaBuffer b) {
            int n = counts[c];
            if (n == stacks[c].length) {
                return false;
            }
            stacks[c][n] = b;
            counts[c] = n + 1;
            return true;
        }
    }

    /** Shared free list of one class; a lock, taken once per batch. */
    private final class Shared {
        final int c;
        final ReentrantLock lock = new ReentrantLock();
        DmaBuffer[] free = new DmaBuffer[64];
        int count;

        Shared(int c) {
            this.c = c;
        }

        private void add(DmaBuffer b) {
            if (count == free.length) {
                DmaBuffer[] n = new DmaBuffer[free.length * 2];
                System.arraycopy(free, 0, n, 0, count);
                free = n;
            }
            free[count++] = b;
        }

        private boolean ensure(int want) {
            while (count < want) {
                DmaBuffer[] slab = carve(c);
                if (slab == null) {
                    return count > 0;
                }
                for (DmaBuffer b : slab) {
                    add(b);
                }
            }
            return true;
        }

        void refill(Cache cache, int cls) {
            int batch = Math.max(1, cacheCapacity(cls) / 2);
            lock.lock();
            try {
                if (!ensure(batch)) {
                    return;
                }
                int n = Math.min(batch, count);
                for (int i = 0; i < n; i++) {
                    DmaBuffer b = free[--count];
                    free[count] = null;
                    cache.push(cls, b);
                }
            } finally {
                lock.unlock();
            }
        }

        void spill(Cache cache, int cls) {
            int n = cacheCapacity(cls) / 2;
            lock.lock();
            try {
                for (int i = 0; i < n; i++) {
                    DmaBuffer b = cache.pop(cls);
                    if (b == null) {
                        break;
                    }
                    add(b);
                }
            } finally {
                lock.unlock();
            }
        }

        DmaBuffer takeOne() {
            lock.lock();
            try {
                if (!ensure(1)) {
                    return null;
                }
                DmaBuffer b = free[--count];
                free[count] = null;
                return b;
            } finally {
                lock.unlock();
            }
        }

        void giveOne(DmaBuffer b) {
            lock.lock();
            try {
                add(b);
            } finally {
                lock.unlock();
            }
        }
    }
}
