package dev.xlmr.train;

import dev.xlmr.engine.Kernels;
import dev.xlmr.engine.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The differentiable ops of the fp32 training path ({@link FastModel}) on {@link FVar}s: the same
 * functions as {@link Fn} (the float64 reference they are tested against), with the matrix
 * products on the engine's kernels, element-wise loops on the Vector API and split over the cores.
 * Each op records its backward on the {@link Tape}; backwards add into gradients.
 *
 * <pre>{@code
 * Tape t = new Tape();
 * FVar h = Fp32Ops.layerNorm(t, Fp32Ops.linear(t, x, w, b, kernels), res, gamma, beta, 1e-5f);
 * }</pre>
 */
final class Fp32Ops {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int GRAIN = 1 << 14;

    private Fp32Ops() {}

    /**
     * Records an op's backward; once it has run, the op's output gradient is consumed (every reader
     * of the output ran before it) and is dropped, so activation gradients do not pile up.
     */
    private static void record(Tape t, String op, FVar y, Runnable backward) {
        if (!OpProfile.ON) {
            t.record(() -> {
                backward.run();
                y.releaseGrad();
            });
            return;
        }
        OpProfile.forwardDone(op);
        t.record(() -> {
            long t0 = System.nanoTime();
            long c0 = OpProfile.cpu();
            backward.run();
            y.releaseGrad();
            OpProfile.add(op + " backward", System.nanoTime() - t0, OpProfile.cpu() - c0);
        });
    }

    /** {@code y = x W^T + b}: x [n, in], W [out, in], b [out] or null. */
    static FVar linear(Tape t, FVar x, FVar w, FVar b, Kernels k) {
        int in = w.cols();
        int out = w.rows();
        if (x.cols() != in) {
            throw new IllegalArgumentException("linear: input " + x + " does not match weight " + w);
        }
        int n = x.rows();
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        FVar y = new FVar(shape);
        if (n > 0) {
            long t0 = OpProfile.ON ? System.nanoTime() : 0;
            k.gemm(false, true, n, out, in, 1f, x.data, 0, in, w.data, 0, in, 0f, y.data, 0, out);
            if (OpProfile.ON) {
                OpProfile.add("linear forward gemm", System.nanoTime() - t0);
            }
            if (b != null) {
                Par.range(n, Math.max(1, GRAIN / out), (part, r0, r1) -> {
                    for (int r = r0; r < r1; r++) {
                        addInto(y.data, r * out, b.data, 0, out);
                    }
                });
            }
        }
        record(t, "linear", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy == null || n == 0) {
                return;
            }
            long t0 = OpProfile.ON ? System.nanoTime() : 0;
            k.gemm(false, false, n, in, out, 1f, dy, 0, out, w.data, 0, in, 1f, x.grad(), 0, in);
            long t1 = OpProfile.ON ? System.nanoTime() : 0;
            // dW += dy^T x: the kernels read dy transposed (oneDNN's sgemm natively, no copy)
            k.gemm(true, false, out, in, n, 1f, dy, 0, out, x.data, 0, in, 1f, w.grad(), 0, in);
            if (OpProfile.ON) {
                long t2 = System.nanoTime();
                OpProfile.add("linear backward dX", t1 - t0);
                OpProfile.add("linear backward dW", t2 - t1);
            }
            if (b != null) {
                columnSums(dy, n, out, b.grad());
            }
        });
        return y;
    }

    /** {@code acc[j] += sum_r a[r][j]}, rows split over the cores with per-part partial sums. */
    static void columnSums(float[] a, int n, int cols, float[] acc) {
        int parts = Par.parts(n, Math.max(1, GRAIN / cols));
        float[][] partial = new float[parts][cols];
        Par.range(n, Math.max(1, GRAIN / cols), (part, r0, r1) -> {
            float[] p = partial[part];
            for (int r = r0; r < r1; r++) {
                addInto(p, 0, a, r * cols, cols);
            }
        });
        for (float[] p : partial) {
            addInto(acc, 0, p, 0, cols);
        }
    }

    /** {@code a[ao..ao+n) += b[bo..bo+n)}. */
    static void addInto(float[] a, int ao, float[] b, int bo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) {
            FloatVector.fromArray(S, a, ao + j).add(FloatVector.fromArray(S, b, bo + j)).intoArray(a, ao + j);
        }
        for (; j < n; j++) {
            a[ao + j] += b[bo + j];
        }
    }

    /**
     * The summed embeddings of packed tokens: {@code word[ids] + type[types] + pos[positions]}, [n, h].
     * As torch.nn.Embedding with padding_idx, the row {@code pad} of the word and position tables gets no gradient.
     */
    static FVar embeddings(Tape t, FVar word, FVar type, FVar pos, int[] ids, int[] types, int[] positions, int pad) {
        int h = word.cols();
        int n = ids.length;
        FVar y = new FVar(n, h);
        for (int r = 0; r < n; r++) {
            if (ids[r] < 0 || ids[r] >= word.rows()) {
                throw new IllegalArgumentException("embedding: id " + ids[r] + " is outside [0, " + word.rows() + ")");
            }
            if (types[r] < 0 || types[r] >= type.rows()) {
                throw new IllegalArgumentException("embedding: token type " + types[r] + " is outside [0, " + type.rows() + ")");
            }
            System.arraycopy(word.data, ids[r] * h, y.data, r * h, h);
            addInto(y.data, r * h, type.data, types[r] * h, h);
            addInto(y.data, r * h, pos.data, positions[r] * h, h);
        }
        record(t, "embeddings", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy == null) {
                return;
            }
            float[] gw = word.grad();
            float[] gt = type.grad();
            float[] gp = pos.grad();
            for (int r = 0; r < n; r++) {
                if (ids[r] != pad) {
                    addInto(gw, ids[r] * h, dy, r * h, h);
                }
                addInto(gt, types[r] * h, dy, r * h, h);
                if (positions[r] != pad) {
                    addInto(gp, positions[r] * h, dy, r * h, h);
                }
            }
        });
        return y;
    }

    /** Element-wise {@code a + b}. */
    static FVar add(Tape t, FVar a, FVar b) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException("add: " + a + " and " + b + " differ");
        }
        FVar y = new FVar(a.shape(), a.data.clone());
        Par.range(y.size(), GRAIN, (part, from, to) -> addInto(y.data, from, b.data, from, to - from));
        record(t, "add", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy != null) {
                float[] da = a.grad();
                float[] db = b.grad();
                Par.range(dy.length, GRAIN, (part, from, to) -> {
                    addInto(da, from, dy, from, to - from);
                    addInto(db, from, dy, from, to - from);
                });
            }
        });
        return y;
    }

    /**
     * torch.nn.LayerNorm over the last dimension of {@code x + res} (res may be null): the residual add
     * of the post-LayerNorm layout fused in, its gradient going to both summands.
     */
    static FVar layerNorm(Tape t, FVar x, FVar res, FVar g, FVar b, float eps) {
        int h = x.cols();
        int n = x.rows();
        if (res != null && res.size() != x.size()) {
            throw new IllegalArgumentException("layerNorm: " + x + " and residual " + res + " differ");
        }
        FVar y = new FVar(x.shape());
        float[] xhat = new float[x.size()];
        float[] rstd = new float[n];
        Par.range(n, Math.max(1, GRAIN / h), (part, r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * h;
                // two passes (mean, then the squared deviations), fp32 lanes summed in lane order
                FloatVector acc = FloatVector.zero(S);
                int i = 0;
                for (; i <= h - L; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x.data, o + i);
                    if (res != null) {
                        v = v.add(FloatVector.fromArray(S, res.data, o + i));
                    }
                    v.intoArray(xhat, o + i);
                    acc = acc.add(v);
                }
                float sum = VectorMath.sum(acc);
                for (; i < h; i++) {
                    float v = x.data[o + i] + (res == null ? 0f : res.data[o + i]);
                    xhat[o + i] = v;
                    sum += v;
                }
                float m = sum / h;
                acc = FloatVector.zero(S);
                i = 0;
                for (; i <= h - L; i += L) {
                    FloatVector d = FloatVector.fromArray(S, xhat, o + i).sub(m);
                    acc = d.fma(d, acc);
                }
                float sq = VectorMath.sum(acc);
                for (; i < h; i++) {
                    float d = xhat[o + i] - m;
                    sq += d * d;
                }
                float rs = (float) (1 / Math.sqrt((double) sq / h + eps));
                rstd[r] = rs;
                i = 0;
                for (; i <= h - L; i += L) {
                    FloatVector xh = FloatVector.fromArray(S, xhat, o + i).sub(m).mul(rs);
                    xh.intoArray(xhat, o + i);
                    xh.fma(FloatVector.fromArray(S, g.data, i), FloatVector.fromArray(S, b.data, i)).intoArray(y.data, o + i);
                }
                for (; i < h; i++) {
                    float xh = (xhat[o + i] - m) * rs;
                    xhat[o + i] = xh;
                    y.data[o + i] = xh * g.data[i] + b.data[i];
                }
            }
        });
        record(t, "layerNorm", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy == null) {
                return;
            }
            float[] dx = x.grad();
            float[] dr = res == null ? null : res.grad();
            int parts = Par.parts(n, Math.max(1, GRAIN / h));
            float[][] gg = new float[parts][h];
            float[][] gb = new float[parts][h];
            Par.range(n, Math.max(1, GRAIN / h), (part, r0, r1) -> {
                float[] pg = gg[part];
                float[] pb = gb[part];
                for (int r = r0; r < r1; r++) {
                    int o = r * h;
                    // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
                    FloatVector s1 = FloatVector.zero(S);
                    FloatVector s2 = FloatVector.zero(S);
                    int i = 0;
                    for (; i <= h - L; i += L) {
                        FloatVector d = FloatVector.fromArray(S, dy, o + i);
                        FloatVector xh = FloatVector.fromArray(S, xhat, o + i);
                        FloatVector dxh = d.mul(FloatVector.fromArray(S, g.data, i));
                        s1 = s1.add(dxh);
                        s2 = dxh.fma(xh, s2);
                        d.fma(xh, FloatVector.fromArray(S, pg, i)).intoArray(pg, i);
                        d.add(FloatVector.fromArray(S, pb, i)).intoArray(pb, i);
                    }
                    float m1 = VectorMath.sum(s1);
                    float m2 = VectorMath.sum(s2);
                    for (; i < h; i++) {
                        float dxh = dy[o + i] * g.data[i];
                        m1 += dxh;
                        m2 += dxh * xhat[o + i];
                        pg[i] += dy[o + i] * xhat[o + i];
                        pb[i] += dy[o + i];
                    }
                    m1 /= h;
                    m2 /= h;
                    float rs = rstd[r];
                    for (int j = 0; j < h; j++) {
                        float v = rs * (dy[o + j] * g.data[j] - m1 - xhat[o + j] * m2);
                        dx[o + j] += v;
                        if (dr != null) {
                            dr[o + j] += v;
                        }
                    }
                }
            });
            for (int p = 0; p < parts; p++) {
                addInto(g.grad(), 0, gg[p], 0, h);
                addInto(b.grad(), 0, gb[p], 0, h);
            }
        });
        return y;
    }

    private static final float INV_SQRT_2PI = 0.39894228f;

    /** Exact GELU {@code x Phi(x)} (transformers' "gelu"); backward {@code Phi(x) + x phi(x)}. */
    static FVar gelu(Tape t, FVar x) {
        FVar y = new FVar(x.shape());
        int n = x.size();
        Par.range(n, GRAIN, (part, from, to) -> {
            int i = from;
            for (; i <= to - L; i += L) {
                FloatVector v = FloatVector.fromArray(S, x.data, i);
                v.mul(VectorMath.normalCdf(v)).intoArray(y.data, i); // the engine's GELU arithmetic
            }
            for (; i < to; i++) {
                y.data[i] = (float) dev.xlmr.model.Ops.gelu(x.data[i]);
            }
        });
        record(t, "gelu", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy == null) {
                return;
            }
            float[] dx = x.grad();
            Par.range(n, GRAIN, (part, from, to) -> {
                int i = from;
                for (; i <= to - L; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x.data, i);
                    FloatVector pdf = VectorMath.exp(v.mul(v).mul(-0.5f)).mul(INV_SQRT_2PI);
                    FloatVector d = v.fma(pdf, VectorMath.normalCdf(v));
                    FloatVector.fromArray(S, dy, i).fma(d, FloatVector.fromArray(S, dx, i)).intoArray(dx, i);
                }
                for (; i < to; i++) {
                    double v = x.data[i];
                    double c = 0.5 * (1 + dev.xlmr.model.Ops.erf(v / Math.sqrt(2)));
                    dx[i] += (float) (dy[i] * (c + v * Math.exp(-0.5 * v * v) * INV_SQRT_2PI));
                }
            });
        });
        return y;
    }

    /**
     * Multi-head attention over packed sequences: k, v [tokens, hidden], sequence {@code s} being
     * tokens {@code start[s] .. start[s] + len[s]}, so no padding is computed; the queries are its first
     * {@code qLen[s]} positions, rows {@code qStart[s] ..} of q (and of the output): {@code qStart = start,
     * qLen = len} for every token, one per sequence for a head that reads only the first token of the last
     * layer. Key {@code j} is attended to when {@code keyOk[j]} (padding kept only as a query, e.g. for QA's
     * logits) and, when {@code causal}, it does not come after the query. A query with no allowed key attends
     * to all keys of its sequence equally (transformers' fp32-minimum mask does that; packing keeps such a
     * sequence whole). {@code probMasks[s]} [heads, qLen, len] drops probabilities (null: none). The products
     * run on the kernels per (sequence, head), read out of the [tokens, hidden] buffers by row stride.
     */
    static FVar attention(Tape t, FVar q, FVar k, FVar v, int[] start, int[] len, int[] qStart, int[] qLen,
                          boolean[] keyOk, int heads, boolean causal, float[][] probMasks, Kernels kn) {
        int hidden = q.cols();
        int d = hidden / heads;
        int seqs = start.length;
        int queries = 0;
        for (int s = 0; s < seqs; s++) {
            if (qLen[s] < 0 || qLen[s] > len[s] || qStart[s] != queries) {
                throw new IllegalArgumentException("attention: queries of sequence " + s + " at row " + qStart[s]
                        + " x " + qLen[s] + " do not follow on, or exceed its " + len[s] + " tokens");
            }
            queries += qLen[s];
        }
        if (k.size() != v.size() || k.cols() != hidden || q.rows() != queries || d * heads != hidden) {
            throw new IllegalArgumentException("attention: q " + q + ", k " + k + ", v " + v + " with " + heads + " heads");
        }
        float scale = (float) (1 / Math.sqrt(d));
        int[] pOff = new int[seqs + 1];
        for (int s = 0; s < seqs; s++) {
            pOff[s + 1] = pOff[s] + heads * qLen[s] * len[s];
        }
        float[] probs = new float[pOff[seqs]]; // the softmax output, before dropout
        FVar y = new FVar(q.shape());
        int maxLen = 0;
        for (int l : len) {
            maxLen = Math.max(maxLen, l);
        }
        int most = maxLen;
        // one (sequence, head) per item, the items spread over the cores; each writes only its own
        // probabilities and its head's columns of its sequence's rows, with per-part scratch
        int items = seqs * heads;
        float[][] dropped = new float[Par.eachParts(items)][];
        Par.each(items, (part, item) -> {
            int s = item / heads;
            int h = item % heads;
            int n = len[s];
            int nq = qLen[s];
            int po = pOff[s] + h * nq * n;
            int off = start[s] * hidden + h * d;
            int qo = qStart[s] * hidden + h * d;
            kn.gemmSingleThread(false, true, nq, n, d, scale, q.data, qo, hidden, k.data, off, hidden, 0f, probs, po, n);
            softmaxRows(probs, po, nq, n, keyOk, start[s], causal);
            float[] p = probMasks == null ? probs : dropped(probs, po, probMasks[s], h * nq * n, nq * n, dropped, part, most);
            int pAt = probMasks == null ? po : 0;
            kn.gemmSingleThread(false, false, nq, d, n, 1f, p, pAt, n, v.data, off, hidden, 0f, y.data, qo, hidden);
        });
        record(t, "attention", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy == null) {
                return;
            }
            float[] dq = q.grad();
            float[] dk = k.grad();
            float[] dv = v.grad();
            float[][] dps = new float[Par.eachParts(items)][];
            float[][] pms = new float[Par.eachParts(items)][];
            Par.each(items, (part, item) -> {
                float[] dp = dps[part] == null ? dps[part] = new float[most * most] : dps[part];
                int s = item / heads;
                int h = item % heads;
                int n = len[s];
                int nq = qLen[s];
                int po = pOff[s] + h * nq * n;
                int off = start[s] * hidden + h * d;
                int qo = qStart[s] * hidden + h * d;
                float[] p = probMasks == null ? probs : dropped(probs, po, probMasks[s], h * nq * n, nq * n, pms, part, most);
                int pAt = probMasks == null ? po : 0;
                // dV += P'^T dY; dP' = dY V^T, through the dropout factor to dP
                kn.gemmSingleThread(true, false, n, d, nq, 1f, p, pAt, n, dy, qo, hidden, 1f, dv, off, hidden);
                kn.gemmSingleThread(false, true, nq, n, d, 1f, dy, qo, hidden, v.data, off, hidden, 0f, dp, 0, n);
                for (int i = 0; i < nq; i++) {
                    int ro = i * n;
                    if (probMasks != null) {
                        float[] m = probMasks[s];
                        for (int j = 0; j < n; j++) {
                            dp[ro + j] *= m[h * nq * n + ro + j];
                        }
                    }
                    boolean any = false;
                    for (int j = 0; j < n && !any; j++) {
                        any = keyOk[start[s] + j] && (!causal || j <= i);
                    }
                    if (!any) {
                        java.util.Arrays.fill(dp, ro, ro + n, 0f); // the scores do not reach the output
                        continue;
                    }
                    FloatVector dv0 = FloatVector.zero(S);
                    int j = 0;
                    for (; j <= n - L; j += L) {
                        dv0 = FloatVector.fromArray(S, probs, po + ro + j).fma(FloatVector.fromArray(S, dp, ro + j), dv0);
                    }
                    float dot = VectorMath.sum(dv0);
                    for (; j < n; j++) {
                        dot += probs[po + ro + j] * dp[ro + j];
                    }
                    // softmax backward, then the 1/sqrt(d)
                    j = 0;
                    for (; j <= n - L; j += L) {
                        FloatVector.fromArray(S, dp, ro + j).sub(dot).mul(FloatVector.fromArray(S, probs, po + ro + j))
                                .mul(scale).intoArray(dp, ro + j);
                    }
                    for (; j < n; j++) {
                        dp[ro + j] = probs[po + ro + j] * (dp[ro + j] - dot) * scale;
                    }
                }
                kn.gemmSingleThread(false, false, nq, d, n, 1f, dp, 0, n, k.data, off, hidden, 1f, dq, qo, hidden);
                kn.gemmSingleThread(true, false, n, d, nq, 1f, dp, 0, n, q.data, qo, hidden, 1f, dk, off, hidden);
            });
        });
        return y;
    }

    /**
     * {@code count} probabilities at {@code po} times their dropout factors at {@code mo}, into the part's
     * scratch (made on first use, {@code most * most} floats).
     */
    private static float[] dropped(float[] probs, int po, float[] mask, int mo, int count, float[][] scratch, int part,
                                   int most) {
        float[] out = scratch[part] == null ? scratch[part] = new float[most * most] : scratch[part];
        for (int i = 0; i < count; i++) {
            out[i] = probs[po + i] * mask[mo + i];
        }
        return out;
    }

    /**
     * Masked softmax of the scores of the first {@code rows} queries of a sequence over its n keys, [rows, n] at
     * {@code po}, in place; a row with no allowed key becomes uniform.
     */
    private static void softmaxRows(float[] x, int po, int rows, int n, boolean[] keyOk, int tok0, boolean causal) {
        boolean allKeys = true;
        for (int j = 0; j < n; j++) {
            allKeys &= keyOk[tok0 + j];
        }
        for (int i = 0; i < rows; i++) {
            int ro = po + i * n;
            int keys = causal ? i + 1 : n; // keys past it are masked (causal)
            if (allKeys) {
                // the common case, every key of the prefix allowed: vectorised, the rest zero
                FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                int j = 0;
                for (; j <= keys - L; j += L) {
                    mv = mv.max(FloatVector.fromArray(S, x, ro + j));
                }
                float max = mv.reduceLanes(VectorOperators.MAX);
                for (; j < keys; j++) {
                    max = Math.max(max, x[ro + j]);
                }
                FloatVector zv = FloatVector.zero(S);
                j = 0;
                for (; j <= keys - L; j += L) {
                    FloatVector e = VectorMath.exp(FloatVector.fromArray(S, x, ro + j).sub(max));
                    e.intoArray(x, ro + j);
                    zv = zv.add(e);
                }
                float z = VectorMath.sum(zv);
                for (; j < keys; j++) {
                    float e = (float) Math.exp(x[ro + j] - max);
                    x[ro + j] = e;
                    z += e;
                }
                float inv = 1 / z;
                j = 0;
                for (; j <= keys - L; j += L) {
                    FloatVector.fromArray(S, x, ro + j).mul(inv).intoArray(x, ro + j);
                }
                for (; j < keys; j++) {
                    x[ro + j] *= inv;
                }
                for (j = keys; j < n; j++) {
                    x[ro + j] = 0;
                }
                continue;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                if (keyOk[tok0 + j] && (!causal || j <= i)) {
                    max = Math.max(max, x[ro + j]);
                }
            }
            boolean any = max != Float.NEGATIVE_INFINITY;
            double z = 0;
            for (int j = 0; j < n; j++) {
                float e = !any ? 1 : keyOk[tok0 + j] && (!causal || j <= i) ? (float) Math.exp(x[ro + j] - max) : 0;
                x[ro + j] = e;
                z += e;
            }
            float inv = (float) (1 / z);
            for (int j = 0; j < n; j++) {
                x[ro + j] *= inv;
            }
        }
    }

    /** Element-wise {@code x * mask} (0 or 1/(1-p) factors); null mask: the identity. */
    static FVar dropout(Tape t, FVar x, float[] mask) {
        if (mask == null) {
            return x;
        }
        FVar y = new FVar(x.shape());
        for (int i = 0; i < y.size(); i++) {
            y.data[i] = x.data[i] * mask[i];
        }
        record(t, "dropout", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy != null) {
                float[] dx = x.grad();
                for (int i = 0; i < dy.length; i++) {
                    dx[i] += dy[i] * mask[i];
                }
            }
        });
        return y;
    }

    static FVar tanh(Tape t, FVar x) {
        FVar y = new FVar(x.shape());
        for (int i = 0; i < y.size(); i++) {
            y.data[i] = (float) Math.tanh(x.data[i]);
        }
        record(t, "tanh", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy != null) {
                float[] dx = x.grad();
                for (int i = 0; i < dy.length; i++) {
                    dx[i] += dy[i] * (1 - y.data[i] * y.data[i]);
                }
            }
        });
        return y;
    }

    static FVar scale(Tape t, FVar x, float c) {
        FVar y = new FVar(x.shape());
        for (int i = 0; i < y.size(); i++) {
            y.data[i] = c * x.data[i];
        }
        record(t, "scale", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy != null) {
                float[] dx = x.grad();
                for (int i = 0; i < dy.length; i++) {
                    dx[i] += c * dy[i];
                }
            }
        });
        return y;
    }

    /** Rows {@code idx} of a [n, c] matrix: [idx.length, c]. */
    static FVar rows(Tape t, FVar x, int[] idx) {
        int c = x.cols();
        FVar y = new FVar(idx.length, c);
        for (int r = 0; r < idx.length; r++) {
            System.arraycopy(x.data, idx[r] * c, y.data, r * c, c);
        }
        record(t, "rows", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy != null) {
                for (int r = 0; r < idx.length; r++) {
                    addInto(x.grad(), idx[r] * c, dy, r * c, c);
                }
            }
        });
        return y;
    }

    /** Column {@code col} of a [n, c] matrix: [n]. */
    static FVar column(Tape t, FVar x, int col) {
        int c = x.cols();
        int n = x.rows();
        FVar y = new FVar(n);
        for (int r = 0; r < n; r++) {
            y.data[r] = x.data[r * c + col];
        }
        record(t, "column", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy != null) {
                float[] dx = x.grad();
                for (int r = 0; r < n; r++) {
                    dx[r * c + col] += dy[r];
                }
            }
        });
        return y;
    }

    /** The sum of two scalars (QA's start and end losses). */
    static FVar addScalars(Tape t, FVar a, FVar b) {
        return add(t, a, b);
    }

    /**
     * Mean cross-entropy of logits [n, c] against class indices, {@code ignoreIndex} rows left out
     * (torch.nn.CrossEntropyLoss); NaN when every row is ignored. Rows split over the cores (the LM
     * heads' rows span the whole vocabulary).
     */
    static FVar crossEntropy(Tape t, FVar logits, int[] labels, int ignoreIndex) {
        int c = logits.cols();
        int n = logits.rows();
        if (labels.length != n) {
            throw new IllegalArgumentException("cross-entropy: " + labels.length + " labels for " + n + " rows");
        }
        int count = 0;
        for (int r = 0; r < n; r++) {
            if (labels[r] == ignoreIndex) {
                continue;
            }
            if (labels[r] < 0 || labels[r] >= c) {
                throw new IllegalArgumentException("cross-entropy: label " + labels[r] + " is outside [0, " + c + ")");
            }
            count++;
        }
        float[] probs = new float[n * c];
        double[] rowLoss = new double[n];
        Par.range(n, Math.max(1, GRAIN / c), (part, r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                if (labels[r] == ignoreIndex) {
                    continue;
                }
                int o = r * c;
                float max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < c; i++) {
                    max = Math.max(max, logits.data[o + i]);
                }
                double z = 0;
                for (int i = 0; i < c; i++) {
                    float e = (float) Math.exp(logits.data[o + i] - max);
                    probs[o + i] = e;
                    z += e;
                }
                float inv = (float) (1 / z);
                for (int i = 0; i < c; i++) {
                    probs[o + i] *= inv;
                }
                rowLoss[r] = Math.log(z) + max - logits.data[o + labels[r]];
            }
        });
        double total = 0;
        for (double v : rowLoss) {
            total += v;
        }
        FVar y = new FVar(1);
        int valid = count;
        y.data[0] = (float) (total / valid);
        record(t, "crossEntropy", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy == null) {
                return;
            }
            float g = dy[0] / valid;
            float[] dl = logits.grad();
            Par.range(n, Math.max(1, GRAIN / c), (part, r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    if (labels[r] == ignoreIndex) {
                        continue;
                    }
                    int o = r * c;
                    for (int i = 0; i < c; i++) {
                        dl[o + i] += g * (probs[o + i] - (i == labels[r] ? 1 : 0));
                    }
                }
            });
        });
        return y;
    }

    /** Mean binary cross-entropy with logits (torch.nn.BCEWithLogitsLoss). */
    static FVar bceWithLogits(Tape t, FVar logits, double[] targets) {
        int n = logits.size();
        if (targets.length != n) {
            throw new IllegalArgumentException("BCE: " + targets.length + " targets for " + n + " logits");
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            double x = logits.data[i];
            total += Math.max(x, 0) - x * targets[i] + Math.log1p(Math.exp(-Math.abs(x)));
        }
        FVar y = new FVar(1);
        y.data[0] = (float) (total / n);
        record(t, "bceWithLogits", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy != null) {
                double g = dy[0] / (double) n;
                float[] dl = logits.grad();
                for (int i = 0; i < n; i++) {
                    dl[i] += (float) (g * (1 / (1 + Math.exp(-logits.data[i])) - targets[i]));
                }
            }
        });
        return y;
    }

    /** Mean squared error (torch.nn.MSELoss). */
    static FVar mse(Tape t, FVar pred, double[] targets) {
        int n = pred.size();
        if (targets.length != n) {
            throw new IllegalArgumentException("MSE: " + targets.length + " targets for " + n + " predictions");
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            double d = pred.data[i] - targets[i];
            total += d * d;
        }
        FVar y = new FVar(1);
        y.data[0] = (float) (total / n);
        record(t, "mse", y, () -> {
            float[] dy = y.gradOrNull();
            if (dy != null) {
                double g = dy[0] * 2.0 / n;
                float[] dp = pred.grad();
                for (int i = 0; i < n; i++) {
                    dp[i] += (float) (g * (pred.data[i] - targets[i]));
                }
            }
        });
        return y;
    }
}
