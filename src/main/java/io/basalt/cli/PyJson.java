package io.basalt.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Map;

/**
 * Writes JSON the way Python's {@code json.dumps(v, indent=N)} does, so {@code basalt rpc} output
 * is byte-for-byte what rpc.py prints (scripts that diff or grep it keep working).
 */
final class PyJson {
    private PyJson() {
    }

    static String dumps(JsonNode n, int indent) {
        StringBuilder sb = new StringBuilder();
        write(sb, n, indent, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, JsonNode n, int indent, int level) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            sb.append("null");
        } else if (n.isObject()) {
            if (n.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            Iterator<Map.Entry<String, JsonNode>> it = n.fields();
            boolean first = true;
            while (it.hasNext()) {
                var e = it.next();
                sb.append(first ? "" : ",");
                first = false;
                newline(sb, indent, level + 1);
                string(sb, e.getKey());
                sb.append(": ");
                write(sb, e.getValue(), indent, level + 1);
            }
            newline(sb, indent, level);
            sb.append('}');
        } else if (n.isArray()) {
            if (n.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            boolean first = true;
            for (JsonNode e : n) {
                sb.append(first ? "" : ",");
                first = false;
                newline(sb, indent, level + 1);
                write(sb, e, indent, level + 1);
            }
            newline(sb, indent, level);
            sb.append(']');
        } else if (n.isTextual()) {
            string(sb, n.asText());
        } else if (n.isBoolean()) {
            sb.append(n.asBoolean() ? "true" : "false");
        } else if (n.isIntegralNumber()) {
            sb.append(n.bigIntegerValue());
        } else if (n.isNumber()) {
            sb.append(pyFloat(n.asDouble()));
        } else {
            sb.append(n);
        }
    }

    /**
     * Python's repr of a float: the shortest digits that read back the same (what Double.toString
     * finds too), written fixed when the exponent is in -4..15, else as 1.5e+16 / 1e-05.
     */
    static String pyFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        java.math.BigDecimal bd = new java.math.BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale();
        StringBuilder out = new StringBuilder(d < 0 ? "-" : "");
        if (exp >= -4 && exp < 16) {
            if (exp >= 0) {
                String intPart = digits.length() > exp + 1 ? digits.substring(0, exp + 1)
                        : digits + "0".repeat(exp + 1 - digits.length());
                String frac = digits.length() > exp + 1 ? digits.substring(exp + 1) : "0";
                out.append(intPart).append('.').append(frac);
            } else {
                out.append("0.").append("0".repeat(-exp - 1)).append(digits);
            }
        } else {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            out.append('e').append(exp < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exp));
            out.append(e.length() < 2 ? "0" + e : e);
        }
        return out.toString();
    }

    private static void newline(StringBuilder sb, int indent, int level) {
        sb.append('\n');
        sb.append(" ".repeat(indent * level));
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
