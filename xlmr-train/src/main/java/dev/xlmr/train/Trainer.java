package dev.xlmr.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Fine-tunes an XLM-R checkpoint on a task's data as transformers' Trainer and example scripts do:
 * shuffled batches (seeded per epoch), train-mode dropout, AdamW without decay on biases and
 * LayerNorm weights, a warmup schedule, gradient clipping and accumulation, evaluation every N
 * steps with the task's metrics, checkpoints every N steps and of the best evaluation (each a
 * Hugging Face folder plus the optimizer state, written to a temporary folder and renamed into
 * place), early stopping, and resuming from a checkpoint. The output folder gets the final model
 * (the best one when there is validation data) as a Hugging Face folder.
 *
 * <pre>{@code
 * Trainer.Result r = new Trainer(Path.of("xlm-roberta-base"), Task.TEXT_CLASSIFICATION,
 *         new TrainOptions().epochs(2).learningRate(3e-5))
 *     .train(Path.of("train.jsonl"), Path.of("dev.jsonl"), Path.of("out"), null);
 * System.out.println(r.metrics()); // {loss=0.31, accuracy=0.91, f1=0.90}
 * }</pre>
 */
public final class Trainer {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    static final String STATE_FILE = "trainer_state.json";

    /**
     * What a run gives.
     *
     * @param out the output folder (a Hugging Face model folder)
     * @param steps optimizer steps taken in all (resumed steps included)
     * @param trainLoss the mean training loss of this run's steps
     * @param metrics the metrics of the model in {@code out} (empty without validation data)
     * @param folder the model with its config, for saving again
     */
    public record Result(Path out, int steps, double trainLoss, Map<String, Double> metrics, HfFolder folder) {
        /** The model in {@code out}, in memory, as the float64 reference (a copy of the fp32 weights on the default path). */
        public TrainableModel model() {
            return folder.model();
        }
    }

    private final Path modelDir;
    private final Task task;
    private final TrainOptions o;
    private Path resumeFrom;
    private boolean resumeLatest;

    public Trainer(Path modelDir, Task task, TrainOptions options) {
        this.modelDir = modelDir;
        this.task = task;
        this.o = options;
    }

    /** Continue from a checkpoint folder written by an earlier run (its weights, optimizer and step). */
    public Trainer resumeFrom(Path checkpoint) {
        this.resumeFrom = checkpoint;
        return this;
    }

    /** Continue from the latest checkpoint-N in the output folder (start afresh when there is none). */
    public Trainer resumeLatest() {
        this.resumeLatest = true;
        return this;
    }

    public Result train(Path trainFile, Path validationFile, Path out, TrainListener listener) {
        TrainListener l = listener == null ? new TrainListener() {} : listener;
        XlmRobertaTokenizer tok = XlmRobertaTokenizer.load(modelDir);
        var srcConfig = dev.xlmr.model.ModelConfig.load(modelDir.resolve("config.json"));
        TrainOptions opts = o;
        if (opts.maxLength > srcConfig.maxSequenceLength()) {
            opts.maxLength(srcConfig.maxSequenceLength());
        }
        List<String> modelLabels = HfFolder.labelsOf(modelDir, task.head());
        TaskData train = TaskData.load(task, trainFile, tok, opts, null, modelLabels);
        TaskData valid = validationFile == null ? null
                : TaskData.load(task, validationFile, tok, opts, task == Task.TEXT_CLASSIFICATION
                        || task == Task.TOKEN_CLASSIFICATION ? train.labels() : null, null);
        HfFolder folder = HfFolder.open(modelDir, task, train.labels(), train.problemType(), opts.seed);
        Learner model;
        if (opts.float64 || opts.fp32Matmul) {
            TrainableModel ref = folder.model();
            if (opts.fp32Matmul) {
                ref.withKernels(dev.xlmr.engine.KernelProvider.best()); // shared kernels: not closed here
            }
            model = new Learner.Reference(ref, opts);
        } else {
            model = new Learner.Fast(folder.useFast(dev.xlmr.engine.KernelProvider.best()), opts);
        }
        Learner opt = model;
        Dropout rates = opts.dropout ? Dropout.fromConfig(folder.config(), 0) : null;
        Collator collator = new Collator(task, tok, srcConfig.vocabSize(), opts.mlmProbability);

        int microPerEpoch = (train.size() + opts.batchSize - 1) / opts.batchSize;
        int stepsPerEpoch = Math.max(1, (microPerEpoch + opts.gradientAccumulation - 1) / opts.gradientAccumulation);
        int total = opts.maxSteps > 0 ? opts.maxSteps : (int) Math.ceil(opts.epochs * stepsPerEpoch);
        int warmup = opts.warmupSteps > 0 ? opts.warmupSteps : (int) Math.ceil(opts.warmupRatio * total);
        Schedule schedule = switch (opts.scheduler) {
            case "constant" -> Schedule.constant(warmup);
            case "cosine" -> Schedule.cosine(warmup, total);
            default -> Schedule.linear(warmup, total);
        };

        State st = new State();
        try {
            Files.createDirectories(out);
            Path resume = resumeFrom != null ? resumeFrom : resumeLatest ? latestCheckpoint(out) : null;
            if (resume != null) {
                loadState(resume, model, st);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": " + e.getMessage(), e);
        }
        l.onStart(total, st.step);
        long t0 = System.nanoTime();
        long examples = 0;
        double runLoss = 0;
        int runSteps = 0;
        double logLoss = 0;
        int logCount = 0;
        boolean stop = false;
        boolean evaluatedLast = false;
        while (st.step < total && !stop) {
            int epoch = st.step / stepsPerEpoch;
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < train.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new Random(opts.seed + epoch));
            int firstMicro = (st.step - epoch * stepsPerEpoch) * opts.gradientAccumulation;
            for (int m0 = firstMicro; m0 < microPerEpoch && st.step < total && !stop; m0 += opts.gradientAccumulation) {
                model.zeroGrad();
                double stepLoss = 0;
                int micro = Math.min(opts.gradientAccumulation, microPerEpoch - m0);
                for (int m = m0; m < m0 + micro; m++) {
                    List<TaskData.Feature> fs = new ArrayList<>();
                    for (int i = m * opts.batchSize; i < Math.min(train.size(), (m + 1) * opts.batchSize); i++) {
                        fs.add(train.features.get(order.get(i)));
                    }
                    long key = (long) epoch * microPerEpoch + m; // seeds this forward's dropout and masking
                    TrainBatch batch = collator.collate(fs, new SplittableRandom(opts.seed * 1_000_003L + key));
                    Dropout drop = rates == null ? null : new Dropout(rates.hidden(), rates.attention(), rates.classifier(),
                            opts.seed * 7_919L + key);
                    double loss = model.forward(batch, drop);
                    if (!Double.isFinite(loss)) {
                        if (Double.isNaN(loss) && task == Task.FILL_MASK) {
                            continue; // a batch whose masking picked no token has no loss
                        }
                        throw new IllegalStateException("the training loss is " + loss + " at step " + (st.step + 1)
                                + " (learning rate too high?)");
                    }
                    stepLoss += loss / opts.gradientAccumulation;
                    model.backward(1.0 / opts.gradientAccumulation);
                    examples += fs.size();
                }
                double norm = model.clipGradNorm(opts.maxGradNorm > 0 ? opts.maxGradNorm : Double.POSITIVE_INFINITY);
                double lr = opts.learningRate * schedule.factor(st.step);
                opt.step(lr);
                st.step++;
                evaluatedLast = false;
                runLoss += stepLoss;
                runSteps++;
                logLoss += stepLoss;
                logCount++;
                double secs = (System.nanoTime() - t0) / 1e9;
                l.onStep(st.step, total, stepLoss, lr, examples / Math.max(1e-9, secs));
                double epochF = (double) st.step / stepsPerEpoch;
                if (st.step % opts.loggingSteps == 0 || st.step == total) {
                    Map<String, Object> entry = new LinkedHashMap<>();
                    entry.put("step", st.step);
                    entry.put("epoch", Math.round(epochF * 1e4) / 1e4);
                    entry.put("loss", logLoss / logCount);
                    entry.put("learning_rate", lr);
                    entry.put("grad_norm", norm);
                    st.log.add(entry);
                    l.onLog(entry);
                    logLoss = 0;
                    logCount = 0;
                }
                boolean epochEnd = st.step % stepsPerEpoch == 0;
                if (valid != null && (opts.evalSteps > 0 ? st.step % opts.evalSteps == 0 : epochEnd)) {
                    stop = evaluateAndKeepBest(model, folder, valid, collator, out, st, l);
                    evaluatedLast = true;
                }
                if (opts.saveSteps > 0 ? st.step % opts.saveSteps == 0 : epochEnd) {
                    Path ck = out.resolve("checkpoint-" + st.step);
                    saveCheckpoint(ck, folder, model, st);
                    l.onSave(ck);
                }
            }
        }
        if (valid != null && !evaluatedLast && runSteps > 0) {
            evaluateAndKeepBest(model, folder, valid, collator, out, st, l);
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        try {
            Path best = out.resolve("checkpoint-best");
            if (valid != null && st.bestMetrics != null && Files.isDirectory(best)) {
                loadWeights(best, model); // the final model is the best evaluated one (load_best_model_at_end)
                metrics.putAll(st.bestMetrics);
            }
            folder.save(out);
            ObjectNode res = JSON.createObjectNode();
            metrics.forEach(res::put);
            res.put("global_step", st.step);
            res.put("train_loss", runSteps == 0 ? Double.NaN : runLoss / runSteps);
            HfFolder.writeAtomically(out.resolve("train_results.json"), JSON.writeValueAsString(res) + "\n");
            HfFolder.writeAtomically(out.resolve(STATE_FILE), JSON.writeValueAsString(stateJson(st)) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot write the model: " + e.getMessage(), e);
        }
        return new Result(out, st.step, runSteps == 0 ? Double.NaN : runLoss / runSteps, metrics, folder);
    }

    /** The mutable progress that a checkpoint keeps. */
    private static final class State {
        int step;
        Map<String, Double> bestMetrics;
        int bestStep = -1;
        int badEvals;
        final List<Map<String, Object>> log = new ArrayList<>();
    }

    private boolean evaluateAndKeepBest(Learner model, HfFolder folder, TaskData valid,
                                        Collator collator, Path out, State st, TrainListener l) {
        Map<String, Double> m = evaluate(model, valid, collator, o);
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("step", st.step);
        m.forEach((k, v) -> entry.put("eval_" + k, v));
        st.log.add(entry);
        l.onEvaluate(st.step, m);
        String key = metricKey(valid);
        boolean lower = key.equals("loss");
        double v = m.get(key);
        boolean better = st.bestMetrics == null || (lower ? v < st.bestMetrics.get(key) : v > st.bestMetrics.get(key));
        if (better) {
            st.bestMetrics = m;
            st.bestStep = st.step;
            st.badEvals = 0;
            Path best = out.resolve("checkpoint-best");
            saveCheckpoint(best, folder, model, st);
            l.onSave(best);
        } else {
            st.badEvals++;
        }
        return o.earlyStoppingPatience > 0 && st.badEvals >= o.earlyStoppingPatience;
    }

    private String metricKey(TaskData valid) {
        return "regression".equals(valid.problemType()) ? "loss" : task.metric();
    }

    /** The task's metrics and the mean loss of a model on evaluation data (dropout off). */
    public static Map<String, Double> evaluate(TrainableModel model, TaskData data, Collator collator, TrainOptions o) {
        return evaluate(new Learner.Reference(model, null), data, collator, o);
    }

    static Map<String, Double> evaluate(Learner model, TaskData data, Collator collator, TrainOptions o) {
        int bs = o.evalBatch();
        double lossSum = 0;
        int lossRows = 0;
        List<Integer> preds = new ArrayList<>();
        List<Integer> refs = new ArrayList<>();
        List<List<String>> predTags = new ArrayList<>();
        List<List<String>> refTags = new ArrayList<>();
        int maskedRight = 0;
        int masked = 0;
        Map<Integer, double[]> best = new LinkedHashMap<>(); // QA: per example, best score and null score
        Map<Integer, String> bestText = new LinkedHashMap<>();
        List<String> labels = data.labels();
        boolean multi = "multi_label_classification".equals(data.problemType());
        boolean regression = "regression".equals(data.problemType());
        for (int b0 = 0; b0 < data.size(); b0 += bs) {
            List<TaskData.Feature> fs = data.features.subList(b0, Math.min(data.size(), b0 + bs));
            TrainBatch batch = collator.collate(fs, new SplittableRandom(o.seed * 31L + b0)); // fixed masks for fill-mask
            Learner.Eval ev = model.eval(batch);
            Var logits = ev.logits();
            double loss = ev.loss();
            if (Double.isFinite(loss)) {
                lossSum += loss * fs.size();
                lossRows += fs.size();
            }
            int seq = batch.seq();
            int c = logits.dim(-1);
            switch (data.task) {
                case TEXT_CLASSIFICATION, MULTIPLE_CHOICE -> {
                    for (int r = 0; r < fs.size(); r++) {
                        if (regression) {
                            continue;
                        }
                        if (multi) {
                            boolean all = true;
                            for (int k = 0; k < c; k++) {
                                all &= (logits.data[r * c + k] > 0) == (fs.get(r).labels()[k] > 0.5);
                            }
                            preds.add(all ? 1 : 0);
                            refs.add(1);
                            continue;
                        }
                        preds.add(argmax(logits.data, r * c, c));
                        refs.add((int) fs.get(r).labels()[0]);
                    }
                }
                case TOKEN_CLASSIFICATION -> {
                    for (int r = 0; r < fs.size(); r++) {
                        List<String> p = new ArrayList<>();
                        List<String> g = new ArrayList<>();
                        double[] lab = fs.get(r).labels();
                        for (int s = 0; s < lab.length; s++) {
                            if (lab[s] != -100) {
                                p.add(labels.get(argmax(logits.data, (r * seq + s) * c, c)));
                                g.add(labels.get((int) lab[s]));
                            }
                        }
                        predTags.add(p);
                        refTags.add(g);
                    }
                }
                case FILL_MASK -> {
                    double[] lab = batch.labels();
                    for (int i = 0; i < lab.length; i++) {
                        if (lab[i] != -100) {
                            masked++;
                            maskedRight += argmax(logits.data, i * c, c) == (int) lab[i] ? 1 : 0;
                        }
                    }
                }
                case QUESTION_ANSWERING -> {
                    for (int r = 0; r < fs.size(); r++) {
                        qaBest(fs.get(r), data, logits.data, r * seq, o, best, bestText);
                    }
                }
            }
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("loss", lossRows == 0 ? Double.NaN : lossSum / lossRows);
        switch (data.task) {
            case TEXT_CLASSIFICATION, MULTIPLE_CHOICE -> {
                if (!regression) {
                    int[] p = preds.stream().mapToInt(Integer::intValue).toArray();
                    int[] r = refs.stream().mapToInt(Integer::intValue).toArray();
                    m.put("accuracy", Metrics.accuracy(p, r));
                    if (!multi && data.task == Task.TEXT_CLASSIFICATION) {
                        m.put("f1", Metrics.macroF1(p, r));
                    }
                }
            }
            case TOKEN_CLASSIFICATION -> m.putAll(Metrics.seqeval(predTags, refTags));
            case FILL_MASK -> {
                m.put("perplexity", Math.exp(m.get("loss")));
                m.put("accuracy", masked == 0 ? 0 : (double) maskedRight / masked);
            }
            case QUESTION_ANSWERING -> {
                List<String> predictions = new ArrayList<>();
                List<List<String>> golds = new ArrayList<>();
                for (int e = 0; e < data.qaExamples.size(); e++) {
                    double[] s = best.get(e);
                    // SQuAD v2: the empty answer wins when its score beats the best span's
                    boolean v2 = data.qaExamples.stream().anyMatch(x -> x.answers().isEmpty());
                    String text = s == null || (v2 && s[1] > s[0]) ? "" : bestText.get(e);
                    predictions.add(text);
                    golds.add(data.qaExamples.get(e).answers());
                }
                m.putAll(Metrics.squad(predictions, golds));
            }
        }
        return m;
    }

    /** postprocess_qa_predictions for one window: the best valid span (n_best 20, max answer length). */
    private static void qaBest(TaskData.Feature f, TaskData data, double[] logits, int row, TrainOptions o,
                               Map<Integer, double[]> best, Map<Integer, String> bestText) {
        int n = f.ids()[0].length;
        Integer[] byStart = new Integer[n];
        Integer[] byEnd = new Integer[n];
        for (int i = 0; i < n; i++) {
            byStart[i] = i;
            byEnd[i] = i;
        }
        java.util.Arrays.sort(byStart, Comparator.comparingDouble(i -> -logits[(row + i) * 2]));
        java.util.Arrays.sort(byEnd, Comparator.comparingDouble(i -> -logits[(row + i) * 2 + 1]));
        double nullScore = logits[row * 2] + logits[row * 2 + 1];
        double[] cur = best.computeIfAbsent(f.example(), k -> new double[] {Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY});
        cur[1] = Math.min(cur[1], nullScore); // the minimum null score over windows, as the script keeps
        String context = data.qaExamples.get(f.example()).context();
        for (int a = 0; a < Math.min(20, n); a++) {
            for (int b = 0; b < Math.min(20, n); b++) {
                int s = byStart[a];
                int e = byEnd[b];
                if (f.ctxStart()[s] < 0 || f.ctxStart()[e] < 0 || e < s || e - s + 1 > o.maxAnswerLength) {
                    continue;
                }
                double score = logits[(row + s) * 2] + logits[(row + e) * 2 + 1];
                if (score > cur[0]) {
                    cur[0] = score;
                    bestText.put(f.example(), context.substring(f.ctxStart()[s], f.ctxEnd()[e]));
                }
            }
        }
    }

    private static int argmax(double[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[off + i] > a[off + best]) {
                best = i;
            }
        }
        return best;
    }

    private ObjectNode stateJson(State st) {
        ObjectNode s = JSON.createObjectNode();
        s.put("global_step", st.step);
        s.put("best_step", st.bestStep);
        s.put("evals_without_improvement", st.badEvals);
        if (st.bestMetrics != null) {
            ObjectNode bm = s.putObject("best_metrics");
            st.bestMetrics.forEach(bm::put);
        }
        s.put("seed", o.seed);
        s.set("log_history", JSON.valueToTree(st.log));
        return s;
    }

    /**
     * Writes a checkpoint: the Hugging Face folder, the master weights and AdamW moments (F32 on the
     * fp32 path, F64 on the float64 one), and the trainer state, into a temporary folder renamed into
     * place (an older one of the same name is replaced only once the new one is complete).
     */
    private void saveCheckpoint(Path dir, HfFolder folder, Learner opt, State st) {
        Path tmp = dir.resolveSibling("." + dir.getFileName() + ".tmp");
        Path old = dir.resolveSibling("." + dir.getFileName() + ".old");
        try {
            deleteTree(tmp);
            folder.save(tmp);
            if (opt.float64()) {
                Safetensors.writeF64(tmp.resolve(OPTIMIZER_FILE), opt.state());
            } else {
                Safetensors.writeF32(tmp.resolve(OPTIMIZER_FILE), opt.state());
            }
            ObjectNode s = stateJson(st);
            s.put("optimizer_steps", opt.steps());
            Files.writeString(tmp.resolve(STATE_FILE), JSON.writeValueAsString(s) + "\n");
            deleteTree(old);
            if (Files.exists(dir)) {
                Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(old);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write the checkpoint: " + e.getMessage(), e);
        }
    }

    private void loadState(Path dir, Learner opt, State st) throws IOException {
        Path stateFile = dir.resolve(STATE_FILE);
        if (!Files.isRegularFile(stateFile) || !Files.isRegularFile(dir.resolve(OPTIMIZER_FILE))) {
            throw new IllegalArgumentException(dir + ": not a checkpoint of this trainer (no " + STATE_FILE + " and "
                    + OPTIMIZER_FILE + ")");
        }
        opt.load(Safetensors.read(dir.resolve(OPTIMIZER_FILE)), true, dir);
        JsonNode s = JSON.readTree(Files.readString(stateFile));
        st.step = s.path("global_step").asInt();
        opt.setSteps(s.path("optimizer_steps").asInt(st.step));
        st.bestStep = s.path("best_step").asInt(-1);
        st.badEvals = s.path("evals_without_improvement").asInt();
        if (s.has("best_metrics")) {
            st.bestMetrics = new LinkedHashMap<>();
            for (var e : s.get("best_metrics").properties()) {
                st.bestMetrics.put(e.getKey(), e.getValue().asDouble());
            }
        }
        for (JsonNode e : (ArrayNode) s.path("log_history")) {
            st.log.add(JSON.convertValue(e, Map.class));
        }
    }

    /** Copies a checkpoint's master weights into the model. */
    private static void loadWeights(Path dir, Learner model) throws IOException {
        model.load(Safetensors.read(dir.resolve(OPTIMIZER_FILE)), false, dir);
    }

    private static Path latestCheckpoint(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+") && Files.isDirectory(p))
                    .max(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().substring(11))))
                    .orElse(null);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }

    /** Turns features into padded batches; for fill-mask also masks them (DataCollatorForLanguageModeling). */
    public static final class Collator {
        private final Task task;
        private final int pad;
        private final int mask;
        private final int vocab;
        private final double mlmProbability;
        private final java.util.Set<Integer> special;

        Collator(Task task, XlmRobertaTokenizer tok, int vocab, double mlmProbability) {
            this.task = task;
            this.pad = tok.padId();
            this.mask = tok.tokenToId("<mask>");
            this.vocab = vocab;
            this.mlmProbability = mlmProbability;
            this.special = java.util.Set.of(tok.tokenToId("<s>"), tok.tokenToId("</s>"), pad);
        }

        TrainBatch collate(List<TaskData.Feature> fs, SplittableRandom rng) {
            int seq = 0;
            int rows = 0;
            for (TaskData.Feature f : fs) {
                for (int[] r : f.ids()) {
                    seq = Math.max(seq, r.length);
                    rows++;
                }
            }
            int[][] ids = new int[rows][seq];
            int[][] att = new int[rows][seq];
            int r = 0;
            for (TaskData.Feature f : fs) {
                for (int[] row : f.ids()) {
                    java.util.Arrays.fill(ids[r], pad);
                    System.arraycopy(row, 0, ids[r], 0, row.length);
                    java.util.Arrays.fill(att[r], 0, row.length, 1);
                    r++;
                }
            }
            return switch (task) {
                case TEXT_CLASSIFICATION, MULTIPLE_CHOICE -> {
                    int per = fs.get(0).labels().length;
                    double[] lab = new double[fs.size() * per];
                    for (int i = 0; i < fs.size(); i++) {
                        System.arraycopy(fs.get(i).labels(), 0, lab, i * per, per);
                    }
                    // integral labels pick cross-entropy; the trainer passes problem_type explicitly anyway
                    yield new TrainBatch(ids, att, null, task == Task.MULTIPLE_CHOICE ? fs.get(0).ids().length : 0, lab,
                            true, null, null);
                }
                case TOKEN_CLASSIFICATION -> {
                    double[] lab = new double[rows * seq];
                    java.util.Arrays.fill(lab, -100);
                    for (int i = 0; i < fs.size(); i++) {
                        System.arraycopy(fs.get(i).labels(), 0, lab, i * seq, fs.get(i).labels().length);
                    }
                    yield new TrainBatch(ids, att, null, 0, lab, true, null, null);
                }
                case QUESTION_ANSWERING -> {
                    int[] s = new int[rows];
                    int[] e = new int[rows];
                    for (int i = 0; i < rows; i++) {
                        s[i] = fs.get(i).start();
                        e[i] = fs.get(i).end();
                    }
                    yield new TrainBatch(ids, att, null, 0, null, true, s, e);
                }
                case FILL_MASK -> {
                    double[] lab = new double[rows * seq];
                    java.util.Arrays.fill(lab, -100);
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < seq; j++) {
                            int id = ids[i][j];
                            if (special.contains(id) || rng.nextDouble() >= mlmProbability) {
                                continue;
                            }
                            lab[i * seq + j] = id;
                            double u = rng.nextDouble();
                            if (u < 0.8) {
                                ids[i][j] = mask; // 80%: <mask>
                            } else if (u < 0.9) {
                                ids[i][j] = rng.nextInt(vocab); // 10%: a random token; the last 10% unchanged
                            }
                        }
                    }
                    yield new TrainBatch(ids, att, null, 0, lab, true, null, null);
                }
            };
        }
    }
}
