package io.basalt.nbd.codec;

/**
 * Constants of the NBD protocol (NetworkBlockDevice/nbd, doc/proto.md), fixed newstyle only.
 *
 * <pre>
 * Greeting        S: u64 NBDMAGIC, u64 IHAVEOPT, u16 handshake flags
 *                 C: u32 client flags
 * Option          C: u64 IHAVEOPT, u32 option, u32 length, length bytes of data
 * Option reply    S: u64 OPTION_REPLY_MAGIC, u32 option, u32 reply type, u32 length, data
 * EXPORT_NAME     S: u64 size, u16 transmission flags, 124 zero bytes (none with C_NO_ZEROES)
 * Request         C: u32 REQUEST_MAGIC, u16 command flags, u16 type, u64 handle, u64 offset,
 *                    u32 length, (length bytes of data for WRITE)
 * Simple reply    S: u32 SIMPLE_REPLY_MAGIC, u32 error, u64 handle, (data for a successful READ)
 * Structured      S: u32 STRUCTURED_REPLY_MAGIC, u16 flags, u16 type, u64 handle, u32 length, payload
 * </pre>
 * All integers are big-endian (network byte order), as Netty's ByteBuf reads and writes them.
 */
public final class NbdProtocol {
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    public static final long IHAVEOPT = 0x49484156454F5054L;
    public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    /** Bytes of a request header. */
    public static final int REQUEST_HEADER = 28;
    /** Bytes of an option header. */
    public static final int OPTION_HEADER = 16;
    /** Bytes of a simple reply header. */
    public static final int SIMPLE_REPLY_HEADER = 16;
    /** Bytes of a structured reply chunk header. */
    public static final int STRUCTURED_REPLY_HEADER = 20;
    /** Longest string (export name, message) the protocol allows, in bytes. */
    public static final int MAX_STRING = 4096;

    // ---- handshake flags (server) and client flags
    public static final int FLAG_FIXED_NEWSTYLE = 1;
    public static final int FLAG_NO_ZEROES = 1 << 1;
    public static final int FLAG_C_FIXED_NEWSTYLE = 1;
    public static final int FLAG_C_NO_ZEROES = 1 << 1;

    // ---- transmission flags
    public static final int FLAG_HAS_FLAGS = 1;
    public static final int FLAG_READ_ONLY = 1 << 1;
    public static final int FLAG_SEND_FLUSH = 1 << 2;
    public static final int FLAG_SEND_FUA = 1 << 3;
    public static final int FLAG_ROTATIONAL = 1 << 4;
    public static final int FLAG_SEND_TRIM = 1 << 5;
    public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int FLAG_SEND_DF = 1 << 7;
    public static final int FLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int FLAG_SEND_CACHE = 1 << 10;
    public static final int FLAG_SEND_FAST_ZERO = 1 << 11;

    // ---- options
    public static final int OPT_EXPORT_NAME = 1;
    public static final int OPT_ABORT = 2;
    public static final int OPT_LIST = 3;
    public static final int OPT_STARTTLS = 5;
    public static final int OPT_INFO = 6;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_LIST_META_CONTEXT = 9;
    public static final int OPT_SET_META_CONTEXT = 10;
    public static final int OPT_EXTENDED_HEADERS = 11;

    // ---- option reply types
    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_ERR_UNSUP = 0x80000001;
    public static final int REP_ERR_POLICY = 0x80000002;
    public static final int REP_ERR_INVALID = 0x80000003;
    public static final int REP_ERR_UNKNOWN = 0x80000006;
    public static final int REP_ERR_SHUTDOWN = 0x80000007;
    public static final int REP_ERR_TOO_BIG = 0x80000009;

    // ---- information types of NBD_REP_INFO
    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;

    // ---- commands
    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;
    public static final int CMD_TRIM = 4;
    public static final int CMD_CACHE = 5;
    public static final int CMD_WRITE_ZEROES = 6;
    public static final int CMD_BLOCK_STATUS = 7;

    // ---- command flags
    public static final int CMD_FLAG_FUA = 1;
    public static final int CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int CMD_FLAG_DF = 1 << 2;
    public static final int CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

    // ---- structured replies
    public static final int REPLY_FLAG_DONE = 1;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_ERROR = 0x8001;

    // ---- errors (the protocol's own values, equal to the Linux errno numbers)
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    private NbdProtocol() {
    }

    /** A name for a command type, for logs. */
    public static String commandName(int type) {
        return switch (type) {
            case CMD_READ -> "READ";
            case CMD_WRITE -> "WRITE";
            case CMD_DISC -> "DISC";
            case CMD_FLUSH -> "FLUSH";
            case CMD_TRIM -> "TRIM";
            case CMD_CACHE -> "CACHE";
            case CMD_WRITE_ZEROES -> "WRITE_ZEROES";
            case CMD_BLOCK_STATUS -> "BLOCK_STATUS";
            default -> "command " + type;
        };
    }
}
