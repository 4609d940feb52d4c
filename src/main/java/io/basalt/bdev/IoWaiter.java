package io.basalt.bdev;

/**
 * Told when a channel has a free I/O again after a submit returned -ENOMEM (SPDK's
 * spdk_bdev_queue_io_wait). Runs on the channel's reactor. The waiter is an intrusive list
 * element: one waiter object can wait on one channel at a time.
 */
public abstract class IoWaiter {
    IoWaiter next;
    boolean queued;

    /** Called once the channel can take an I/O again; resubmit here. */
    public abstract void ioAvailable();
}
