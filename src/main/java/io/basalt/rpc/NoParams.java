package io.basalt.rpc;

/** Parameter type of methods that take none: any params member, even {}, is refused. */
public final class NoParams {
    public static final NoParams INSTANCE = new NoParams();

    private NoParams() {
    }
}
