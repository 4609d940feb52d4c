package io.basalt.runtime;

/**
 * A failure with a negative errno, the way SPDK modules report them. The RPC layer turns it into
 * {@code {"code": -errno, "message": "<strerror>: <detail>"}}.
 */
public class BasaltException extends RuntimeException {
    private final int errno;

    public BasaltException(int errno, String detail) {
        super(detail, null, false, false);
        this.errno = Math.abs(errno);
    }

    public BasaltException(int errno, String detail, Throwable cause) {
        super(detail, cause, false, false);
        this.errno = Math.abs(errno);
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }

    /** The RPC error code: the negative errno. */
    public int code() {
        return -errno;
    }

    /** "strerror: detail", or just strerror when there is no detail. */
    public String describe() {
        String d = getMessage();
        return d == null || d.isEmpty() ? Errno.text(errno) : Errno.text(errno) + ": " + d;
    }

    @Override
    public String toString() {
        return "BasaltException(" + code() + ", " + describe() + ")";
    }
}
