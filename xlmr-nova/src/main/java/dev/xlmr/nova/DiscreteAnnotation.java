package dev.xlmr.nova;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A DISCRETE annotation: time segments labelled with the id of one of the scheme's items (-1 = garbage).
 *
 * <pre>{@code
 * DiscreteAnnotation d = Annotations.readDiscrete(Path.of("emotion.annotation"));
 * for (var l : d.labels()) System.out.println(l.from() + " " + d.itemName(l.id()));
 * }</pre>
 *
 * @param schemeName       scheme name
 * @param schemeAttributes other scheme attributes
 * @param meta             meta attributes
 * @param items            the scheme's classes
 * @param labels           segments in file order
 */
public record DiscreteAnnotation(String schemeName, Map<String, String> schemeAttributes, Map<String, String> meta,
                                 List<Item> items, List<Label> labels) implements Annotation {

    /** Label id of a garbage segment. */
    public static final int GARBAGE = -1;

    /**
     * A class of the scheme.
     *
     * @param name  class name
     * @param id    class id used in the data
     * @param color {@code #AARRGGBB} or null
     */
    public record Item(String name, int id, String color) {}

    /**
     * One segment.
     *
     * @param from       start in seconds
     * @param to         end in seconds
     * @param id         item id or {@link #GARBAGE}
     * @param confidence confidence
     */
    public record Label(double from, double to, int id, float confidence) {}

    public DiscreteAnnotation {
        Objects.requireNonNull(schemeName, "schemeName");
        schemeAttributes = Collections.unmodifiableMap(new LinkedHashMap<>(schemeAttributes));
        meta = Collections.unmodifiableMap(new LinkedHashMap<>(meta));
        items = List.copyOf(items);
        labels = List.copyOf(labels);
    }

    @Override
    public int size() {
        return labels.size();
    }

    /** The name of item {@code id}, or null (garbage or unknown id). */
    public String itemName(int id) {
        for (Item i : items) if (i.id() == id) return i.name();
        return null;
    }
}
