"""Independent reference for hidden states, attentions and long-document embeddings.

A plain PyTorch re-implementation of transformers' XLMRobertaModel / XLMRobertaXLModel forward
(eval mode, fp32, written from the transformers 4.27 modelling code), the slow XLMRobertaTokenizer on
SentencePiece, and the project's long-document recipes (README "Long documents"), written without
looking at the Java code paths. Writes the expected.json files the Java tests read:

  xlmr-model/src/test/resources/outputs/expected.json      hidden_states, attentions
  xlmr-pipelines/src/test/resources/long-documents/expected.json

Run: LD_LIBRARY_PATH=/tmp/torch-ocl /usr/bin/python3 bench/reference/xlmr_reference.py
"""
import json, math, os, struct, sys
import numpy as np
import torch
import sentencepiece as spm

torch.set_num_threads(2)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMB = os.path.join(ROOT, "xlmr-pipelines/src/test/resources/embeddings")
TESTDATA = os.path.join(ROOT, "testdata")


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", meta
        a, b = meta["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"])
        out[name.replace("roberta.", "", 1) if name.startswith("roberta.") else name] = torch.tensor(arr.copy())
    return out


class Model:
    def __init__(self, folder):
        self.cfg = json.load(open(os.path.join(folder, "config.json")))
        self.w = load_safetensors(os.path.join(folder, "model.safetensors"))
        self.xl = self.cfg["model_type"] == "xlm-roberta-xl"
        self.heads = self.cfg["num_attention_heads"]
        self.eps = self.cfg["layer_norm_eps"]
        self.layers = self.cfg["num_hidden_layers"]
        self.pad = self.cfg["pad_token_id"]

    def ln(self, x, p):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[p + ".weight"], self.w[p + ".bias"], self.eps)

    def lin(self, x, p):
        return torch.nn.functional.linear(x, self.w[p + ".weight"], self.w[p + ".bias"])

    def forward(self, ids, mask):
        """ids, mask: LongTensor [b, s]. Returns last_hidden_state, hidden_states tuple, attentions tuple."""
        w = self.w
        # create_position_ids_from_input_ids
        m = ids.ne(self.pad).int()
        pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + self.pad
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos] \
            + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
        if not self.xl:
            x = self.ln(x, "embeddings.LayerNorm")
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        b, s, h = x.shape
        d = h // self.heads
        states, attns = [], []
        for i in range(self.layers):
            states.append(x)
            p = "encoder.layer.%d." % i
            inp = self.ln(x, p + "attention.self_attn_layer_norm") if self.xl else x
            split = lambda t: t.view(b, s, self.heads, d).permute(0, 2, 1, 3)
            q, k, v = (split(self.lin(inp, p + "attention.self." + n)) for n in ("query", "key", "value"))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + ext
            probs = torch.softmax(scores, dim=-1)
            attns.append(probs)
            ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, s, h)
            a = self.lin(ctx, p + "attention.output.dense")
            if self.xl:
                a = a + x
                f = self.ln(a, p + "LayerNorm")
                f = self.lin(torch.nn.functional.gelu(self.lin(f, p + "intermediate.dense")), p + "output.dense")
                x = f + a
            else:
                a = self.ln(a + x, p + "attention.output.LayerNorm")
                f = self.lin(torch.nn.functional.gelu(self.lin(a, p + "intermediate.dense")), p + "output.dense")
                x = self.ln(f + a, p + "output.LayerNorm")
        if self.xl:
            x = self.ln(x, "encoder.LayerNorm")
        states.append(x)
        return x, states, attns


class Tok:
    """The slow XLMRobertaTokenizer: fairseq ids (<s>=0, <pad>=1, </s>=2, <unk>=3, pieces + 1)."""

    def __init__(self, folder):
        self.sp = spm.SentencePieceProcessor(model_file=os.path.join(TESTDATA, "xlmr-base", "sentencepiece.bpe.model"))

    def encode(self, text):
        """ids with <s> ... </s>, and per piece the character span [start, end) in text (specials: None)."""
        proto = self.sp.encode(text, out_type="immutable_proto")
        ids, spans = [0], [None]
        for p in proto.pieces:
            ids.append(3 if p.id == 0 else p.id + 1)
            # the Python binding gives begin/end as code point offsets into text (checked with p.surface)
            assert text[p.begin:p.end] == p.surface, (p.piece, p.begin, p.end, p.surface)
            spans.append((p.begin, p.end))
        ids.append(2)
        spans.append(None)
        return ids, spans


def f32(x):
    return [float(np.float32(v)) for v in np.asarray(x, dtype=np.float32).reshape(-1)]


def nested(t):
    return np.asarray(t.detach().numpy(), dtype=np.float32).tolist()


def run_window(model, ids):
    t = torch.tensor([ids])
    last, _, _ = model.forward(t, torch.ones_like(t))
    return last[0]


def windows(content, size, overlap):
    """Starts of the windows of `size` content tokens, consecutive ones sharing `overlap` tokens."""
    step = size - overlap
    starts = [0]
    while starts[-1] + size < len(content):
        starts.append(starts[-1] + step)
    return starts


def stitched(model, ids, max_len, overlap):
    """Token vectors of the whole sequence from windows: each content token from the window where it has the
    most context on its shorter side (ties: the earlier window); <s> from the first window, </s> from the last."""
    content = ids[1:-1]
    size = max_len - 2
    starts = windows(content, size, overlap)
    outs = [run_window(model, [0] + content[s:s + size] + [2]) for s in starts]
    vecs = [outs[0][0]]
    for p in range(len(content)):
        best, score = None, None
        for k, s in enumerate(starts):
            e = min(s + size, len(content))
            if s <= p < e:
                sc = min(p - s, e - 1 - p)
                if score is None or sc > score:
                    best, score = k, sc
        vecs.append(outs[best][1 + p - starts[best]])
    vecs.append(outs[-1][len(content[starts[-1]:starts[-1] + size]) + 1])
    return torch.stack(vecs), starts, outs


def normalize(v):
    return v / max(float(torch.linalg.norm(v.double())), 1e-12)


def dense_chain(folder, pooled):
    """The modules after Pooling: Dense (tanh) and Normalize as modules.json lists them."""
    mods = json.load(open(os.path.join(folder, "modules.json")))
    for m in mods:
        if m["type"].endswith("Dense"):
            sd = torch.load(os.path.join(folder, m["path"], "pytorch_model.bin"))
            pooled = torch.tanh(torch.nn.functional.linear(pooled, sd["linear.weight"], sd["linear.bias"]))
        elif m["type"].endswith("Normalize"):
            pooled = normalize(pooled)
    return pooled


def pooling_mode(folder):
    c = json.load(open(os.path.join(folder, "1_Pooling", "config.json")))
    return "cls" if c.get("pooling_mode_cls_token") else "mean"


def windowed_dense(model, folder, ids, max_len, overlap):
    content = ids[1:-1]
    size = max_len - 2
    mode = pooling_mode(folder)
    acc, total = None, 0
    for s in windows(content, size, overlap):
        w = [0] + content[s:s + size] + [2]
        h = run_window(model, w).double()
        pooled = h[0] if mode == "cls" else h.mean(0)
        acc = pooled * len(w) if acc is None else acc + pooled * len(w)
        total += len(w)
    return dense_chain(folder, (acc / total).float())


def m3_heads(folder):
    sp = torch.load(os.path.join(folder, "sparse_linear.pt"))
    cb = torch.load(os.path.join(folder, "colbert_linear.pt"))
    return sp, cb


def windowed_m3(model, folder, ids, max_len, overlap):
    sp, cb = m3_heads(folder)
    content = ids[1:-1]
    size = max_len - 2
    lexical = {}
    for s in windows(content, size, overlap):
        w = [0] + content[s:s + size] + [2]
        h = run_window(model, w)
        tw = torch.relu(torch.nn.functional.linear(h, sp["weight"], sp["bias"]))[:, 0]
        for t, i in enumerate(w):
            if i in (0, 1, 2, 3) or float(tw[t]) <= 0:
                continue
            lexical[str(i)] = max(lexical.get(str(i), 0.0), float(tw[t]))
    vecs, _, _ = stitched(model, ids, max_len, overlap)
    col = torch.nn.functional.linear(vecs[1:], cb["weight"], cb["bias"])
    col = torch.nn.functional.normalize(col, dim=-1)
    return lexical, col


def late_chunks(model, tok, folder, chunks, max_len, overlap):
    doc = " ".join(chunks)
    ids, spans = tok.encode(doc)
    vecs, _, _ = stitched(model, ids, max_len, overlap)
    bounds, at = [], 0
    for i, c in enumerate(chunks):
        lo = at - 1 if i > 0 else 0  # the joining space belongs to the chunk after it
        bounds.append((lo, at + len(c)))
        at += len(c) + 1
    out, members = [], []
    for lo, hi in bounds:
        rows = [t for t, sp in enumerate(spans) if sp is not None and lo <= sp[0] < hi]
        members.append(rows)
        pooled = vecs[rows].double().mean(0).float()
        out.append(dense_chain(folder, pooled))
    return ids, out, members


def main():
    # ---- hidden states and attentions --------------------------------------------------------------
    outputs = {"note": "transformers-style forward (bench/reference/xlmr_reference.py), fp32", "cases": []}
    for name in ("xlmr-base", "xlmr-xl-mlm"):
        folder = os.path.join(TESTDATA, name)
        model = Model(folder)
        exp = json.load(open(os.path.join(folder, "expected.json")))
        case = exp["cases"][0]
        ids = torch.tensor(case["input_ids"])
        mask = torch.tensor(case["attention_mask"])
        last, states, attns = model.forward(ids, mask)
        # the re-implementation agrees with transformers' own last_hidden_state in the fixture
        ref = torch.tensor(case["last_hidden_state"])
        real = mask.bool()
        err = float((last - ref)[real].abs().max())
        assert err < 1e-5, (name, err)
        outputs["cases"].append({"model": name, "input_ids": case["input_ids"], "attention_mask": case["attention_mask"],
                                 "hidden_states": [nested(s) for s in states], "attentions": [nested(a) for a in attns],
                                 "max_abs_diff_vs_transformers_last_hidden_state": err})
    p = os.path.join(ROOT, "xlmr-model/src/test/resources/outputs")
    os.makedirs(p, exist_ok=True)
    json.dump(outputs, open(os.path.join(p, "expected.json"), "w"))

    # ---- long documents ----------------------------------------------------------------------------
    texts = [t["text"] for t in json.load(open(os.path.join(EMB, "texts.json")))]
    lines = open(os.path.join(TESTDATA, "tokenizer/tok_public.txt"), encoding="utf-8").read().split("\n")
    long_doc = " ".join(lines[3000:3012]).strip()
    docs = [texts[7], texts[0], texts[8], texts[9], long_doc]
    chunk_docs = [lines[3000:3006], [lines[3023], lines[3024], lines[3041]], ["Hello world", "a"]]
    out = {"note": "bench/reference/xlmr_reference.py: windows run one by one through a transformers-style forward",
           "texts": docs, "settings": [], "late_chunking": []}
    for folder_name in ("dense-plus", "bge-m3-tiny"):
        folder = os.path.join(EMB, folder_name)
        model = Model(folder)
        tok = Tok(folder)
        for max_len, overlap in ((24, 6), (128, 32), (17, 0)):
            entry = {"model": folder_name, "max_length": max_len, "overlap": overlap, "cases": []}
            for d in docs:
                ids, _ = tok.encode(d.strip())
                c = {"input_ids": ids, "windows": windows(ids[1:-1], max_len - 2, overlap),
                     "dense": f32(windowed_dense(model, folder, ids, max_len, overlap))}
                if folder_name == "bge-m3-tiny":
                    lex, col = windowed_m3(model, folder, ids, max_len, overlap)
                    c["lexical_weights"] = lex
                    c["colbert_vecs"] = [f32(v) for v in col]
                entry["cases"].append(c)
            out["settings"].append(entry)
        for max_len, overlap in ((24, 6), (128, 32)):
            for chunks in chunk_docs:
                ids, vecs, members = late_chunks(model, tok, folder, chunks, max_len, overlap)
                out["late_chunking"].append({"model": folder_name, "max_length": max_len, "overlap": overlap,
                                             "chunks": chunks, "input_ids": ids, "chunk_tokens": members,
                                             "embeddings": [f32(v) for v in vecs]})
    p = os.path.join(ROOT, "xlmr-pipelines/src/test/resources/long-documents")
    os.makedirs(p, exist_ok=True)
    json.dump(out, open(os.path.join(p, "expected.json"), "w"))
    print("ok")


if __name__ == "__main__":
    main()
