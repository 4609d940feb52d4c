package io.basalt.rpc;

/**
 * Executes one RPC on the application reactor with decoded, validated parameters. Returns the
 * result (anything Jackson can write, or a JsonNode), or a CompletableFuture of it for
 * asynchronous work. Throw {@link RpcException} or {@link io.basalt.runtime.BasaltException}.
 */
@FunctionalInterface
public interface RpcHandler<P> {
    Object handle(P params) throws Exception;
}
