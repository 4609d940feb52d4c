package io.basalt.nvme.tcp;

/**
 * A fatal transport error: the connection ends, with a TermReq carrying {@link #fes()} and
 * {@link #fei()} (Fatal Error Information: the offending header field's byte offset, or the
 * highest valid value of an exceeded limit) unless {@link #fes()} is 0 (the spec defines no TermReq
 * for it, e.g. a data digest mismatch).
 */
public final class PduException extends Exception {
    private final int fes;
    private final int fei;

    public PduException(int fes, int fei, String message) {
        super(message, null, false, false);
        this.fes = fes;
        this.fei = fei;
    }

    public int fes() {
        return fes;
    }

    public int fei() {
        return fei;
    }
}
