package dev.xlmr.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The benchmark corpus (testdata/tokenizer/tok_public.txt, one text a line) and the tokenizers under
 * test: ours from tokenizer.json and from sentencepiece.bpe.model, and Hugging Face tokenizers
 * (Rust, through DJL's JNI binding) from the same tokenizer.json. The setup fails unless DJL's ids
 * equal ours on every line.
 */
@State(Scope.Benchmark)
public class Corpus {
    /** Lines per batch for the batch-of-32 benchmarks and for our multi-threaded batch. */
    public static final int BATCH = 32;

    public List<String> lines;
    public String[] array;
    public List<List<String>> batches;
    public String[][] batchArrays;
    public XlmRobertaTokenizer json;
    public XlmRobertaTokenizer spm;
    public HuggingFaceTokenizer djl;
    public EncodeOptions opts = EncodeOptions.defaults();
    /** A pool of one thread per core, for our multi-threaded batch (DJL's Rust side uses rayon's). */
    public ExecutorService pool;
    public int threads = Runtime.getRuntime().availableProcessors();
    /** OS threads of this process just before and after DJL's first batchEncode (rayon starts its pool then). */
    public int threadsBeforeBatch;
    public int threadsAfterBatch;

    public static Path testdata() {
        return Path.of(System.getProperty("xlmr.testdata", "testdata"));
    }

    @Setup(Level.Trial)
    public void setup() {
        Path dir = testdata().resolve("xlmr-base");
        try {
            lines = List.copyOf(Files.readAllLines(testdata().resolve("tokenizer/tok_public.txt"), StandardCharsets.UTF_8));
            // no truncation, no padding, special tokens on (DJL would otherwise truncate at model_max_length)
            djl = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"),
                    Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        array = lines.toArray(String[]::new);
        batches = new ArrayList<>();
        for (int i = 0; i < lines.size(); i += BATCH) {
            batches.add(lines.subList(i, Math.min(lines.size(), i + BATCH)));
        }
        batchArrays = batches.stream().map(b -> b.toArray(String[]::new)).toArray(String[][]::new);
        json = XlmRobertaTokenizer.load(dir, XlmRobertaTokenizer.Format.JSON);
        spm = XlmRobertaTokenizer.load(dir, XlmRobertaTokenizer.Format.SENTENCEPIECE);
        pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "xlmr-bench-pool");
            t.setDaemon(true);
            return t;
        });
        verify();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdownNow();
        djl.close();
    }

    /** DJL must give our ids on every line, one at a time and as a batch, or the benchmark is void. */
    void verify() {
        if (!"DO_NOT_TRUNCATE".equals(djl.getTruncation()) || !"DO_NOT_PAD".equals(djl.getPadding())) {
            throw new IllegalStateException("DJL tokenizer truncates or pads: truncation=" + djl.getTruncation()
                    + " padding=" + djl.getPadding());
        }
        threadsBeforeBatch = osThreads();
        ai.djl.huggingface.tokenizers.Encoding[] theirBatch = djl.batchEncode(array);
        threadsAfterBatch = osThreads();
        List<Encoding> ourBatch = json.encodeBatch(lines, opts);
        int bad = 0;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < array.length; i++) {
            long[] single = djl.encode(array[i]).getIds();
            long[] batch = theirBatch[i].getIds();
            long raw = TokenizersLibrary.LIB.encode(djl.getHandle(), array[i], true);
            long[] rawIds = TokenizersLibrary.LIB.getTokenIds(raw);
            TokenizersLibrary.LIB.deleteEncoding(raw);
            int[] ours = json.encode(array[i]).ids();
            int[] oursB = ourBatch.get(i).ids();
            long[] oursL = Arrays.stream(ours).asLongStream().toArray();
            long[] oursBL = Arrays.stream(oursB).asLongStream().toArray();
            if (!Arrays.equals(single, oursL) || !Arrays.equals(rawIds, oursL) || !Arrays.equals(batch, oursL) || !Arrays.equals(oursBL, oursL)) {
                if (bad++ == 0) {
                    first.append("line ").append(i + 1).append(": ours ").append(Arrays.toString(ours))
                            .append(" DJL ").append(Arrays.toString(single));
                }
            }
        }
        if (bad > 0) {
            throw new IllegalStateException("DJL and ours differ on " + bad + " of " + array.length + " lines; first: "
                    + first);
        }
    }

    /** Tokens of the whole file with special tokens, by our tokenizer.json form (= DJL's, verified). */
    public long jsonTokens() {
        return lines.stream().mapToLong(l -> json.encode(l).length()).sum();
    }

    /** Tokens of the whole file by our sentencepiece form. */
    public long spmTokens() {
        return lines.stream().mapToLong(l -> spm.encode(l).length()).sum();
    }

    public int longest() {
        return lines.stream().mapToInt(l -> json.encode(l).length()).max().orElse(0);
    }

    /** Threads of this process as the kernel sees them (Java and native). */
    static int osThreads() {
        String[] tasks = Path.of("/proc/self/task").toFile().list();
        return tasks == null ? -1 : tasks.length;
    }
}
