package dev.xlmr.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.xlmr.tokenizer.EncodeOptions;
import dev.xlmr.tokenizer.Encoding;
import dev.xlmr.tokenizer.XlmRobertaTokenizer;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * A task's data file read and tokenized into model inputs, as transformers' example scripts
 * prepare them (run_glue, run_ner, run_qa, run_mlm, run_swag):
 * <ul>
 * <li>text classification: JSON lines or CSV (with a header) with {@code text}, optional
 *     {@code text_pair} and {@code label} (a name, an integer, a number for regression, or a list of
 *     names for multi-label);</li>
 * <li>token classification: JSON lines {@code {"tokens": [..], "ner_tags": [..]}} or CoNLL-2003
 *     (one "word ... tag" per line, blank lines between sentences); the tag goes on the first piece
 *     of each word, the other pieces get -100;</li>
 * <li>question answering: SQuAD v1/v2 JSON ({@code {"data": [{"paragraphs": [..]}]}}) or JSON lines
 *     {@code {question, context, answers: {text: [..], answer_start: [..]}}}, cut into windows of
 *     {@code maxLength} tokens overlapping by {@code docStride}; a window without the answer points at
 *     {@code <s>};</li>
 * <li>fill-mask: text lines (masked per batch by {@link Trainer});</li>
 * <li>multiple choice: JSON lines {@code {"question" (or "context"), "choices": [..], "label": i}}.</li>
 * </ul>
 *
 * <pre>{@code
 * TaskData train = TaskData.load(Task.TEXT_CLASSIFICATION, Path.of("train.jsonl"), tokenizer, options, null, null);
 * List<String> labels = train.labels(); // sorted label names: id2label
 * }</pre>
 */
public final class TaskData {
    /**
     * One model input: token ids (one row, or one per choice), its labels and, for question
     * answering, where its context tokens lie in the example's context (UTF-16 offsets, -1 outside).
     */
    record Feature(int[][] ids, double[] labels, int start, int end, int example, int[] ctxStart, int[] ctxEnd) {}

    /** A question-answering example, for evaluation: its context and gold answers ("" for none). */
    record QaExample(String where, String context, List<String> answers) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    final Task task;
    final List<Feature> features;
    final List<QaExample> qaExamples;
    private final List<String> labels;
    private final String problemType;
    final Path file;

    private TaskData(Task task, Path file, List<Feature> features, List<QaExample> qa, List<String> labels,
                     String problemType) {
        this.task = task;
        this.file = file;
        this.features = features;
        this.qaExamples = qa;
        this.labels = labels;
        this.problemType = problemType;
    }

    /** The label names in id order (id2label); empty for QA and fill-mask, ["0"] for regression. */
    public List<String> labels() {
        return labels;
    }

    /** The sequence-classification loss the labels call for, or null for other tasks. */
    public String problemType() {
        return problemType;
    }

    /** The number of model inputs (QA: windows). */
    public int size() {
        return features.size();
    }

    /**
     * Reads and tokenizes a data file.
     *
     * @param knownLabels the label names in id order that the labels must come from (the training
     *     data's, for validation data), or null to collect them from this file
     * @param modelLabels the checkpoint's id2label when its head is the task's: the ids are kept when
     *     it names every label of the file (null: none)
     * @throws DataException for a missing, empty or malformed file, naming the file and line
     */
    public static TaskData load(Task task, Path file, XlmRobertaTokenizer tokenizer, TrainOptions options,
                                List<String> knownLabels, List<String> modelLabels) {
        List<String> lines = readLines(file);
        if (lines.stream().allMatch(String::isBlank)) {
            throw new DataException(file.toString(), "the file is empty");
        }
        Builder b = new Builder(task, file, tokenizer, options);
        return switch (task) {
            case TEXT_CLASSIFICATION -> b.textClassification(lines, knownLabels, modelLabels);
            case TOKEN_CLASSIFICATION -> b.tokenClassification(lines, knownLabels, modelLabels);
            case QUESTION_ANSWERING -> b.questionAnswering(lines);
            case FILL_MASK -> b.fillMask(lines);
            case MULTIPLE_CHOICE -> b.multipleChoice(lines);
        };
    }

    static List<String> readLines(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            if (text.startsWith("\uFEFF")) {
                text = text.substring(1);
            }
            return text.lines().toList();
        } catch (NoSuchFileException e) {
            throw new DataException(file.toString(), "no such file");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new DataException(file.toString(), "not UTF-8 text");
        } catch (IOException e) {
            throw new DataException(file.toString(), "cannot read: " + e.getMessage());
        }
    }

    /** A parsed row: where it came from and its JSON (CSV rows become objects of strings). */
    private record Row(String where, JsonNode node) {}

    private static final class Builder {
        final Task task;
        final Path file;
        final XlmRobertaTokenizer tok;
        final TrainOptions o;
        final int cls;
        final int sep;

        Builder(Task task, Path file, XlmRobertaTokenizer tok, TrainOptions o) {
            this.task = task;
            this.file = file;
            this.tok = tok;
            this.o = o;
            this.cls = tok.tokenToId("<s>");
            this.sep = tok.tokenToId("</s>");
        }

        String at(int line) {
            return file + ":" + line;
        }

        /** JSON lines, or CSV with a header when the file name ends in .csv. */
        List<Row> rows(List<String> lines) {
            List<Row> rows = new ArrayList<>();
            if (file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".csv")) {
                CSVFormat fmt = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).get();
                try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8); CSVParser p = CSVParser.parse(r, fmt)) {
                    List<String> header = p.getHeaderNames();
                    var it = p.iterator();
                    while (true) {
                        CSVRecord rec;
                        try {
                            if (!it.hasNext()) {
                                break;
                            }
                            rec = it.next();
                        } catch (java.io.UncheckedIOException | IllegalStateException e) {
                            throw new DataException(at((int) p.getCurrentLineNumber() + 1), "malformed CSV: "
                                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
                        }
                        int line = (int) p.getCurrentLineNumber();
                        if (!rec.isConsistent()) {
                            throw new DataException(at(line), "has " + rec.size() + " fields, the header has " + header.size());
                        }
                        var obj = JSON.createObjectNode();
                        for (String h : header) {
                            obj.put(h, rec.get(h));
                        }
                        rows.add(new Row(at(line), obj));
                    }
                } catch (IOException | IllegalArgumentException e) {
                    if (e instanceof DataException d) {
                        throw d;
                    }
                    throw new DataException(file.toString(), "malformed CSV: " + e.getMessage());
                }
                return rows;
            }
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new DataException(at(i + 1), "not valid JSON: " + e.getOriginalMessage());
                }
                if (n == null || !n.isObject()) {
                    throw new DataException(at(i + 1), "not a JSON object");
                }
                rows.add(new Row(at(i + 1), n));
            }
            return rows;
        }

        static String text(Row r, String field, boolean required) {
            JsonNode v = r.node.get(field);
            if (v == null || v.isNull() || (v.isTextual() && v.asText().isEmpty() && !required)) {
                if (required) {
                    throw new DataException(r.where, "missing \"" + field + "\"");
                }
                return null;
            }
            if (!v.isTextual()) {
                throw new DataException(r.where, "\"" + field + "\" is not a string");
            }
            if (required && v.asText().isBlank()) {
                throw new DataException(r.where, "\"" + field + "\" is empty");
            }
            return v.asText();
        }

        EncodeOptions truncating() {
            return EncodeOptions.defaults().maxLength(o.maxLength).truncation(EncodeOptions.Truncation.LONGEST_FIRST);
        }

        TaskData textClassification(List<String> lines, List<String> known, List<String> modelLabels) {
            List<Row> rows = rows(lines);
            String type = o.problemType;
            if (type == null) {
                boolean anyList = false;
                boolean allNumbers = true;
                boolean anyFraction = false;
                for (Row r : rows) {
                    JsonNode l = r.node.get("label");
                    if (l == null || l.isNull()) {
                        throw new DataException(r.where, "missing \"label\"");
                    }
                    anyList |= l.isArray();
                    allNumbers &= l.isNumber();
                    anyFraction |= l.isNumber() && !l.isIntegralNumber();
                }
                type = anyList ? "multi_label_classification" : allNumbers && anyFraction ? "regression"
                        : "single_label_classification";
            }
            List<String> labels;
            if (type.equals("regression")) {
                labels = List.of("LABEL_0");
            } else {
                Set<String> seen = new LinkedHashSet<>();
                for (Row r : rows) {
                    JsonNode l = r.node.get("label");
                    if (l == null || l.isNull()) {
                        throw new DataException(r.where, "missing \"label\"");
                    }
                    if (l.isArray()) {
                        l.forEach(x -> seen.add(x.asText()));
                    } else {
                        seen.add(l.asText());
                    }
                }
                labels = labelList(seen, known, modelLabels, rows);
            }
            Map<String, Integer> ids = index(labels);
            List<Feature> out = new ArrayList<>();
            for (Row r : rows) {
                String text = text(r, "text", true);
                String pair = text(r, "text_pair", false);
                JsonNode l = r.node.get("label");
                double[] lab;
                switch (type) {
                    case "regression" -> {
                        double v = l.isNumber() ? l.asDouble() : parseNumber(r, l.asText());
                        lab = new double[] {v};
                    }
                    case "multi_label_classification" -> {
                        lab = new double[labels.size()];
                        if (l.isArray()) {
                            for (JsonNode x : l) {
                                lab[id(ids, x.asText(), r)] = 1;
                            }
                        } else {
                            for (String x : l.asText().split("[,;|]")) {
                                if (!x.isBlank()) {
                                    lab[id(ids, x.strip(), r)] = 1;
                                }
                            }
                        }
                    }
                    case "single_label_classification" -> {
                        if (l.isArray()) {
                            throw new DataException(r.where, "a list label needs problem_type multi_label_classification");
                        }
                        lab = new double[] {id(ids, l.asText(), r)};
                    }
                    default -> throw new IllegalArgumentException("unknown problem_type '" + type
                            + "' (single_label_classification, multi_label_classification, regression)");
                }
                Encoding e = tok.encode(text, pair, truncating());
                out.add(new Feature(new int[][] {e.ids()}, lab, 0, 0, out.size(), null, null));
            }
            return new TaskData(task, file, out, List.of(), labels, type);
        }

        static double parseNumber(Row r, String s) {
            try {
                return Double.parseDouble(s.strip());
            } catch (NumberFormatException e) {
                throw new DataException(r.where, "label '" + s + "' is not a number (regression)");
            }
        }

        /** The label names in id order: the known ones, the model's when they cover the file, else sorted. */
        List<String> labelList(Set<String> seen, List<String> known, List<String> modelLabels, List<Row> rows) {
            if (known != null) {
                return known; // unknown names fail in id()
            }
            if (modelLabels != null && !modelLabels.isEmpty() && modelLabels.containsAll(seen)) {
                return modelLabels;
            }
            boolean numeric = seen.stream().allMatch(s -> s.matches("-?\\d{1,9}"));
            TreeSet<String> sorted = new TreeSet<>(numeric ? Comparator.comparingInt(Integer::parseInt)
                    : Comparator.naturalOrder());
            sorted.addAll(seen);
            if (sorted.size() < 2 && rows.size() > 0) {
                throw new DataException(file.toString(), "every row has the label '" + sorted.first()
                        + "': classification needs at least two labels");
            }
            return List.copyOf(sorted);
        }

        static Map<String, Integer> index(List<String> labels) {
            Map<String, Integer> m = new LinkedHashMap<>();
            for (int i = 0; i < labels.size(); i++) {
                m.put(labels.get(i), i);
            }
            return m;
        }

        static int id(Map<String, Integer> ids, String name, Row r) {
            Integer i = ids.get(name);
            if (i == null) {
                throw new DataException(r.where, "unknown label '" + name + "' (the labels are " + ids.keySet() + ")");
            }
            return i;
        }

        /** JSON lines, or CoNLL when the first non-blank line is not a JSON object. */
        TaskData tokenClassification(List<String> lines, List<String> known, List<String> modelLabels) {
            String first = lines.stream().filter(l -> !l.isBlank()).findFirst().orElse("").strip();
            List<Row> rows = first.startsWith("{") ? rows(lines) : conll(lines);
            List<List<String>> words = new ArrayList<>();
            List<List<String>> tags = new ArrayList<>();
            Set<String> seen = new LinkedHashSet<>();
            for (Row r : rows) {
                JsonNode ws = r.node.get("tokens");
                JsonNode ts = r.node.has("ner_tags") ? r.node.get("ner_tags") : r.node.get("tags");
                if (ws == null || !ws.isArray()) {
                    throw new DataException(r.where, "missing \"tokens\" (a list of words)");
                }
                if (ts == null || !ts.isArray()) {
                    throw new DataException(r.where, "missing \"ner_tags\" (a list of tags)");
                }
                if (ws.size() != ts.size()) {
                    throw new DataException(r.where, "tokens and ner_tags differ in length (" + ws.size() + " and "
                            + ts.size() + ")");
                }
                List<String> w = new ArrayList<>();
                List<String> t = new ArrayList<>();
                for (int i = 0; i < ws.size(); i++) {
                    w.add(ws.get(i).asText());
                    String tag = ts.get(i).asText();
                    if (ts.get(i).isIntegralNumber() && modelLabels != null && ts.get(i).asInt() >= 0
                            && ts.get(i).asInt() < modelLabels.size() && known == null) {
                        tag = modelLabels.get(ts.get(i).asInt()); // integer tags index the checkpoint's labels
                    }
                    t.add(tag);
                    seen.add(tag);
                }
                words.add(w);
                tags.add(t);
            }
            List<String> labels = labelList(seen, known, modelLabels, rows);
            Map<String, Integer> ids = index(labels);
            List<Feature> out = new ArrayList<>();
            for (int k = 0; k < rows.size(); k++) {
                List<Integer> ids2 = new ArrayList<>();
                List<Double> lab = new ArrayList<>();
                ids2.add(cls);
                lab.add(-100.0);
                for (int i = 0; i < words.get(k).size(); i++) {
                    int[] pieces = tok.encode(words.get(k).get(i), null, EncodeOptions.defaults().addSpecialTokens(false)).ids();
                    int label = id(ids, tags.get(k).get(i), rows.get(k));
                    for (int p = 0; p < pieces.length; p++) {
                        ids2.add(pieces[p]);
                        lab.add(p == 0 ? label : -100.0);
                    }
                }
                int keep = Math.min(ids2.size(), o.maxLength - 1);
                int[] idArr = new int[keep + 1];
                double[] labArr = new double[keep + 1];
                for (int i = 0; i < keep; i++) {
                    idArr[i] = ids2.get(i);
                    labArr[i] = lab.get(i);
                }
                idArr[keep] = sep;
                labArr[keep] = -100;
                out.add(new Feature(new int[][] {idArr}, labArr, 0, 0, k, null, null));
            }
            return new TaskData(task, file, out, List.of(), labels, null);
        }

        /** CoNLL-2003: "word POS chunk tag" (or "word tag") per line, sentences split by blank lines, -DOCSTART- skipped. */
        List<Row> conll(List<String> lines) {
            List<Row> rows = new ArrayList<>();
            var words = JSON.createArrayNode();
            var tags = JSON.createArrayNode();
            int startLine = 0;
            for (int i = 0; i <= lines.size(); i++) {
                String line = i < lines.size() ? lines.get(i).strip() : "";
                if (line.isEmpty() || line.startsWith("-DOCSTART-")) {
                    if (!words.isEmpty()) {
                        var obj = JSON.createObjectNode();
                        obj.set("tokens", words);
                        obj.set("ner_tags", tags);
                        rows.add(new Row(at(startLine), obj));
                        words = JSON.createArrayNode();
                        tags = JSON.createArrayNode();
                    }
                    continue;
                }
                String[] cols = line.split("\\s+");
                if (cols.length < 2) {
                    throw new DataException(at(i + 1), "a CoNLL line needs a word and a tag, got '" + cut(line) + "'");
                }
                if (words.isEmpty()) {
                    startLine = i + 1;
                }
                words.add(cols[0]);
                tags.add(cols[cols.length - 1]);
            }
            return rows;
        }

        TaskData questionAnswering(List<String> lines) {
            List<Row> rows = new ArrayList<>();
            String first = lines.stream().filter(l -> !l.isBlank()).findFirst().orElse("").strip();
            boolean squad = false;
            if (first.startsWith("{")) {
                try {
                    JsonNode root = JSON.readTree(String.join("\n", lines));
                    squad = root != null && root.has("data") && root.get("data").isArray();
                    if (squad) {
                        JsonNode data = root.get("data");
                        for (int a = 0; a < data.size(); a++) {
                            JsonNode ps = data.get(a).path("paragraphs");
                            for (int p = 0; p < ps.size(); p++) {
                                JsonNode par = ps.get(p);
                                JsonNode qas = par.path("qas");
                                for (int q = 0; q < qas.size(); q++) {
                                    JsonNode qa = qas.get(q);
                                    var obj = JSON.createObjectNode();
                                    obj.set("question", qa.get("question"));
                                    obj.set("context", par.get("context"));
                                    var texts = obj.putObject("answers").putArray("text");
                                    var starts = ((com.fasterxml.jackson.databind.node.ObjectNode) obj.get("answers"))
                                            .putArray("answer_start");
                                    for (JsonNode an : qa.path("answers")) {
                                        texts.add(an.path("text").asText());
                                        starts.add(an.path("answer_start").asInt(-1));
                                    }
                                    rows.add(new Row(file + ": data[" + a + "].paragraphs[" + p + "].qas[" + q + "]", obj));
                                }
                            }
                        }
                    }
                } catch (JsonProcessingException e) {
                    squad = false; // JSON lines, parsed line by line below
                }
            }
            if (!squad) {
                rows = rows(lines);
            }
            List<Feature> out = new ArrayList<>();
            List<QaExample> examples = new ArrayList<>();
            for (Row r : rows) {
                String question = text(r, "question", true).stripLeading(); // run_qa strips the question's left space
                String context = text(r, "context", true);
                JsonNode ans = r.node.path("answers");
                JsonNode texts = ans.path("text");
                JsonNode starts = ans.path("answer_start");
                if (texts.size() != starts.size()) {
                    throw new DataException(r.where, "answers.text and answers.answer_start differ in length");
                }
                List<String> golds = new ArrayList<>();
                int startChar = -1;
                int endChar = -1;
                for (int i = 0; i < texts.size(); i++) {
                    String t = texts.get(i).asText();
                    int cp = starts.get(i).asInt(-1);
                    int s;
                    try {
                        s = context.offsetByCodePoints(0, cp); // answer_start counts code points, as Python does
                    } catch (IndexOutOfBoundsException e) {
                        throw new DataException(r.where, "answer_start " + cp + " is outside the context");
                    }
                    if (t.isEmpty() || !context.startsWith(t, s)) {
                        throw new DataException(r.where, "answer '" + cut(t) + "' is not in the context at " + cp);
                    }
                    golds.add(t);
                    if (i == 0) {
                        startChar = s;
                        endChar = s + t.length();
                    }
                }
                int example = examples.size();
                examples.add(new QaExample(r.where, context, golds));
                Encoding e = tok.encode(question, context, EncodeOptions.defaults().maxLength(o.maxLength)
                        .truncation(EncodeOptions.Truncation.ONLY_SECOND).stride(o.docStride).returnOverflow(true));
                List<Encoding> windows = new ArrayList<>();
                windows.add(e);
                windows.addAll(e.overflowing());
                for (Encoding w : windows) {
                    int n = w.length();
                    int[] cs = new int[n];
                    int[] ce = new int[n];
                    int ts = -1;
                    int te = -1;
                    for (int i = 0; i < n; i++) {
                        boolean ctx = w.sequenceIds()[i] == 1;
                        cs[i] = ctx ? w.starts()[i] : -1;
                        ce[i] = ctx ? w.ends()[i] : -1;
                        if (ctx) {
                            ts = ts < 0 ? i : ts;
                            te = i;
                        }
                    }
                    int start = 0;
                    int end = 0;
                    // prepare_train_features: the window's first and last context tokens must cover the answer
                    if (startChar >= 0 && ts >= 0 && cs[ts] <= startChar && ce[te] >= endChar) {
                        while (ts < n && cs[ts] >= 0 && cs[ts] <= startChar) {
                            ts++;
                        }
                        start = ts - 1;
                        while (ce[te] >= endChar) {
                            te--;
                        }
                        end = te + 1;
                    }
                    out.add(new Feature(new int[][] {w.ids()}, null, start, end, example, cs, ce));
                }
            }
            return new TaskData(task, file, out, examples, List.of(), null);
        }

        TaskData fillMask(List<String> lines) {
            List<Feature> out = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.isBlank()) {
                    continue; // run_mlm --line_by_line drops empty lines
                }
                Encoding e = tok.encode(line, null, truncating());
                out.add(new Feature(new int[][] {e.ids()}, null, 0, 0, i + 1, null, null));
            }
            return new TaskData(task, file, out, List.of(), List.of(), null);
        }

        TaskData multipleChoice(List<String> lines) {
            List<Feature> out = new ArrayList<>();
            int choices = -1;
            for (Row r : rows(lines)) {
                String q = r.node.has("question") ? text(r, "question", true) : text(r, "context", true);
                JsonNode cs = r.node.get("choices") != null ? r.node.get("choices") : r.node.get("endings");
                if (cs == null || !cs.isArray() || cs.size() < 2) {
                    throw new DataException(r.where, "missing \"choices\" (a list of at least two strings)");
                }
                if (choices >= 0 && cs.size() != choices) {
                    throw new DataException(r.where, "has " + cs.size() + " choices, the rows before have " + choices);
                }
                choices = cs.size();
                JsonNode l = r.node.get("label");
                if (l == null || !l.isIntegralNumber() || l.asInt() < 0 || l.asInt() >= choices) {
                    throw new DataException(r.where, "\"label\" must be the index of the right choice (0 to "
                            + (choices - 1) + ")");
                }
                int[][] ids = new int[choices][];
                for (int c = 0; c < choices; c++) {
                    ids[c] = tok.encode(q, cs.get(c).asText(), truncating()).ids();
                }
                out.add(new Feature(ids, new double[] {l.asInt()}, 0, 0, out.size(), null, null));
            }
            return new TaskData(task, file, out, List.of(), List.of(), null);
        }
    }

    static String cut(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
