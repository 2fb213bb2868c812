"""Run: python3 xlmr-nova/src/test/make_nova_fuzz_seeds.py. Writes the Jazzer seeds of NovaFuzzTests from the
NOVA fixtures in src/test/resources/nova: each seed is a header, a NUL byte, then the data file's bytes."""
import os, struct
here = os.path.dirname(os.path.abspath(__file__))
F = os.path.join(here, 'resources/nova')
O = os.path.join(here, 'resources/dev/xlmr/nova/NovaFuzzTestsInputs')
def fixture(n):
    return open(os.path.join(F, n), 'rb').read()
def put(method, name, header, data=None):
    d = os.path.join(O, method); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), 'wb').write(header if data is None else header + b'\0' + data)

# annotations: the spec's FREE transcript (ASCII, and the same labels in BINARY), a DISCRETE and a CONTINUOUS one
head = fixture('transcript.annotation')
put('annotation', 'transcript-ascii', head, fixture('transcript.annotation.data'))
labels = [(0.5, 1.25, 'hello world', 1.0), (1.30, 2.0, 'how are you', 0.9), (3.0, 3.5, 'bye', 1.0)]
binary = b''.join(struct.pack('<ddI', f, t, len(x.encode())) + x.encode() + struct.pack('<f', c) for f, t, x, c in labels)
put('annotation', 'transcript-binary', head.replace(b'"ASCII"', b'"BINARY"'), binary)
disc = (b'<?xml version="1.0" ?>\n<annotation ssi-v="3">\n    <info ftype="ASCII" size="2" />\n'
        b'    <meta role="speaker" annotator="gold" />\n    <scheme name="emotion" type="DISCRETE" color="#FFFFFFFF">\n'
        b'        <item name="happy" id="0" color="#FF00FF00" />\n        <item name="sad" id="1" color="#FF0000FF" />\n'
        b'    </scheme>\n</annotation>\n')
put('annotation', 'discrete-ascii', disc, b'0.0;1.5;0;1.0\n1.5;2.0;1;0.5\n')
put('annotation', 'discrete-binary', disc.replace(b'"ASCII"', b'"BINARY"'),
    struct.pack('<ddif', 0.0, 1.5, 0, 1.0) + struct.pack('<ddif', 1.5, 2.0, 1, 0.5))
cont = (b'<?xml version="1.0" ?>\n<annotation ssi-v="3">\n    <info ftype="ASCII" size="3" />\n'
        b'    <meta role="speaker" annotator="gold" />\n'
        b'    <scheme name="arousal" type="CONTINUOUS" sr="25.0" min="0.0" max="1.0" color="#FFFFFFFF" />\n</annotation>\n')
put('annotation', 'continuous-ascii', cont, b'0.1;1.0\n0.5;0.9\n0.9;1.0\n')

# streams: the spec's 87x768 header cut to 3 samples of 4 floats (BINARY and ASCII), and the header alone
st = fixture('embeddings-87x768.stream')
small = st.replace(b'dim="768"', b'dim="4"').replace(b'num="87"', b'num="3"').replace(b'to="3.480"', b'to="0.120"')
floats = [0.5, -1.25, 3.0, 0.0, 1e-3, 2.5, -7.0, 1.0, 0.25, 0.125, 9.5, -0.5]
put('stream', 'floats-binary', small, struct.pack('<12f', *floats))
put('stream', 'floats-ascii', small.replace(b'"BINARY"', b'"ASCII"'),
    b''.join((' '.join(repr(v) for v in floats[i:i + 4]) + '\n').encode() for i in range(0, 12, 4)))
put('stream', 'header-87x768', st)

# trainer: the spec's example
put('trainer', 'xlm_roberta', fixture('xlm_roberta.trainer'))
