package dev.xlmr.pipelines;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The outputs of one text from {@link EmbeddingPipeline#encode}: each is null when it was not asked for.
 *
 * <pre>{@code
 * MultiEmbedding m = embed.encode(List.of("Hello"), Options.defaults(), EnumSet.allOf(Output.class)).get(0);
 * m.dense();     // the sentence embedding (BGE-M3: CLS, normalised)
 * m.sparse();    // BGE-M3 lexical weights or a SPLADE vector
 * m.colbert();   // BGE-M3 ColBERT vectors, one per token after <s>
 * }</pre>
 *
 * @param dense   the sentence embedding, or null
 * @param sparse  the sparse vector, or null
 * @param colbert the multi-vector, or null
 */
public record MultiEmbedding(float[] dense, SparseEmbedding sparse, float[][] colbert) {
    /** The CLI's and server's JSON shape: {"embedding": [...], "sparse": {"id": w}, "colbert": [[...]]}, present keys only. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (dense != null) {
            m.put("embedding", dense);
        }
        if (sparse != null) {
            m.put("sparse", sparse.toMap());
        }
        if (colbert != null) {
            m.put("colbert", colbert);
        }
        return m;
    }
}
