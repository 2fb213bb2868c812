package dev.xlmr.train;

import dev.xlmr.engine.Kernels;

/**
 * {@link Fn#attention} with its matrix products in fp32 on the engine's kernels: per (sequence,
 * head) {@code S = Q K^T / sqrt(d)}, softmax, {@code Y = P V} and the four products of the
 * backward, read straight out of the [tokens, hidden] buffers by row stride. Masks, dropout of the
 * probabilities and the "no allowed key attends to all" rule are the reference's; tested against it.
 *
 * <pre>{@code
 * Var ctx = Fp32Attention.attention(t, q, k, v, batch, seq, heads, mask, false, null, kernels);
 * }</pre>
 */
public final class Fp32Attention {
    private Fp32Attention() {}

    public static Var attention(Tape t, Var q, Var k, Var v, int batch, int seq, int heads, int[][] mask,
                                boolean causal, double[] probMask, Kernels kn) {
        int hidden = q.dim(-1);
        int d = hidden / heads;
        if (q.rows() != batch * seq || k.size() != q.size() || v.size() != q.size() || d * heads != hidden) {
            throw new IllegalArgumentException("attention: q " + q + ", k " + k + ", v " + v + " do not fit "
                    + batch + " x " + seq + " with " + heads + " heads");
        }
        float scale = (float) (1 / Math.sqrt(d));
        float[] qf = Fp32Linear.toFloat(q.data);
        float[] kf = Fp32Linear.toFloat(k.data);
        float[] vf = Fp32Linear.toFloat(v.data);
        int pp = seq * seq;
        float[] probs = new float[batch * heads * pp]; // softmax output, before dropout
        float[] yf = new float[q.size()];
        float[] dropped = probMask == null ? null : new float[pp];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int po = (b * heads + h) * pp;
                int off = b * seq * hidden + h * d;
                kn.gemm(false, true, seq, seq, d, scale, qf, off, hidden, kf, off, hidden, 0f, probs, po, seq);
                for (int i = 0; i < seq; i++) {
                    int ro = po + i * seq;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < seq; j++) {
                        if (allowed(mask, b, i, j, causal)) {
                            max = Math.max(max, probs[ro + j]);
                        }
                    }
                    boolean any = max != Float.NEGATIVE_INFINITY;
                    double z = 0;
                    for (int j = 0; j < seq; j++) {
                        float p = !any ? 1 : allowed(mask, b, i, j, causal) ? (float) Math.exp(probs[ro + j] - max) : 0;
                        probs[ro + j] = p;
                        z += p;
                    }
                    float inv = (float) (1 / z);
                    for (int j = 0; j < seq; j++) {
                        probs[ro + j] *= inv;
                    }
                }
                float[] p = probs;
                int pOff = po;
                if (probMask != null) {
                    for (int i = 0; i < pp; i++) {
                        dropped[i] = (float) (probs[po + i] * probMask[po + i]);
                    }
                    p = dropped;
                    pOff = 0;
                }
                kn.gemm(false, false, seq, d, seq, 1f, p, pOff, seq, vf, off, hidden, 0f, yf, off, hidden);
            }
        }
        Var y = new Var(q.shape());
        for (int i = 0; i < yf.length; i++) {
            y.data[i] = yf[i];
        }
        t.record(() -> {
            float[] dy = Fp32Linear.toFloat(y.grad);
            float[] dq = new float[q.size()];
            float[] dk = new float[q.size()];
            float[] dv = new float[q.size()];
            float[] dp = new float[pp];
            float[] pm = new float[pp];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    int po = (b * heads + h) * pp;
                    int off = b * seq * hidden + h * d;
                    for (int i = 0; i < pp; i++) {
                        pm[i] = probMask == null ? probs[po + i] : (float) (probs[po + i] * probMask[po + i]);
                    }
                    // dV = P'^T dY; dP' = dY V^T, through the dropout factor to dP
                    kn.gemm(true, false, seq, d, seq, 1f, pm, 0, seq, dy, off, hidden, 0f, dv, off, hidden);
                    kn.gemm(false, true, seq, seq, d, 1f, dy, off, hidden, vf, off, hidden, 0f, dp, 0, seq);
                    for (int i = 0; i < seq; i++) {
                        int ro = i * seq;
                        boolean any = false;
                        for (int j = 0; j < seq && !any; j++) {
                            any = allowed(mask, b, i, j, causal);
                        }
                        double dot = 0;
                        for (int j = 0; j < seq; j++) {
                            if (probMask != null) {
                                dp[ro + j] *= (float) probMask[po + ro + j];
                            }
                            dot += (double) probs[po + ro + j] * dp[ro + j];
                        }
                        for (int j = 0; j < seq; j++) {
                            // softmax backward, then the 1/sqrt(d); no allowed key: the scores do not reach the output
                            dp[ro + j] = any ? (float) (probs[po + ro + j] * (dp[ro + j] - dot) * scale) : 0;
                        }
                    }
                    kn.gemm(false, false, seq, d, seq, 1f, dp, 0, seq, kf, off, hidden, 0f, dq, off, hidden);
                    kn.gemm(true, false, seq, d, seq, 1f, dp, 0, seq, qf, off, hidden, 0f, dk, off, hidden);
                }
            }
            for (int i = 0; i < dq.length; i++) {
                q.grad[i] += dq[i];
                k.grad[i] += dk[i];
                v.grad[i] += dv[i];
            }
        });
        return y;
    }

    private static boolean allowed(int[][] mask, int b, int i, int j, boolean causal) {
        return (mask == null || mask[b][j] != 0) && (!causal || j <= i);
    }
}
