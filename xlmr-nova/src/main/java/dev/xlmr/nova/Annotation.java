package dev.xlmr.nova;

import java.util.Map;

/**
 * A NOVA annotation: one of the three scheme kinds, with the header's scheme name, the remaining
 * {@code <scheme>} attributes (e.g. {@code color}) and the {@code <meta>} attributes (role, annotator...).
 *
 * <pre>{@code
 * switch (Annotations.read(Path.of("talk.annotation"))) {
 *     case FreeAnnotation f -> System.out.println(f.labels().size() + " utterances");
 *     case DiscreteAnnotation d -> System.out.println(d.items());
 *     case ContinuousAnnotation c -> System.out.println(c.sampleRate() + " Hz");
 * }
 * }</pre>
 */
public sealed interface Annotation permits FreeAnnotation, DiscreteAnnotation, ContinuousAnnotation {
    /** {@code <scheme name>}. */
    String schemeName();

    /** {@code <scheme>} attributes other than name, type and the kind's own typed ones; in file order. */
    Map<String, String> schemeAttributes();

    /** {@code <meta>} attributes in file order (empty when there is no meta element). */
    Map<String, String> meta();

    /** Number of records, the header's {@code size}. */
    int size();
}
