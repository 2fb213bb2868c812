package dev.xlmr.train;

import dev.xlmr.model.Ops;

/**
 * The differentiable ops of XLM-R, each a forward computation that records its backward function
 * on the {@link Tape} (PyTorch autograd's per-op design). Plain float64 Java: this is the reference
 * that faster kernels are compared with, and what the finite-difference tests check.
 *
 * <pre>{@code
 * Tape t = new Tape();
 * Var h = Fn.layerNorm(t, Fn.add(t, x, Fn.linear(t, x, w, b)), gamma, beta, 1e-12);
 * }</pre>
 *
 * Matrices are row-major with the feature dimension last; {@code [.., n]} means any leading shape.
 */
public final class Fn {
    private Fn() {}

    private static int[] withLast(int[] shape, int last) {
        int[] s = shape.clone();
        s[s.length - 1] = last;
        return s;
    }

    /** {@code y = x W^T + b} as torch.nn.Linear: x [.., in], W [out, in], b [out] or null. */
    public static Var linear(Tape t, Var x, Var w, Var b) {
        int in = w.dim(1);
        int out = w.dim(0);
        if (x.dim(-1) != in) {
            throw new IllegalArgumentException("linear: input " + x + " does not match weight " + w);
        }
        int n = x.rows();
        Var y = new Var(withLast(x.shape(), out));
        double[] xd = x.data;
        double[] wd = w.data;
        for (int r = 0; r < n; r++) {
            int xo = r * in;
            for (int o = 0; o < out; o++) {
                int wo = o * in;
                double s = b == null ? 0 : b.data[o];
                for (int i = 0; i < in; i++) {
                    s += xd[xo + i] * wd[wo + i];
                }
                y.data[r * out + o] = s;
            }
        }
        t.record(() -> {
            double[] dy = y.grad;
            for (int r = 0; r < n; r++) {
                int xo = r * in;
                for (int o = 0; o < out; o++) {
                    double g = dy[r * out + o];
                    if (g == 0) {
                        continue;
                    }
                    int wo = o * in;
                    for (int i = 0; i < in; i++) {
                        x.grad[xo + i] += g * wd[wo + i];
                        w.grad[wo + i] += g * xd[xo + i];
                    }
                    if (b != null) {
                        b.grad[o] += g;
                    }
                }
            }
        });
        return y;
    }

    /**
     * Rows of {@code w} [vocab, h] picked by {@code ids}: [ids.length, h]. As torch.nn.Embedding with
     * padding_idx, the row {@code paddingIdx} gets no gradient (-1: none).
     */
    public static Var embedding(Tape t, Var w, int[] ids, int paddingIdx) {
        int h = w.dim(1);
        int vocab = w.dim(0);
        Var y = new Var(ids.length, h);
        for (int r = 0; r < ids.length; r++) {
            if (ids[r] < 0 || ids[r] >= vocab) {
                throw new IllegalArgumentException("embedding: id " + ids[r] + " is outside [0, " + vocab + ")");
            }
            System.arraycopy(w.data, ids[r] * h, y.data, r * h, h);
        }
        t.record(() -> {
            for (int r = 0; r < ids.length; r++) {
                if (ids[r] == paddingIdx) {
                    continue;
                }
                int wo = ids[r] * h;
                for (int i = 0; i < h; i++) {
                    w.grad[wo + i] += y.grad[r * h + i];
                }
            }
        });
        return y;
    }

    /** Element-wise {@code a + b} of equal shapes. */
    public static Var add(Tape t, Var a, Var b) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException("add: " + a + " and " + b + " differ");
        }
        Var y = new Var(a.shape());
        for (int i = 0; i < y.size(); i++) {
            y.data[i] = a.data[i] + b.data[i];
        }
        t.record(() -> {
            for (int i = 0; i < y.size(); i++) {
                a.grad[i] += y.grad[i];
                b.grad[i] += y.grad[i];
            }
        });
        return y;
    }

    /** {@code c * a}. */
    public static Var scale(Tape t, Var a, double c) {
        Var y = new Var(a.shape());
        for (int i = 0; i < y.size(); i++) {
            y.data[i] = c * a.data[i];
        }
        t.record(() -> {
            for (int i = 0; i < y.size(); i++) {
                a.grad[i] += c * y.grad[i];
            }
        });
        return y;
    }

    /** The sum of all elements: [1]. */
    public static Var sum(Tape t, Var a) {
        Var y = new Var(1);
        double s = 0;
        for (double v : a.data) {
            s += v;
        }
        y.data[0] = s;
        t.record(() -> {
            for (int i = 0; i < a.size(); i++) {
                a.grad[i] += y.grad[0];
            }
        });
        return y;
    }

    /** torch.nn.LayerNorm over the last dimension (biased variance), weight {@code g} and bias {@code b}. */
    public static Var layerNorm(Tape t, Var x, Var g, Var b, double eps) {
        int h = x.dim(-1);
        int n = x.rows();
        Var y = new Var(x.shape());
        double[] xhat = new double[x.size()];
        double[] rstd = new double[n];
        for (int r = 0; r < n; r++) {
            int o = r * h;
            double mean = 0;
            for (int i = 0; i < h; i++) {
                mean += x.data[o + i];
            }
            mean /= h;
            double var = 0;
            for (int i = 0; i < h; i++) {
                double d = x.data[o + i] - mean;
                var += d * d;
            }
            var /= h;
            rstd[r] = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < h; i++) {
                xhat[o + i] = (x.data[o + i] - mean) * rstd[r];
                y.data[o + i] = xhat[o + i] * g.data[i] + b.data[i];
            }
        }
        t.record(() -> {
            for (int r = 0; r < n; r++) {
                int o = r * h;
                // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
                double m1 = 0;
                double m2 = 0;
                for (int i = 0; i < h; i++) {
                    double dy = y.grad[o + i];
                    double dxhat = dy * g.data[i];
                    m1 += dxhat;
                    m2 += dxhat * xhat[o + i];
                    g.grad[i] += dy * xhat[o + i];
                    b.grad[i] += dy;
                }
                m1 /= h;
                m2 /= h;
                for (int i = 0; i < h; i++) {
                    double dxhat = y.grad[o + i] * g.data[i];
                    x.grad[o + i] += rstd[r] * (dxhat - m1 - xhat[o + i] * m2);
                }
            }
        });
        return y;
    }

    /** Exact GELU, {@code x/2 (1 + erf(x / sqrt 2))} (transformers' "gelu"). */
    public static Var gelu(Tape t, Var x) {
        Var y = new Var(x.shape());
        for (int i = 0; i < y.size(); i++) {
            y.data[i] = Ops.gelu(x.data[i]);
        }
        t.record(() -> {
            double invSqrt2Pi = 1 / Math.sqrt(2 * Math.PI);
            for (int i = 0; i < y.size(); i++) {
                double v = x.data[i];
                double cdf = 0.5 * (1 + Ops.erf(v / Math.sqrt(2)));
                x.grad[i] += y.grad[i] * (cdf + v * Math.exp(-0.5 * v * v) * invSqrt2Pi);
            }
        });
        return y;
    }

    /**
     * Element-wise {@code x * mask} with a precomputed dropout mask ({@link Dropout#mask}: 0 or
     * 1/(1-p)); a null mask is the identity.
     */
    public static Var dropout(Tape t, Var x, double[] mask) {
        if (mask == null) {
            return x;
        }
        if (mask.length != x.size()) {
            throw new IllegalArgumentException("dropout: mask of " + mask.length + " for " + x);
        }
        Var y = new Var(x.shape());
        for (int i = 0; i < y.size(); i++) {
            y.data[i] = x.data[i] * mask[i];
        }
        t.record(() -> {
            for (int i = 0; i < y.size(); i++) {
                x.grad[i] += y.grad[i] * mask[i];
            }
        });
        return y;
    }

    /** Element-wise tanh. */
    public static Var tanh(Tape t, Var x) {
        Var y = new Var(x.shape());
        for (int i = 0; i < y.size(); i++) {
            y.data[i] = Math.tanh(x.data[i]);
        }
        t.record(() -> {
            for (int i = 0; i < y.size(); i++) {
                x.grad[i] += y.grad[i] * (1 - y.data[i] * y.data[i]);
            }
        });
        return y;
    }

    /**
     * Multi-head scaled dot-product attention as transformers' XLMRobertaSelfAttention after the
     * projections: q, k, v [batch * seq, hidden] with head {@code h} in columns {@code h*d .. h*d+d};
     * key {@code j} of sequence {@code b} is attended to when {@code mask[b][j] != 0} (null: all) and,
     * when {@code causal}, {@code j <= i}. A query with no allowed key attends to all keys equally,
     * as adding the fp32 minimum to every score does in transformers.
     */
    public static Var attention(Tape t, Var q, Var k, Var v, int batch, int seq, int heads, int[][] mask,
                                boolean causal) {
        return attention(t, q, k, v, batch, seq, heads, mask, causal, null);
    }

    /**
     * As above, with dropout on the attention probabilities: {@code probMask} [batch, heads, seq, seq]
     * multiplies each probability after the softmax (null: none), as transformers' attention dropout.
     */
    public static Var attention(Tape t, Var q, Var k, Var v, int batch, int seq, int heads, int[][] mask,
                                boolean causal, double[] probMask) {
        int hidden = q.dim(-1);
        int d = hidden / heads;
        if (q.rows() != batch * seq || k.size() != q.size() || v.size() != q.size() || d * heads != hidden) {
            throw new IllegalArgumentException("attention: q " + q + ", k " + k + ", v " + v + " do not fit "
                    + batch + " x " + seq + " with " + heads + " heads");
        }
        if (probMask != null && probMask.length != batch * heads * seq * seq) {
            throw new IllegalArgumentException("attention: dropout mask of " + probMask.length + " for "
                    + batch + " x " + heads + " x " + seq + " x " + seq);
        }
        double scale = 1 / Math.sqrt(d);
        double[] probs = new double[batch * heads * seq * seq];
        Var y = new Var(q.shape());
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < seq; i++) {
                    int po = ((b * heads + h) * seq + i) * seq;
                    int qo = (b * seq + i) * hidden + h * d;
                    double max = Double.NEGATIVE_INFINITY;
                    boolean any = false;
                    for (int j = 0; j < seq; j++) {
                        if (allowed(mask, b, i, j, causal)) {
                            int ko = (b * seq + j) * hidden + h * d;
                            double s = 0;
                            for (int c = 0; c < d; c++) {
                                s += q.data[qo + c] * k.data[ko + c];
                            }
                            s *= scale;
                            probs[po + j] = s;
                            max = Math.max(max, s);
                            any = true;
                        }
                    }
                    double z = 0;
                    for (int j = 0; j < seq; j++) {
                        double p = !any ? 1 : allowed(mask, b, i, j, causal) ? Math.exp(probs[po + j] - max) : 0;
                        probs[po + j] = p;
                        z += p;
                    }
                    for (int j = 0; j < seq; j++) {
                        double p = probs[po + j] / z;
                        probs[po + j] = p;
                        p *= probMask == null ? 1 : probMask[po + j];
                        if (p != 0) {
                            int vo = (b * seq + j) * hidden + h * d;
                            for (int c = 0; c < d; c++) {
                                y.data[qo + c] += p * v.data[vo + c];
                            }
                        }
                    }
                }
            }
        }
        t.record(() -> {
            double[] dp = new double[seq];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < seq; i++) {
                        int po = ((b * heads + h) * seq + i) * seq;
                        int qo = (b * seq + i) * hidden + h * d;
                        boolean any = false;
                        double dot = 0;
                        for (int j = 0; j < seq; j++) {
                            any |= allowed(mask, b, i, j, causal);
                            double p = probs[po + j];
                            double m = probMask == null ? 1 : probMask[po + j];
                            int vo = (b * seq + j) * hidden + h * d;
                            double s = 0;
                            for (int c = 0; c < d; c++) {
                                s += y.grad[qo + c] * v.data[vo + c];
                                v.grad[vo + c] += p * m * y.grad[qo + c];
                            }
                            s *= m; // d loss / d (softmax output) passes through the dropout factor
                            dp[j] = s;
                            dot += p * s;
                        }
                        if (!any) {
                            continue; // the scores do not reach the output then
                        }
                        for (int j = 0; j < seq; j++) {
                            double p = probs[po + j];
                            if (p == 0) {
                                continue;
                            }
                            double ds = p * (dp[j] - dot) * scale; // softmax backward, then the 1/sqrt(d)
                            int ko = (b * seq + j) * hidden + h * d;
                            for (int c = 0; c < d; c++) {
                                q.grad[qo + c] += ds * k.data[ko + c];
                                k.grad[ko + c] += ds * q.data[qo + c];
                            }
                        }
                    }
                }
            }
        });
        return y;
    }

    private static boolean allowed(int[][] mask, int b, int i, int j, boolean causal) {
        return (mask == null || mask[b][j] != 0) && (!causal || j <= i);
    }

    /** Rows {@code idx} of a [n, c] matrix: [idx.length, c] (e.g. the first token of each sequence). */
    public static Var rows(Tape t, Var x, int[] idx) {
        int c = x.dim(-1);
        Var y = new Var(idx.length, c);
        for (int r = 0; r < idx.length; r++) {
            System.arraycopy(x.data, idx[r] * c, y.data, r * c, c);
        }
        t.record(() -> {
            for (int r = 0; r < idx.length; r++) {
                for (int i = 0; i < c; i++) {
                    x.grad[idx[r] * c + i] += y.grad[r * c + i];
                }
            }
        });
        return y;
    }

    /** Column {@code col} of a [n, c] matrix: [n]. */
    public static Var column(Tape t, Var x, int col) {
        int c = x.dim(-1);
        int n = x.rows();
        Var y = new Var(n);
        for (int r = 0; r < n; r++) {
            y.data[r] = x.data[r * c + col];
        }
        t.record(() -> {
            for (int r = 0; r < n; r++) {
                x.grad[r * c + col] += y.grad[r];
            }
        });
        return y;
    }

    /**
     * Mean cross-entropy of logits [n, c] against class indices, rows labelled {@code ignoreIndex}
     * left out (torch.nn.CrossEntropyLoss); NaN when every row is ignored, as in PyTorch.
     */
    public static Var crossEntropy(Tape t, Var logits, int[] labels, int ignoreIndex) {
        int c = logits.dim(-1);
        int n = logits.rows();
        if (labels.length != n) {
            throw new IllegalArgumentException("cross-entropy: " + labels.length + " labels for " + n + " rows");
        }
        double[] probs = new double[n * c];
        int count = 0;
        double total = 0;
        for (int r = 0; r < n; r++) {
            if (labels[r] == ignoreIndex) {
                continue;
            }
            if (labels[r] < 0 || labels[r] >= c) {
                throw new IllegalArgumentException("cross-entropy: label " + labels[r] + " is outside [0, " + c + ")");
            }
            count++;
            int o = r * c;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < c; i++) {
                max = Math.max(max, logits.data[o + i]);
            }
            double z = 0;
            for (int i = 0; i < c; i++) {
                probs[o + i] = Math.exp(logits.data[o + i] - max);
                z += probs[o + i];
            }
            for (int i = 0; i < c; i++) {
                probs[o + i] /= z;
            }
            total += Math.log(z) + max - logits.data[o + labels[r]];
        }
        Var y = new Var(1);
        int valid = count;
        y.data[0] = total / valid;
        t.record(() -> {
            double g = y.grad[0] / valid;
            for (int r = 0; r < n; r++) {
                if (labels[r] == ignoreIndex) {
                    continue;
                }
                int o = r * c;
                for (int i = 0; i < c; i++) {
                    logits.grad[o + i] += g * (probs[o + i] - (i == labels[r] ? 1 : 0));
                }
            }
        });
        return y;
    }

    /** Mean binary cross-entropy of logits against targets in [0, 1] (torch.nn.BCEWithLogitsLoss). */
    public static Var bceWithLogits(Tape t, Var logits, double[] targets) {
        int n = logits.size();
        if (targets.length != n) {
            throw new IllegalArgumentException("BCE: " + targets.length + " targets for " + n + " logits");
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            double x = logits.data[i];
            total += Math.max(x, 0) - x * targets[i] + Math.log1p(Math.exp(-Math.abs(x)));
        }
        Var y = new Var(1);
        y.data[0] = total / n;
        t.record(() -> {
            double g = y.grad[0] / n;
            for (int i = 0; i < n; i++) {
                double sig = 1 / (1 + Math.exp(-logits.data[i]));
                logits.grad[i] += g * (sig - targets[i]);
            }
        });
        return y;
    }

    /** Mean squared error (torch.nn.MSELoss). */
    public static Var mse(Tape t, Var pred, double[] targets) {
        int n = pred.size();
        if (targets.length != n) {
            throw new IllegalArgumentException("MSE: " + targets.length + " targets for " + n + " predictions");
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            double d = pred.data[i] - targets[i];
            total += d * d;
        }
        Var y = new Var(1);
        y.data[0] = total / n;
        t.record(() -> {
            double g = y.grad[0] * 2 / n;
            for (int i = 0; i < n; i++) {
                pred.grad[i] += g * (pred.data[i] - targets[i]);
            }
        });
        return y;
    }
}
