package io.basalt.rpc;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a parameter SPDK defines but Basalt does not implement: it is accepted when absent or at
 * the given default (clients send defaults unasked) and refused with -32602 naming it otherwise.
 * The value is the default as JSON text ("0", "false", "\"TCP\"").
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.FIELD, ElementType.PARAMETER})
public @interface Unsupported {
    String value();
}
