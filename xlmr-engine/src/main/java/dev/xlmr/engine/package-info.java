/**
 * CPU kernels for the XLM-R encoder behind one seam, {@link dev.xlmr.engine.Kernels}, chosen at run time by
 * {@link dev.xlmr.engine.KernelProvider}, in this order of preference: {@code onednn} (oneDNN's matmul through
 * FFM from the {@code org.bytedeco:dnnl} jar, with the {@code org.bytedeco:opencl} jar's libOpenCL.so.1 it links
 * against; bf16 on CPUs with bf16 instructions), {@code vector} (Java Vector API, register- and cache-blocked GEMM
 * on pre-packed weight panels, own thread pool), {@code native} (OpenBLAS {@code cblas_sgemm} through FFM, from
 * the {@code org.bytedeco:openblas} jar) and {@code scalar} (reference loops, always available).
 *
 * <pre>{@code
 * Kernels k = KernelProvider.best();                       // -Dxlmr.kernels=onednn|vector|native|scalar to force
 * Weights wq = k.pack(segment, 768, 768, Precision.BF16);  // a mapped nn.Linear weight, packed once
 * k.linear(hidden, tokens, 768, wq, bq, q, 768);           // q = hidden Wq^T + bq
 * k.biasGelu(ffn, tokens, 3072, b1);                       // exact erf GELU
 * k.residualLayerNorm(out, hidden, tokens, 768, gamma, beta, 1e-5f, hidden);
 * k.attention(qkv, q, q + 768, q + 1536, 2304, len, 64, len, false, 0.125f, ctx, c, 768, buf); // one (sequence, head)
 * }</pre>
 *
 * Attention is part of the seam: {@code scalar} has the plain reference, {@code vector} small register-blocked
 * products ({@code VectorAttention}), and {@code onednn}/{@code native} hand it to the kernels they delegate
 * element-wise work to. {@link dev.xlmr.engine.FastEncoder}, the packed encoder, is built from parts that each do
 * one thing: {@code EncoderWeights} (binding and packing), {@code PackedBatch} (real tokens with cumulative
 * sequence offsets: a {@link dev.xlmr.model.PackedInput} as it is, or a padded batch's real tokens), {@code EncoderLayers} (embeddings and layers, attention's (sequence, head) pairs on a
 * {@code WorkerPool}), {@code Heads} (pooler and task heads) and {@code StageProfile} ({@code -Dxlmr.fast.profile}).
 *
 * Benchmarks: {@code xlmr-engine/bench.sh LinearBench} (JMH; GFLOP/s in the {@code linear:gflop} line).
 */
package dev.xlmr.engine;
