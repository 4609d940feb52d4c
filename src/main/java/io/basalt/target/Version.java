package io.basalt.target;

/**
 * Version reporting. spdk_get_version answers with the SPDK API level Basalt implements in
 * "fields" (clients gate features on it) and names Basalt in "version" and "suffix".
 */
public final class Version {
    public static final String BASALT = "0.1.0";
    public static final int SPDK_MAJOR = 24;
    public static final int SPDK_MINOR = 9;
    public static final int SPDK_PATCH = 0;
    public static final String SUFFIX = "-basalt" + BASALT;

    private Version() {
    }

    public static String string() {
        return "SPDK v" + SPDK_MAJOR + "." + String.format("%02d", SPDK_MINOR) + SUFFIX;
    }
}
