package dev.xlmr.hub;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A download progress bar on stderr (or nothing, for small files and when not wanted). */
class Progress implements AutoCloseable {
    static final Progress NONE = new Progress();

    void stepTo(long bytes) {}

    @Override
    public void close() {}

    static Progress start(String name, long total, PrintStream out) {
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(name)
                .setInitialMax(total)
                .setUnit(" MiB", 1L << 20)
                .setStyle(ProgressBarStyle.ASCII)
                .showSpeed()
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .build();
        return new Progress() {
            @Override
            void stepTo(long bytes) {
                bar.stepTo(bytes);
            }

            @Override
            public void close() {
                bar.close();
            }
        };
    }
}
