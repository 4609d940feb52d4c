package io.basalt.nvmf;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevIo;
import io.basalt.bdev.IoChannel;
import io.basalt.bdev.IoStatus;
import io.basalt.bdev.IoType;
import io.basalt.nvme.Opcodes;
import io.basalt.nvme.Sqe;
import io.basalt.nvme.Status;
import io.basalt.runtime.DmaBuffer;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Zero;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The NVM command set on a namespace, mapped onto bdev I/O (NVMe Base Specification 1.4 section
 * 6): the one place where NVMe I/O commands become bdev calls and bdev results become NVMe
 * status.
 *
 * <pre>
 * Read (02h), Write (01h, FUA)  SLBA CDW10-11, NLB CDW12 15:0 (0's based) -> read / write
 * Compare (05h)                  -> compare (Compare Failure on a mismatch); Invalid Opcode if the bdev has none
 * Flush (00h)                    -> flush (success at once when the bdev has no volatile cache)
 * Write Zeroes (08h)             -> write_zeroes, or writes of zeroes when the bdev has none
 * Dataset Management (09h)       -> unmap of each range when AD (deallocate) is set; a hint otherwise
 * </pre>
 *
 * A namespace that is absent (never added, removed, its bdev hot-removed) answers Invalid
 * Namespace or Format with DNR. Threading: the qpair's reactor.
 */
final class NvmCommands {
    private static final int DSM_RANGE = 16;
    private static final int DSM_AD = 1 << 2;
    /** 256 ranges of 16 bytes: the most a DSM command carries. */
    private static final int DSM_MAX_DATA = 4096;

    private NvmCommands() {
    }

    /** Checks an I/O command and sizes its data; 0 or the status to answer with. */
    static int validate(TcpQpair q, Request r) {
        Sqe c = r.sqe;
        int op = c.opcode;
        if (op != Opcodes.IO_READ && op != Opcodes.IO_WRITE && op != Opcodes.IO_COMPARE && op != Opcodes.IO_FLUSH
                && op != Opcodes.IO_WRITE_ZEROES && op != Opcodes.IO_DATASET_MANAGEMENT) {
            return Status.INVALID_OPCODE | Status.DNR;
        }
        NvmfNamespace ns = q.subsystem.namespace(c.nsid);
        if (ns == null || !ns.usableOn(q.reactor)) {
            return Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR;
        }
        r.ns = ns;
        Bdev b = ns.bdev();
        switch (op) {
            case Opcodes.IO_READ, Opcodes.IO_WRITE, Opcodes.IO_COMPARE -> {
                if (op == Opcodes.IO_COMPARE && !b.supports(IoType.COMPARE)) {
                    return Status.INVALID_OPCODE | Status.DNR;
                }
                if (op == Opcodes.IO_WRITE && !b.supports(IoType.WRITE)) {
                    return Status.of(Status.SCT_GENERIC, 0x20) | Status.DNR;
                }
                int st = range(b, c.slba(), c.nlb());
                if (st != 0) {
                    return st;
                }
                long len = (long) c.nlb() * b.blockSize();
                if (len > q.opts.maxIoSize()) {
                    return Status.INVALID_FIELD | Status.DNR;
                }
                if (r.inCapsule) {
                    if (op == Opcodes.IO_READ) {
                        return Status.INVALID_FIELD | Status.DNR;
                    }
                } else {
                    st = TcpQpair.transportSgl(c, (int) len);
                    if (st != 0) {
                        return st;
                    }
                }
                if (c.sglLength != len) {
                    return Status.DATA_SGL_LENGTH_INVALID | Status.DNR;
                }
                r.dataLength = (int) len;
                return 0;
            }
            case Opcodes.IO_WRITE_ZEROES -> {
                if (!b.supports(IoType.WRITE)) {
                    return Status.of(Status.SCT_GENERIC, 0x20) | Status.DNR;
                }
                return range(b, c.slba(), c.nlb());
            }
            case Opcodes.IO_DATASET_MANAGEMENT -> {
                // The ranges come first; Linux describes its whole range buffer, which may be longer.
                int len = ((c.cdw10 & 0xFF) + 1) * DSM_RANGE;
                if (!r.inCapsule) {
                    int st = TcpQpair.transportSgl(c, DSM_MAX_DATA);
                    if (st != 0) {
                        return st;
                    }
                }
                if (Integer.compareUnsigned(c.sglLength, len) < 0 || Integer.compareUnsigned(c.sglLength, DSM_MAX_DATA) > 0) {
                    return Status.DATA_SGL_LENGTH_INVALID | Status.DNR;
                }
                r.dataLength = c.sglLength;
                return 0;
            }
            default -> {
                return 0;
            }
        }
    }

    private static int range(Bdev b, long slba, long nlb) {
        long blocks = b.numBlocks();
        if (slba < 0 || slba > blocks || nlb > blocks - slba) {
            return Status.LBA_OUT_OF_RANGE | Status.DNR;
        }
        return 0;
    }

    /** Runs a validated command whose data (if any) is here. */
    static void execute(TcpQpair q, Request r) {
        resume(q, r);
    }

    /**
     * Submits what the command still needs (first time, or again after it waited for a buffer or
     * a free bdev I/O object).
     */
    static void resume(TcpQpair q, Request r) {
        NvmfNamespace ns = r.ns;
        if (!ns.usableOn(q.reactor)) {
            q.finish(r, Status.INVALID_NAMESPACE_OR_FORMAT | Status.DNR);
            return;
        }
        BdevDesc d = ns.desc();
        IoChannel ch = ns.channel(q.reactor);
        Bdev b = d.bdev();
        Sqe c = r.sqe;
        int rc;
        switch (c.opcode) {
            case Opcodes.IO_READ -> {
                if (r.buf == null) {
                    DmaBuffer buf = q.target.buffers().get(r.dataLength);
                    if (buf == null) {
                        r.needsBuffer = true;
                        q.park(r);
                        return;
                    }
                    r.buf = buf;
                }
                rc = d.read(ch, r.buf.segment(), 0, c.slba(), c.nlb(), q, r);
            }
            case Opcodes.IO_WRITE -> rc = d.write(ch, r.buf.segment(), 0, c.slba(), c.nlb(), c.fua(), q, r);
            case Opcodes.IO_COMPARE -> rc = d.compare(ch, r.buf.segment(), 0, c.slba(), c.nlb(), q, r);
            case Opcodes.IO_FLUSH -> {
                if (!b.supports(IoType.FLUSH)) {
                    q.finish(r, Status.SUCCESS);
                    return;
                }
                rc = d.flush(ch, 0, b.numBlocks(), q, r);
            }
            case Opcodes.IO_WRITE_ZEROES -> {
                if (b.supports(IoType.WRITE_ZEROES)) {
                    rc = d.writeZeroes(ch, c.slba(), c.nlb(), q, r);
                } else {
                    // Emulated: one write of zeroes at a time, from the shared zero buffer.
                    long done = r.cursor;
                    long left = c.nlb() - done;
                    long chunk = Math.min(left, Zero.segment().byteSize() / b.blockSize());
                    rc = d.write(ch, Zero.segment(), 0, c.slba() + done, chunk, q, r);
                    if (rc == 0) {
                        r.step = (int) chunk;
                    }
                }
            }
            case Opcodes.IO_DATASET_MANAGEMENT -> {
                if ((c.cdw11 & DSM_AD) == 0 || !b.supports(IoType.UNMAP)) {
                    // Attributes without deallocate are hints; without unmap, deallocate is one too.
                    q.finish(r, Status.SUCCESS);
                    return;
                }
                MemorySegment m = r.buf.segment();
                int ranges = ((c.cdw10 & 0xFF) + 1);
                if (r.step == 0) {
                    for (int i = 0; i < ranges; i++) {
                        long nlb = m.get(LE_INT, i * DSM_RANGE + 4) & 0xFFFFFFFFL;
                        long slba = m.get(LE_LONG, i * DSM_RANGE + 8);
                        if (nlb != 0 && range(b, slba, nlb) != 0) {
                            q.finish(r, Status.LBA_OUT_OF_RANGE | Status.DNR);
                            return;
                        }
                    }
                }
                while (r.step < ranges) {
                    int i = r.step;
                    long nlb = m.get(LE_INT, i * DSM_RANGE + 4) & 0xFFFFFFFFL;
                    long slba = m.get(LE_LONG, i * DSM_RANGE + 8);
                    if (nlb == 0) {
                        r.step++;
                        continue;
                    }
                    rc = d.unmap(ch, slba, nlb, q, r);
                    if (rc != 0) {
                        q.park(r);
                        return;
                    }
                    r.pending++;
                    r.step++;
                    return;
                }
                q.finish(r, r.status);
                return;
            }
            default -> {
                q.finish(r, Status.INVALID_OPCODE | Status.DNR);
                return;
            }
        }
        if (rc != 0) {
            // -ENOMEM: the channel has no free I/O object; try again shortly.
            q.park(r);
            return;
        }
        r.pending++;
    }

    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** A bdev I/O of {@code r} completed. */
    static void completed(TcpQpair q, Request r, BdevIo io, boolean success) {
        r.pending--;
        Sqe c = r.sqe;
        int st = success ? Status.SUCCESS : status(io, c.opcode);
        if (!success) {
            if (Status.sct(st) == Status.SCT_MEDIA) {
                q.mediaErrors++;
            }
            q.finish(r, st);
            return;
        }
        switch (c.opcode) {
            case Opcodes.IO_READ -> {
                q.readCommands++;
                q.bytesRead += r.dataLength;
                r.c2hLength = r.dataLength;
            }
            case Opcodes.IO_WRITE -> {
                q.writeCommands++;
                q.bytesWritten += r.dataLength;
            }
            case Opcodes.IO_WRITE_ZEROES -> {
                if (!io.bdev().supports(IoType.WRITE_ZEROES)) {
                    r.cursor += r.step;
                    if (r.cursor < c.nlb()) {
                        resume(q, r);
                        return;
                    }
                }
            }
            case Opcodes.IO_DATASET_MANAGEMENT -> {
                resume(q, r);
                return;
            }
            default -> {
            }
        }
        q.finish(r, Status.SUCCESS);
    }

    /** NVMe status of a failed bdev I/O. */
    static int status(BdevIo io, int opcode) {
        IoStatus s = io.status();
        return switch (s) {
            case MISCOMPARE -> Status.COMPARE_FAILURE;
            case NVME_ERROR -> Status.of(io.nvmeSct(), io.nvmeSc());
            case ABORTED -> Status.ABORT_REQUESTED;
            case INVALID -> switch (io.errno()) {
                case Errno.EOPNOTSUPP -> Status.INVALID_OPCODE | Status.DNR;
                case Errno.EINVAL -> Status.LBA_OUT_OF_RANGE | Status.DNR;
                default -> Status.INVALID_FIELD | Status.DNR;
            };
            default -> opcode == Opcodes.IO_READ || opcode == Opcodes.IO_COMPARE ? Status.UNRECOVERED_READ_ERROR
                    : opcode == Opcodes.IO_WRITE || opcode == Opcodes.IO_WRITE_ZEROES ? Status.WRITE_FAULT
                    : Status.INTERNAL_ERROR;
        };
    }
}
