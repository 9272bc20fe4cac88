#!/usr/bin/env python3
"""bench/pin_strategies.py — how ipmaildir should keep its blocks pinned on
a Kubo node: one pin per block (what bs_kubo does: dag/import pin-roots,
every block a root) against one recursive pin of a pin-set DAG (dag-cbor
nodes linking every live block; ipmaildir's own blocks are sealed, so
Kubo sees no links in them and a recursive pin of the commit block alone
would keep that block only) moved with pin/update at each commit.

usage: pin_strategies.py API_A API_B [N] [COMMITS]
  API_A, API_B  http://127.0.0.1:P/api/v0 of two fresh nodes
                (tests/ipfs-node/kubo-start.sh): A gets per-block pins,
                B the pin-set; each its own N blocks
  N             blocks (default 10000), 4 KiB random
  COMMITS       commits measured (default 20), each 5 new blocks, as a
                delivery's commit writes (chunk, directory shards, commit)

Every phase is done the way a client would do it, in the client's request
sizes (dag/import bodies of up to 4 MiB and 256 blocks, as bs_kubo; unpins
as bs_kubo_unpin_many: pin/ls then pin/rm of 64 CIDs a request):
  upload   N blocks through dag/import (A: pin-roots=true; B: pin-roots=false,
           then the pin-set built with dag/put and its root pinned)
  commit   5 new blocks (A: one dag/import pin-roots=true; B: dag/import,
           the changed pin-set nodes and root dag/put, pin/update old new)
  gc       100 blocks freed (A: pin/ls + pin/rm batches; B: the changed
           pin-set nodes and root, pin/update)
  pin/ls   the node listing its recursive pins (what ipmaildir's tests
           and a user's `ipfs pin ls` cost)
  repo gc  the node's own garbage collection with everything pinned (it
           walks every pin)
Prints one line per figure, then one CSV line per figure prefixed "csv,".
"""
import base64
import hashlib
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse

N = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
COMMITS = int(sys.argv[4]) if len(sys.argv) > 4 else 20
FANOUT = 1000          # links per pin-set node
IMPORT_MAX = 4 << 20   # KUBO_IMPORT_MAX_BYTES
UNPIN_BATCH = 64       # KUBO_UNPIN_BATCH
IMPORT_BLOCKS = 256    # KUBO_IMPORT_MAX_BLOCKS


class Node:
    def __init__(self, url):
        self.u = urllib.parse.urlparse(url)
        self.c = None

    def call(self, path, body=None, ctype='application/octet-stream'):
        for attempt in range(3):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.u.hostname, self.u.port, timeout=3600)
            try:
                hdrs, data = {}, None
                if body is not None:
                    b = b'------ipmdbench'
                    data = (b'--' + b + b'\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
                            b'Content-Type: ' + ctype.encode() + b'\r\n\r\n' + body + b'\r\n--' + b + b'--\r\n')
                    hdrs['Content-Type'] = 'multipart/form-data; boundary=' + b.decode()
                self.c.request('POST', self.u.path + path, body=data, headers=hdrs)
                r = self.c.getresponse()
                out = r.read()
                if r.status != 200:
                    raise RuntimeError(f'{path[:60]}: {r.status} {out[:200]!r}')
                return out
            except (OSError, http.client.HTTPException):
                self.c = None
                if attempt == 2:
                    raise


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def raw_cid_bytes(data):
    return b'\x01\x55\x12\x20' + hashlib.sha256(data).digest()


def cid_text(cb):
    return 'b' + base64.b32encode(cb).decode().lower().rstrip('=')


def cid_bytes(text):
    s = text[1:].upper()
    return base64.b32decode(s + '=' * (-len(s) % 8))


def import_blocks(node, blocks, pin):
    """blocks: [(cid bytes, data)] in CARs of at most IMPORT_MAX bytes."""
    i = 0
    while i < len(blocks):
        j, size = i, 0
        while (j < len(blocks) and j - i < IMPORT_BLOCKS and
               size + len(blocks[j][1]) + 64 < IMPORT_MAX):
            size += len(blocks[j][1]) + 64
            j += 1
        part = blocks[i:j]
        # pinned: every block a root, as car_batch + pin-roots=true
        roots = [cb for cb, _ in part] if pin else [part[0][0]]
        body = car(roots, part)
        node.call(f'/dag/import?pin-roots={"true" if pin else "false"}', body,
                  'application/vnd.ipld.car')
        i = j


def car(roots, blocks):
    """CARv1: a dag-cbor header {roots, version: 1}, then varint-framed
    (CID, bytes) sections."""
    def arr(n):
        return bytes([0x80 | n]) if n < 24 else (b'\x99' + n.to_bytes(2, 'big'))
    def tag42(cb):
        v = b'\x00' + cb
        return b'\xd8\x2a' + bytes([0x58, len(v)]) + v
    hdr = b'\xa2' + b'\x65roots' + arr(len(roots)) + b''.join(tag42(r) for r in roots) + b'\x67version\x01'
    out = [varint(len(hdr)), hdr]
    for cb, data in blocks:
        out += [varint(len(cb) + len(data)), cb, data]
    return b''.join(out)


def new_blocks(n):
    out = []
    for _ in range(n):
        d = os.urandom(4096)
        out.append((raw_cid_bytes(d), d))
    return out


class PinSet:
    """Live blocks in buckets by CID hash; one dag-cbor node per bucket,
    a root linking the buckets.  A change re-puts only its buckets."""
    def __init__(self, node, nbuckets):
        self.node, self.nb = node, nbuckets
        self.buckets = [set() for _ in range(nbuckets)]
        self.leaf = [None] * nbuckets
        self.root = None

    def bucket(self, c):
        return int.from_bytes(hashlib.sha256(c.encode()).digest()[:4], 'big') % self.nb

    def dag_put(self, links):
        doc = json.dumps({'l': [{'/': c} for c in sorted(links)]}).encode()
        r = json.loads(self.node.call('/dag/put?store-codec=dag-cbor&input-codec=dag-json&pin=false',
                                      doc, 'application/json'))
        return r['Cid']['/']

    def change(self, add=(), drop=()):
        touched = set()
        for c in add:
            b = self.bucket(c)
            self.buckets[b].add(c)
            touched.add(b)
        for c in drop:
            b = self.bucket(c)
            self.buckets[b].discard(c)
            touched.add(b)
        for b in touched:
            self.leaf[b] = self.dag_put(self.buckets[b])
        old, self.root = self.root, self.dag_put(self.leaf)
        return old


FIG = []


def fig(strategy, what, seconds, note=''):
    FIG.append((strategy, what, seconds, note))
    print(f'{strategy:9} {what:44} {seconds * 1000:10.1f} ms  {note}', flush=True)


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def commits(label, fn):
    ts = []
    for _ in range(COMMITS):
        _, dt = timed(fn)
        ts.append(dt)
    fig(label, f'commit of 5 blocks, median of {COMMITS}', statistics.median(ts),
        f'min {min(ts) * 1000:.1f} max {max(ts) * 1000:.1f} ms')


def count_pins(node):
    out = node.call('/pin/ls?type=recursive&quiet=true&stream=true')
    return sum(1 for line in out.splitlines() if line.strip())


def node_costs(label, node):
    """What the pins cost the node itself: listing them, its own gc."""
    n, dt = timed(lambda: count_pins(node))
    fig(label, 'pin/ls type=recursive', dt, f'{n} pins')
    _, dt = timed(lambda: node.call('/repo/gc?quiet=true'))
    fig(label, 'repo gc (nothing to free but 100 blocks)', dt)


def per_block(node):
    blocks = new_blocks(N)
    _, dt = timed(lambda: import_blocks(node, blocks, True))
    fig('per-block', f'upload {N} blocks, pinned in the import', dt, f'{N / dt:.0f} blocks/s')
    commits('per-block', lambda: import_blocks(node, new_blocks(5), True))
    freed = [cid_text(cb) for cb, _ in blocks[:100]]

    def unpin():
        for i in range(0, len(freed), UNPIN_BATCH):
            q = '&'.join(f'arg={c}' for c in freed[i:i + UNPIN_BATCH])
            node.call(f'/pin/ls?{q}&type=recursive')
            node.call(f'/pin/rm?{q}&recursive=true')
    _, dt = timed(unpin)
    fig('per-block', 'gc --node: unpin 100 freed blocks', dt, '2 pin/ls + 2 pin/rm')
    node_costs('per-block', node)


def pin_set(node):
    blocks = new_blocks(N)
    ps = PinSet(node, max(1, (N + FANOUT - 1) // FANOUT))

    def upload():
        import_blocks(node, blocks, False)
        ps.change(add=[cid_text(cb) for cb, _ in blocks])
        node.call(f'/pin/add?arg={ps.root}&recursive=true')
    _, dt = timed(upload)
    fig('pin-set', f'upload {N} blocks, pin-set built and pinned', dt,
        f'{N / dt:.0f} blocks/s, {ps.nb} leaves')

    def commit():
        nb = new_blocks(5)
        import_blocks(node, nb, False)
        old = ps.change(add=[cid_text(cb) for cb, _ in nb])
        node.call(f'/pin/update?arg={old}&arg={ps.root}&unpin=true')
    commits('pin-set', commit)
    freed = [cid_text(cb) for cb, _ in blocks[:100]]

    def gc():
        old = ps.change(drop=freed)
        node.call(f'/pin/update?arg={old}&arg={ps.root}&unpin=true')
    _, dt = timed(gc)
    fig('pin-set', 'gc --node: unpin 100 freed blocks', dt, 'changed leaves + root, pin/update')
    node_costs('pin-set', node)


def main():
    a, b = Node(sys.argv[1]), Node(sys.argv[2])
    ver = json.loads(a.call('/version'))['Version']
    print(f'Kubo {ver}, N={N}, 4 KiB blocks, {COMMITS} commits of 5 blocks')
    per_block(a)
    pin_set(b)
    for s, w, t, note in FIG:
        print(f'csv,{N},{s},"{w}",{t * 1000:.1f},"{note}"')


if __name__ == '__main__':
    main()
