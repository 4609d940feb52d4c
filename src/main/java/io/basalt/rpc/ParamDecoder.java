package io.basalt.rpc;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.basalt.runtime.Json;

import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Map;

/**
 * Decodes a method's params object into its declared record, strictly: unknown keys, missing
 * required keys and wrong types are -32602 with a message naming the parameter. Parameters marked
 * {@link Unsupported} are checked against their default.
 */
public final class ParamDecoder {
    private ParamDecoder() {
    }

    public static <P> P decode(String method, JsonNode params, Class<P> type) {
        if (type == NoParams.class) {
            if (params != null) {
                throw RpcException.invalidParams(method + " takes no parameters");
            }
            return type.cast(NoParams.INSTANCE);
        }
        if (type == JsonNode.class) {
            return type.cast(params == null ? Json.object() : params);
        }
        JsonNode p = params == null || params.isNull() ? Json.object() : params;
        if (!p.isObject()) {
            throw RpcException.invalidParams(method + ": params must be a JSON object");
        }
        P out;
        try {
            out = Json.MAPPER.treeToValue(p, type);
        } catch (UnrecognizedPropertyException e) {
            throw RpcException.invalidParams(method + ": unknown parameter '" + path(e) + "'");
        } catch (InputCoercionException e) {
            // An integer too large for its parameter: Jackson reports it from the parser, without a path.
            String name = e.getProcessor() instanceof JsonParser jp ? path(jp.getParsingContext()) : "?";
            throw RpcException.invalidParams(method + ": parameter '" + name + "' must be an integer in "
                    + range(e.getTargetType()));
        } catch (MismatchedInputException e) {
            String name = path(e);
            String msg = e.getOriginalMessage();
            if (msg != null && msg.startsWith("Missing required creator property")) {
                int a = msg.indexOf('\'');
                int b = a < 0 ? -1 : msg.indexOf('\'', a + 1);
                String missing = b > a ? msg.substring(a + 1, b) : name;
                throw RpcException.invalidParams(method + ": missing required parameter '" + missing + "'");
            }
            throw RpcException.invalidParams(method + ": parameter '" + name + "' must be " + describe(e.getTargetType()));
        } catch (JsonMappingException e) {
            if (e.getCause() instanceof InputCoercionException ic) {
                throw RpcException.invalidParams(method + ": parameter '" + path(e) + "' must be an integer in "
                        + range(ic.getTargetType()));
            }
            String first = e.getOriginalMessage() == null ? e.toString() : e.getOriginalMessage().lines().findFirst().orElse("");
            throw RpcException.invalidParams(method + ": invalid parameters: " + first);
        } catch (JsonProcessingException e) {
            String first = e.getOriginalMessage() == null ? e.toString() : e.getOriginalMessage().lines().findFirst().orElse("");
            throw RpcException.invalidParams(method + ": invalid parameters: " + first);
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(method + ": invalid parameters: " + e.getMessage());
        }
        checkRecord(method, out, "");
        return out;
    }

    private static String range(Class<?> t) {
        if (t == int.class || t == Integer.class) {
            return Integer.MIN_VALUE + ".." + Integer.MAX_VALUE;
        }
        if (t == short.class || t == Short.class) {
            return Short.MIN_VALUE + ".." + Short.MAX_VALUE;
        }
        if (t == byte.class || t == Byte.class) {
            return Byte.MIN_VALUE + ".." + Byte.MAX_VALUE;
        }
        return Long.MIN_VALUE + ".." + Long.MAX_VALUE;
    }

    private static String path(JsonStreamContext ctx) {
        StringBuilder sb = new StringBuilder();
        for (JsonStreamContext c = ctx; c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inObject() && c.getCurrentName() != null) {
                sb.insert(0, (sb.isEmpty() || sb.charAt(0) == '[' ? "" : ".")).insert(0, c.getCurrentName());
            } else if (c.inArray()) {
                sb.insert(0, "[" + Math.max(0, c.getCurrentIndex()) + "]");
            }
        }
        return sb.isEmpty() ? "?" : sb.toString();
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (var ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.isEmpty() ? "?" : sb.toString();
    }

    static String describe(Class<?> t) {
        if (t == null) {
            return "of another type";
        }
        if (t == int.class || t == Integer.class || t == long.class || t == Long.class || t == short.class
                || t == Short.class || t == byte.class || t == Byte.class || t == java.math.BigInteger.class) {
            return "an integer";
        }
        if (t == double.class || t == Double.class || t == float.class || t == Float.class) {
            return "a number";
        }
        if (t == boolean.class || t == Boolean.class) {
            return "a boolean";
        }
        if (t == String.class || t.isEnum() || t == java.util.UUID.class) {
            return "a string";
        }
        if (Collection.class.isAssignableFrom(t) || t.isArray()) {
            return "an array";
        }
        if (Map.class.isAssignableFrom(t) || t.isRecord() || JsonNode.class.isAssignableFrom(t)) {
            return "an object";
        }
        return "a " + t.getSimpleName();
    }

    /**
     * Checks what Jackson does not: a required parameter given as null (Jackson takes null as a
     * value) and {@link Unsupported} parameters away from their default; nested records too.
     */
    private static void checkRecord(String method, Object params, String prefix) {
        if (params == null || !params.getClass().isRecord()) {
            return;
        }
        for (RecordComponent rc : params.getClass().getRecordComponents()) {
            Object v;
            try {
                var acc = rc.getAccessor();
                acc.trySetAccessible();
                v = acc.invoke(params);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            String name = prefix + jsonName(rc);
            var jp = jsonProperty(rc);
            if (v == null && jp != null && jp.required()) {
                throw RpcException.invalidParams(method + ": parameter '" + name + "' must be " + describe(rc.getType()));
            }
            if (v != null && v.getClass().isRecord()) {
                checkRecord(method, v, name + ".");
            }
            Unsupported u = rc.getAnnotation(Unsupported.class);
            if (u == null || v == null) {
                continue;
            }
            JsonNode given = Json.MAPPER.valueToTree(v);
            JsonNode def;
            try {
                def = Json.MAPPER.readTree(u.value());
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("bad @Unsupported default on " + rc, e);
            }
            if (!sameValue(given, def)) {
                throw RpcException.invalidParams(method + ": parameter '" + name + "' is not supported by Basalt"
                        + " (only " + u.value() + " is accepted, got " + given + ")");
            }
        }
    }

    private static boolean sameValue(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        return a.equals(b);
    }

    /** @JsonProperty cannot target a record component: Java puts it on the accessor (and field, parameter). */
    private static com.fasterxml.jackson.annotation.JsonProperty jsonProperty(RecordComponent rc) {
        return rc.getAccessor().getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
    }

    private static String jsonName(RecordComponent rc) {
        var jp = jsonProperty(rc);
        if (jp != null && !jp.value().isEmpty()) {
            return jp.value();
        }
        return new com.fasterxml.jackson.databind.PropertyNamingStrategies.SnakeCaseStrategy().translate(rc.getName());
    }
}
