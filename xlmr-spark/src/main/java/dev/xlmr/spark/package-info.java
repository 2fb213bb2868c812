/**
 * Distributed XLM-R inference as Spark ML transformers, in the manner of Spark NLP's
 * {@code XlmRoBertaEmbeddings} and {@code XlmRoBertaFor*} annotators, on Spark alone and this
 * project's pipelines.
 *
 * <ul>
 *   <li>{@link dev.xlmr.spark.XlmrSentenceEmbeddings}: {@code array<float>} sentence embeddings
 *       (sentence-transformers folders: pooling, normalisation, prompts);</li>
 *   <li>{@link dev.xlmr.spark.XlmrTokenEmbeddings}: token or word embeddings as structs or as Spark
 *       NLP {@code word_embeddings} annotations;</li>
 *   <li>{@link dev.xlmr.spark.XlmrSequenceClassifier}, {@link dev.xlmr.spark.XlmrTokenClassifier},
 *       {@link dev.xlmr.spark.XlmrZeroShotClassifier}: labels with scores, entities with offsets.</li>
 * </ul>
 *
 * <pre>{@code
 * Dataset<Row> out = new XlmrSentenceEmbeddings()
 *         .setModel("/models/multilingual-e5-base")   // a folder every executor can read, or a hub id
 *         .setInputCol("text").setOutputCol("embedding")
 *         .transform(df);
 * }</pre>
 *
 * <p>The transformers carry the model's name, never its weights: each executor JVM loads a model
 * once (memory-mapped from the folder, or fetched from the hub into its cache), on the fast engine as
 * the pipelines and the command line do ({@code -Dxlmr.encoder=reference} for the plain reference),
 * and shares it between tasks; the results are the pipelines'. The encoder runs one batch at a time
 * with as many kernel threads as the executor has cores ({@code xlmr.threads} overrides), while the
 * other tasks tokenize. Save/load ({@code write().save(path)}, {@code load(path)}, also inside a
 * {@code PipelineModel}) store that name and the params. Offsets are UTF-16 indices with an exclusive
 * end, except in Spark NLP annotations, whose end is inclusive as in Spark NLP.
 */
package dev.xlmr.spark;
