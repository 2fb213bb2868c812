/**
 * CPU kernels for the XLM-R encoder behind one seam, {@link dev.xlmr.engine.Kernels}, chosen at run time by
 * {@link dev.xlmr.engine.KernelProvider}: {@code scalar} (reference loops), {@code vector} (Java Vector API,
 * register- and cache-blocked GEMM on pre-packed weight panels, own thread pool) and {@code native} (OpenBLAS
 * {@code cblas_sgemm} through FFM, from the {@code org.bytedeco:openblas} jar).
 *
 * <pre>{@code
 * Kernels k = KernelProvider.best();                       // -Dxlmr.kernels=scalar|vector|native to force
 * Weights wq = k.pack(segment, 768, 768, Precision.BF16);  // a mapped nn.Linear weight, packed once
 * k.linear(hidden, tokens, 768, wq, bq, q, 768);           // q = hidden Wq^T + bq
 * k.biasGelu(ffn, tokens, 3072, b1);                       // exact erf GELU
 * k.residualLayerNorm(out, hidden, tokens, 768, gamma, beta, 1e-5f, hidden);
 * }</pre>
 *
 * Benchmarks: {@code xlmr-engine/bench.sh LinearBench} (JMH; GFLOP/s in the {@code linear:gflop} line).
 */
package dev.xlmr.engine;
