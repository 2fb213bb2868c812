"""Run: python3 xlmr-server/src/test/make_http_fuzz_seeds.py. Writes the Jazzer seeds of HttpFuzzTests: one valid
request a route (first line METHOD /path, second line Content-Type, then the body), its texts from
testdata/tokenizer/tok_public.txt, the NOVA /process form as in NovaRoutesTest's seed request."""
import json, os, urllib.parse
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, '..', '..', '..')
O = os.path.join(here, 'resources/dev/xlmr/server/HttpFuzzTestsInputs/requestBody')
os.makedirs(O, exist_ok=True)
lines = open(os.path.join(root, 'testdata/tokenizer/tok_public.txt'), encoding='utf-8').read().split('\n')
good = [l for l in lines if 20 <= len(l) <= 200]
a, b, c = good[0], good[1], good[50]
J = 'application/json'
def put(name, path, body, ctype=J, method='POST'):
    data = body if isinstance(body, bytes) else (json.dumps(body, ensure_ascii=False) if not isinstance(body, str) else body).encode()
    open(os.path.join(O, name), 'wb').write(('%s %s\n%s\n' % (method, path, ctype)).encode() + data)
put('embed', '/embed', {'inputs': a, 'normalize': True, 'truncate': True})
put('embed-batch-ids', '/embed', {'inputs': [b, [0, 100, 2]], 'truncation_direction': 'Left', 'dimensions': 8})
put('openai-embeddings', '/v1/embeddings', {'input': [a, c], 'model': 'xlmr-base', 'encoding_format': 'float'})
put('openai-base64', '/embeddings', {'input': b, 'encoding_format': 'base64', 'dimensions': 5})
put('rerank', '/rerank', {'query': a, 'texts': [b, c], 'return_text': True, 'raw_scores': False, 'truncate': True})
put('predict', '/predict', {'inputs': [[a, b]], 'raw_scores': True})
put('predict-single', '/predict', {'inputs': c})
put('tokenize', '/tokenize', {'inputs': [a, b], 'add_special_tokens': True, 'prompt_name': None})
put('decode', '/decode', {'ids': [0, 100, 2], 'skip_special_tokens': True})
put('embed-all', '/embed_all', {'inputs': a})
put('embed-sparse', '/embed_sparse', {'inputs': b})
put('similarity', '/similarity', {'inputs': {'source_sentence': a, 'sentences': [b, c]}})
put('lone-surrogate', '/embed', '{"inputs": "a\\ud800b"}')
form = [('jobID', 'seed'), ('trainerFilePath', 'modules\\xlm_roberta\\xlm_roberta.trainer'),
        ('data', json.dumps([{'src': 'file:annotation:free', 'type': 'input', 'id': 'transcript', 'uri': 'session\\transcript.annotation'},
                             {'src': 'file:stream:SSIStream', 'type': 'output', 'id': 'embeddings', 'uri': 'session\\xlm_roberta.stream'}])),
        ('frame_size', '40ms'), ('left_context', '960ms'), ('stride', 'None')]
put('nova-process', '/process', urllib.parse.urlencode(form), 'application/x-www-form-urlencoded')
put('nova-status', '/job_status', 'jobID=seed', 'application/x-www-form-urlencoded')
