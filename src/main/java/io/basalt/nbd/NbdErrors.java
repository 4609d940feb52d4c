package io.basalt.nbd;

import io.basalt.bdev.BdevIo;
import io.basalt.nbd.codec.NbdProtocol;
import io.basalt.nbd.codec.Replies;
import io.basalt.runtime.Errno;

/**
 * The NBD error for a failed bdev I/O, and the fixed messages that go with NBD errors in
 * structured error chunks (constants, so an error reply allocates no string).
 */
final class NbdErrors {
    static final byte[] OUT_OF_RANGE = Replies.utf8("offset and length reach beyond the end of the export");
    static final byte[] MISALIGNED = Replies.utf8("offset and length must be multiples of the minimum block size");
    static final byte[] TOO_LONG = Replies.utf8("length exceeds the maximum block size");
    static final byte[] BAD_FLAGS = Replies.utf8("command flag not valid for this command or export");
    static final byte[] READ_ONLY = Replies.utf8("the export is read-only");
    static final byte[] UNSUPPORTED = Replies.utf8("command not supported by this export");
    static final byte[] SHUTDOWN = Replies.utf8("the export is shutting down");
    static final byte[] REMOVED = Replies.utf8("the block device was removed");

    private static final byte[] EIO_TEXT = Replies.utf8(Errno.text(Errno.EIO));
    private static final byte[] EINVAL_TEXT = Replies.utf8(Errno.text(Errno.EINVAL));
    private static final byte[] ENOSPC_TEXT = Replies.utf8(Errno.text(Errno.ENOSPC));
    private static final byte[] EPERM_TEXT = Replies.utf8(Errno.text(Errno.EPERM));
    private static final byte[] ENOTSUP_TEXT = Replies.utf8(Errno.text(Errno.EOPNOTSUPP));

    private NbdErrors() {
    }

    /** The NBD error value for a bdev I/O that did not succeed. */
    static int fromBdev(BdevIo io) {
        return switch (io.status()) {
            case INVALID -> switch (io.errno()) {
                case Errno.EBADF -> NbdProtocol.EPERM;
                case Errno.EOPNOTSUPP -> NbdProtocol.ENOTSUP;
                default -> NbdProtocol.EINVAL;
            };
            case FAILED -> switch (io.errno()) {
                case Errno.ENOSPC, Errno.EFBIG, 122 /* EDQUOT */ -> NbdProtocol.ENOSPC;
                case Errno.EPERM, Errno.EACCES, Errno.EROFS -> NbdProtocol.EPERM;
                case Errno.EINVAL -> NbdProtocol.EINVAL;
                case Errno.EOPNOTSUPP -> NbdProtocol.ENOTSUP;
                default -> NbdProtocol.EIO;
            };
            default -> NbdProtocol.EIO;
        };
    }

    /** A generic message for an NBD error value. */
    static byte[] text(int nbdError) {
        return switch (nbdError) {
            case NbdProtocol.EINVAL -> EINVAL_TEXT;
            case NbdProtocol.ENOSPC -> ENOSPC_TEXT;
            case NbdProtocol.EPERM -> EPERM_TEXT;
            case NbdProtocol.ENOTSUP -> ENOTSUP_TEXT;
            case NbdProtocol.ESHUTDOWN -> SHUTDOWN;
            default -> EIO_TEXT;
        };
    }
}
