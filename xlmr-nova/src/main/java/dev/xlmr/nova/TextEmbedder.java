package dev.xlmr.nova;

import java.util.List;

/**
 * Turns texts into fixed-width vectors; the XLM-RoBERTa model is plugged in here.
 *
 * <pre>{@code
 * TextEmbedder fake = texts -> texts.stream().map(t -> new float[] {t.length()}).toArray(float[][]::new);
 * SsiStream s = XlmRobertaModule.process(transcript, FramingOptions.of(40, 960), fake);
 * }</pre>
 */
@FunctionalInterface
public interface TextEmbedder {
    /**
     * Embeds a batch; one vector per text, all of the same length. Texts may be empty (the original
     * embeds {@code <s></s>} for them).
     */
    float[][] embed(List<String> texts);

    /** Vector width, used only when there is nothing to embed (an empty stream still has a dim). */
    default int dimension() {
        return 768;
    }
}
