#!/usr/bin/env python3
"""tests/fuzz/seeds.py — write the seed corpora tests/fuzz/corpus/NAME/.

Seeds are valid inputs of each target's format (see the target's header
comment), so the fuzzer starts from the shapes the parsers accept.  Run
from the top of the tree; it only adds or overwrites its own seed files
(regression inputs saved beside them stay).  A key file seed is copied
from a store that `ipmaildir init` made, if IPMD_SEED_STORE names one.
"""
import base64, hashlib, json, os, struct, sys

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
KEY = base64.urlsafe_b64encode(b"\x42" * 32).rstrip(b"=").decode()


def cid(first_digest_byte, tag=b""):
    d = bytearray(hashlib.sha256(tag).digest())
    d[0] = first_digest_byte
    raw = bytes([1, 0x55, 0x12, 0x20]) + bytes(d)
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def canon(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def put(name, seed, data):
    d = os.path.join(TOP, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + seed), "wb") as f:
        f.write(data)


def attrs(ino, mode, size=0, t=1700000000123456789):
    return {"ino": ino, "mode": mode, "uid": 1000, "gid": 1000,
            "size": size, "mtime": t, "ctime": t, "atime": t}


def manifest():
    self_ = attrs(1, 0o40700)
    cur = dict(attrs(2, 0o40700), name="cur", cid=cid(1, b"cur"), key=KEY)
    new = dict(attrs(3, 0o40700), name="new", cid=cid(2, b"new"), key=KEY)
    msg = dict(attrs(4, 0o100600, 1234), name="1700000000.M1P2.host:2,S",
               cid=cid(9, b"m"), key=KEY, depth=0)
    link = dict(attrs(5, 0o120777, 3), name="link", target="cur")
    empty = dict(attrs(6, 0o100600), name="empty")
    bname = dict(attrs(7, 0o100600),
                 bname=base64.urlsafe_b64encode(b"\xff\xfe").rstrip(b"=").decode())
    hard = dict(attrs(4, 0o100600, 1234), name="hardlink",
                cid=cid(9, b"m"), key=KEY, depth=0)
    root = {"v": 1, "self": self_,
            "entries": sorted([cur, new, link, empty, hard, msg],
                              key=lambda e: e["name"].encode())}
    flat = {"v": 1, "entries": [dict(attrs(8, 0o100600, 10), name="a",
                                     cid=cid(7, b"a"), key=KEY, depth=0)]}
    sharded = {"v": 1, "shards": 2, "refs": [None, {"cid": cid(3, b"s"), "key": KEY}]}
    shard = {"v": 1, "shard": 1, "of": 2, "entries": []}
    put("manifest", "root", canon(root))
    put("manifest", "tree", b"\0".join(canon(x) for x in (root, flat, sharded, shard)))
    put("manifest", "bname", canon({"v": 1, "self": self_, "entries": [bname]}))
    put("manifest", "empty", canon({"v": 1, "self": self_, "entries": []}))
    put("manifest", "escapes", canon({"v": 1, "self": self_, "entries": [
        dict(attrs(2, 0o100600), name="\u00e9t\u00e9 \"q\"\\\t\U0001F600")]}).replace(
            b"\\t", b"\\u0009"))
    # Special files (a version 2 block): a FIFO, a socket, devices with
    # their rdev, and a hard link to the FIFO.
    special = [dict(attrs(10, 0o10640), name="fifo"),
               dict(attrs(11, 0o140755), name="sock"),
               dict(attrs(12, 0o20620), name="null", rdev=0x103),
               dict(attrs(13, 0o60660), name="loop0", rdev=0x700),
               dict(attrs(10, 0o10640), name="fifo2")]
    put("manifest", "special", canon({"v": 2, "self": self_, "entries": sorted(
        special, key=lambda e: e["name"].encode())}))


def commit():
    c = {"v": 1, "seq": 7, "parent": cid(5, b"p"),
         "tree": {"cid": cid(0, b"t"), "key": KEY}, "time": 1700000000000000000,
         "next_ino": 42, "messages": 3, "folders": 1, "added": 1,
         "removed": 0, "renamed": 2}
    put("commit", "signed", b"\x01" + canon(c))
    first = dict(c, seq=1, parent=None)
    put("commit", "first", b"\x01" + canon(first))
    put("commit", "raw", b"\x00" + canon(dict(c, sig="A" * 86)))
    # Version 2: a merge, and a mailbox with a second device's range.
    merge = dict(c, v=2, merged=[cid(6, b"m")], inos=[42, (5 << 40) + 9],
                 next_ino=(5 << 40) + 9)
    put("commit", "merge", b"\x01" + canon(merge))


def keys():
    store = os.environ.get("IPMD_SEED_STORE")
    if store and os.path.exists(os.path.join(store, "key")):
        img = open(os.path.join(store, "key"), "rb").read()
        put("keys", "keyfile", b"\x00" + img)
        put("keys", "keyfile-fixed", b"\x01" + img)
    # A wrapped file with the cheapest Argon2id cost (checksum fixed by
    # the target in mode 1).
    img = (b"ipmdkey\n" + bytes([1, 1]) + b"\0\0" + struct.pack(">II", 1, 8)
           + b"\x11" * 16 + b"\x22" * 24 + b"\x33" * 48 + b"\0" * 16)
    put("keys", "wrapped-cheap", b"\x01" + img)
    rc = "ipmaildir-read-v1:" + base64.urlsafe_b64encode(
        bytes(range(64))).rstrip(b"=").decode() + "\n"
    put("keys", "readcap", b"\x02" + rc.encode())


def cids():
    put("cid", "v1", cid(0x12, b"x").encode())
    put("cid", "v0", b"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")
    put("cid", "ipns", b"k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8")
    put("cid", "z", b"zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA")
    put("cid", "cap", ("ipmaildir:" + cid(3, b"c") + "?size=300000&depth=1#" + KEY).encode())
    put("cid", "cap-empty", b"ipmaildir:empty")
    put("cid", "varint", bytes([0xff, 0xff, 0x03]))


def journal():
    recs = [
        {"op": "create", "dir": 1, "name": "cur", "ino": 2, "mode": 0o40700,
         "uid": 0, "gid": 0, "time": 5},
        {"op": "create", "dir": 1, "name": "tmp", "ino": 3, "mode": 0o40700,
         "uid": 0, "gid": 0, "time": 5},
        {"op": "create", "dir": 3, "name": "m1", "ino": 4, "mode": 0o100600,
         "uid": 0, "gid": 0, "time": 6},
        {"op": "content", "ino": 4, "size": 10, "cid": cid(1, b"q"),
         "key": KEY, "depth": 0, "mtime": 7, "time": 7},
        {"op": "link", "ino": 4, "dir": 2, "name": "m1:2,", "time": 8},
        {"op": "unlink", "dir": 3, "name": "m1", "rmdir": False, "time": 9},
        {"op": "rename", "dir": 2, "name": "m1:2,", "newdir": 2,
         "newname": "m1:2,S", "flags": 0, "time": 10},
        {"op": "setattr", "ino": 4, "set": 31, "mode": 0o100640, "uid": 1,
         "gid": 2, "atime": 11, "mtime": 12, "time": 13},
        {"op": "create", "dir": 1, "name": "l", "ino": 5, "mode": 0o120777,
         "uid": 0, "gid": 0, "time": 14, "target": "cur"},
    ]
    special = [
        {"op": "create", "dir": 1, "name": "fifo", "ino": 6, "mode": 0o10644,
         "uid": 0, "gid": 0, "time": 15},
        {"op": "create", "dir": 1, "name": "tty", "ino": 7, "mode": 0o20620,
         "uid": 0, "gid": 5, "time": 16, "rdev": 0x8801},
        {"op": "link", "ino": 6, "dir": 2, "name": "fifo2", "time": 17},
    ]
    put("journal", "special", b"\x01\xff" + b"\0".join(canon(r) for r in recs + special))
    put("journal", "records", b"\x01\xff" + b"\0".join(canon(r) for r in recs))
    put("journal", "records-cut", b"\x01\x80" + b"\0".join(canon(r) for r in recs))
    put("journal", "block", b"\x01\xff" + b"\0" + b"\x00" * 80)
    put("journal", "file", b"\x00" + b"ipmdjnl1" + struct.pack(">Q", 1)
        + struct.pack(">I", 56) + b"\x5a" * 56)


if __name__ == "__main__":
    manifest(); commit(); keys(); cids(); journal()
