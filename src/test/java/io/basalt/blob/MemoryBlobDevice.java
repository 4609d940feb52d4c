package io.basalt.blob;

import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A {@link BlobDevice} in memory that can lose power. Reads see every completed write; only what
 * was flushed is durable. {@link #powerLoss} builds the image a crash would leave: the durable
 * bytes, plus each unflushed write applied block by block at random (so a multi-block write can
 * tear at any block boundary, and later writes may land while earlier ones did not).
 * {@link #cutAfterWrites} makes the device die after a number of writes (every later request
 * fails), to crash an operation at a chosen point.
 *
 * <p>Completions run on the submitting reactor after the call returns, as a real device's do.
 */
final class MemoryBlobDevice implements BlobDevice {
    private record Write(long offset, byte[] data) {
    }

    private final int blockSize;
    private long size;
    private final Object lock = new Object();
    private byte[] current;
    private byte[] durable;
    private final List<Write> unflushed = new ArrayList<>();
    private long writes;
    private long cutAfter = Long.MAX_VALUE;
    private boolean dead;

    MemoryBlobDevice(int blockSize, long size) {
        this.blockSize = blockSize;
        this.size = size;
        this.current = new byte[(int) size];
        this.durable = new byte[(int) size];
    }

    private MemoryBlobDevice(int blockSize, byte[] image) {
        this.blockSize = blockSize;
        this.size = image.length;
        this.current = image.clone();
        this.durable = image.clone();
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public long sizeBytes() {
        synchronized (lock) {
            return size;
        }
    }

    /** Grows the device (new space reads as zeroes). */
    void grow(long newSize) {
        synchronized (lock) {
            current = Arrays.copyOf(current, (int) newSize);
            durable = Arrays.copyOf(durable, (int) newSize);
            size = newSize;
        }
    }

    /** Writes accepted so far. */
    long writes() {
        synchronized (lock) {
            return writes;
        }
    }

    /** After {@code n} more writes the device dies: every later request fails with EIO. */
    void cutAfterWrites(long n) {
        synchronized (lock) {
            cutAfter = writes + n;
        }
    }

    /** The image a power loss now would leave, as a new device. */
    MemoryBlobDevice powerLoss(Random rnd) {
        synchronized (lock) {
            byte[] img = durable.clone();
            for (Write w : unflushed) {
                for (int b = 0; b < w.data.length; b += blockSize) {
                    if (rnd.nextBoolean()) {
                        System.arraycopy(w.data, b, img, (int) w.offset + b, blockSize);
                    }
                }
            }
            return new MemoryBlobDevice(blockSize, img);
        }
    }

    /** The image with everything written so far durable (a clean stop). */
    MemoryBlobDevice copy() {
        synchronized (lock) {
            return new MemoryBlobDevice(blockSize, current.clone());
        }
    }

    byte[] read(long offset, int length) {
        synchronized (lock) {
            return Arrays.copyOfRange(current, (int) offset, (int) offset + length);
        }
    }

    @Override
    public DeviceChannel openChannel() {
        Reactor r = Reactor.current();
        if (r == null) {
            throw new IllegalStateException("channels only on reactors");
        }
        return new Channel(r);
    }

    private int write(long off, byte[] data) {
        synchronized (lock) {
            if (dead || writes >= cutAfter) {
                dead = true;
                return Errno.EIO;
            }
            writes++;
            System.arraycopy(data, 0, current, (int) off, data.length);
            unflushed.add(new Write(off, data));
            return 0;
        }
    }

    private final class Channel implements DeviceChannel {
        private final Reactor reactor;
        private boolean closed;

        Channel(Reactor reactor) {
            this.reactor = reactor;
        }

        private void done(DeviceCallback cb, int errno, Object arg) {
            reactor.deferTask(() -> cb.ioDone(errno, arg));
        }

        private int check(long off, long len) {
            if (closed) {
                throw new IllegalStateException("channel closed");
            }
            if (off < 0 || len < 0 || off % blockSize != 0 || len % blockSize != 0 || off + len > sizeBytes()) {
                return Errno.EINVAL;
            }
            return 0;
        }

        @Override
        public void read(MemorySegment buf, long bufOffset, long devOffset, long length, DeviceCallback cb, Object arg) {
            int e = check(devOffset, length);
            if (e == 0) {
                synchronized (lock) {
                    if (dead) {
                        e = Errno.EIO;
                    } else {
                        MemorySegment.copy(MemorySegment.ofArray(current), devOffset, buf, bufOffset, length);
                    }
                }
            }
            done(cb, e, arg);
        }

        @Override
        public void write(MemorySegment buf, long bufOffset, long devOffset, long length, DeviceCallback cb, Object arg) {
            int e = check(devOffset, length);
            if (e == 0) {
                byte[] data = new byte[(int) length];
                MemorySegment.copy(buf, bufOffset, MemorySegment.ofArray(data), 0, length);
                e = MemoryBlobDevice.this.write(devOffset, data);
            }
            done(cb, e, arg);
        }

        @Override
        public void writeZeroes(long devOffset, long length, DeviceCallback cb, Object arg) {
            int e = check(devOffset, length);
            if (e == 0) {
                e = MemoryBlobDevice.this.write(devOffset, new byte[(int) length]);
            }
            done(cb, e, arg);
        }

        @Override
        public void unmap(long devOffset, long length, DeviceCallback cb, Object arg) {
            writeZeroes(devOffset, length, cb, arg);
        }

        @Override
        public void flush(DeviceCallback cb, Object arg) {
            int e = 0;
            synchronized (lock) {
                if (dead) {
                    e = Errno.EIO;
                } else {
                    durable = current.clone();
                    unflushed.clear();
                }
            }
            done(cb, e, arg);
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
