#!/usr/bin/env python3
"""tests/integration/ipfs_blocks.py — which block files of a store are on an
IPFS node, checked in one process over a few keep-alive connections.

usage: ipfs_blocks.py API_URL FILE...      (or file names on stdin with -)
  API_URL  http://127.0.0.1:P/api/v0
  FILE     a block file whose name is its CID (STORE/blocks/xx/CID)
Prints "TOTAL MISSING" and one "missing CID" line per block the node lacks
(block/stat with a 2 s node-side timeout).  Exit 0 when none is missing.

One curl process per block costs ~30 ms of process start-up each; here a
thousand blocks take about a second.
"""
import http.client
import os
import sys
import threading
import urllib.parse

THREADS = 8


def main():
    api = urllib.parse.urlparse(sys.argv[1])
    files = sys.argv[2:]
    if files == ['-']:
        files = [l.strip() for l in sys.stdin if l.strip()]
    cids = [os.path.basename(f) for f in files]
    missing = []
    lock = threading.Lock()
    it = iter(cids)

    def worker():
        conn = None
        while True:
            with lock:
                cid = next(it, None)
            if cid is None:
                break
            for attempt in range(3):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(api.hostname, api.port, timeout=10)
                    conn.request('POST', f'{api.path}/block/stat?arg={cid}&timeout=2s')
                    r = conn.getresponse()
                    r.read()
                    ok = r.status == 200
                    break
                except (OSError, http.client.HTTPException):
                    conn = None
                    ok = False
            if not ok:
                with lock:
                    missing.append(cid)

    ts = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(len(cids), len(missing))
    for c in missing:
        print('missing', c)
    return 0 if not missing else 1


if __name__ == '__main__':
    sys.exit(main())
