package io.basalt.nvmf;

import io.basalt.nvme.ConnectData;
import io.basalt.nvme.Cqe;
import io.basalt.nvme.Opcodes;
import io.basalt.nvme.Properties;
import io.basalt.nvme.Sqe;
import io.basalt.nvme.tcp.Digest;
import io.basalt.nvme.tcp.IcReq;
import io.basalt.nvme.tcp.IcResp;
import io.basalt.nvme.tcp.Pdu;
import io.basalt.nvme.tcp.PduWriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A blocking NVMe/TCP host for tests, byte by byte on a plain socket: it sends exactly the PDUs
 * a test builds (so malformed ones too), answers R2Ts with H2CData, gathers C2HData, checks
 * digests and PDU layouts of everything it receives, and fails loudly on anything unexpected.
 */
public final class NvmeTcpWire implements AutoCloseable {
    /** A completed command: its CQE and the data the controller sent (empty if none). */
    public record Completion(Cqe cqe, byte[] data) {
        public int status() {
            return cqe.status;
        }
    }

    /** A PDU as received. */
    public record Received(int type, int flags, byte[] header, byte[] data) {
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final Digest digest = new Digest();
    private boolean hdgst;
    private boolean ddgst;
    private int maxh2cdata = 4096;
    private int nextCid = 1;
    private final Map<Integer, byte[]> writeData = new HashMap<>();
    private final Map<Integer, ByteArrayOutputStream> readData = new HashMap<>();
    private final Map<Integer, Completion> done = new HashMap<>();
    public final UUID hostId = UUID.randomUUID();
    public String hostnqn = "nqn.2014-08.org.nvmexpress:uuid:" + hostId;
    public int cntlid;
    /** Number of C2HData PDUs that carried the SUCCESS flag. */
    public int successFlags;
    public int r2ts;

    public NvmeTcpWire(int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    public IcResp initialize(boolean headerDigest, boolean dataDigest) throws IOException {
        ByteBuf b = Unpooled.buffer();
        new IcReq(0, 0, headerDigest, dataDigest, 0).encode(b);
        send(b);
        Received r = readPdu(false, false);
        if (r.type() != Pdu.IC_RESP) {
            throw new IOException("expected ICResp, got " + Pdu.typeName(r.type()));
        }
        IcResp resp = IcResp.decode(Unpooled.wrappedBuffer(r.header()), 0);
        hdgst = resp.hdgst();
        ddgst = resp.ddgst();
        maxh2cdata = resp.maxh2cdata();
        return resp;
    }

    public void send(ByteBuf b) throws IOException {
        byte[] a = new byte[b.readableBytes()];
        b.readBytes(a);
        b.release();
        out.write(a);
        out.flush();
    }

    public void sendRaw(byte[] a) throws IOException {
        out.write(a);
        out.flush();
    }

    public boolean headerDigest() {
        return hdgst;
    }

    public boolean dataDigest() {
        return ddgst;
    }

    /** Reads one PDU, checking its layout and digests. */
    public Received readPdu() throws IOException {
        return readPdu(hdgst, ddgst);
    }

    private Received readPdu(boolean hd, boolean dd) throws IOException {
        byte[] ch = new byte[8];
        in.readFully(ch);
        ByteBuf c = Unpooled.wrappedBuffer(ch);
        int type = c.getUnsignedByte(0);
        int flags = c.getUnsignedByte(1);
        int hlen = c.getUnsignedByte(2);
        int pdo = c.getUnsignedByte(3);
        int plen = c.getIntLE(4);
        if (hlen != Pdu.hlen(type)) {
            throw new IOException(Pdu.typeName(type) + " with HLEN " + hlen);
        }
        byte[] header = new byte[hlen];
        System.arraycopy(ch, 0, header, 0, 8);
        in.readFully(header, 8, hlen - 8);
        int got = 8 + hlen - 8;
        boolean withHd = Pdu.digestible(type) && hd;
        if (((flags & Pdu.FLAG_HDGSTF) != 0) != withHd) {
            throw new IOException(Pdu.typeName(type) + " HDGSTF " + ((flags & 1) != 0) + " but digests " + withHd);
        }
        if (withHd) {
            int want = Integer.reverseBytes(in.readInt());
            got += 4;
            if (want != digest.of(header, 0, hlen)) {
                throw new IOException(Pdu.typeName(type) + " header digest mismatch");
            }
        }
        byte[] data = new byte[0];
        if (plen > got) {
            int pad = pdo - got;
            in.readFully(new byte[pad]);
            boolean withDd = (flags & Pdu.FLAG_DDGSTF) != 0;
            if (type != Pdu.C2H_TERM_REQ && withDd != dd) {
                throw new IOException(Pdu.typeName(type) + " DDGSTF " + withDd + " but digests " + dd);
            }
            data = new byte[plen - pdo - (withDd ? 4 : 0)];
            in.readFully(data);
            if (withDd) {
                int want = Integer.reverseBytes(in.readInt());
                if (want != digest.of(data, 0, data.length)) {
                    throw new IOException(Pdu.typeName(type) + " data digest mismatch");
                }
            }
        }
        return new Received(type, flags, header, data);
    }

    // ------------------------------------------------------------------ commands

    public int nextCid() {
        int c = nextCid;
        nextCid = (nextCid + 1) & 0xFFFF;
        return c;
    }

    /** Sends a command; {@code inCapsule} data goes in the capsule, {@code r2tData} is sent when the controller asks. */
    public int submit(Sqe sqe, byte[] inCapsule, byte[] r2tData) throws IOException {
        if (sqe.cid == 0) {
            sqe.cid = nextCid();
        }
        sqe.flags |= Sqe.FLAGS_PSDT_SGL;
        if (inCapsule != null) {
            sqe.sglId = Sqe.SGL_ID_IN_CAPSULE;
            sqe.sglAddress = 0;
            sqe.sglLength = inCapsule.length;
        } else if (r2tData != null) {
            sqe.sglId = Sqe.SGL_ID_TRANSPORT;
            sqe.sglLength = r2tData.length;
            writeData.put(sqe.cid, r2tData);
        } else if (sqe.sglId == 0 && sqe.sglLength == 0) {
            sqe.sglId = Sqe.SGL_ID_TRANSPORT;
        }
        ByteBuf b = Unpooled.buffer();
        PduWriter.capsuleCmd(b, sqe, inCapsule == null ? null : ByteBuffer.wrap(inCapsule), hdgst, ddgst, 0, digest);
        send(b);
        return sqe.cid;
    }

    /** Runs the connection until command {@code cid} completes. */
    public Completion await(int cid) throws IOException {
        while (!done.containsKey(cid)) {
            pump();
        }
        return done.remove(cid);
    }

    /** Whether command {@code cid} already completed (without reading more). */
    public boolean completed(int cid) {
        return done.containsKey(cid);
    }

    /** Handles one received PDU. */
    public void pump() throws IOException {
        Received r = readPdu();
        ByteBuf h = Unpooled.wrappedBuffer(r.header());
        switch (r.type()) {
            case Pdu.CAPSULE_RESP -> {
                Cqe cqe = new Cqe().decode(h, 8);
                ByteArrayOutputStream d = readData.remove(cqe.cid);
                writeData.remove(cqe.cid);
                done.put(cqe.cid, new Completion(cqe, d == null ? new byte[0] : d.toByteArray()));
            }
            case Pdu.C2H_DATA -> {
                int cid = h.getUnsignedShortLE(8);
                int datao = h.getIntLE(12);
                int datal = h.getIntLE(16);
                ByteArrayOutputStream d = readData.computeIfAbsent(cid, k -> new ByteArrayOutputStream());
                if (datao != d.size() || datal != r.data().length) {
                    throw new IOException("C2HData for " + cid + " at " + datao + " of " + datal + " bytes, expected offset "
                            + d.size());
                }
                d.write(r.data());
                if ((r.flags() & Pdu.FLAG_SUCCESS) != 0) {
                    if ((r.flags() & Pdu.FLAG_LAST_PDU) == 0) {
                        throw new IOException("SUCCESS without LAST_PDU");
                    }
                    successFlags++;
                    readData.remove(cid);
                    Cqe cqe = new Cqe();
                    cqe.cid = cid;
                    done.put(cid, new Completion(cqe, d.toByteArray()));
                }
            }
            case Pdu.R2T -> {
                r2ts++;
                int cid = h.getUnsignedShortLE(8);
                int ttag = h.getUnsignedShortLE(10);
                int r2to = h.getIntLE(12);
                int r2tl = h.getIntLE(16);
                byte[] data = writeData.get(cid);
                if (data == null || r2to + r2tl > data.length) {
                    throw new IOException("R2T for " + cid + " at " + r2to + "+" + r2tl + " that was not asked for");
                }
                for (int off = r2to; off < r2to + r2tl; off += maxh2cdata) {
                    int n = Math.min(maxh2cdata, r2to + r2tl - off);
                    sendH2c(cid, ttag, off, data, off, n, off + n == r2to + r2tl);
                }
            }
            case Pdu.C2H_TERM_REQ -> throw new TermReqReceived(h.getUnsignedShortLE(8), h.getIntLE(10));
            default -> throw new IOException("unexpected " + Pdu.typeName(r.type()));
        }
    }

    /** Sends an H2CData PDU with {@code n} bytes of {@code data} from {@code from}. */
    public void sendH2c(int cid, int ttag, int datao, byte[] data, int from, int n, boolean last) throws IOException {
        ByteBuf b = Unpooled.buffer();
        PduWriter.dataHeader(b, Pdu.H2C_DATA, last ? Pdu.FLAG_LAST_PDU : 0, cid, ttag, datao, n, hdgst, ddgst, 0,
                digest);
        ByteBuffer src = ByteBuffer.wrap(data, from, n);
        b.writeBytes(src.duplicate());
        if (ddgst) {
            PduWriter.dataDigest(b, src, digest);
        }
        send(b);
    }

    /** The controller ended the connection with a C2HTermReq. */
    public static final class TermReqReceived extends IOException {
        public final int fes;
        public final int fei;

        TermReqReceived(int fes, int fei) {
            super("C2HTermReq " + Pdu.fesName(fes) + " FEI " + fei);
            this.fes = fes;
            this.fei = fei;
        }
    }

    public Completion run(Sqe sqe) throws IOException {
        return await(submit(sqe, null, null));
    }

    // ------------------------------------------------------------------ fabrics and admin helpers

    public Completion connect(String subnqn, int qid, int sqsize, int cntlid, long katoMs, boolean inCapsule)
            throws IOException {
        Sqe s = new Sqe();
        s.opcode = Opcodes.FABRICS;
        s.nsid = Opcodes.FCTYPE_CONNECT;
        s.cdw10 = qid << 16;
        s.cdw11 = sqsize;
        s.cdw12 = (int) katoMs;
        byte[] data = new ConnectData(hostId, cntlid, subnqn, hostnqn).encode();
        Completion c = await(inCapsule ? submit(s, data, null) : submit(s, null, data));
        if (c.status() == 0 && qid == 0) {
            this.cntlid = c.cqe().dw0 & 0xFFFF;
        }
        return c;
    }

    public Completion propertyGet(int offset, boolean eight) throws IOException {
        Sqe s = new Sqe();
        s.opcode = Opcodes.FABRICS;
        s.nsid = Opcodes.FCTYPE_PROPERTY_GET;
        s.cdw10 = eight ? 1 : 0;
        s.cdw11 = offset;
        return run(s);
    }

    public Completion propertySet(int offset, long value) throws IOException {
        Sqe s = new Sqe();
        s.opcode = Opcodes.FABRICS;
        s.nsid = Opcodes.FCTYPE_PROPERTY_SET;
        s.cdw10 = 0;
        s.cdw11 = offset;
        s.cdw12 = (int) value;
        s.cdw13 = (int) (value >>> 32);
        return run(s);
    }

    /** ICReq, admin Connect, CC.EN = 1; returns the controller ID. */
    public int connectAdmin(String subnqn, boolean hd, boolean dd, long katoMs) throws IOException {
        initialize(hd, dd);
        Completion c = connect(subnqn, 0, 31, ConnectData.CNTLID_DYNAMIC, katoMs, true);
        if (c.status() != 0) {
            throw new IOException("admin connect failed: " + io.basalt.nvme.Status.describe(c.status()));
        }
        Completion e = propertySet(Properties.CC, Properties.ccEnable());
        if (e.status() != 0) {
            throw new IOException("enable failed: " + io.basalt.nvme.Status.describe(e.status()));
        }
        return cntlid;
    }

    public Completion admin(int opcode, int nsid, int cdw10, int cdw11, int dataLength) throws IOException {
        Sqe s = new Sqe();
        s.opcode = opcode;
        s.nsid = nsid;
        s.cdw10 = cdw10;
        s.cdw11 = cdw11;
        s.sglId = Sqe.SGL_ID_TRANSPORT;
        s.sglLength = dataLength;
        return run(s);
    }

    public Completion identify(int cns, int nsid) throws IOException {
        return admin(Opcodes.ADMIN_IDENTIFY, nsid, cns, 0, 4096);
    }

    public Completion getLogPage(int lid, int nsid, long bytes, boolean rae, long offset) throws IOException {
        Sqe s = new Sqe();
        s.opcode = Opcodes.ADMIN_GET_LOG_PAGE;
        s.nsid = nsid;
        s.cdw10 = io.basalt.nvme.LogPages.cdw10(lid, rae, bytes);
        s.cdw11 = io.basalt.nvme.LogPages.cdw11(bytes);
        s.cdw12 = (int) offset;
        s.cdw13 = (int) (offset >>> 32);
        s.sglId = Sqe.SGL_ID_TRANSPORT;
        s.sglLength = (int) bytes;
        return run(s);
    }

    /** Read / Write / Compare of {@code nlb} blocks; writes in-capsule when {@code inCapsule}. */
    public Completion io(int opcode, int nsid, long slba, int nlb, int blockSize, byte[] data, boolean inCapsule)
            throws IOException {
        Sqe s = new Sqe();
        s.opcode = opcode;
        s.nsid = nsid;
        s.cdw10 = (int) slba;
        s.cdw11 = (int) (slba >>> 32);
        s.cdw12 = nlb - 1;
        if (data == null) {
            s.sglId = Sqe.SGL_ID_TRANSPORT;
            s.sglLength = nlb * blockSize;
            return run(s);
        }
        return await(inCapsule ? submit(s, data, null) : submit(s, null, data));
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** True once the controller closed the connection (reads hit end of stream). */
    public boolean closedByPeer() {
        try {
            int b = in.read();
            return b < 0;
        } catch (java.net.SocketTimeoutException e) {
            return false; // still open after the read timeout: the peer did not close it
        } catch (EOFException e) {
            return true;
        } catch (IOException e) {
            return true; // reset by the peer
        }
    }
}
