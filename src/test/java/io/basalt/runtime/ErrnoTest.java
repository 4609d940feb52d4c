package io.basalt.runtime;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

class ErrnoTest {
    /** Every constant: its value and text as Linux (glibc) has them, asked from the real libc via python3. */
    @Test
    void valuesAndTextsAreLinuxs() throws Exception {
        Map<String, Integer> ours = new TreeMap<>();
        for (Field f : Errno.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                ours.put(f.getName(), f.getInt(null));
            }
        }
        assertThat(ours).hasSizeGreaterThan(30);
        StringBuilder script = new StringBuilder("import errno, os\n");
        for (String name : ours.keySet()) {
            script.append("print('").append(name).append("', errno.").append(name).append(", os.strerror(errno.")
                    .append(name).append("), sep='\\t')\n");
        }
        Process p = new ProcessBuilder("python3", "-c", script.toString()).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>(p.inputReader().lines().toList());
        assertThat(p.waitFor()).as(String.join("\n", lines)).isZero();
        assertThat(lines).hasSize(ours.size());
        for (String line : lines) {
            String[] f = line.split("\t");
            assertThat(ours.get(f[0])).as(f[0]).isEqualTo(Integer.parseInt(f[1]));
            assertThat(Errno.text(ours.get(f[0]))).as(f[0]).isEqualTo(f[2]);
            assertThat(Errno.text(-ours.get(f[0]))).isEqualTo(f[2]);
        }
        assertThat(Errno.text(999)).isEqualTo("Unknown error 999");
    }
}
