package io.basalt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.rpc.RpcSyntax;
import io.basalt.runtime.Json;
import io.basalt.target.Target;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code basalt rpc}'s command line: rpc.py's positionals and options for every method a target
 * serves, checked through --dry-run (the request it would send), and its usage errors.
 */
class RpcCommandTest {
    record Run(int exit, String out, String err) {
    }

    private static synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int rc = RpcCommand.run(args);
            return new Run(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    /** The request --dry-run prints for {@code basalt rpc METHOD args...}. */
    private static JsonNode request(String line) throws Exception {
        List<String> args = new ArrayList<>(List.of("-s", "/nonexistent/x.sock", "--dry-run"));
        args.addAll(List.of(line.split(" ")));
        Run r = run(args.toArray(new String[0]));
        assertThat(r.exit()).as(line + ": " + r.err()).isZero();
        return Json.MAPPER.readTree(r.out());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "spdk_get_version|",
        "rpc_get_methods|",
        "rpc_get_methods --current|{\"current\":true}",
        "rpc_get_methods -c -i|{\"current\":true,\"include_aliases\":true}",
        "framework_start_init|",
        "framework_wait_init|",
        "framework_get_subsystems|",
        "framework_get_config bdev|{\"name\":\"bdev\"}",
        "spdk_kill_instance SIGTERM|{\"sig_name\":\"SIGTERM\"}",
        "bdev_get_bdevs|",
        "bdev_get_bdevs -b m0|{\"name\":\"m0\"}",
        "bdev_get_bdevs --name m0 -t 100|{\"name\":\"m0\",\"timeout\":100}",
        "bdev_get_bdevs -b m0 --timeout-ms 2500|{\"name\":\"m0\",\"timeout\":2500}",
        "bdev_get_iostat|",
        "bdev_get_iostat -b m0|{\"name\":\"m0\"}",
        "bdev_get_iostat -b m0 -c|{\"name\":\"m0\",\"per_channel\":true}",
        "bdev_get_iostat --per-channel --name m0|{\"name\":\"m0\",\"per_channel\":true}",
        "bdev_wait_for_examine|",
        "bdev_malloc_create -b m0 64 4096|{\"name\":\"m0\",\"num_blocks\":16384,\"block_size\":4096,\"md_interleave\":false,\"dif_is_head_of_md\":false}",
        "bdev_malloc_create 64 4096 -b m0|{\"name\":\"m0\",\"num_blocks\":16384,\"block_size\":4096,\"md_interleave\":false,\"dif_is_head_of_md\":false}",
        "bdev_malloc_create 0.5 512|{\"num_blocks\":1024,\"block_size\":512,\"md_interleave\":false,\"dif_is_head_of_md\":false}",
        "bdev_malloc_create -u 1b1c9c58-5a5e-4f0e-9f0d-2b9e1b0c6c11 -p 4096 -o 8 8 512|{\"uuid\":\"1b1c9c58-5a5e-4f0e-9f0d-2b9e1b0c6c11\",\"physical_block_size\":4096,\"optimal_io_boundary\":8,\"num_blocks\":16384,\"block_size\":512,\"md_interleave\":false,\"dif_is_head_of_md\":false}",
        "bdev_malloc_create -m 0 -t 0 -f 0 -i -d 1 512|{\"md_size\":0,\"dif_type\":0,\"dif_pi_format\":0,\"num_blocks\":2048,\"block_size\":512,\"md_interleave\":true,\"dif_is_head_of_md\":true}",
        "bdev_malloc_delete m0|{\"name\":\"m0\"}",
        "bdev_null_create n0 16 512|{\"name\":\"n0\",\"num_blocks\":32768,\"block_size\":512}",
        "bdev_null_create -u 1b1c9c58-5a5e-4f0e-9f0d-2b9e1b0c6c11 n0 1 4096 -p 4096|{\"name\":\"n0\",\"num_blocks\":256,\"block_size\":4096,\"uuid\":\"1b1c9c58-5a5e-4f0e-9f0d-2b9e1b0c6c11\",\"physical_block_size\":4096}",
        "bdev_null_create n0 1 512 -m 0 -t 0 -d -f 0|{\"name\":\"n0\",\"num_blocks\":2048,\"block_size\":512,\"md_size\":0,\"dif_type\":0,\"dif_is_head_of_md\":true,\"dif_pi_format\":0}",
        "bdev_null_delete n0|{\"name\":\"n0\"}",
        "bdev_null_resize n0 32|{\"name\":\"n0\",\"new_size\":32}",
        "bdev_malloc_create 08 512|{\"num_blocks\":16384,\"block_size\":512,\"md_interleave\":false,\"dif_is_head_of_md\":false}",
    })
    void rpcPysSyntaxBecomesTheseParams(String line, String params) throws Exception {
        JsonNode req = request(line);
        assertThat(req.get("method").asText()).isEqualTo(line.split(" ")[0]);
        if (params == null) {
            assertThat(req.has("params")).as("params left out when empty").isFalse();
        } else {
            assertThat(req.get("params")).isEqualTo(Json.MAPPER.readTree(params));
        }
    }

    @Test
    void everyMethodATargetServesHasASyntax() {
        List<String> methods = Target.syntax().all().stream().map(RpcSyntax::method).toList();
        assertThat(methods).contains("spdk_get_version", "rpc_get_methods", "framework_start_init",
                "framework_wait_init", "spdk_kill_instance", "framework_get_subsystems", "framework_get_config",
                "bdev_get_bdevs", "bdev_get_iostat", "bdev_wait_for_examine", "bdev_malloc_create",
                "bdev_malloc_delete", "bdev_null_create", "bdev_null_delete", "bdev_null_resize");
        for (String m : methods) {
            Run r = run(m, "-h");
            assertThat(r.exit()).as(m).isZero();
            assertThat(r.out()).as(m).contains("basalt rpc " + m);
        }
        Run help = run("-h");
        assertThat(help.exit()).isZero();
        for (String m : methods) {
            assertThat(help.out()).contains(m);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "nonexistent_method|unknown method 'nonexistent_method'",
        "bdev_malloc_create 64|Missing required parameter",
        "bdev_malloc_create abc 512|invalid float value: 'abc'",
        "bdev_malloc_create 64 4k|invalid int value: '4k'",
        "bdev_malloc_create 64 0x200|invalid int value: '0x200'",
        "bdev_malloc_create --bogus 64 512|Unknown option",
        "bdev_null_create n0 1.5 512|invalid int value: '1.5'",
        "bdev_malloc_delete|Missing required parameter",
        "spdk_get_version extra|Unmatched argument",
        "-t|option -t needs a value",
        "-s|option -s needs a value",
        "-t abc spdk_get_version|bad timeout abc",
        "-tabc spdk_get_version|bad timeout abc",
        "--timeout=x spdk_get_version|bad timeout x",
        "--bogus spdk_get_version|unknown option --bogus",
        "save_config -i x|save_config -i needs a number",
        "save_config -i|save_config -i needs a value",
        "load_config -j|load_config -j needs a file",
        "call|call METHOD [PARAMS_JSON]",
        "call spdk_get_version {bad|params are not valid JSON",
    })
    void usageErrorsExitWith2AndSayWhy(String line, String message) {
        Run r = run(line.split(" "));
        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains(message);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void noMethodPrintsUsageAndANoTargetIsExit1WithAHint() {
        Run none = run();
        assertThat(none.exit()).isEqualTo(2);
        assertThat(none.err()).contains("usage: basalt rpc");
        Run noTarget = run("-s", "/tmp/basalt-no-such-target.sock", "spdk_get_version");
        assertThat(noTarget.exit()).isEqualTo(1);
        assertThat(noTarget.err()).contains("cannot connect to /tmp/basalt-no-such-target.sock")
                .contains("is the target running?");
        assertThat(noTarget.out()).isEmpty();
    }

    @Test
    void callSendsRawParams() throws Exception {
        Run r = run("--dry-run", "call", "any_method", "{\"a\":[1,2]}");
        assertThat(r.exit()).isZero();
        JsonNode req = Json.MAPPER.readTree(r.out());
        assertThat(req.get("method").asText()).isEqualTo("any_method");
        assertThat(req.get("params").toString()).isEqualTo("{\"a\":[1,2]}");
    }
}
