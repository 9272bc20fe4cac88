#!/usr/bin/env python3
"""Fetch a whole INBOX back over IMAP and check it against the originals.

    imap_fetchback.py PORT USER PASSWORD CLIENTS ORIGDIR

CLIENTS connections (threads) to 127.0.0.1:PORT log in and SELECT INBOX;
then, timed from the moment all of them are ready, each fetches its share
of the UIDs (consecutive runs of BATCH) with UID FETCH (RFC822.SIZE
BODY.PEEK[]).  Every message fetched is matched by Message-ID against
ORIGDIR/*.eml and must be its original byte for byte (after CRLF -> LF),
below nothing but the trace headers the MTA and the MDA add in front
(Return-Path, Delivered-To, Received, X-Original-To), with an RFC822.SIZE
equal to the bytes sent.  The mailbox must hold every original exactly
once and nothing else.

Prints one line of JSON: messages (SELECT's count), originals, fetched,
missing, duplicate, corrupt, others, errors (IMAP commands that did not
answer OK), bytes (fetched), seconds, msgs_per_s, mb_per_s.  Up to 20
problems go to stderr, one per line.  Exit 0 when nothing is missing,
duplicate, corrupt, foreign or failed; 1 otherwise; 2 usage.
"""
import imaplib
import json
import re
import sys
import threading
import time

from mailcheck import msgid, originals

BATCH = 25
UID = re.compile(rb"UID (\d+)")
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
# What an MTA and an MDA may put above a message, and its folded lines.
TRACE = re.compile(rb"^(?:(?:return-path|delivered-to|received|x-original-to):.*|[ \t].*)$",
                   re.I)


def verdict(body, size, want):
    """Why BODY (as the server sent it) is not WANT below trace headers, or None."""
    if size != len(body):
        return f"RFC822.SIZE {size} but {len(body)} bytes sent"
    lf = body.replace(b"\r\n", b"\n")
    if not lf.endswith(want):
        return f"{len(lf)} bytes do not end with the original's {len(want)}"
    prefix = lf[:len(lf) - len(want)]
    if prefix and not prefix.endswith(b"\n"):
        return "the original does not start on a line of its own"
    bad = [line for line in prefix.split(b"\n")[:-1] if not TRACE.match(line)]
    return f"added line {bad[0][:60]!r} is not a trace header" if bad else None


class Client(threading.Thread):
    def __init__(self, port, user, password):
        super().__init__()
        self.imap = imaplib.IMAP4("127.0.0.1", port)
        self.imap.login(user, password)
        typ, data = self.imap.select("INBOX")
        if typ != "OK":
            raise RuntimeError(f"SELECT: {typ} {data!r:.200}")
        self.messages = int(data[0])
        self.uids = []
        self.got = []          # (uid, size, body)
        self.errors = []
        self.go = None

    def run(self):
        self.go.wait()
        for i in range(0, len(self.uids), BATCH):
            uids = ",".join(str(u) for u in self.uids[i:i + BATCH])
            try:
                typ, data = self.imap.uid("FETCH", uids, "(RFC822.SIZE BODY.PEEK[])")
            except imaplib.IMAP4.error as e:
                typ, data = "EXC", [str(e).encode()]
            if typ != "OK":
                self.errors.append(f"UID FETCH {uids}: {typ} {data!r:.200}")
                continue
            for item in data:
                if isinstance(item, tuple):
                    uid, size = UID.search(item[0]), SIZE.search(item[0])
                    self.got.append((int(uid.group(1)) if uid else 0,
                                     int(size.group(1)) if size else -1, item[1]))
        self.imap.logout()


def main():
    if len(sys.argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    port, user, password, clients, origdir = sys.argv[1:]
    port, clients = int(port), int(clients)
    origs = originals(origdir)

    conns = [Client(port, user, password) for _ in range(clients)]
    typ, data = conns[0].imap.uid("SEARCH", None, "ALL")
    if typ != "OK":
        raise RuntimeError(f"UID SEARCH: {typ} {data!r:.200}")
    uids = [int(u) for u in data[0].split()]
    # Consecutive runs, dealt round-robin: each client reads its own
    # files, as clients of different users would.
    runs = [uids[i:i + BATCH] for i in range(0, len(uids), BATCH)]
    for i, r in enumerate(runs):
        conns[i % clients].uids += r
    go = threading.Event()
    for c in conns:
        c.go = go
        c.start()
    t0 = time.monotonic()
    go.set()
    for c in conns:
        c.join()
    secs = time.monotonic() - t0

    problems, seen = [], {}
    others = corrupt = nbytes = 0
    for c in conns:
        for uid, size, body in c.got:
            nbytes += len(body)
            k = msgid(body.replace(b"\r\n", b"\n"))
            if k not in origs:
                others += 1
                problems.append(f"uid {uid}: not one of the originals ({k})")
                continue
            seen[k] = seen.get(k, 0) + 1
            why = verdict(body, size, origs[k][1])
            if why:
                corrupt += 1
                problems.append(f"uid {uid} ({origs[k][0]}): {why}")
    missing = [origs[k][0] for k in origs if k not in seen]
    dup = [origs[k][0] for k, n in seen.items() if n > 1]
    problems += [f"missing: {n}" for n in missing] + [f"duplicate: {n}" for n in dup]
    errors = [e for c in conns for e in c.errors]
    problems += errors
    for p in problems[:20]:
        sys.stderr.write(p + "\n")
    out = {
        "messages": conns[0].messages, "originals": len(origs),
        "fetched": sum(len(c.got) for c in conns), "missing": len(missing),
        "duplicate": len(dup), "corrupt": corrupt, "others": others,
        "errors": len(errors), "bytes": nbytes, "seconds": round(secs, 3),
        "msgs_per_s": round(len(uids) / secs, 1) if secs > 0 else 0,
        "mb_per_s": round(nbytes / 1e6 / secs, 1) if secs > 0 else 0,
    }
    print(json.dumps(out))
    return 1 if missing or dup or corrupt or others or errors else 0


if __name__ == "__main__":
    sys.exit(main())
