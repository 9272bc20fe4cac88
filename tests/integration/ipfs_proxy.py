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
    dhtfail CID   dht/get or routing/get fails (500, not "not found"); name/resolve
                  answers /ipfs/CID (a node picking the head itself)
    record FILE   dht/get or routing/get answers one value event: the IPNS
                  record in FILE
    fakepin       dag/import and block/put are answered as stored and
                  pinned without reaching the node (a node that lies)
  Each request so treated appends one line to EVENT_LOG ("corrupt CID",
  "delay PATH", "dhtfail PATH", "record", "fakepin N"), so a test can
  prove the fault happened.
"""
import base64
import hashlib
import json
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
    if w[0] == 'delay':
        return (w[0], int(w[1]) if len(w) > 1 else 0)
    return (w[0], w[1] if len(w) > 1 else '')


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


def varint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return n, i


def cid_text(raw):
    return 'b' + base64.b32encode(raw).decode().lower().rstrip('=')


def raw_cid(data):
    return cid_text(b'\x01\x55\x12\x20' + hashlib.sha256(data).digest())


def multipart_data(content_type, body):
    """The first part's bytes of a multipart/form-data body."""
    boundary = content_type.split('boundary=')[1].strip('"').encode()
    part = body.split(b'--' + boundary)[1]
    return part.split(b'\r\n\r\n', 1)[1][:-2]


def car_cids(car):
    """The CIDs of a CARv1's blocks (CIDv1 only, as ipmaildir writes)."""
    n, i = varint(car, 0)
    i += n
    out = []
    while i < len(car):
        n, j = varint(car, i)
        end = j + n
        k = j
        for _ in range(3):  # version, codec, multihash code
            _, k = varint(car, k)
        ln, k = varint(car, k)
        out.append(cid_text(car[j:k + ln]))
        i = end
    return out


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
        if self.answer_here(what, arg, body):
            return
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

    def reply(self, status, data):
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def answer_here(self, what, arg, body):
        """The answers the proxy makes up itself; False: forward."""
        path = urllib.parse.urlparse(self.path).path
        # routing/get: Kubo's name for js-ipfs's dht/get
        get = path.endswith('/dht/get') or path.endswith('/routing/get')
        if what == 'dhtfail' and get:
            event('dhtfail ' + self.path)
            self.reply(500, b'{"Message":"routing: query failed","Code":0,"Type":"error"}')
        elif what == 'dhtfail' and path.endswith('/name/resolve'):
            event('resolve ' + arg)
            self.reply(200, json.dumps({'Path': '/ipfs/' + arg}).encode())
        elif what == 'record' and get:
            event('record')
            with open(arg, 'rb') as f:
                rec = base64.b64encode(f.read()).decode()
            self.reply(200, (json.dumps({'Extra': rec, 'ID': '', 'Responses': None,
                                         'Type': 5}) + '\n').encode())
        elif what == 'fakepin' and path.endswith('/dag/import'):
            cids = car_cids(multipart_data(self.headers['Content-Type'], body))
            event('fakepin %d' % len(cids))
            self.reply(200, b''.join(json.dumps(
                {'Root': {'Cid': {'/': c}, 'PinErrorMsg': ''}}).encode() + b'\n'
                for c in cids))
        elif what == 'fakepin' and path.endswith('/block/put'):
            data = multipart_data(self.headers['Content-Type'], body)
            event('fakepin 1')
            self.reply(200, json.dumps({'Key': raw_cid(data), 'Size': len(data)}).encode())
        else:
            return False
        return True

    do_POST = do_GET = handle_one


srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
srv.daemon_threads = True
with open(PORT_FILE + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORT_FILE + '.tmp', PORT_FILE)
srv.serve_forever()
