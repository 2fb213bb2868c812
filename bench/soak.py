"""Soak client for `xlmr serve` (issue 17): CLIENTS threads send mixed valid and invalid traffic for SECONDS
against a server already listening on PORT (pid PID), sample the server's RSS every 30 s, and print a summary.
Exit status 1 on any 5xx or any request left unanswered.
  python3 bench/soak.py PORT PID SECONDS CLIENTS TEXTS_FILE
SOAK_TIMEOUT (seconds, default 60): how long a valid request may wait for its answer (a slow model, e.g. the
base-size one on 2 cores, needs the server's --request-timeout-ms raised to match).
Valid: /embed, /v1/embeddings, /tokenize, /embed batches (keep-alive connections). Invalid, each on its own
connection: bad JSON, trailing garbage, lone surrogates, invalid UTF-8, wrong content type, wrong method,
unknown route, a 3 MB body (413), broken HTTP framing, a wrong-shape body."""
import json, random, socket, sys, threading, time, http.client, collections, os

port, pid, seconds, clients, texts_file = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
texts = [l for l in open(texts_file, encoding='utf-8').read().split('\n') if l.strip()]
lock = threading.Lock()
status = collections.Counter()
kinds = collections.Counter()
unanswered = []
latency = collections.defaultdict(list)
stop_at = time.time() + seconds
timeout = float(os.environ.get('SOAK_TIMEOUT', '60'))

def rss_parts():
    """VmRSS, RssAnon, RssFile of the server in MiB (the mapped checkpoint is file-backed)."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k = line.split(':')[0]
            if k in ('VmRSS', 'RssAnon', 'RssFile'):
                out[k] = int(line.split()[1]) / 1024.0
    return tuple(out.get(k, float('nan')) for k in ('VmRSS', 'RssAnon', 'RssFile'))

def rss_mib():
    return rss_parts()[0]

def raw(data, timeout=60):
    """One request on its own connection; returns the status, or raises when no answer came."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (413/400) before reading it all: the answer is still to be read
        got = b''
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            got += b
            if len(got) > 1 << 20:
                break
        if not got.startswith(b'HTTP/1.1 '):
            raise IOError('no HTTP answer (%d bytes: %r)' % (len(got), got[:60]))
        return int(got[9:12])
    finally:
        s.close()

def req(method, path, ctype, body, extra=''):
    head = '%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s%sContent-Length: %d\r\n\r\n' % (
        method, path, ('Content-Type: %s\r\n' % ctype) if ctype else '', extra, len(body))
    return head.encode('latin-1') + body

J = 'application/json'
def invalid(rng):
    t = rng.choice(texts)[:200]
    cases = [
        ('bad-json', lambda: req('POST', '/embed', J, b'{"inputs": "' + t.encode() + b'"')),
        ('trailing', lambda: req('POST', '/embed', J, json.dumps({'inputs': t}).encode() + b' }')),
        ('surrogate', lambda: req('POST', '/v1/embeddings', J, b'{"input": "a\\ud800b"}')),
        ('utf8', lambda: req('POST', '/embed', J, b'{"inputs": "\xc0\xaf\xed\xa0\x80"}')),
        ('ctype', lambda: req('POST', '/embed', 'text/plain', json.dumps({'inputs': t}).encode())),
        ('method', lambda: req('GET', '/embed', None, b'')),
        ('route', lambda: req('POST', '/nope', J, b'{}')),
        ('huge', lambda: req('POST', '/embed', J, b'{"inputs": "' + b'a ' * 1_500_000 + b'"}')),
        ('broken-http', lambda: b'POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}'),
        ('shape', lambda: req('POST', '/rerank', J, b'{"query": 5, "texts": {}}')),
    ]
    # the 3 MB body is rarer: it costs the client more than the server
    name, make = rng.choice(cases if rng.random() < 0.05 else [c for c in cases if c[0] != 'huge'])
    return name, make()

def client(k):
    rng = random.Random(k)
    conn = None
    while time.time() < stop_at:
        if rng.random() < 0.6:
            kind = rng.choice(['embed', 'embed', 'v1', 'tokenize', 'batch'])
            if kind == 'embed':
                path, body = '/embed', {'inputs': rng.choice(texts)}
            elif kind == 'v1':
                path, body = '/v1/embeddings', {'input': [rng.choice(texts), rng.choice(texts)]}
            elif kind == 'tokenize':
                path, body = '/tokenize', {'inputs': rng.choice(texts)}
            else:
                path, body = '/embed', {'inputs': [rng.choice(texts) for _ in range(8)]}
            t0 = time.time()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
                conn.request('POST', path, json.dumps(body), {'Content-Type': J})
                r = conn.getresponse()
                r.read()
                code = r.status
                if r.getheader('Connection', '').lower() == 'close':
                    conn.close(); conn = None
            except Exception as e:
                # a keep-alive connection the server closed between requests is retried once on a fresh one
                try:
                    if conn is not None: conn.close()
                    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
                    conn.request('POST', path, json.dumps(body), {'Content-Type': J})
                    r = conn.getresponse(); r.read(); code = r.status
                except Exception as e2:
                    with lock:
                        unanswered.append('%s: %r' % (kind, e2))
                    conn = None
                    continue
            with lock:
                status[code] += 1; kinds[kind] += 1; latency[kind].append(time.time() - t0)
        else:
            name, data = invalid(rng)
            try:
                code = raw(data)
            except Exception as e:
                with lock:
                    unanswered.append('%s: %r' % (name, e))
                continue
            with lock:
                status[code] += 1; kinds[name] += 1

threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
t_start = time.time()
for th in threads: th.start()
samples, parts = [], []
while time.time() < stop_at:
    with lock:
        n = sum(status.values())
    p = rss_parts()
    r = p[0]
    samples.append(r); parts.append(p)
    print('soak: t=%4ds rss=%.0f MiB (anon %.0f, file %.0f) requests=%d 5xx=%d unanswered=%d load=%s' % (
        time.time() - t_start, r, p[1], p[2], n, sum(v for c, v in status.items() if c >= 500), len(unanswered),
        open('/proc/loadavg').read().split()[0]), flush=True)
    time.sleep(min(30, max(0, stop_at - time.time())))
for th in threads: th.join(timeout + 60)
alive = sum(th.is_alive() for th in threads)
if alive:
    unanswered.append('%d clients still waiting for an answer %d s after the end' % (alive, timeout + 60))
p = rss_parts()
samples.append(p[0]); parts.append(p)
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float('nan')
total = sum(status.values())
fivexx = sum(v for c, v in status.items() if c >= 500)
print('soak: %d requests in %d s (%.1f/s), %d clients; statuses %s' % (total, seconds, total / seconds, clients, dict(sorted(status.items()))))
print('soak: kinds %s' % dict(sorted(kinds.items())))
print('soak: embed p50 %.3f s p99 %.3f s; batch-of-8 p50 %.3f s p99 %.3f s' % (
    pct(latency['embed'], .5), pct(latency['embed'], .99), pct(latency['batch'], .5), pct(latency['batch'], .99)))
print('soak: RSS MiB first %.0f, after 5 min %.0f, max %.0f, last %.0f; samples %s' % (
    samples[0], samples[min(10, len(samples) - 1)], max(samples), samples[-1], ' '.join('%.0f' % s for s in samples)))
print('soak: RssAnon MiB samples %s' % ' '.join('%.0f' % q[1] for q in parts))
print('soak: RssFile MiB samples %s' % ' '.join('%.0f' % q[2] for q in parts))
print('soak: 5xx %d, unanswered %d %s' % (fivexx, len(unanswered), unanswered[:5]))
sys.exit(1 if fivexx or unanswered else 0)
