package io.basalt.nbd;

import io.basalt.nbd.codec.NbdProtocol;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal blocking NBD client for tests, written from proto.md: it sends exactly the bytes the
 * test asks for and parses what comes back, so tests can check the server byte by byte and send
 * what no real client would.
 */
final class NbdWire implements AutoCloseable {
    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;

    record OptionReply(int option, int type, byte[] data) {
    }

    record Reply(int error, long handle, byte[] data, int chunkType) {
    }

    NbdWire(int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
    }

    /** Reads the greeting, checks it, answers with {@code clientFlags}. */
    int greet(int clientFlags) throws IOException {
        if (in.readLong() != NbdProtocol.NBDMAGIC || in.readLong() != NbdProtocol.IHAVEOPT) {
            throw new IOException("bad greeting");
        }
        int flags = in.readUnsignedShort();
        out.writeInt(clientFlags);
        out.flush();
        return flags;
    }

    void option(int code, byte[] data) throws IOException {
        out.writeLong(NbdProtocol.IHAVEOPT);
        out.writeInt(code);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    OptionReply optionReply() throws IOException {
        if (in.readLong() != NbdProtocol.OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic");
        }
        int opt = in.readInt();
        int type = in.readInt();
        byte[] d = new byte[in.readInt()];
        in.readFully(d);
        return new OptionReply(opt, type, d);
    }

    /** Replies up to and including the first that is not NBD_REP_INFO / NBD_REP_SERVER. */
    List<OptionReply> optionReplies() throws IOException {
        List<OptionReply> l = new ArrayList<>();
        while (true) {
            OptionReply r = optionReply();
            l.add(r);
            if (r.type() != NbdProtocol.REP_INFO && r.type() != NbdProtocol.REP_SERVER) {
                return l;
            }
        }
    }

    static byte[] infoData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        var b = java.nio.ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
        b.putInt(n.length).put(n).putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    void request(int flags, int type, long handle, long offset, long length, byte[] payload) throws IOException {
        out.writeInt(NbdProtocol.REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeLong(offset);
        out.writeInt((int) length);
        if (payload != null) {
            out.write(payload);
        }
        out.flush();
    }

    /** A simple reply; with {@code dataLength} > 0 and no error, that many bytes of data follow. */
    Reply simpleReply(int dataLength) throws IOException {
        int magic = in.readInt();
        if (magic != NbdProtocol.SIMPLE_REPLY_MAGIC) {
            throw new IOException("expected a simple reply, got magic 0x" + Integer.toHexString(magic));
        }
        int error = in.readInt();
        long handle = in.readLong();
        byte[] d = new byte[error == 0 ? dataLength : 0];
        in.readFully(d);
        return new Reply(error, handle, d, -1);
    }

    /** One structured chunk (must carry the DONE flag); OFFSET_DATA gives its data, ERROR its error. */
    Reply structuredReply() throws IOException {
        int magic = in.readInt();
        if (magic != NbdProtocol.STRUCTURED_REPLY_MAGIC) {
            throw new IOException("expected a structured reply, got magic 0x" + Integer.toHexString(magic));
        }
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long handle = in.readLong();
        int length = in.readInt();
        if ((flags & NbdProtocol.REPLY_FLAG_DONE) == 0) {
            throw new IOException("chunk without DONE");
        }
        byte[] p = new byte[length];
        in.readFully(p);
        var b = java.nio.ByteBuffer.wrap(p);
        return switch (type) {
            case NbdProtocol.REPLY_TYPE_OFFSET_DATA -> {
                b.getLong();
                byte[] d = new byte[length - 8];
                b.get(d);
                yield new Reply(0, handle, d, type);
            }
            case NbdProtocol.REPLY_TYPE_ERROR -> new Reply(b.getInt(), handle, new byte[0], type);
            default -> new Reply(0, handle, new byte[0], type);
        };
    }

    /** True once the server has closed the connection (reads EOF). */
    boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (EOFException | java.net.SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
