package io.basalt.nvme.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Splits an NVMe/TCP byte stream into PDUs (NVMe/TCP 1.0 section 3.6) for one side of a
 * connection, checks everything the transport specification fixes (PDU type and direction,
 * HLEN, PDO, PLEN, digest flags and digests), and hands each PDU to a {@link Handler}. Data goes
 * straight from the socket into the buffer the handler names, so large payloads are never
 * gathered in Netty's cumulation buffer.
 *
 * <p>A violation ends decoding: the handler gets {@link Handler#onViolation} with the fatal error
 * status and information the TermReq must carry, and the decoder drops everything after. The
 * handler may pause decoding by returning false from {@link Handler#onHeader} (nothing is
 * consumed); it resumes by firing an empty buffer into the pipeline.
 *
 * <p>Threading: the channel's event loop.
 */
public final class PduDecoder extends ByteToMessageDecoder {
    enum State { HEADER, DATA, DATA_DIGEST, BAD_MESSAGE }

    /** What the decoder reports to. All calls on the event loop, inside {@link #decode}. */
    public interface Handler {
        /**
         * A PDU header arrived and passed the transport checks (and its header digest). For a PDU
         * with data, call {@link PduHeader#target} and return true; return false to be asked again
         * later (nothing consumed). Throw to end the connection.
         */
        boolean onHeader(PduHeader h) throws PduException;

        /** The whole PDU arrived (its data, if any, is in the target); {@code dataDigestOk} is true without a data digest. */
        void onPdu(PduHeader h, boolean dataDigestOk) throws PduException;

        /** The stream broke the protocol; decoding has stopped. */
        void onViolation(PduException e, byte[] offendingHeader);
    }

    private final Handler handler;
    private final boolean controllerSide;
    private final Digest digest = new Digest();
    private final PduHeader h = new PduHeader();
    private final ByteBuffer scratch = ByteBuffer.allocate(Pdu.TERM_MAX_PLEN);
    private State state = State.HEADER;
    private boolean connected;
    private boolean hdgst;
    private boolean ddgst;
    private int maxPlen;
    private int received;

    /**
     * @param controllerSide true to accept host-to-controller PDUs (a target), false for a host
     * @param maxPlen        longest PDU accepted; longer ones end the connection (Data Transfer Limit Exceeded)
     */
    public PduDecoder(Handler handler, boolean controllerSide, int maxPlen) {
        this.handler = handler;
        this.controllerSide = controllerSide;
        this.maxPlen = maxPlen;
    }

    /** After the ICReq/ICResp exchange: the negotiated digests; the IC PDU is no longer accepted. */
    public void connected(boolean headerDigest, boolean dataDigest) {
        this.connected = true;
        this.hdgst = headerDigest;
        this.ddgst = dataDigest;
    }

    public void maxPlen(int maxPlen) {
        this.maxPlen = maxPlen;
    }

    State state() {
        return state;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            while (in.isReadable()) {
                int before = in.readableBytes();
                switch (state) {
                    case HEADER -> readHeader(in);
                    case DATA -> readData(in);
                    case DATA_DIGEST -> readDataDigest(in);
                    case BAD_MESSAGE -> in.skipBytes(in.readableBytes());
                }
                if (in.readableBytes() == before) {
                    return;
                }
            }
        } catch (PduException e) {
            fail(in, e, h.hlen > 0 ? h.copy() : quote(in));
        }
    }

    /** The start of the offending PDU still in {@code in}: up to its HLEN (or the common header), at most 128 bytes. */
    private static byte[] quote(ByteBuf in) {
        int avail = in.readableBytes();
        int want = avail >= 3 ? Math.max(Pdu.CH_SIZE, in.getUnsignedByte(in.readerIndex() + 2)) : avail;
        byte[] b = new byte[Math.min(Math.min(avail, want), TermReq.MAX_DATA)];
        in.getBytes(in.readerIndex(), b);
        return b;
    }

    private void fail(ByteBuf in, PduException e, byte[] offending) {
        state = State.BAD_MESSAGE;
        in.skipBytes(in.readableBytes());
        handler.onViolation(e, offending);
    }

    private void readHeader(ByteBuf in) throws PduException {
        if (in.readableBytes() < Pdu.CH_SIZE) {
            return;
        }
        int at = in.readerIndex();
        int type = in.getUnsignedByte(at);
        int flags = in.getUnsignedByte(at + 1);
        int hlen = in.getUnsignedByte(at + 2);
        int pdo = in.getUnsignedByte(at + 3);
        long plen = in.getUnsignedIntLE(at + 4);
        h.hlen = 0;
        int expected = Pdu.hlen(type);
        if (expected < 0 || Pdu.fromHost(type) != controllerSide) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 0, "unexpected " + Pdu.typeName(type));
        }
        boolean ic = type == Pdu.IC_REQ || type == Pdu.IC_RESP;
        if (ic == connected) {
            throw new PduException(Pdu.FES_PDU_SEQUENCE_ERROR, 0, Pdu.typeName(type)
                    + (connected ? " after the connection was initialized" : " before the connection was initialized"));
        }
        if (hlen != expected) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 2, Pdu.typeName(type) + " with HLEN " + hlen);
        }
        boolean withHd = Pdu.digestible(type) && hdgst;
        if (((flags & Pdu.FLAG_HDGSTF) != 0) != withHd) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 1, Pdu.typeName(type) + " header digest flag "
                    + ((flags & Pdu.FLAG_HDGSTF) != 0) + " but header digests are " + (withHd ? "on" : "off"));
        }
        int hd = withHd ? Pdu.DIGEST_SIZE : 0;
        if (plen < hlen + hd) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 4, Pdu.typeName(type) + " with PLEN " + plen);
        }
        if (plen > maxPlen) {
            throw new PduException(Pdu.FES_DATA_LIMIT_EXCEEDED, maxPlen, Pdu.typeName(type) + " of " + plen
                    + " bytes exceeds " + maxPlen);
        }
        int dataLength = 0;
        boolean withDd = (flags & Pdu.FLAG_DDGSTF) != 0;
        if (plen > hlen + hd) {
            int dd = withDd ? Pdu.DIGEST_SIZE : 0;
            if (!Pdu.carriesData(type) || pdo < hlen + hd || pdo + dd >= plen) {
                throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 3, Pdu.typeName(type) + " with PDO " + pdo
                        + " and PLEN " + plen);
            }
            dataLength = (int) (plen - pdo - dd);
            boolean termReq = type == Pdu.H2C_TERM_REQ || type == Pdu.C2H_TERM_REQ;
            if (withDd != (ddgst && !termReq)) {
                throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 1, Pdu.typeName(type) + " data digest flag "
                        + withDd + " but data digests are " + (ddgst ? "on" : "off"));
            }
        } else if (withDd) {
            throw new PduException(Pdu.FES_INVALID_HEADER_FIELD, 1, Pdu.typeName(type) + " without data has DDGSTF");
        }
        int headerBytes = hlen + hd;
        int skip = dataLength > 0 ? pdo : headerBytes;
        if (in.readableBytes() < Math.max(headerBytes, dataLength > 0 ? skip : 0)) {
            return;
        }
        h.load(in, at, hlen);
        h.type = type;
        h.flags = flags;
        h.hlen = hlen;
        h.pdo = pdo;
        h.plen = (int) plen;
        h.dataLength = dataLength;
        if (withHd) {
            int want = in.getIntLE(at + hlen);
            int got = digest.of(in, at, hlen);
            if (want != got) {
                throw new PduException(Pdu.FES_HEADER_DIGEST_ERROR, 0, Pdu.typeName(type) + " header digest "
                        + Integer.toHexString(want) + " but the header's CRC32C is " + Integer.toHexString(got));
            }
        }
        if (dataLength > 0 && (type == Pdu.H2C_TERM_REQ || type == Pdu.C2H_TERM_REQ)) {
            scratch.clear();
            h.target(scratch, 0);
        } else if (!handler.onHeader(h)) {
            return;
        }
        in.skipBytes(skip);
        if (dataLength == 0) {
            handler.onPdu(h, true);
            return;
        }
        if (h.target == null) {
            throw new IllegalStateException("no data target for " + h);
        }
        received = 0;
        state = State.DATA;
    }

    private void readData(ByteBuf in) throws PduException {
        int n = Math.min(in.readableBytes(), h.dataLength - received);
        ByteBuffer t = h.target;
        int p = h.targetStart + received;
        t.limit(p + n).position(p);
        in.readBytes(t);
        received += n;
        if (received < h.dataLength) {
            return;
        }
        if (h.flag(Pdu.FLAG_DDGSTF)) {
            state = State.DATA_DIGEST;
            readDataDigest(in);
            return;
        }
        state = State.HEADER;
        handler.onPdu(h, true);
    }

    private void readDataDigest(ByteBuf in) throws PduException {
        if (in.readableBytes() < Pdu.DIGEST_SIZE) {
            return;
        }
        int want = in.readIntLE();
        ByteBuffer t = h.target;
        t.limit(h.targetStart + h.dataLength).position(h.targetStart);
        int got = digest.of(t);
        state = State.HEADER;
        handler.onPdu(h, want == got);
    }

    /** The data of the last TermReq PDU received (valid during {@link Handler#onPdu}). */
    public byte[] termReqData() {
        byte[] b = new byte[h.dataLength];
        scratch.get(0, b);
        return b;
    }
}
