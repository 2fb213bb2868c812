package dev.xlmr.pipelines;

import dev.xlmr.engine.Encoders;
import dev.xlmr.hub.ModelLocator;
import dev.xlmr.model.Encoder;
import dev.xlmr.model.Head;
import dev.xlmr.model.ModelConfig;
import dev.xlmr.model.Weights;
import dev.xlmr.model.XlmRobertaModel;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A model loaded once for every door (pipelines, server, NOVA): the folder resolved with
 * {@link ModelLocator}, its tokenizer, its configuration, its sentence-transformers modules
 * ({@link SentenceTransformers}, null for a plain folder) and the encoder, on the fast engine by default
 * ({@link Encoders}: {@code -Dxlmr.encoder=reference} for the plain reference). Pipelines made from a
 * session share its encoder; closing the session closes it.
 *
 * <pre>{@code
 * try (ModelSession s = ModelSession.open("testdata/xlmr-base", null)) {
 *     EmbeddingPipeline embed = s.embeddings();
 *     float[] v = embed.embed("Hello world!");
 * }
 * }</pre>
 */
public final class ModelSession implements AutoCloseable {
    private final Path dir;
    private final Encoder encoder;
    private final XlmRobertaTokenizer tokenizer;
    private final SentenceTransformers sentenceTransformers;
    private final int maxLength;

    private ModelSession(Path dir, Encoder encoder, XlmRobertaTokenizer tokenizer, SentenceTransformers st, int maxLength) {
        this.dir = dir;
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        this.sentenceTransformers = st;
        this.maxLength = maxLength;
    }

    /** Resolves a folder or hub id (revision null: {@code main}) and loads it. */
    public static ModelSession open(String modelOrPath, String revision) {
        return open(ModelLocator.resolve(modelOrPath, revision));
    }

    /**
     * Loads a model folder: a Hugging Face folder, or a sentence-transformers folder whose Transformer
     * module may sit in a sub-folder. The tokenizer (parsing a 17 MB tokenizer.json for XLM-R) loads on
     * another core while the model maps.
     */
    public static ModelSession open(Path dir) {
        return open(dir, false);
    }

    /**
     * Loads a model folder; with {@code encoderOnly}, a checkpoint with a token-level head (masked or causal
     * LM, token classification, QA) runs as its base encoder, so embeddings do not pay for a head over every
     * token (an LM head is a vocabulary-sized matmul per token). Sequence-classification checkpoints keep their head,
     * and so do SPLADE folders (SpladePooling), whose sparse vectors come from the masked-LM logits.
     */
    public static ModelSession open(Path dir, boolean encoderOnly) {
        SentenceTransformers st = SentenceTransformers.read(dir);
        Path model = st == null ? dir : st.transformerDir();
        Path tokDir = Files.exists(dir.resolve("tokenizer.json")) || Files.exists(dir.resolve("sentencepiece.bpe.model"))
                ? dir : model;
        CompletableFuture<XlmRobertaTokenizer> loading = CompletableFuture.supplyAsync(() -> XlmRobertaTokenizer.load(tokDir),
                r -> Thread.ofPlatform().daemon().name("xlmr-tokenizer-load").start(r));
        Encoder encoder;
        try {
            // a SPLADE folder pools the masked-LM logits: it keeps its head
            boolean splade = st != null && st.splade() != null;
            encoder = encoderOnly && !splade ? openEncoderOnly(model) : Encoders.open(model);
        } catch (RuntimeException | Error e) {
            loading.exceptionally(t -> null).join(); // do not leave a parse running behind the failure
            throw e;
        }
        XlmRobertaTokenizer tok;
        try {
            tok = loading.join();
        } catch (CompletionException e) {
            encoder.close();
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error er) {
                throw er;
            }
            throw e;
        }
        return new ModelSession(dir, encoder, tok, st, maxLength(encoder.config(), tokDir));
    }

    private static Encoder openEncoderOnly(Path model) {
        ModelConfig c = ModelConfig.load(model.resolve("config.json"));
        if (c.head() == Head.BASE || c.head() == Head.SEQUENCE_CLASSIFICATION || c.head() == Head.MULTIPLE_CHOICE) {
            return Encoders.open(model);
        }
        ModelConfig base = new ModelConfig(c.modelType(), "XLMRobertaModel", Head.BASE, c.vocabSize(),
                c.hiddenSize(), c.numHiddenLayers(), c.numAttentionHeads(), c.intermediateSize(), c.hiddenAct(),
                c.layerNormEps(), c.padTokenId(), c.maxPositionEmbeddings(), c.typeVocabSize(), c.isDecoder(),
                c.numLabels(), c.id2label(), c.label2id(), c.problemType(), c.tieWordEmbeddings());
        return Encoders.wrap(new XlmRobertaModel(base, Weights.open(model)));
    }

    /**
     * The longest input of a model: what its position embeddings allow, and at most the tokenizer's
     * {@code model_max_length} (tokenizer_config.json) when it gives one.
     */
    public static int maxLength(ModelConfig config, Path tokenizerDir) {
        int max = config.maxSequenceLength();
        int tokMax = Pipeline.tokenizerMaxLength(tokenizerDir);
        return tokMax > 0 ? Math.min(max, tokMax) : max;
    }

    /** The resolved model folder. */
    public Path dir() {
        return dir;
    }

    /** The encoder (owned by the session). */
    public Encoder encoder() {
        return encoder;
    }

    /** The model's configuration. */
    public ModelConfig config() {
        return encoder.config();
    }

    /** The tokenizer. */
    public XlmRobertaTokenizer tokenizer() {
        return tokenizer;
    }

    /** The sentence-transformers configuration, or null for a plain folder. */
    public SentenceTransformers sentenceTransformers() {
        return sentenceTransformers;
    }

    /** The longest input in tokens ({@link #maxLength(ModelConfig, Path)}). */
    public int maxLength() {
        return maxLength;
    }

    /**
     * The longest input of sentence embeddings: {@link #maxLength()}, and at most sentence-transformers'
     * {@code max_seq_length} when the folder gives one.
     */
    public int embeddingMaxLength() {
        SentenceTransformers st = sentenceTransformers;
        return st != null && st.maxSeqLength() > 0 ? Math.min(maxLength, st.maxSeqLength()) : maxLength;
    }

    /** Sentence and token embeddings over the session's encoder, following its sentence-transformers modules. */
    public EmbeddingPipeline embeddings() {
        return new EmbeddingPipeline(source());
    }

    /** Text classification over the session's encoder (a sequence-classification model). */
    public TextClassificationPipeline textClassification() {
        return new TextClassificationPipeline(source());
    }

    /** A source that shares the encoder: pipelines made from it leave it open. */
    Pipeline.Source source() {
        return new Pipeline.Source(dir, encoder, tokenizer, maxLength, false, sentenceTransformers);
    }

    /** A source that owns the encoder (for {@code load(...)} of the pipelines). */
    Pipeline.Source ownedSource() {
        return new Pipeline.Source(dir, encoder, tokenizer, maxLength, true, sentenceTransformers);
    }

    /** Closes the encoder. */
    @Override
    public void close() {
        encoder.close();
    }
}
