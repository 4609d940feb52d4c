package io.basalt.bdev.raid;

/**
 * concat: the members one after the other, each contributing its data size rounded down to whole
 * strips (as SPDK's concat), so members of different sizes are all used.
 */
final class Concat extends PieceLevel {
    /** First raid block of each member's range; starts[n] is the array's size. */
    private final long[] starts;

    Concat(int n, long strip, int blockSize) {
        super(RaidLevel.CONCAT, n, strip, blockSize);
        this.starts = new long[n + 1];
    }

    @Override
    long size(long[] dataSizes) {
        long total = 0;
        for (int i = 0; i < n; i++) {
            dataSizes[i] = dataSizes[i] / strip * strip;
            if (dataSizes[i] == 0) {
                throw tooSmall("member " + i + " is smaller than one strip of " + strip + " blocks");
            }
            starts[i] = total;
            total += dataSizes[i];
        }
        starts[n] = total;
        return total;
    }

    @Override
    int optimalIoBoundary() {
        return (int) Math.min(strip, Integer.MAX_VALUE);
    }

    @Override
    int slotOf(long lba) {
        // Binary search: the last start at or below lba.
        int lo = 0;
        int hi = n - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= lba) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    @Override
    long memberBlock(long lba) {
        return lba - starts[slotOf(lba)];
    }

    @Override
    long pieceLength(long lba, long max) {
        return Math.min(max, starts[slotOf(lba) + 1] - lba);
    }
}
