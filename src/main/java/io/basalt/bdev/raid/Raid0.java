package io.basalt.bdev.raid;

import java.util.Arrays;

/**
 * raid0: strips of {@code strip} blocks go round-robin over the members; strip k of the array is
 * strip k/n of member k mod n. Every member contributes the same size (the smallest, rounded
 * down to whole strips).
 */
final class Raid0 extends PieceLevel {
    Raid0(int n, long strip, int blockSize) {
        super(RaidLevel.RAID0, n, strip, blockSize);
    }

    @Override
    long size(long[] dataSizes) {
        long min = Long.MAX_VALUE;
        for (long s : dataSizes) {
            min = Math.min(min, s);
        }
        long per = min / strip * strip;
        if (per == 0) {
            throw tooSmall("members are smaller than one strip of " + strip + " blocks");
        }
        Arrays.fill(dataSizes, per);
        return per * n;
    }

    @Override
    int optimalIoBoundary() {
        return (int) Math.min(strip, Integer.MAX_VALUE);
    }

    @Override
    int slotOf(long lba) {
        return (int) ((lba / strip) % n);
    }

    @Override
    long memberBlock(long lba) {
        return lba / strip / n * strip + lba % strip;
    }

    @Override
    long pieceLength(long lba, long max) {
        return Math.min(max, strip - lba % strip);
    }
}
