package io.basalt.nvme;

/**
 * NVMe completion status field (NVMe Base Specification 1.4, section 4.6.1, Figure 126): bits
 * 7:0 Status Code (SC), 10:8 Status Code Type (SCT), 12:11 Command Retry Delay, 13 More, 14 Do
 * Not Retry. In the CQE it sits in bits 15:1 of dword 3's upper half, above the phase tag; this
 * class works with the 15-bit field (no phase).
 *
 * <p>Constants combine SCT and SC as {@code sct << 8 | sc}.
 */
public final class Status {
    private Status() {
    }

    public static final int SCT_GENERIC = 0;
    public static final int SCT_COMMAND_SPECIFIC = 1;
    public static final int SCT_MEDIA = 2;
    public static final int SCT_PATH = 3;

    public static final int MORE = 1 << 13;
    public static final int DNR = 1 << 14;

    // ---- generic (SCT 0), Figure 128
    public static final int SUCCESS = 0x000;
    public static final int INVALID_OPCODE = 0x001;
    public static final int INVALID_FIELD = 0x002;
    public static final int COMMAND_ID_CONFLICT = 0x003;
    public static final int DATA_TRANSFER_ERROR = 0x004;
    public static final int INTERNAL_ERROR = 0x006;
    public static final int ABORT_REQUESTED = 0x007;
    public static final int ABORTED_SQ_DELETION = 0x008;
    public static final int INVALID_NAMESPACE_OR_FORMAT = 0x00B;
    public static final int COMMAND_SEQUENCE_ERROR = 0x00C;
    public static final int INVALID_SGL_SEGMENT_DESCRIPTOR = 0x00D;
    public static final int DATA_SGL_LENGTH_INVALID = 0x00F;
    public static final int SGL_DESCRIPTOR_TYPE_INVALID = 0x011;
    public static final int SGL_OFFSET_INVALID = 0x016;
    public static final int KEEP_ALIVE_TIMEOUT_INVALID = 0x01A;
    public static final int TRANSIENT_TRANSPORT_ERROR = 0x022;
    public static final int LBA_OUT_OF_RANGE = 0x080;
    public static final int NAMESPACE_NOT_READY = 0x082;

    // ---- command specific (SCT 1), Figure 129 and NVMe-oF 1.1 Figure 21
    public static final int INVALID_QUEUE_IDENTIFIER = 0x101;
    public static final int INVALID_QUEUE_SIZE = 0x102;
    public static final int ASYNC_EVENT_LIMIT_EXCEEDED = 0x105;
    public static final int INVALID_LOG_PAGE = 0x109;
    public static final int FEATURE_NOT_SAVEABLE = 0x10D;
    public static final int FEATURE_NOT_CHANGEABLE = 0x10E;
    public static final int CONNECT_INCOMPATIBLE_FORMAT = 0x180;
    public static final int CONNECT_CONTROLLER_BUSY = 0x181;
    public static final int CONNECT_INVALID_PARAMETERS = 0x182;
    public static final int CONNECT_RESTART_DISCOVERY = 0x183;
    public static final int CONNECT_INVALID_HOST = 0x184;

    // ---- media and data integrity (SCT 2), Figure 130
    public static final int WRITE_FAULT = 0x280;
    public static final int UNRECOVERED_READ_ERROR = 0x281;
    public static final int COMPARE_FAILURE = 0x285;

    // ---- path related (SCT 3)
    public static final int INTERNAL_PATH_ERROR = 0x300;

    public static int sct(int status) {
        return (status >> 8) & 0x7;
    }

    public static int sc(int status) {
        return status & 0xFF;
    }

    public static boolean dnr(int status) {
        return (status & DNR) != 0;
    }

    public static boolean more(int status) {
        return (status & MORE) != 0;
    }

    /** The status without More, DNR and retry delay: SCT and SC only. */
    public static int code(int status) {
        return status & 0x7FF;
    }

    public static boolean isSuccess(int status) {
        return code(status) == SUCCESS;
    }

    public static int of(int sct, int sc) {
        return (sct & 0x7) << 8 | (sc & 0xFF);
    }

    /** A short name of the status for logs and errors. */
    public static String describe(int status) {
        String name = switch (code(status)) {
            case SUCCESS -> "Success";
            case INVALID_OPCODE -> "Invalid Command Opcode";
            case INVALID_FIELD -> "Invalid Field in Command";
            case COMMAND_ID_CONFLICT -> "Command ID Conflict";
            case DATA_TRANSFER_ERROR -> "Data Transfer Error";
            case INTERNAL_ERROR -> "Internal Error";
            case ABORT_REQUESTED -> "Command Abort Requested";
            case ABORTED_SQ_DELETION -> "Command Aborted due to SQ Deletion";
            case INVALID_NAMESPACE_OR_FORMAT -> "Invalid Namespace or Format";
            case COMMAND_SEQUENCE_ERROR -> "Command Sequence Error";
            case DATA_SGL_LENGTH_INVALID -> "Data SGL Length Invalid";
            case SGL_DESCRIPTOR_TYPE_INVALID -> "SGL Descriptor Type Invalid";
            case SGL_OFFSET_INVALID -> "SGL Offset Invalid";
            case KEEP_ALIVE_TIMEOUT_INVALID -> "Keep Alive Timeout Invalid";
            case TRANSIENT_TRANSPORT_ERROR -> "Transient Transport Error";
            case LBA_OUT_OF_RANGE -> "LBA Out of Range";
            case NAMESPACE_NOT_READY -> "Namespace Not Ready";
            case INVALID_QUEUE_IDENTIFIER -> "Invalid Queue Identifier";
            case INVALID_QUEUE_SIZE -> "Invalid Queue Size";
            case ASYNC_EVENT_LIMIT_EXCEEDED -> "Asynchronous Event Request Limit Exceeded";
            case INVALID_LOG_PAGE -> "Invalid Log Page";
            case FEATURE_NOT_SAVEABLE -> "Feature Identifier Not Saveable";
            case FEATURE_NOT_CHANGEABLE -> "Feature Not Changeable";
            case CONNECT_INCOMPATIBLE_FORMAT -> "Connect Incompatible Format";
            case CONNECT_CONTROLLER_BUSY -> "Connect Controller Busy";
            case CONNECT_INVALID_PARAMETERS -> "Connect Invalid Parameters";
            case CONNECT_RESTART_DISCOVERY -> "Connect Restart Discovery";
            case CONNECT_INVALID_HOST -> "Connect Invalid Host";
            case WRITE_FAULT -> "Write Fault";
            case UNRECOVERED_READ_ERROR -> "Unrecovered Read Error";
            case COMPARE_FAILURE -> "Compare Failure";
            case INTERNAL_PATH_ERROR -> "Internal Path Error";
            default -> "Status";
        };
        return String.format("%s (SCT %d, SC 0x%02x%s)", name, sct(status), sc(status), dnr(status) ? ", DNR" : "");
    }
}
