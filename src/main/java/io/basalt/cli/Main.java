package io.basalt.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code basalt} command: tgt, rpc, perf. */
@Command(name = "basalt", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "Basalt: a user-space block storage target for the JVM, driven by SPDK's JSON-RPC.",
        subcommands = {TgtCommand.class, PerfCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("rpc")) {
            // rpc takes rpc.py's syntax, built per method; it parses its own arguments.
            String[] rest = new String[args.length - 1];
            System.arraycopy(args, 1, rest, 0, rest.length);
            System.exit(RpcCommand.run(rest));
        }
        Logging.setup();
        int rc = new CommandLine(new Main()).execute(args);
        if (rc != 0 || args.length == 0 || !args[0].equals("tgt")) {
            System.exit(rc);
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
        System.out.println("\n  rpc      Call a target's JSON-RPC method, with rpc.py's syntax (basalt rpc -h)");
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"basalt " + io.basalt.target.Version.BASALT + " (" + io.basalt.target.Version.string() + ")"};
        }
    }
}
