package io.basalt.cli;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.logging.StreamHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One-line log records on stderr; BASALT_LOG=debug|info|warn|error sets the level. */
final class Logging {
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

    private Logging() {
    }

    static void setup() {
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        Level level = switch (System.getenv().getOrDefault("BASALT_LOG", "info").toLowerCase(Locale.ROOT)) {
            case "debug", "trace" -> Level.FINE;
            case "warn", "warning" -> Level.WARNING;
            case "error" -> Level.SEVERE;
            default -> Level.INFO;
        };
        root.setLevel(level);
        // A StreamHandler on System.err: ConsoleHandler.setOutputStream would close System.err.
        StreamHandler h = new StreamHandler(System.err, new java.util.logging.SimpleFormatter()) {
            @Override
            public synchronized void publish(LogRecord record) {
                super.publish(record);
                flush();
            }

            @Override
            public synchronized void close() {
                flush();
            }
        };
        h.setLevel(level);
        h.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                String name = r.getLoggerName();
                int dot = name == null ? -1 : name.lastIndexOf('.');
                String shortName = name == null ? "" : name.substring(dot + 1);
                StringBuilder sb = new StringBuilder();
                sb.append('[').append(LocalDateTime.now().format(TS)).append("] ")
                        .append(level(r.getLevel())).append(' ').append(shortName).append(": ")
                        .append(formatMessage(r)).append('\n');
                if (r.getThrown() != null) {
                    var sw = new java.io.StringWriter();
                    r.getThrown().printStackTrace(new java.io.PrintWriter(sw));
                    sb.append(sw);
                }
                return sb.toString();
            }
        });
        root.addHandler(h);
        // Netty is chatty at INFO about its native transports; keep it to warnings.
        Logger.getLogger("io.netty").setLevel(Level.WARNING);
    }

    private static String level(Level l) {
        if (l.intValue() >= Level.SEVERE.intValue()) {
            return "ERROR";
        }
        if (l.intValue() >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (l.intValue() >= Level.INFO.intValue()) {
            return "INFO";
        }
        return "DEBUG";
    }
}
