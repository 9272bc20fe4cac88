#!/usr/bin/env python3
"""tests/integration/ipfs_proxy.py — an HTTP proxy in front of a real IPFS
node's RPC API that misbehaves on demand, for the fault tests.

usage: ipfs_proxy.py UPSTREAM_PORT CONTROL_FILE PORT_FILE EVENT_LOG
  Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening)
  and forwards every request to 127.0.0.1:UPSTREAM_PORT.  CONTROL_FILE is
  read at each request; its first word picks the behaviour:
    pass          forward as is
    corrupt       block/get answers of 200 come back with one byte flipped
    delay MS      wait MS milliseconds before forwarding
  Each corrupted or delayed request appends one line to EVENT_LOG
  ("corrupt CID" / "delay PATH"), so a test can prove the fault happened.
"""
import http.client
import http.server
import sys
import threading
import time
import urllib.parse

UPSTREAM, CONTROL, PORT_FILE, EVENTS = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
local = threading.local()
event_lock = threading.Lock()


def mode():
    try:
        with open(CONTROL) as f:
            w = f.read().split()
    except OSError:
        return ('pass', 0)
    if not w:
        return ('pass', 0)
    return (w[0], int(w[1]) if len(w) > 1 else 0)


def event(line):
    with event_lock, open(EVENTS, 'a') as f:
        f.write(line + '\n')


def upstream(method, path, headers, body):
    for attempt in range(2):
        conn = getattr(local, 'conn', None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection('127.0.0.1', UPSTREAM, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.getheaders(), r.read()
        except (OSError, http.client.HTTPException):
            local.conn = None
            if attempt:
                raise


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def handle_one(self):
        what, arg = mode()
        if what == 'delay':
            event('delay ' + self.path)
            time.sleep(arg / 1000)
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else None
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ('host', 'connection', 'content-length',
                                     'transfer-encoding', 'expect')}
        if body is not None:
            hdrs['Content-Length'] = str(len(body))
        try:
            status, rh, data = upstream(self.command, self.path, hdrs, body)
        except (OSError, http.client.HTTPException):
            self.send_response(502)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        u = urllib.parse.urlparse(self.path)
        if what == 'corrupt' and u.path.endswith('/block/get') and status == 200 and data:
            b = bytearray(data)
            b[len(b) // 2] ^= 0x5a
            data = bytes(b)
            cid = urllib.parse.parse_qs(u.query).get('arg', ['?'])[0]
            event('corrupt ' + cid)
        self.send_response(status)
        for k, v in rh:
            if k.lower() not in ('content-length', 'transfer-encoding', 'connection'):
                self.send_header(k, v)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET = handle_one


srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
srv.daemon_threads = True
with open(PORT_FILE + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORT_FILE + '.tmp', PORT_FILE)
srv.serve_forever()
