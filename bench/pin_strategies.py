#!/usr/bin/env python3
"""bench/pin_strategies.py — how to keep N blocks pinned on an IPFS node:
per-block pins vs a pin-set DAG (dag-cbor nodes linking every live block,
one recursive pin).  Measures against a running node's RPC API.

usage: pin_strategies.py API_URL [N] [BATCH]
  API_URL  http://127.0.0.1:P/api/v0 (tests/ipfs-node/kubo-start.sh)
  N        blocks (default 10000), 4 KiB random, put with format=raw
  BATCH    CIDs per pin/add request in the batched per-block run (100)

Prints one line per measurement: the full pin of N blocks each way, then a
"commit" of 5 new blocks each way (per-block: one pin/add of 5 args; DAG:
new leaf + root, pin/add root, pin/rm old root), then unpinning 100 freed
blocks (gc) each way.
"""
import base64
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

API = urllib.parse.urlparse(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 100
FANOUT = 1000
local = threading.local()


def call(path, body=None, ctype='application/octet-stream'):
    for attempt in range(3):
        conn = getattr(local, 'c', None) or http.client.HTTPConnection(API.hostname, API.port, timeout=600)
        local.c = conn
        try:
            hdrs = {}
            data = None
            if body is not None:
                b = b'------ipmdbench'
                data = (b'--' + b + b'\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
                        b'Content-Type: ' + ctype.encode() + b'\r\n\r\n' + body + b'\r\n--' + b + b'--\r\n')
                hdrs['Content-Type'] = 'multipart/form-data; boundary=' + b.decode()
            conn.request('POST', API.path + path, body=data, headers=hdrs)
            r = conn.getresponse()
            out = r.read()
            if r.status != 200:
                raise RuntimeError(f'{path[:60]}: {r.status} {out[:200]!r}')
            return out
        except (OSError, http.client.HTTPException):
            local.c = None
            if attempt == 2:
                raise


def raw_cid(data):
    b = b'\x01\x55\x12\x20' + hashlib.sha256(data).digest()
    return 'b' + base64.b32encode(b).decode().lower().rstrip('=')


def parallel(items, fn, threads=8):
    it = iter(items)
    lock = threading.Lock()

    def w():
        while True:
            with lock:
                x = next(it, None)
            if x is None:
                return
            fn(x)
    ts = [threading.Thread(target=w) for _ in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]


def put_blocks(n):
    blocks = [os.urandom(4096) for _ in range(n)]
    parallel(blocks, lambda b: call('/block/put?format=raw&cid-codec=raw&mhtype=sha2-256', b))
    return [raw_cid(b) for b in blocks]


def dag_put(links):
    doc = json.dumps({'l': [{'/': c} for c in links]}).encode()
    r = json.loads(call('/dag/put?store-codec=dag-cbor&input-codec=dag-json', doc, 'application/json'))
    return r['Cid']['/']


def pin_set(cids):
    cids = sorted(cids)
    leaves = [dag_put(cids[i:i + FANOUT]) for i in range(0, len(cids), FANOUT)]
    return dag_put(leaves), leaves


def t(label, fn):
    t0 = time.monotonic()
    r = fn()
    dt = time.monotonic() - t0
    print(f'{label}: {dt:.2f} s', flush=True)
    return r, dt


def main():
    cids, dt = t(f'put {N} raw blocks of 4 KiB (8 connections)', lambda: put_blocks(N))
    print(f'  = {N / dt:.0f} blocks/s')

    # 1. per-block, one request each (8 connections in parallel)
    _, dt = t(f'per-block pin/add, one CID per request, {N} requests',
              lambda: parallel(cids, lambda c: call(f'/pin/add?arg={c}&recursive=false')))
    print(f'  = {N / dt:.0f} pins/s')
    t('pin/rm of all, batched', lambda: [call('/pin/rm?' + '&'.join(f'arg={c}' for c in cids[i:i + BATCH]) + '&recursive=false')
                                          for i in range(0, N, BATCH)])
    # 2. per-block, batched
    _, dt = t(f'per-block pin/add, {BATCH} CIDs per request',
              lambda: [call('/pin/add?' + '&'.join(f'arg={c}' for c in cids[i:i + BATCH]) + '&recursive=false')
                       for i in range(0, N, BATCH)])
    print(f'  = {N / dt:.0f} pins/s')
    _, dt = t('pin/ls (type=direct) listing them', lambda: call('/pin/ls?type=direct'))
    # A commit adds 5 blocks; a gc frees 100.
    new = put_blocks(5)
    t('commit, per-block: pin/add 5 CIDs in one request',
      lambda: call('/pin/add?' + '&'.join(f'arg={c}' for c in new) + '&recursive=false'))
    freed = cids[:100]
    t('gc, per-block: pin/rm 100 freed CIDs in one request',
      lambda: call('/pin/rm?' + '&'.join(f'arg={c}' for c in freed) + '&recursive=false'))
    rest = cids[100:] + new
    t('pin/rm of all, batched', lambda: [call('/pin/rm?' + '&'.join(f'arg={c}' for c in rest[i:i + BATCH]) + '&recursive=false')
                                          for i in range(0, len(rest), BATCH)])
    # 3. pin-set DAG
    (root, _leaves), _ = t(f'pin-set DAG: dag/put {len(range(0, N, FANOUT))} leaves of <= {FANOUT} links + root',
                          lambda: pin_set(cids))
    t('pin-set DAG: pin/add root, recursive', lambda: call(f'/pin/add?arg={root}&recursive=true'))


    def dag_commit():
        allc = sorted(cids + new)
        r2, _ = pin_set(allc)  # the leaves a real client would rebuild: those that changed
        call(f'/pin/add?arg={r2}&recursive=true')
        call(f'/pin/rm?arg={root}&recursive=true')
        return r2
    root2, _ = t('commit, pin-set DAG: rebuild, pin/add new root (recursive), pin/rm old', dag_commit)

    def dag_gc():
        keep = sorted(set(cids[100:] + new))
        r3, _ = pin_set(keep)
        call(f'/pin/add?arg={r3}&recursive=true')
        call(f'/pin/rm?arg={root2}&recursive=true')
    t('gc, pin-set DAG: rebuild without 100, pin/add new root, pin/rm old', dag_gc)


if __name__ == '__main__':
    main()
