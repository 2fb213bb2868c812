package dev.xlmr.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A replay spec, {@code train.json} of the reference runs (fixtures/README.md, {@code training/}):
 * the batches, AdamW's settings, the schedule, the clipping norm, which batch each step uses, and
 * the parameter names to report.
 *
 * <pre>{@code
 * TrainSpec spec = TrainSpec.load(Path.of("case/train.json"));
 * int steps = spec.steps().size();
 * }</pre>
 *
 * @param problemType the sequence-classification loss, or null
 * @param steps per step: the batch index ({@code "batch": i}, or {@code "batches": [i, j, ..]} to accumulate
 *     gradients over several) and, when the spec gives them, the reference lr, loss and grad_norm (NaN if absent)
 */
public record TrainSpec(String head, String problemType, List<TrainBatch> batches, double lr, double beta1,
                        double beta2, double eps, double weightDecay, List<String> noDecay, String schedule,
                        int warmupSteps, int totalSteps, double maxGradNorm, List<Step> steps,
                        List<String> parameters) {

    /** One optimizer step: which batches (several with gradient accumulation) and the reference numbers. */
    public record Step(int[] batches, double lr, double loss, double gradNorm) {}

    public static TrainSpec load(Path file) {
        String where = file.toString();
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(where + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(where + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(where + ": not a JSON object");
        }
        List<TrainBatch> batches = new ArrayList<>();
        JsonNode bs = need(root, "batches", where);
        for (int i = 0; i < bs.size(); i++) {
            batches.add(batch(bs.get(i), where + ": batches[" + i + "]"));
        }
        JsonNode opt = need(root, "optimizer", where);
        String name = opt.path("name").asText("adamw");
        if (!name.equals("adamw")) {
            throw new IllegalArgumentException(where + ": optimizer '" + name + "' is not supported (adamw)");
        }
        JsonNode betas = opt.path("betas");
        List<String> noDecay = new ArrayList<>();
        if (opt.has("no_decay")) {
            opt.get("no_decay").forEach(n -> noDecay.add(n.asText()));
        } else {
            noDecay.addAll(List.of("bias", "LayerNorm.weight"));
        }
        JsonNode sched = root.path("schedule");
        List<Step> steps = new ArrayList<>();
        JsonNode ss = need(root, "steps", where);
        for (int i = 0; i < ss.size(); i++) {
            JsonNode s = ss.get(i);
            JsonNode b = s.get("batch") != null ? s.get("batch") : s.get("batches");
            int[] idx;
            if (b == null) {
                throw new IllegalArgumentException(where + ": steps[" + i + "] names no batch");
            } else if (b.isArray()) {
                idx = new int[b.size()];
                for (int j = 0; j < idx.length; j++) {
                    idx[j] = b.get(j).asInt();
                }
            } else {
                idx = new int[] {b.asInt()};
            }
            for (int k : idx) {
                if (k < 0 || k >= batches.size()) {
                    throw new IllegalArgumentException(where + ": steps[" + i + "] uses batch " + k + " of " + batches.size());
                }
            }
            steps.add(new Step(idx, s.path("lr").asDouble(Double.NaN), s.path("loss").asDouble(Double.NaN),
                    s.path("grad_norm").asDouble(Double.NaN)));
        }
        List<String> params = new ArrayList<>();
        root.path("parameters").forEach(n -> params.add(n.asText()));
        JsonNode pt = root.get("problem_type");
        return new TrainSpec(root.path("head").asText(""), pt == null || pt.isNull() ? null : pt.asText(), batches,
                need(opt, "lr", where).asDouble(), betas.path(0).asDouble(0.9), betas.path(1).asDouble(0.999),
                opt.path("eps").asDouble(1e-8), opt.path("weight_decay").asDouble(0), noDecay,
                sched.path("name").asText("linear"), sched.path("warmup_steps").asInt(0),
                sched.path("total_steps").asInt(steps.size()), root.path("max_grad_norm").asDouble(Double.POSITIVE_INFINITY),
                steps, params);
    }

    /** The schedule the spec names. */
    public Schedule scheduleFunction() {
        return switch (schedule) {
            case "linear" -> Schedule.linear(warmupSteps, totalSteps);
            case "constant" -> Schedule.constant(warmupSteps);
            case "cosine" -> Schedule.cosine(warmupSteps, totalSteps);
            default -> throw new IllegalArgumentException("schedule '" + schedule + "' is not supported (linear, constant, cosine)");
        };
    }

    private static JsonNode need(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException(where + ": missing '" + field + "'");
        }
        return v;
    }

    private static TrainBatch batch(JsonNode b, String where) {
        JsonNode ids = need(b, "input_ids", where);
        boolean choices = ids.size() > 0 && ids.get(0).size() > 0 && ids.get(0).get(0).isArray();
        int nChoices = choices ? ids.get(0).size() : 0;
        int[][] inputIds = ints(ids, choices, where + ".input_ids");
        int[][] mask = b.has("attention_mask") ? ints(b.get("attention_mask"), choices, where + ".attention_mask") : null;
        int[][] types = b.has("token_type_ids") ? ints(b.get("token_type_ids"), choices, where + ".token_type_ids") : null;
        sameShape(inputIds, inputIds, where + ".input_ids");
        sameShape(inputIds, mask, where + ".attention_mask");
        sameShape(inputIds, types, where + ".token_type_ids");
        double[] labels = null;
        boolean integral = true;
        if (b.has("labels")) {
            List<Double> flat = new ArrayList<>();
            integral = flatten(b.get("labels"), flat);
            labels = flat.stream().mapToDouble(Double::doubleValue).toArray();
        }
        int[] start = b.has("start_positions") ? ints1(b.get("start_positions")) : null;
        int[] end = b.has("end_positions") ? ints1(b.get("end_positions")) : null;
        return new TrainBatch(inputIds, mask, types, nChoices, labels, integral, start, end);
    }

    /** Every row of {@code a} as long as the first row of {@code ref}, and as many rows (null passes). */
    private static void sameShape(int[][] ref, int[][] a, String where) {
        if (a == null) {
            return;
        }
        if (a.length != ref.length) {
            throw new IllegalArgumentException(where + " has " + a.length + " rows, input_ids has " + ref.length);
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i].length != ref[0].length) {
                throw new IllegalArgumentException(where + " row " + i + " has " + a[i].length
                        + " tokens, expected " + ref[0].length + " (pad every row to the same length)");
            }
        }
    }

    private static boolean flatten(JsonNode n, List<Double> out) {
        if (n.isArray()) {
            boolean integral = true;
            for (JsonNode c : n) {
                integral &= flatten(c, out);
            }
            return integral;
        }
        out.add(n.asDouble());
        return n.isIntegralNumber();
    }

    private static int[] ints1(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    /** [rows][seq], or [batch][choices][seq] flattened to [batch * choices][seq]. */
    private static int[][] ints(JsonNode a, boolean choices, String where) {
        List<int[]> rows = new ArrayList<>();
        for (JsonNode r : a) {
            if (choices) {
                for (JsonNode c : r) {
                    rows.add(ints1(c));
                }
            } else {
                rows.add(ints1(r));
            }
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(where + " is empty");
        }
        return rows.toArray(int[][]::new);
    }
}
