package io.basalt.runtime;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HugeMemoryTest {
    @Test
    void zeroedAlignedUsableAndGoneWithItsArena() {
        long size = (8L << 20) + 4096;
        Arena arena = Arena.ofShared();
        MemorySegment m = HugeMemory.allocate(arena, size);
        assertThat(m.byteSize()).isEqualTo(size);
        assertThat(m.address() % (2L << 20)).isZero();
        assertThat(m.mismatch(MemorySegment.ofArray(new byte[(int) size]))).isEqualTo(-1);
        m.set(ValueLayout.JAVA_LONG, size - 8, 0x1234_5678_9abc_def0L);
        assertThat(m.get(ValueLayout.JAVA_LONG, size - 8)).isEqualTo(0x1234_5678_9abc_def0L);
        arena.close();
        assertThat(m.scope().isAlive()).isFalse();
    }

    @Test
    void aMappingTheKernelRefusesIsEnomem() {
        try (Arena arena = Arena.ofShared()) {
            assertThatThrownBy(() -> HugeMemory.allocate(arena, 1L << 56))
                    .isInstanceOfSatisfying(BasaltException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOMEM));
        }
    }
}
