#!/usr/bin/env python3
"""Delivered messages against their originals (stdlib only).

    mailcheck.py [--exact] ORIGDIR MAILDIR

Every ORIGDIR/*.eml is in MAILDIR's new/ or cur/ exactly once (found by
Message-ID), byte for byte: the delivered file ends with the original and
anything before it is whole header lines an MDA added (Return-Path,
Delivered-To, Received...); --exact allows nothing before.  Prints one
summary line "originals=N found=N missing=N duplicate=N corrupt=N
others=N"; details go to stderr as TAP comments.  Exit 0 when nothing is
missing, duplicate or corrupt (messages other than the originals are
counted, not errors).

As a module: msgid() and originals() for the other checkers
(imap_fetchback.py).
"""
import os
import re
import sys

HDR = re.compile(rb"^(?:[!-9;-~]+:.*|[ \t].*)$")


def msgid(data):
    """The Message-ID of a message with LF line ends, or None."""
    head = data.split(b"\n\n", 1)[0]
    m = re.search(rb"^message-id:[ \t]*(<[^>\n]+>)", head, re.I | re.M)
    return m.group(1) if m else None


def originals(orig_dir):
    """{message-id: (file name, bytes)} of ORIG_DIR/*.eml."""
    origs = {}
    for n in sorted(os.listdir(orig_dir)):
        if n.endswith(".eml"):
            with open(os.path.join(orig_dir, n), "rb") as f:
                d = f.read()
            origs[msgid(d)] = (n, d)
    return origs


def main():
    args = sys.argv[1:]
    exact = "--exact" in args
    args = [a for a in args if a != "--exact"]
    orig_dir, maildir = args
    origs = originals(orig_dir)
    found, others = {}, 0
    for sub in ("new", "cur"):
        p = os.path.join(maildir, sub)
        for n in sorted(os.listdir(p)):
            with open(os.path.join(p, n), "rb") as f:
                d = f.read()
            k = msgid(d)
            if k in origs:
                found.setdefault(k, []).append((f"{sub}/{n}", d))
            else:
                others += 1
    missing = dup = corrupt = 0
    shown = 0

    def note(s):
        nonlocal shown
        if shown < 20:
            sys.stderr.write(f"# {s}\n")
        shown += 1
    for k, (name, want) in origs.items():
        got = found.get(k, [])
        if not got:
            missing += 1
            note(f"missing: {name}")
            continue
        if len(got) > 1:
            dup += 1
            note(f"duplicate: {name} as {[g[0] for g in got]}")
        path, d = got[0]
        prefix = d[:-len(want)] if len(d) >= len(want) else None
        good = d.endswith(want) and (
            prefix == b"" if exact else
            all(HDR.match(line) for line in prefix.split(b"\n")[:-1]) and
            (prefix == b"" or prefix.endswith(b"\n")))
        if not good:
            corrupt += 1
            note(f"corrupt: {path} (original {name}, {len(d)} vs {len(want)} bytes)")
    print(f"originals={len(origs)} found={sum(1 for k in origs if k in found)} "
          f"missing={missing} duplicate={dup} corrupt={corrupt} others={others}")
    return 1 if missing or dup or corrupt else 0


if __name__ == "__main__":
    sys.exit(main())
