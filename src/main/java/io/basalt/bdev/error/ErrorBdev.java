package io.basalt.bdev.error;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.bdev.StackedBdev;
import io.basalt.config.ConfigCall;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Json;
import io.basalt.runtime.Reactor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * SPDK's error-injection bdev {@code EE_<base>}: a passthrough to its base that, on request, makes
 * the next {@code num} I/Os of a type fail, hang, carry corrupted data or report no memory.
 *
 * <p>Injection (as SPDK's vbdev_error): READ, WRITE, UNMAP and FLUSH each have their own slot;
 * other types always pass through. An I/O consumes one of its slot's {@code num} only when the
 * channel it arrives on has at least {@code queueDepth} I/Os forwarded to the base and not yet
 * back (the count is exact across reactors).
 * <ul>
 * <li>failure: completes FAILED with EIO without reaching the base.
 * <li>pending: held, never completed, until its type's injection is cleared (num 0 or io_type
 *     clear; Basalt releases them then, SPDK keeps them), the bdev is reset, or the bdev is being
 *     removed; then it completes ABORTED.
 * <li>corrupt_data: a write reaches the base with the byte at {@code corruptOffset} of its data
 *     XORed with {@code corruptValue}, and the caller's buffer is restored when it completes (SPDK
 *     leaves it corrupted); a read returns its data with that byte XORed. An offset past the end of
 *     the I/O's data changes nothing. For UNMAP and FLUSH it only consumes the count.
 * <li>nomem: completes NOMEM; the bdev layer retries it later, so the submitter only sees a delay.
 * </ul>
 *
 * <p>Threading: injections are set on the application reactor and read lock-free by every
 * reactor; held I/O lives in its channel and is touched only by that channel's reactor.
 */
public final class ErrorBdev extends StackedBdev {
    /** What an injection does; SPDK's names are the lower-case constant names. */
    public enum ErrorType {
        FAILURE, PENDING, CORRUPT_DATA, NOMEM
    }

    /** The I/O types errors can be injected into (SPDK's error_vector entries that are used). */
    public static final Set<IoType> INJECTABLE = Set.of(IoType.READ, IoType.WRITE, IoType.UNMAP, IoType.FLUSH);

    private static final int ALL_TYPES = -1;

    private final String baseName;
    /** Slot per IoType ordinal; null or a spent injection means none. */
    private final AtomicReferenceArray<Injection> injections = new AtomicReferenceArray<>(IoType.values().length);
    private volatile boolean removing;

    ErrorBdev(ErrorModule module, String name, UUID uuid, BdevDesc baseDesc, String baseName) {
        super(module, name, uuid, baseDesc);
        this.baseName = baseName;
    }

    /** One injection: immutable settings and a count that every reactor takes from. */
    static final class Injection {
        final ErrorType type;
        final long queueDepth;
        final long corruptOffset;
        final byte corruptValue;
        private final AtomicLong remaining;

        Injection(ErrorType type, long num, long queueDepth, long corruptOffset, int corruptValue) {
            this.type = type;
            this.queueDepth = queueDepth;
            this.corruptOffset = corruptOffset;
            this.corruptValue = (byte) corruptValue;
            this.remaining = new AtomicLong(num);
        }

        /** Takes one from the count; false once it is spent. */
        boolean take() {
            long n = remaining.get();
            while (n > 0) {
                if (remaining.compareAndSet(n, n - 1)) {
                    return true;
                }
                n = remaining.get();
            }
            return false;
        }

        long remaining() {
            return remaining.get();
        }
    }

    /**
     * Sets the injection of {@code types} (each gets its own count of {@code num}); num 0 clears
     * them and aborts the I/O they hold. The future completes once that I/O has completed.
     * Application reactor only.
     */
    public CompletableFuture<Void> inject(Set<IoType> types, ErrorType type, long num, long queueDepth,
                                          long corruptOffset, int corruptValue) {
        for (IoType t : types) {
            if (!INJECTABLE.contains(t)) {
                throw new IllegalArgumentException("errors cannot be injected into " + t.json() + " I/O");
            }
        }
        int cleared = 0;
        for (IoType t : types) {
            injections.set(t.ordinal(), num > 0 ? new Injection(type, num, queueDepth, corruptOffset, corruptValue) : null);
            if (num == 0) {
                cleared |= 1 << t.ordinal();
            }
        }
        return release(cleared);
    }

    /** SPDK's io_type "clear": every injection off, held I/O aborted. Application reactor only. */
    public CompletableFuture<Void> clear() {
        for (IoType t : INJECTABLE) {
            injections.set(t.ordinal(), null);
        }
        return release(ALL_TYPES);
    }

    /** How many injections of {@code type} are left (0 if none). */
    public long remaining(IoType type) {
        Injection i = injections.get(type.ordinal());
        return i == null ? 0 : i.remaining();
    }

    private CompletableFuture<Void> release(int typeMask) {
        if (typeMask == 0) {
            return CompletableFuture.completedFuture(null);
        }
        return forEachChannel(c -> ((ErrorChannel) c).abortHeld(typeMask));
    }

    @Override
    protected void unregistering() {
        removing = true;
        release(ALL_TYPES);
    }

    // ------------------------------------------------------------------ data path

    /** Per-reactor state: I/O forwarded and not back (for queue_depth) and the held I/O. */
    static final class ErrorChannel extends StackedBdev.Channel {
        long forwarded;
        private ErrorIo heldHead;
        private ErrorIo heldTail;
        int held;

        ErrorChannel(Reactor reactor, IoChannel baseChannel) {
            super(reactor, baseChannel);
        }

        void hold(ErrorIo io) {
            io.nextHeld = null;
            if (heldTail == null) {
                heldHead = io;
            } else {
                heldTail.nextHeld = io;
            }
            heldTail = io;
            held++;
        }

        /** Completes the held I/O whose type is in {@code typeMask} with ABORTED, oldest first. */
        void abortHeld(int typeMask) {
            // Detach first: a completion callback may submit I/O that is held again.
            ErrorIo io = heldHead;
            heldHead = null;
            heldTail = null;
            held = 0;
            ErrorIo abortHead = null;
            ErrorIo abortTail = null;
            while (io != null) {
                ErrorIo next = io.nextHeld;
                io.nextHeld = null;
                if ((typeMask & (1 << io.type().ordinal())) != 0) {
                    if (abortTail == null) {
                        abortHead = io;
                    } else {
                        abortTail.nextHeld = io;
                    }
                    abortTail = io;
                } else {
                    hold(io);
                }
                io = next;
            }
            while (abortHead != null) {
                ErrorIo next = abortHead.nextHeld;
                abortHead.nextHeld = null;
                abortHead.complete(IoStatus.ABORTED);
                abortHead = next;
            }
        }
    }

    /** Per-I/O state: the corruption to apply (or undo) at completion, and the held-list link. */
    static final class ErrorIo extends StackedIo {
        Injection corrupt;
        ErrorIo nextHeld;
    }

    @Override
    protected BdevIo newIo() {
        return new ErrorIo();
    }

    @Override
    protected StackedBdev.Channel newChannel(Reactor reactor, IoChannel baseChannel) {
        return new ErrorChannel(reactor, baseChannel);
    }

    @Override
    protected void submit(IoChannel ch, BdevIo bio) {
        ErrorChannel c = (ErrorChannel) ch.ctx();
        ErrorIo io = (ErrorIo) bio;
        io.corrupt = null;
        IoType t = io.type();
        if (t == IoType.RESET) {
            // As SPDK: a reset ends every held I/O (on all channels), then goes to the base.
            forEachChannel(x -> ((ErrorChannel) x).abortHeld(ALL_TYPES)).thenRun(() -> {
                c.forwarded++;
                forward(io);
            });
            return;
        }
        Injection inj = injections.get(t.ordinal());
        if (inj != null && c.forwarded >= inj.queueDepth && inj.take()) {
            switch (inj.type) {
                case FAILURE -> {
                    io.fail(Errno.EIO);
                    return;
                }
                case NOMEM -> {
                    io.complete(IoStatus.NOMEM);
                    return;
                }
                case PENDING -> {
                    if (removing) {
                        io.complete(IoStatus.ABORTED);
                    } else {
                        c.hold(io);
                    }
                    return;
                }
                case CORRUPT_DATA -> {
                    if (t == IoType.WRITE) {
                        io.corrupt = inj;
                        flip(io, inj);
                    } else if (t == IoType.READ) {
                        io.corrupt = inj;
                    }
                }
            }
        }
        c.forwarded++;
        forward(io);
    }

    @Override
    protected void baseCompleted(StackedIo sio, BdevIo baseIo) {
        ErrorIo io = (ErrorIo) sio;
        ((ErrorChannel) io.channel().ctx()).forwarded--;
        Injection inj = io.corrupt;
        if (inj != null) {
            io.corrupt = null;
            // A write's flip is undone so the caller keeps its data; a read's is applied to what it returns.
            if (io.type() == IoType.WRITE || baseIo.status() == IoStatus.SUCCESS) {
                flip(io, inj);
            }
        }
        super.baseCompleted(io, baseIo);
    }

    private static void flip(BdevIo io, Injection inj) {
        if (inj.corruptOffset >= io.lengthBytes()) {
            return;
        }
        MemorySegment b = io.buffer();
        long at = io.bufferOffset() + inj.corruptOffset;
        b.set(ValueLayout.JAVA_BYTE, at, (byte) (b.get(ValueLayout.JAVA_BYTE, at) ^ inj.corruptValue));
    }

    // ------------------------------------------------------------------ description

    @Override
    public String productName() {
        return "Error Injection Disk";
    }

    /** The base name as given at creation (the bdev is named {@code EE_} + it). */
    public String baseName() {
        return baseName;
    }

    @Override
    public void writeDriverSpecific(ObjectNode driverSpecific) {
        driverSpecific.putObject("error_disk").put("base_bdev", base().name());
    }

    @Override
    public ConfigCall configCall() {
        ObjectNode p = Json.object();
        p.put("base_name", baseName);
        p.put("uuid", uuid().toString());
        return new ConfigCall("bdev_error_create", p);
    }
}
