package dev.xlmr.spark;

import dev.xlmr.model.LengthBatching;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.MetadataBuilder;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Token embeddings (the encoder's last hidden state) of each text, per word or per subword token, as
 * Spark NLP's {@code XlmRoBertaEmbeddings} gives them.
 *
 * <pre>{@code
 * XlmrTokenEmbeddings tokens = new XlmrTokenEmbeddings()
 *         .setModel("/models/xlm-roberta-base")
 *         .setAlignment("first");                 // one vector per word: its first piece's (Spark NLP)
 * tokens.transform(df).select(explode(col("token_embeddings")).as("t"))
 *       .select("t.token", "t.begin", "t.end", "t.embedding");
 * }</pre>
 *
 * <p>The texts are tokenized whole (the model sees each text as one sequence, truncated to
 * {@link #getMaxLength()} tokens, by default what the model allows) and special tokens are left
 * out. {@link #alignment()}: {@code first} (default) gives one entry per word with the embedding of
 * the word's first subword token, as Spark NLP does; {@code average} the mean of the word's tokens;
 * {@code none} one entry per subword token. Words are runs of letters, digits and marks, single
 * punctuation or symbol characters, and single CJK ideographs; a token that spans two words counts
 * for both, words cut off by truncation are left out. No prompt, strip or lower-casing of a
 * sentence-transformers folder applies here.
 *
 * <p>{@link #outputFormat()}: {@code struct} (default) gives
 * {@code array<struct<token: string, begin: int, end: int, embedding: array<float>>>} with UTF-16
 * offsets, end exclusive ({@code text.substring(begin, end)} is the token). {@code annotation}
 * gives Spark NLP's annotation structs ({@code annotatorType: "word_embeddings", begin, end,
 * result, metadata, embeddings}) with Spark NLP's inclusive end ({@code end = begin + length - 1})
 * and metadata {@code sentence, token, pieceId, isWordStart}, so a Spark NLP pipeline can take the
 * column in place of {@code XlmRoBertaEmbeddings}' output. Null texts give null, empty or blank
 * texts an empty array.
 */
public final class XlmrTokenEmbeddings extends XlmrTransformer<XlmrTokenEmbeddings> {
    private static final long serialVersionUID = 1L;

    /** Spark NLP's annotation struct. */
    static final StructType ANNOTATION = new StructType()
            .add("annotatorType", DataTypes.StringType, true)
            .add("begin", DataTypes.IntegerType, false)
            .add("end", DataTypes.IntegerType, false)
            .add("result", DataTypes.StringType, true)
            .add("metadata", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType), true)
            .add("embeddings", DataTypes.createArrayType(DataTypes.FloatType, false), true);

    static final StructType TOKEN = new StructType()
            .add("token", DataTypes.StringType, false)
            .add("begin", DataTypes.IntegerType, false)
            .add("end", DataTypes.IntegerType, false)
            .add("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), false);

    private final Param<String> alignment;
    private final Param<String> outputFormat;

    public XlmrTokenEmbeddings() {
        this(Identifiable.randomUID("xlmrTokenEmbeddings"));
    }

    /** With a given uid (Spark's readers use this constructor). */
    public XlmrTokenEmbeddings(String uid) {
        super(uid, "token_embeddings");
        alignment = new Param<>(this, "alignment", "first (a word's first subword token, as Spark NLP), average "
                + "(the mean of its tokens) or none (one entry per subword token)",
                ParamValidators.inArray(new String[] {"first", "average", "none"}));
        outputFormat = new Param<>(this, "outputFormat", "struct (token, begin, end exclusive, embedding) or "
                + "annotation (Spark NLP word_embeddings annotations, end inclusive)",
                ParamValidators.inArray(new String[] {"struct", "annotation"}));
        setDefault(alignment, "first");
        setDefault(outputFormat, "struct");
    }

    /** Reads a saved transformer (for {@code MLReadable} and {@code PipelineModel.load}). */
    public static MLReader<XlmrTokenEmbeddings> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a transformer saved with {@code write().save(path)}. */
    public static XlmrTokenEmbeddings load(String path) {
        return read().load(path);
    }

    public Param<String> alignment() {
        return alignment;
    }

    public Param<String> outputFormat() {
        return outputFormat;
    }

    public String getAlignment() {
        return getOrDefault(alignment);
    }

    /** Sets the alignment: first, average or none. */
    public XlmrTokenEmbeddings setAlignment(String value) {
        set(alignment, choice(value, "alignment", "first", "average", "none"));
        return this;
    }

    public String getOutputFormat() {
        return getOrDefault(outputFormat);
    }

    /** Sets the output format: struct or annotation. */
    public XlmrTokenEmbeddings setOutputFormat(String value) {
        set(outputFormat, choice(value, "output format", "struct", "annotation"));
        return this;
    }

    static String choice(String value, String what, String... allowed) {
        String v = value == null ? null : value.trim().toLowerCase(java.util.Locale.ROOT);
        if (!Arrays.asList(allowed).contains(v)) {
            throw new IllegalArgumentException("unknown " + what + " '" + value + "' (" + String.join(", ", allowed) + ")");
        }
        return v;
    }

    private boolean annotations() {
        return getOutputFormat().equals("annotation");
    }

    @Override
    DataType outputType() {
        return DataTypes.createArrayType(annotations() ? ANNOTATION : TOKEN, false);
    }

    @Override
    Metadata outputMetadata() {
        // what Spark NLP's annotators put on their columns
        return annotations() ? new MetadataBuilder().putString("annotatorType", "word_embeddings").build()
                : Metadata.empty();
    }

    @Override
    Task task() {
        return new TokenTask(getModel(), getRevision(), getBatchSize(), getMaxLength(), getAlignment(), annotations());
    }

    private static final class TokenTask extends Task {
        private static final long serialVersionUID = 1L;
        private final String alignment;
        private final boolean annotations;

        TokenTask(String model, String revision, int batchSize, int maxLength, String alignment, boolean annotations) {
            super(model, revision, batchSize, maxLength);
            this.alignment = alignment;
            this.annotations = annotations;
        }

        @Override
        Batcher open() {
            ModelCache.Model m = ModelCache.model(model, revision);
            int limit = m.encoder().config().maxSequenceLength();
            if (maxLength > limit) {
                throw new IllegalArgumentException("xlmr-spark: max length " + maxLength + " is more than the model '"
                        + model + "' allows (" + limit + ")");
            }
            int max = maxLength > 0 ? maxLength : m.maxLength();
            return (texts, pairs) -> embed(m, max, texts);
        }

        /**
         * Tokenizes once and keeps the encodings for the offsets, which {@code EmbeddingPipeline.tokenEmbeddings}
         * does not return; the batches are the pipelines' (longest first, {@code batchSize} rows), on the same
         * shared encoder ({@link LengthBatching}), so the vectors are that method's without its special tokens.
         */
        private Object[] embed(ModelCache.Model m, int max, List<String> texts) {
            XlmRobertaTokenizer tok = m.tokenizer();
            EncodeOptions plain = EncodeOptions.defaults();
            EncodeOptions cut = plain.maxLength(max).truncation(EncodeOptions.Truncation.LONGEST_FIRST);
            List<Encoding> encs = new ArrayList<>(texts.size());
            for (String t : texts) {
                Encoding e = tok.encode(t, null, plain);
                encs.add(e.length() > max ? tok.truncate(e, cut) : e);
            }
            // the pipelines' length-aware packed batching, on the same shared encoder
            List<int[]> ids = new ArrayList<>(encs.size());
            encs.forEach(e -> ids.add(e.ids()));
            Object[] out = new Object[texts.size()];
            LengthBatching.of(batchSize).run(m.encoder(), ids, (i, output, s) -> {
                float[] hidden = output.get("last_hidden_state").data();   // packed [tokens, hidden]
                int d = output.get("last_hidden_state").dim(1);
                out[i] = rows(texts.get(i), encs.get(i), hidden, output.start(s) * d, d);
            });
            return out;
        }

        /** The entries of one text; its token vectors start at {@code base} in {@code hidden}. */
        private Row[] rows(String text, Encoding e, float[] hidden, int base, int d) {
            List<Integer> pieces = new ArrayList<>();
            for (int i = 0; i < e.length(); i++) {
                if (e.specialTokensMask()[i] == 0 && e.attentionMask()[i] == 1) {
                    pieces.add(i);
                }
            }
            List<int[]> words = Words.spans(text);
            List<Row> out = new ArrayList<>();
            if (alignment.equals("none")) {
                java.util.Set<Integer> wordStarts = new java.util.HashSet<>();
                words.forEach(w -> wordStarts.add(w[0]));
                for (int i : pieces) {
                    float[] v = Arrays.copyOfRange(hidden, base + i * d, base + (i + 1) * d);
                    out.add(entry(e.tokens()[i], e.starts()[i], e.ends()[i], v, e.ids()[i], wordStarts.contains(e.starts()[i])));
                }
                return out.toArray(new Row[0]);
            }
            // pieces and words are both in text order: walk them together
            int from = 0;
            for (int[] w : words) {
                while (from < pieces.size() && e.ends()[pieces.get(from)] <= w[0]) {
                    from++;
                }
                List<Integer> covering = new ArrayList<>();
                for (int k = from; k < pieces.size() && e.starts()[pieces.get(k)] < w[1]; k++) {
                    int p = pieces.get(k);
                    if (e.ends()[p] > w[0] && e.starts()[p] < e.ends()[p]) {
                        covering.add(p);
                    }
                }
                if (covering.isEmpty()) {
                    continue;   // cut off by truncation
                }
                float[] v;
                int first = covering.get(0);
                if (alignment.equals("first")) {
                    v = Arrays.copyOfRange(hidden, base + first * d, base + (first + 1) * d);
                } else {
                    double[] sum = new double[d];
                    for (int p : covering) {
                        for (int j = 0; j < d; j++) {
                            sum[j] += hidden[base + p * d + j];
                        }
                    }
                    v = new float[d];
                    for (int j = 0; j < d; j++) {
                        v[j] = (float) (sum[j] / covering.size());
                    }
                }
                out.add(entry(text.substring(w[0], w[1]), w[0], w[1], v, e.ids()[first], true));
            }
            return out.toArray(new Row[0]);
        }

        private Row entry(String token, int begin, int end, float[] v, int pieceId, boolean wordStart) {
            if (!annotations) {
                return RowFactory.create(token, begin, end, v);
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("sentence", "0");
            meta.put("token", token);
            meta.put("pieceId", Integer.toString(pieceId));
            meta.put("isWordStart", Boolean.toString(wordStart));
            return RowFactory.create("word_embeddings", begin, end - 1, token, CollectionConverters.asScala(meta), v);
        }

        @Override
        Object emptyResult() {
            return new Row[0];
        }
    }
}
