package dev.xlmr.nova;

import java.util.Locale;
import java.util.Map;

/**
 * The framing of a DISCOVER request, in integer milliseconds.
 *
 * <p>{@code strideMs == 0} means "stride = frame size" (and a frame size of 0 with a stride means
 * frame size = stride). {@code endMs <= 0} means "to the end of the annotation": the request's time
 * strings default to 0 when missing, and an end of 0 would yield no frames at all. {@code startMs} is
 * kept but ignored, as the original module ignores it.
 *
 * <pre>{@code
 * FramingOptions o = FramingOptions.fromRequest(Map.of("frame_size", "40ms", "left_context", "960ms"));
 * FramingOptions same = FramingOptions.of(40, 960);
 * }</pre>
 *
 * @param frameSizeMs    F
 * @param strideMs       S, 0 = F
 * @param leftContextMs  L
 * @param rightContextMs R
 * @param startMs        ignored (as by the original)
 * @param endMs          frames end at min(end, D); 0 = D
 */
public record FramingOptions(long frameSizeMs, long strideMs, long leftContextMs, long rightContextMs,
                             long startMs, long endMs) {

    public FramingOptions {
        if (frameSizeMs < 0 || strideMs < 0 || leftContextMs < 0 || rightContextMs < 0 || startMs < 0) {
            throw new IllegalArgumentException("negative frame size, stride or context");
        }
        if (frameSizeMs == 0 && strideMs == 0) throw new IllegalArgumentException("frame_size or stride must be > 0");
    }

    /** Frames of {@code frameSizeMs} with stride = frame size and a left context. */
    public static FramingOptions of(long frameSizeMs, long leftContextMs) {
        return new FramingOptions(frameSizeMs, 0, leftContextMs, 0, 0, 0);
    }

    /** From /process form fields {@code frame_size, stride, left_context, right_context, start, end}. */
    public static FramingOptions fromRequest(Map<String, String> fields) {
        return new FramingOptions(parseTimeMs(fields.get("frame_size")), parseTimeMs(fields.get("stride")),
                parseTimeMs(fields.get("left_context")), parseTimeMs(fields.get("right_context")),
                parseTimeMs(fields.get("start")), parseTimeMs(fields.get("end")));
    }

    /** S: the stride, or the frame size when no stride was given. */
    public long effectiveStrideMs() {
        return strideMs > 0 ? strideMs : frameSizeMs;
    }

    /** F: the frame size, or the stride when no frame size was given. */
    public long effectiveFrameMs() {
        return frameSizeMs > 0 ? frameSizeMs : strideMs;
    }

    /**
     * A DISCOVER time string in ms: {@code "40ms"} = 40, {@code "2s"} = 2000, a number with a dot is
     * seconds ({@code "0.5"} = 500), an integer is ms, null or blank is 0. Seconds are truncated to whole
     * ms like {@code int(s * 1000)}.
     *
     * @throws IllegalArgumentException for anything else or a negative time
     */
    public static long parseTimeMs(String s) {
        if (s == null || s.isBlank()) return 0;
        String t = s.strip().toLowerCase(Locale.ROOT);
        double v;
        boolean seconds;
        try {
            if (t.endsWith("ms")) {
                v = Texts.parseNumber(t.substring(0, t.length() - 2));
                seconds = false;
            } else if (t.endsWith("s")) {
                v = Texts.parseNumber(t.substring(0, t.length() - 1));
                seconds = true;
            } else {
                v = Texts.parseNumber(t);
                seconds = t.contains(".");
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a time: \"" + s + "\"");
        }
        if (!Double.isFinite(v) || v < 0 || v > 1e15) throw new IllegalArgumentException("not a valid time: \"" + s + "\"");
        return seconds ? (long) (v * 1000.0) : (long) v;
    }
}
