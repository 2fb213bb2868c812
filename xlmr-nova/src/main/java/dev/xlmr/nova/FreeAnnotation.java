package dev.xlmr.nova;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A FREE (free-text) annotation, e.g. a transcript: labelled time segments in file order.
 *
 * <pre>{@code
 * FreeAnnotation t = FreeAnnotation.of("transcript", List.of(
 *         new FreeAnnotation.Label(0.5, 1.25, "hello world", 1f)));
 * Annotations.write(t, Path.of("t.annotation"), FileType.ASCII);
 * long durationMs = t.durationMs();   // 1250
 * }</pre>
 *
 * @param schemeName       scheme name
 * @param schemeAttributes other scheme attributes, typically {@code color}
 * @param meta             meta attributes
 * @param labels           segments in file order (order matters: it is the concatenation order of window texts)
 */
public record FreeAnnotation(String schemeName, Map<String, String> schemeAttributes, Map<String, String> meta,
                             List<Label> labels) implements Annotation {

    /**
     * One segment.
     *
     * @param from       start in seconds
     * @param to         end in seconds
     * @param text       label text
     * @param confidence confidence (float32 on disk)
     */
    public record Label(double from, double to, String text, float confidence) {
        public Label {
            Objects.requireNonNull(text, "text");
        }

        /** discover-utils' integer milliseconds: truncation, so 2.01 s is 2009 ms. */
        public long fromMs() {
            return FreeAnnotation.toMs(from);
        }

        /** See {@link #fromMs()}. */
        public long toMs() {
            return FreeAnnotation.toMs(to);
        }
    }

    public FreeAnnotation {
        Objects.requireNonNull(schemeName, "schemeName");
        schemeAttributes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(schemeAttributes));
        meta = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(meta));
        labels = List.copyOf(labels);
    }

    /** A transcript with no extra scheme or meta attributes. */
    public static FreeAnnotation of(String schemeName, List<Label> labels) {
        return new FreeAnnotation(schemeName, Map.of(), Map.of(), labels);
    }

    @Override
    public int size() {
        return labels.size();
    }

    /** Duration D as the original module computes it: the {@code to} of the LAST record (not the max), in ms. */
    public long durationMs() {
        return labels.isEmpty() ? 0 : labels.getLast().toMs();
    }

    static long toMs(double seconds) {
        return (long) (seconds * 1000.0);
    }
}
