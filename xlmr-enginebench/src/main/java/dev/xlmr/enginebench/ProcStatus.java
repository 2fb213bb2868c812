package dev.xlmr.enginebench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory figures of this process from {@code /proc/self/status} (Linux), in MiB; -1 where unavailable. */
record ProcStatus(double hwm, double rss, double anon, double file) {
    static ProcStatus read() {
        return read("self");
    }

    /** Of another process ({@code pid} as in {@code /proc/PID}); all -1 once it has ended. */
    static ProcStatus read(String pid) {
        double hwm = -1, rss = -1, anon = -1, file = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                String[] f = line.split("\\s+");
                if (f.length < 3 || !f[2].equals("kB")) {
                    continue;
                }
                double mib = Double.parseDouble(f[1]) / 1024.0;
                switch (f[0]) {
                    case "VmHWM:" -> hwm = mib;
                    case "VmRSS:" -> rss = mib;
                    case "RssAnon:" -> anon = mib;
                    case "RssFile:" -> file = mib;
                    default -> { }
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux: leave -1
        }
        return new ProcStatus(hwm, rss, anon, file);
    }
}
