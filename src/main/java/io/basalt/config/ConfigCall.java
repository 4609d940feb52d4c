package io.basalt.config;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** One entry of a saved configuration: an RPC method and the params that recreate an object. */
public record ConfigCall(String method, ObjectNode params) {
}
