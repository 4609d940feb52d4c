package io.basalt.bdev.raid;

import io.basalt.runtime.Reactor;
import io.basalt.runtime.ReactorGroup;
import io.netty.util.collection.LongObjectHashMap;

import java.util.ArrayDeque;

/**
 * Exclusive per-stripe locks of one raid5f array, without a lock on the data path.
 *
 * <p>Why this shape: writes of one stripe arrive on any reactor, and a read-modify-write or a
 * reconstruction must see the stripe's data and parity unchanged by other writers, so the lock
 * must be global to the array. A shared table would need a mutex or atomics on every write;
 * quiescing the stripe's range through the bdev layer would cost a message to every reactor per
 * I/O. Instead stripe {@code s} belongs to reactor {@code s mod R}, whose table alone records it:
 * a request goes there as a message (the {@link RaidIo} itself is the message, so nothing is
 * allocated), the grant comes back as a message to the I/O's reactor, and a release sends the
 * lock object to its owner. When the owner is the I/O's own reactor (always, with one reactor),
 * no message is sent at all. The member I/O of the stripe stays on the I/O's reactor and its
 * channels; only the lock travels.
 *
 * <p>Threading: a {@link Table} is touched only by its owner reactor; a waiting or travelling
 * {@link RaidIo} only by the reactor that currently holds it.
 */
final class StripeLocks {
    static final int REQUEST = 1;
    static final int GRANTED = 2;

    private final ReactorGroup reactors;
    private final Table[] tables;

    StripeLocks(ReactorGroup reactors) {
        this.reactors = reactors;
        this.tables = new Table[reactors.size()];
        for (int i = 0; i < tables.length; i++) {
            tables[i] = new Table(reactors.get(i));
        }
    }

    /** One held stripe and the I/O waiting for it; sent to its owner to release it. */
    static final class Lock implements Runnable {
        final Table table;
        long stripe;
        RaidIo head;
        RaidIo tail;

        Lock(Table table) {
            this.table = table;
        }

        /** Release message, on the owner. */
        @Override
        public void run() {
            table.release(this);
        }
    }

    /** The locks owned by one reactor. */
    static final class Table {
        final Reactor owner;
        private final LongObjectHashMap<Lock> held = new LongObjectHashMap<>();
        private final ArrayDeque<Lock> free = new ArrayDeque<>();

        Table(Reactor owner) {
            this.owner = owner;
        }

        /** Grants at once (true) or queues {@code io}. On the owner. */
        boolean acquire(RaidIo io) {
            long s = io.lockStripe;
            Lock l = held.get(s);
            if (l == null) {
                l = free.isEmpty() ? new Lock(this) : free.pop();
                l.stripe = s;
                held.put(s, l);
                io.lock = l;
                return true;
            }
            io.lockNext = null;
            if (l.tail == null) {
                l.head = io;
            } else {
                l.tail.lockNext = io;
            }
            l.tail = io;
            return false;
        }

        /** Passes the lock to the next waiter (by a message to its reactor) or frees it. On the owner. */
        void release(Lock l) {
            RaidIo next = l.head;
            if (next == null) {
                held.remove(l.stripe);
                free.push(l);
                return;
            }
            l.head = next.lockNext;
            if (l.head == null) {
                l.tail = null;
            }
            next.lockNext = null;
            next.lock = l;
            next.lockMsg = GRANTED;
            next.origin.send(next);
        }

        int held() {
            return held.size();
        }
    }

    private Table tableOf(long stripe) {
        return tables[(int) Math.floorMod(stripe, (long) tables.length)];
    }

    /**
     * Asks for stripe {@code stripe} for {@code io}, on {@code io}'s reactor. True when granted at
     * once; otherwise the grant arrives later as {@link #GRANTED} through {@link RaidIo#run}.
     */
    boolean acquire(RaidIo io, long stripe) {
        io.lockStripe = stripe;
        Table t = tableOf(stripe);
        if (t.owner.inReactor()) {
            return t.acquire(io);
        }
        io.lockMsg = REQUEST;
        t.owner.send(io);
        return false;
    }

    /** A {@link #REQUEST} message arrived on the owner of {@code io}'s stripe. */
    void onRequest(RaidIo io) {
        Table t = tableOf(io.lockStripe);
        if (t.acquire(io)) {
            io.lockMsg = GRANTED;
            io.origin.send(io);
        }
    }

    /** Releases the lock {@code io} holds; on {@code io}'s reactor. */
    void release(RaidIo io) {
        Lock l = io.lock;
        io.lock = null;
        if (l.table.owner.inReactor()) {
            l.table.release(l);
        } else {
            l.table.owner.send(l);
        }
    }

    /** Stripes held on reactor {@code r}'s table (for tests); on that reactor. */
    int heldOn(Reactor r) {
        return tables[r.id()].held();
    }

    ReactorGroup reactors() {
        return reactors;
    }
}
