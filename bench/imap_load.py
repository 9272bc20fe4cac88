#!/usr/bin/env python3
"""bench/imap_load.py — one pass of a scripted IMAP load on 127.0.0.1.

    imap_load.py PORT USER PASSWORD CLIENTS PASS

CLIENTS connections (threads) log in and SELECT INBOX; then, timed from
the moment all of them are ready, each takes its share of the UIDs
(round-robin) and, per message, sends UID FETCH (BODY.PEEK[HEADER]),
UID FETCH (BODY.PEEK[]) and UID STORE +FLAGS or -FLAGS (\\Flagged) (so
Dovecot renames the Maildir file); last it marks the messages whose body's SHA-256
starts with a byte equal to PASS modulo 20 \\Deleted (a UID STORE each;
chosen by content, so the same messages go on every target) and sends one
EXPUNGE.  Every
command is one op and must answer OK with the data asked for.

Prints one line of JSON: ops, seconds, ops_per_s, errors, messages (the
count SELECT reported), bytes (of the bodies fetched) and digest, a hash
of the set of bodies that does not depend on their order or UIDs (equal
mailboxes give equal digests on every target).  Exit 0 when every command
went right, 1 otherwise, 2 usage.
"""
import hashlib
import imaplib
import json
import re
import sys
import threading
import time

UID_RE = re.compile(rb"UID (\d+)")


class Client:
    def __init__(self, port, user, password):
        self.imap = imaplib.IMAP4("127.0.0.1", port)
        self.ops = 0
        self.errors = []
        self.bytes = 0
        self.digests = []
        self.imap.login(user, password)
        typ, data = self.imap.select("INBOX")
        if typ != "OK":
            raise RuntimeError(f"SELECT: {typ} {data!r:.200}")
        self.messages = int(data[0])

    def cmd(self, what, *args):
        """One UID command; its data, or None (and an error noted)."""
        self.ops += 1
        try:
            typ, data = self.imap.uid(*args)
        except imaplib.IMAP4.error as e:
            typ, data = "EXC", [str(e).encode()]
        if typ != "OK":
            self.errors.append(f"{what}: {typ} {data!r:.200}")
            return None
        return data

    def literal(self, what, data):
        """The literal of a one-message FETCH answer, or None."""
        for item in data or []:
            if isinstance(item, tuple) and len(item) == 2:
                return item[1]
        self.errors.append(f"{what}: no literal in {data!r:.200}")
        return None

    def work(self, uids, pass_no):
        flag = "+FLAGS" if pass_no % 2 == 0 else "-FLAGS"
        doomed = []
        for uid in uids:
            u = str(uid)
            self.literal(f"FETCH HEADER {u}",
                         self.cmd(f"FETCH HEADER {u}", "FETCH", u,
                                  "(BODY.PEEK[HEADER])"))
            body = self.literal(f"FETCH BODY {u}",
                                self.cmd(f"FETCH BODY {u}", "FETCH", u,
                                         "(BODY.PEEK[])"))
            if body is not None:
                self.bytes += len(body)
                d = hashlib.sha256(body).digest()
                self.digests.append(d)
                if d[0] % 20 == pass_no % 20:
                    doomed.append(uid)
            self.cmd(f"STORE {u}", "STORE", u, flag, "(\\Flagged)")
        for uid in doomed:
            self.cmd(f"STORE Deleted {uid}", "STORE", str(uid),
                     "+FLAGS", "(\\Deleted)")
        self.ops += 1
        typ, data = self.imap.expunge()
        if typ != "OK":
            self.errors.append(f"EXPUNGE: {typ} {data!r:.200}")

    def close(self):
        try:
            self.imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def main():
    if len(sys.argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    nclients, pass_no = int(sys.argv[4]), int(sys.argv[5])
    clients = [Client(port, user, password) for _ in range(nclients)]
    typ, data = clients[0].imap.uid("SEARCH", None, "ALL")
    if typ != "OK":
        print(json.dumps({"errors": 1, "error": f"SEARCH: {typ}"}))
        return 1
    uids = sorted(int(u) for u in data[0].split())
    shares = [uids[i::nclients] for i in range(nclients)]
    failures = []

    def run(c, share):
        try:
            c.work(share, pass_no)
        except (imaplib.IMAP4.abort, OSError) as e:
            failures.append(f"connection: {e}")

    threads = [threading.Thread(target=run, args=(c, s))
               for c, s in zip(clients, shares)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    for c in clients:
        c.close()
    ops = sum(c.ops for c in clients)
    errors = failures + [e for c in clients for e in c.errors]
    # Order-free digest: the sorted per-body hashes, hashed.
    digest = hashlib.sha256(b"".join(sorted(
        d for c in clients for d in c.digests))).hexdigest()
    print(json.dumps({
        "ops": ops, "seconds": round(secs, 4),
        "ops_per_s": round(ops / secs, 1) if secs > 0 else 0,
        "errors": len(errors), "messages": clients[0].messages,
        "bytes": sum(c.bytes for c in clients), "digest": digest,
        "first_errors": errors[:5]}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
