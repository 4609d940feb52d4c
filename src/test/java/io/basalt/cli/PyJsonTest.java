package io.basalt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.Json;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** PyJson against the real thing: python3's json.dumps(value, indent=N), byte for byte. */
class PyJsonTest {
    /** json.dumps of each [json text, indent] pair, in one python3 run. */
    private static List<String> python(List<Object[]> cases) throws Exception {
        var in = Json.array();
        for (Object[] c : cases) {
            in.addArray().add((String) c[0]).add((Integer) c[1]);
        }
        Process p = new ProcessBuilder("python3", "-c",
                "import json,sys\nout=[json.dumps(json.loads(t), indent=i) for t, i in json.loads(sys.stdin.read())]\n"
                        + "sys.stdout.write(json.dumps(out))").start();
        p.getOutputStream().write(Json.MAPPER.writeValueAsBytes(in));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(err).isZero();
        List<String> res = new ArrayList<>();
        Json.MAPPER.readTree(out).forEach(n -> res.add(n.asText()));
        return res;
    }

    @Test
    void writesWhatPythonsJsonDumpsWrites() throws Exception {
        List<String> values = List.of(
                "{\"name\":\"m0\",\"aliases\":[],\"driver_specific\":{},\"num_blocks\":16384,\"claimed\":false,\"x\":null}",
                "[1, -2, 9223372036854775807, 18446744073709551615, true, false, null, \"\"]",
                "\"caf\u00e9 \u4e2d \ud83d\ude00 \\u0001 \\u001f \\u007f tab\\t nl\\n cr\\r bs\\b ff\\f q\\\" bsl\\\\ sl/\"",
                "[1.5, 0.1, 1.0, -0.0, 0.0, 100.0, 1e15, 1e16, 1.5e16, 123456789.123, 1e-4, 1e-5, 1.5e-7, 2.5e300, -3.25e-10, 1e22]",
                "{\"a\":{\"b\":{\"c\":[[],[{}],[[1]]]}}}",
                "[]", "{}", "7", "\"x\"");
        List<Object[]> cases = new ArrayList<>();
        for (String v : values) {
            for (int indent : new int[] {2, 4, 0}) {
                cases.add(new Object[] {v, indent});
            }
        }
        List<String> expected = python(cases);
        for (int i = 0; i < cases.size(); i++) {
            JsonNode n = Json.MAPPER.readTree((String) cases.get(i)[0]);
            assertThat(PyJson.dumps(n, (Integer) cases.get(i)[1])).as(cases.get(i)[0] + " indent " + cases.get(i)[1])
                    .isEqualTo(expected.get(i));
        }
    }
}
