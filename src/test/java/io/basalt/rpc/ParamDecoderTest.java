package io.basalt.rpc;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.basalt.runtime.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParamDecoderTest {
    record Inner(@JsonProperty(required = true) String trtype, Integer port) {
    }

    record P(@JsonProperty(required = true) String name,
             @JsonProperty(required = true) Long numBlocks,
             Integer blockSize,
             Boolean readonly,
             Double ratio,
             List<String> baseBdevs,
             Inner listenAddress,
             @Unsupported("0") Integer mdSize,
             @Unsupported("false") Boolean mdInterleave,
             @Unsupported("\"none\"") String resetMode) {
    }

    private static JsonNode json(String s) throws Exception {
        return Json.MAPPER.readTree(s);
    }

    private static P decode(String params) throws Exception {
        return ParamDecoder.decode("m", params == null ? null : json(params), P.class);
    }

    private static void refused(String params, String message) {
        assertThatThrownBy(() -> decode(params)).isInstanceOf(RpcException.class)
                .satisfies(e -> {
                    assertThat(((RpcException) e).code()).isEqualTo(RpcException.INVALID_PARAMS);
                    assertThat(e.getMessage()).isEqualTo(message);
                });
    }

    @Test
    void aGoodObjectDecodesWithSnakeCaseNames() throws Exception {
        P p = decode("{\"name\":\"m0\",\"num_blocks\":16384,\"block_size\":4096,\"readonly\":true,\"ratio\":1.5,"
                + "\"base_bdevs\":[\"a\",\"b\"],\"listen_address\":{\"trtype\":\"TCP\",\"port\":4420},"
                + "\"md_size\":0,\"md_interleave\":false,\"reset_mode\":\"none\"}");
        assertThat(p.name()).isEqualTo("m0");
        assertThat(p.numBlocks()).isEqualTo(16384L);
        assertThat(p.blockSize()).isEqualTo(4096);
        assertThat(p.readonly()).isTrue();
        assertThat(p.ratio()).isEqualTo(1.5);
        assertThat(p.baseBdevs()).containsExactly("a", "b");
        assertThat(p.listenAddress().port()).isEqualTo(4420);
        P minimal = decode("{\"name\":\"m0\",\"num_blocks\":1}");
        assertThat(minimal.blockSize()).isNull();
        // An integer is fine for a floating-point parameter.
        assertThat(decode("{\"name\":\"m0\",\"num_blocks\":1,\"ratio\":2}").ratio()).isEqualTo(2.0);
    }

    @Test
    void missingRequiredParametersAreNamed() {
        refused("{\"num_blocks\":1}", "m: missing required parameter 'name'");
        refused("{\"name\":\"x\"}", "m: missing required parameter 'num_blocks'");
        refused(null, "m: missing required parameter 'name'");
        refused("{\"name\":\"x\",\"num_blocks\":1,\"listen_address\":{}}", "m: missing required parameter 'trtype'");
    }

    @Test
    void nullForARequiredParameterIsRefusedAndForAnOptionalOneMeansAbsent() throws Exception {
        refused("{\"name\":null,\"num_blocks\":1}", "m: parameter 'name' must be a string");
        refused("{\"name\":\"x\",\"num_blocks\":null}", "m: parameter 'num_blocks' must be an integer");
        refused("{\"name\":\"x\",\"num_blocks\":1,\"listen_address\":{\"trtype\":null}}",
                "m: parameter 'listen_address.trtype' must be a string");
        assertThat(decode("{\"name\":\"x\",\"num_blocks\":1,\"block_size\":null}").blockSize()).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"name\":5,\"num_blocks\":1}|m: parameter 'name' must be a string",
        "{\"name\":\"x\",\"num_blocks\":\"5\"}|m: parameter 'num_blocks' must be an integer",
        "{\"name\":\"x\",\"num_blocks\":1.5}|m: parameter 'num_blocks' must be an integer",
        "{\"name\":\"x\",\"num_blocks\":true}|m: parameter 'num_blocks' must be an integer",
        "{\"name\":\"x\",\"num_blocks\":1,\"readonly\":1}|m: parameter 'readonly' must be a boolean",
        "{\"name\":\"x\",\"num_blocks\":1,\"readonly\":\"true\"}|m: parameter 'readonly' must be a boolean",
        "{\"name\":\"x\",\"num_blocks\":1,\"ratio\":\"1\"}|m: parameter 'ratio' must be a number",
        "{\"name\":\"x\",\"num_blocks\":1,\"base_bdevs\":\"a b\"}|m: parameter 'base_bdevs' must be an array",
        "{\"name\":\"x\",\"num_blocks\":1,\"base_bdevs\":[1]}|m: parameter 'base_bdevs[0]' must be a string",
        "{\"name\":\"x\",\"num_blocks\":1,\"base_bdevs\":{}}|m: parameter 'base_bdevs' must be an array",
        "{\"name\":\"x\",\"num_blocks\":1,\"listen_address\":5}|m: parameter 'listen_address' must be an object",
        "{\"name\":\"x\",\"num_blocks\":1,\"listen_address\":[]}|m: parameter 'listen_address' must be an object",
        "{\"name\":[],\"num_blocks\":1}|m: parameter 'name' must be a string",
        "{\"name\":{},\"num_blocks\":1}|m: parameter 'name' must be a string",
    })
    void mistypedParametersAreNamed(String params, String message) {
        refused(params, message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"name\":\"x\",\"num_blocks\":1,\"block_size\":2147483648}|m: parameter 'block_size' must be an integer in -2147483648..2147483647",
        "{\"name\":\"x\",\"num_blocks\":1,\"block_size\":-2147483649}|m: parameter 'block_size' must be an integer in -2147483648..2147483647",
        "{\"name\":\"x\",\"num_blocks\":9223372036854775808}|m: parameter 'num_blocks' must be an integer in -9223372036854775808..9223372036854775807",
        "{\"name\":\"x\",\"num_blocks\":100000000000000000000000000000}|m: parameter 'num_blocks' must be an integer in -9223372036854775808..9223372036854775807",
        "{\"name\":\"x\",\"num_blocks\":1,\"listen_address\":{\"trtype\":\"TCP\",\"port\":99999999999}}|m: parameter 'listen_address.port' must be an integer in -2147483648..2147483647",
    })
    void integersOutOfTheirRangeAreNamed(String params, String message) {
        refused(params, message);
    }

    @Test
    void unknownKeysAreNamed() {
        refused("{\"name\":\"x\",\"num_blocks\":1,\"bogus\":1}", "m: unknown parameter 'bogus'");
        refused("{\"name\":\"x\",\"num_blocks\":1,\"blockSize\":1}", "m: unknown parameter 'blockSize'");
        refused("{\"name\":\"x\",\"num_blocks\":1,\"listen_address\":{\"trtype\":\"TCP\",\"x\":1}}",
                "m: unknown parameter 'listen_address.x'");
    }

    @Test
    void unsupportedParametersPassOnlyAtTheirDefault() throws Exception {
        assertThat(decode("{\"name\":\"x\",\"num_blocks\":1,\"md_size\":0,\"md_interleave\":false}").mdSize()).isZero();
        refused("{\"name\":\"x\",\"num_blocks\":1,\"md_size\":8}",
                "m: parameter 'md_size' is not supported by Basalt (only 0 is accepted, got 8)");
        refused("{\"name\":\"x\",\"num_blocks\":1,\"md_interleave\":true}",
                "m: parameter 'md_interleave' is not supported by Basalt (only false is accepted, got true)");
        refused("{\"name\":\"x\",\"num_blocks\":1,\"reset_mode\":\"all\"}",
                "m: parameter 'reset_mode' is not supported by Basalt (only \"none\" is accepted, got \"all\")");
    }

    @Test
    void paramsMustBeAnObjectAndNoParamsMeansNone() throws Exception {
        refused("[\"x\", 1]", "m: params must be a JSON object");
        refused("\"x\"", "m: params must be a JSON object");
        assertThat(ParamDecoder.decode("m", null, NoParams.class)).isSameAs(NoParams.INSTANCE);
        assertThatThrownBy(() -> ParamDecoder.decode("m", json("{}"), NoParams.class))
                .hasMessage("m takes no parameters");
        assertThatThrownBy(() -> ParamDecoder.decode("m", json("[]"), NoParams.class))
                .hasMessage("m takes no parameters");
        assertThat(ParamDecoder.decode("m", json("[1]"), JsonNode.class).toString()).isEqualTo("[1]");
        assertThat(ParamDecoder.decode("m", null, JsonNode.class).toString()).isEqualTo("{}");
    }
}
