"""Run: python3 xlmr-model/src/test/make_fuzz_seeds.py. Writes the Jazzer seed inputs of xlmr-model and xlmr-tokenizer from the fixtures in testdata/."""
import io, json, os, struct, zipfile, sys
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..')
T = os.path.join(root, 'testdata')
M = os.path.join(root, 'xlmr-model/src/test/resources/dev/xlmr/model/LoaderFuzzTestsInputs')
K = os.path.join(root, 'xlmr-tokenizer/src/test/resources/dev/xlmr/tokenizer/TokenizerFuzzTestsInputs')
def put(base, method, name, data):
    d = os.path.join(base, method); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), 'wb').write(data)

# config.json: the fixtures' own
for m in ['xlmr-seqcls', 'xlmr-xl-mlm', 'xlmr-qa']:
    put(M, 'configJson', m + '.json', open(os.path.join(T, m, 'config.json'), 'rb').read())

# safetensors: the base fixture's three smallest tensors, and its full header over no data
st = open(os.path.join(T, 'xlmr-base/model.safetensors'), 'rb').read()
n = struct.unpack('<Q', st[:8])[0]
h = json.loads(st[8:8 + n]); body = st[8 + n:]
small = sorted([k for k in h if k != '__metadata__'], key=lambda k: h[k]['data_offsets'][1] - h[k]['data_offsets'][0])[:3]
nh = {'__metadata__': h.get('__metadata__', {'format': 'pt'})}; data = b''
for k in small:
    b, e = h[k]['data_offsets']
    nh[k] = {'dtype': h[k]['dtype'], 'shape': h[k]['shape'], 'data_offsets': [len(data), len(data) + e - b]}
    data += body[b:e]
hb = json.dumps(nh, separators=(',', ':')).encode()
hb += b' ' * (-len(hb) % 8)
put(M, 'safetensorsFile', 'three-tensors.safetensors', struct.pack('<Q', len(hb)) + hb + data)
put(M, 'safetensorsFile', 'base-header-only.safetensors', st[:8 + n])

# pickle: the base fixture's data.pkl; torch zip: that pickle with the small storages only, and a tiny whole one
z = zipfile.ZipFile(os.path.join(T, 'xlmr-base/pytorch_model.bin'))
pkl = z.read('pytorch_model/data.pkl')
put(M, 'pickle', 'base-data.pkl', pkl)
def torchzip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_STORED) as out:
        for name, b in entries:
            out.writestr(name, b)
    return buf.getvalue()
keep = [(n, z.read(n)) for n in z.namelist() if z.getinfo(n).file_size <= 4096]
put(M, 'torchZip', 'base-small-storages.bin', torchzip(keep))
def s(x):
    b = x.encode(); return b'X' + struct.pack('<I', len(b)) + b
def i(v):
    return b'J' + struct.pack('<i', v)
tiny = (b'\x80\x02}' + s('w') + b'ctorch._utils\n_rebuild_tensor_v2\n(' + b'(' + s('storage') + b'ctorch\nFloatStorage\n'
        + s('0') + s('cpu') + i(2) + b'tQ' + i(0) + b'(' + i(2) + b't(' + i(1) + b't\x89ccollections\nOrderedDict\n)RtRs.')
put(M, 'pickle', 'tiny.pkl', tiny)
put(M, 'torchZip', 'tiny.bin', torchzip([('archive/data.pkl', tiny), ('archive/data/0', struct.pack('<2f', 1.5, -2)),
                                         ('archive/byteorder', b'little'), ('archive/version', b'3\n')]))

# sentencepiece: a 5-piece model, and the base fixture's first 4 KB
def varint(v):
    o = b''
    while True:
        c = v & 0x7f; v >>= 7
        if v: o += bytes([c | 0x80])
        else: return o + bytes([c])
def field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload
def piece(p, score, typ):
    return field(1, field(1, p.encode()) + bytes([2 << 3 | 5]) + struct.pack('<f', score) + bytes([3 << 3]) + varint(typ))
spm = b''.join(piece(p, sc, t) for p, sc, t in
               [('<unk>', 0, 2), ('<s>', 0, 3), ('</s>', 0, 3), ('\u2581a', -1, 1), ('b', -2, 1), ('\u2581', -3, 1)])
put(K, 'sentencePiece', 'six-pieces.model', spm)
put(K, 'sentencePiece', 'base-first-4k.model', open(os.path.join(T, 'xlmr-base/sentencepiece.bpe.model'), 'rb').read()[:4096])

# tokenizer.json: the base fixture with its vocabulary cut to 200 pieces (<mask> moved to 200)
tj = json.load(open(os.path.join(T, 'xlmr-base/tokenizer.json'), encoding='utf-8'))
tj['model']['vocab'] = tj['model']['vocab'][:200]
# without the Precompiled step (its charsmap is 300 KB of base64): the Replace step and the rest stay
tj['normalizer']['normalizers'] = [n for n in tj['normalizer']['normalizers'] if n['type'] != 'Precompiled']
for a in tj['added_tokens']:
    if a['id'] >= 200: a['id'] = 200
put(K, 'tokenizerJson', 'base-200-pieces.json', json.dumps(tj, ensure_ascii=False).encode())

# encode: lines of the public tokenizer sentences
lines = open(os.path.join(T, 'tokenizer/tok_public.txt'), encoding='utf-8').read().split('\n')
for k in (0, 7, 100, 1000, 3000):
    put(K, 'encode', 'line-%d.txt' % k, lines[k].encode())
