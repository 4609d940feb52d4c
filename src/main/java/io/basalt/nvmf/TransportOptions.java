package io.basalt.nvmf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.runtime.Json;

/**
 * The TCP transport's settings from nvmf_create_transport (SPDK's defaults for TCP). Basalt
 * uses: max_queue_depth (I/O SQ size limit, CAP.MQES + 1), max_io_qpairs_per_ctrlr,
 * in_capsule_data_size (IOCCSZ), max_io_size (MDTS; one pooled buffer per command, so at most
 * 4 MiB), max_aq_depth (admin SQ size limit), c2h_success, kas and min_kato. The buffer
 * settings (io_unit_size, num_shared_buffers, buf_cache_size) and abort_timeout_sec are kept and
 * reported for SPDK's clients; Basalt's buffers come from the reactors' shared pool instead.
 */
public record TransportOptions(int maxQueueDepth, int maxIoQpairsPerCtrlr, int inCapsuleDataSize, int maxIoSize,
                               int ioUnitSize, int maxAqDepth, int numSharedBuffers, long bufCacheSize,
                               boolean c2hSuccess, int abortTimeoutSec, int controlMsgNum, int kas, int minKato) {
    public static final int DEFAULT_MAX_QUEUE_DEPTH = 128;
    public static final int DEFAULT_MAX_IO_QPAIRS = 127;
    public static final int DEFAULT_IN_CAPSULE = 4096;
    public static final int DEFAULT_MAX_IO_SIZE = 131072;
    public static final int DEFAULT_IO_UNIT_SIZE = 131072;
    public static final int DEFAULT_MAX_AQ_DEPTH = 128;
    public static final int DEFAULT_NUM_SHARED_BUFFERS = 511;
    public static final long DEFAULT_BUF_CACHE_SIZE = 0xFFFFFFFFL;
    public static final int DEFAULT_ABORT_TIMEOUT_SEC = 1;
    public static final int DEFAULT_CONTROL_MSG_NUM = 32;
    /** Keep Alive Support granularity, in 100 ms units (Identify Controller KAS). */
    public static final int DEFAULT_KAS = 10;
    public static final int DEFAULT_MIN_KATO_MS = 10000;
    /** In-capsule data an admin queue takes whatever the transport says (the Linux host sends 8 KiB). */
    public static final int ADMIN_IN_CAPSULE = 8192;
    /** Most data bytes per H2CData PDU (ICResp MAXH2CDATA). */
    public static final int MAX_H2C_DATA = 131072;

    public static TransportOptions defaults() {
        return new TransportOptions(DEFAULT_MAX_QUEUE_DEPTH, DEFAULT_MAX_IO_QPAIRS, DEFAULT_IN_CAPSULE,
                DEFAULT_MAX_IO_SIZE, DEFAULT_IO_UNIT_SIZE, DEFAULT_MAX_AQ_DEPTH, DEFAULT_NUM_SHARED_BUFFERS,
                DEFAULT_BUF_CACHE_SIZE, true, DEFAULT_ABORT_TIMEOUT_SEC, DEFAULT_CONTROL_MSG_NUM, DEFAULT_KAS,
                DEFAULT_MIN_KATO_MS);
    }

    /** MDTS for Identify Controller: max_io_size in units of 4 KiB pages, as a power of two. */
    public int mdts() {
        return Integer.numberOfTrailingZeros(maxIoSize / 4096);
    }

    /** In-capsule data limit of a queue. */
    public int inCapsuleLimit(boolean admin) {
        return admin ? Math.max(ADMIN_IN_CAPSULE, inCapsuleDataSize) : inCapsuleDataSize;
    }

    /** The nvmf_get_transports entry and the save_config params. */
    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("trtype", "TCP");
        o.put("max_queue_depth", maxQueueDepth);
        o.put("max_io_qpairs_per_ctrlr", maxIoQpairsPerCtrlr);
        o.put("in_capsule_data_size", inCapsuleDataSize);
        o.put("max_io_size", maxIoSize);
        o.put("io_unit_size", ioUnitSize);
        o.put("max_aq_depth", maxAqDepth);
        o.put("num_shared_buffers", numSharedBuffers);
        o.put("buf_cache_size", bufCacheSize);
        o.put("dif_insert_or_strip", false);
        o.put("zcopy", false);
        o.put("c2h_success", c2hSuccess);
        o.put("sock_priority", 0);
        o.put("abort_timeout_sec", abortTimeoutSec);
        o.put("control_msg_num", controlMsgNum);
        o.put("kas", kas);
        o.put("min_kato", minKato);
        return o;
    }
}
