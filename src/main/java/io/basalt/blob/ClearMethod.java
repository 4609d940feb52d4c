package io.basalt.blob;

/**
 * What happens to clusters a blob gives back (on delete and shrink), as SPDK's clear_method.
 * Basalt zeroes a cluster when it is allocated, so this is hygiene (returning space to a
 * thin-provisioned base, not leaving old data on the medium), never needed for correctness.
 */
public enum ClearMethod {
    NONE, UNMAP, WRITE_ZEROES
}
