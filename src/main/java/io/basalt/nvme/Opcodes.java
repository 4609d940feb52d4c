package io.basalt.nvme;

/**
 * Command opcodes: admin (NVMe Base Specification 1.4, Figure 139), NVM I/O (Figure 346) and the
 * fabrics command types (NVMe over Fabrics 1.1, Figure 19). A fabrics command has opcode
 * {@link #FABRICS} and its type in byte 4 of the SQE.
 */
public final class Opcodes {
    private Opcodes() {
    }

    // ---- admin
    public static final int ADMIN_DELETE_IO_SQ = 0x00;
    public static final int ADMIN_CREATE_IO_SQ = 0x01;
    public static final int ADMIN_GET_LOG_PAGE = 0x02;
    public static final int ADMIN_DELETE_IO_CQ = 0x04;
    public static final int ADMIN_CREATE_IO_CQ = 0x05;
    public static final int ADMIN_IDENTIFY = 0x06;
    public static final int ADMIN_ABORT = 0x08;
    public static final int ADMIN_SET_FEATURES = 0x09;
    public static final int ADMIN_GET_FEATURES = 0x0A;
    public static final int ADMIN_ASYNC_EVENT_REQUEST = 0x0C;
    public static final int ADMIN_KEEP_ALIVE = 0x18;

    /** Fabrics commands, on admin and I/O queues alike. */
    public static final int FABRICS = 0x7F;

    // ---- NVM command set I/O
    public static final int IO_FLUSH = 0x00;
    public static final int IO_WRITE = 0x01;
    public static final int IO_READ = 0x02;
    public static final int IO_COMPARE = 0x05;
    public static final int IO_WRITE_ZEROES = 0x08;
    public static final int IO_DATASET_MANAGEMENT = 0x09;

    // ---- fabrics command types (FCTYPE)
    public static final int FCTYPE_PROPERTY_SET = 0x00;
    public static final int FCTYPE_CONNECT = 0x01;
    public static final int FCTYPE_PROPERTY_GET = 0x04;
    public static final int FCTYPE_AUTH_SEND = 0x05;
    public static final int FCTYPE_AUTH_RECV = 0x06;
    public static final int FCTYPE_DISCONNECT = 0x08;

    /**
     * Data direction of a command from its opcode's two low bits (NVMe 1.4 section 4.2: 01b host
     * to controller, 10b controller to host, 00b none); fabrics commands use their FCTYPE's bits.
     */
    public static int direction(int opcodeOrFctype) {
        return opcodeOrFctype & 0x3;
    }

    public static final int DIR_NONE = 0;
    public static final int DIR_HOST_TO_CTRLR = 1;
    public static final int DIR_CTRLR_TO_HOST = 2;
}
