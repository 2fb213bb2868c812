package dev.xlmr.nova;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A CONTINUOUS annotation: one score per frame at the scheme's sample rate.
 *
 * <pre>{@code
 * ContinuousAnnotation c = Annotations.readContinuous(Path.of("arousal.annotation"));
 * float at2s = c.frames().get((int) (2 * c.sampleRate())).score();
 * }</pre>
 *
 * @param schemeName       scheme name
 * @param schemeAttributes other scheme attributes (e.g. mincolor, maxcolor)
 * @param meta             meta attributes
 * @param sampleRate       {@code sr} in Hz
 * @param min              {@code min} of the score range
 * @param max              {@code max} of the score range
 * @param frames           one entry per frame
 */
public record ContinuousAnnotation(String schemeName, Map<String, String> schemeAttributes, Map<String, String> meta,
                                   double sampleRate, double min, double max, List<Frame> frames)
        implements Annotation {

    /**
     * One frame.
     *
     * @param score      the value
     * @param confidence its confidence
     */
    public record Frame(float score, float confidence) {}

    public ContinuousAnnotation {
        Objects.requireNonNull(schemeName, "schemeName");
        schemeAttributes = Collections.unmodifiableMap(new LinkedHashMap<>(schemeAttributes));
        meta = Collections.unmodifiableMap(new LinkedHashMap<>(meta));
        frames = List.copyOf(frames);
    }

    @Override
    public int size() {
        return frames.size();
    }
}
