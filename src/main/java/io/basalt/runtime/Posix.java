package io.basalt.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few system calls the JDK does not offer, through the Foreign Function &amp; Memory API
 * (no JNI library to build). Each returns the raw result; failures throw {@link BasaltException}
 * with the errno the call set.
 */
public final class Posix {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_DIRECT = 040000;
    public static final int O_CLOEXEC = 02000000;

    public static final int LOCK_SH = 1;
    public static final int LOCK_EX = 2;
    public static final int LOCK_NB = 4;
    public static final int LOCK_UN = 8;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(
            java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = handle("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = handle("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle FLOCK = handle("flock",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private Posix() {
    }

    /** A downcall handle that captures errno; public so that modules can add their own calls. */
    public static MethodHandle handle(String name, FunctionDescriptor fd) {
        return handle(name, fd, new Linker.Option[0]);
    }

    /**
     * As {@link #handle(String, FunctionDescriptor)} with more linker options, e.g.
     * {@code Linker.Option.firstVariadicArg(2)} for a variadic call such as ioctl(2).
     */
    public static MethodHandle handle(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment sym = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("libc has no " + name));
        Linker.Option[] all = java.util.Arrays.copyOf(options, options.length + 1);
        all[options.length] = CAPTURE;
        return LINKER.downcallHandle(sym, fd, all);
    }

    /** Allocates the call-state segment that {@link #handle} downcalls take as first argument. */
    public static MemorySegment callState(Arena arena) {
        return arena.allocate(CALL_STATE);
    }

    /** errno captured in a call-state segment. */
    public static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** open(2); returns the fd. */
    public static int open(String path, int flags, int mode) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = callState(a);
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), flags, mode);
            if (fd < 0) {
                int e = errno(st);
                throw new BasaltException(e, "open " + path);
            }
            return fd;
        } catch (BasaltException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static void close(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = callState(a);
            int rc = (int) CLOSE.invokeExact(st, fd);
            if (rc < 0) {
                throw new BasaltException(errno(st), "close fd " + fd);
            }
        } catch (BasaltException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** flock(2); returns false instead of throwing when LOCK_NB finds the lock held. */
    public static boolean flock(int fd, int op) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = callState(a);
            int rc = (int) FLOCK.invokeExact(st, fd, op);
            if (rc < 0) {
                int e = errno(st);
                if (e == Errno.EAGAIN && (op & LOCK_NB) != 0) {
                    return false;
                }
                throw new BasaltException(e, "flock fd " + fd);
            }
            return true;
        } catch (BasaltException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
