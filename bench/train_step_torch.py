#!/usr/bin/env python3
"""PyTorch eager peer of xlmr-train's TrainBench: sequence-classification fine-tuning steps on the
benchmark model (../shared/bench/xlmr_torch.py's encoder plus XLMRobertaClassificationHead), fp32,
AdamW (lr 5e-5, weight decay 0.01), clip_grad_norm_ 1.0, dropout off, one random batch.

  LD_LIBRARY_PATH=/tmp/torch-ocl python3 bench/train_step_torch.py MODEL_DIR BATCH SEQ STEPS THREADS
prints the warm-up step's time, then wall and process CPU seconds per step (after it), peak RSS;
STEPS 0 times only the warm-up step (for a very slow BLAS). On a loaded
machine compare CPU seconds per step (both sides use THREADS threads).
"""
import os, resource, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
sys.path.insert(0, "/work/shared/bench")
import torch
from torch import nn
import xlmr_torch

model_dir, batch, seq, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)
enc = xlmr_torch.load(model_dir).train()
H = enc.words.weight.shape[1]
V = enc.words.weight.shape[0]
dense, out_proj = nn.Linear(H, H), nn.Linear(H, 2)
params = list(enc.parameters()) + list(dense.parameters()) + list(out_proj.parameters())
opt = torch.optim.AdamW(params, lr=5e-5, weight_decay=0.01)
ids = torch.randint(3, V, (batch, seq)); ids[:, 0] = 0; ids[:, -1] = 2
mask = torch.ones(batch, seq, dtype=torch.long)
labels = torch.randint(0, 2, (batch,))

def step():
    x, _ = enc(ids, mask)
    logits = out_proj(torch.tanh(dense(x[:, 0])))
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad()
    return loss.item()

w0, wc0 = time.perf_counter(), time.process_time()
step()
print(f"warm-up step: {time.perf_counter() - w0:.2f} s wall, {time.process_time() - wc0:.2f} CPU s", flush=True)
if steps == 0:
    sys.exit(0)
t0 = time.perf_counter()
c0 = time.process_time()
for _ in range(steps):
    step()
dt = (time.perf_counter() - t0) / steps
cpu = (time.process_time() - c0) / steps
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"torch eager fp32: {dt:.2f} s/step wall ({1/dt:.4f} steps/s), {cpu:.2f} CPU s/step, batch {batch}x{seq}, {threads} threads, peak RSS {rss:.0f} MiB")
