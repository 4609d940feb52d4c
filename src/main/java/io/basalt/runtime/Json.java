package io.basalt.runtime;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.LogicalType;

/**
 * The one Jackson configuration of the project: strict like SPDK's JSON decoders (no string to
 * number coercion, no unknown keys, no floats for integers, no duplicate keys), and snake_case
 * names, so that a record component {@code blockSize} is SPDK's {@code block_size}.
 */
public final class Json {
    public static final ObjectMapper MAPPER = build();
    /**
     * For reading one value after another off a stream: must not look past the value's end
     * (checking for trailing tokens would block on the socket until the peer sends more).
     */
    public static final com.fasterxml.jackson.databind.ObjectReader STREAM_READER =
            MAPPER.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {
    }

    private static ObjectMapper build() {
        JsonMapper m = JsonMapper.builder()
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .build();
        for (LogicalType t : new LogicalType[] {LogicalType.Integer, LogicalType.Float, LogicalType.Boolean,
                LogicalType.Textual}) {
            m.coercionConfigFor(t).setCoercion(CoercionInputShape.String, CoercionAction.Fail);
            m.coercionConfigFor(t).setCoercion(CoercionInputShape.Integer, t == LogicalType.Integer
                    || t == LogicalType.Float ? CoercionAction.TryConvert : CoercionAction.Fail);
            m.coercionConfigFor(t).setCoercion(CoercionInputShape.Boolean, t == LogicalType.Boolean
                    ? CoercionAction.TryConvert : CoercionAction.Fail);
            m.coercionConfigFor(t).setCoercion(CoercionInputShape.Float, t == LogicalType.Float
                    ? CoercionAction.TryConvert : CoercionAction.Fail);
        }
        return m;
    }

    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    public static ArrayNode array() {
        return JsonNodeFactory.instance.arrayNode();
    }
}
