#!/usr/bin/env python3
"""Deterministic test messages for the integration scripts (stdlib only).

    genmail.py SEED SIZE [MARKER]
        One RFC 5322 message on stdout.  The same SEED always gives the same
        bytes; the Message-ID is unique per SEED.  The body is about SIZE
        bytes: plain text when small, multipart/mixed with a base64
        attachment from LARGE_AT on.  MARKER, when given, is put in the
        Subject and in the body (the no-plaintext test greps for it).

    genmail.py --many DIR PREFIX COUNT [MIX]
        COUNT messages written to DIR/PREFIX-NNNNN.eml (seeds PREFIX-N).
        MIX is "mail" (default: about 98% of 2-20 KiB, about 2% of 1-3 MiB,
        chosen per message from the seed), "small" (2-20 KiB only) or a
        fixed SIZE in bytes.

Lines end in LF (what a Maildir holds), stay under 80 columns, are ASCII,
and never read "." alone nor start with "From " so that SMTP, sendmail
without -i and mbox-minded tools carry them unchanged.
"""
import base64
import email.utils
import hashlib
import os
import random
import sys

LARGE_AT = 64 * 1024          # from here on the body carries an attachment
SMALL_MIN, SMALL_MAX = 2 * 1024, 20 * 1024
BIG_MIN, BIG_MAX = 1024 * 1024, 3 * 1024 * 1024
BIG_SHARE = 0.02
EPOCH = 1_600_000_000        # dates fall in the two years after this
WRAP = 72

WORDS = (
    "the of and to in is it that for on with as was at by an be this have "
    "are or not but had his they you one all were we when there can more "
    "if no out so said what up its about into than them some could time "
    "these two may then do first any my now such like our over man me even "
    "most made after also did many before must through back years where much "
    "your way well down should because each just those people how too little "
    "state good very make world still own see men work long get here between "
    "both life being under never day same another know while last might us "
    "great old year off come since against go came right used take three "
    "mailbox delivery message folder header server client index quota filter "
    "archive thread draft reply forward attachment signature encrypted block "
    "commit manifest chunk journal outbox mount snapshot storage network node"
).split()
FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj "
         "Olivia Peggy Rupert Sybil Trent Victor Walter Yvonne").split()
LAST = ("Smith Jones Martin Bernard Dubois Rossi Novak Kowalski Schmidt "
        "Tanaka Silva Okafor Larsen Nguyen Moreau Haddad").split()
DOMAINS = ("example.org example.com example.net mail.example.org "
           "lists.example.com").split()
MAILERS = ("Mutt/2.2.9", "Thunderbird 115.3", "Evolution 3.46",
           "Roundcube Webmail/1.6", "aerc 0.15", "NeoMutt/20220429")


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 16))]
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice(".....?!")


def text_block(rng, size):
    """About SIZE bytes of wrapped prose in paragraphs."""
    lines, line, total = [], "", 0
    while total < size:
        s = sentence(rng)
        if line and len(line) + 1 + len(s) > WRAP:
            lines.append(line)
            total += len(line) + 1
            line = ""
            if rng.random() < 0.15:
                lines.append("")
                total += 1
        # A sentence longer than WRAP is split on spaces.
        for word in s.split(" "):
            if line and len(line) + 1 + len(word) > WRAP:
                lines.append(line)
                total += len(line) + 1
                line = word
            else:
                line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines) + "\n"


def person(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last} <{first.lower()}.{last.lower()}@{rng.choice(DOMAINS)}>"


def message(seed, size, marker=None):
    rng = random.Random(f"genmail:{seed}")
    tag = hashlib.sha256(f"genmail:{seed}".encode()).hexdigest()
    ts = EPOCH + rng.randrange(2 * 365 * 86400)
    sender = person(rng)
    subject = sentence(rng).rstrip(".?!")[:60]
    if marker:
        subject = f"{subject} {marker}"
    host = rng.choice(DOMAINS)
    hdr = [
        f"Received: from {host} (mx.{host} [192.0.2.{rng.randint(1, 254)}])",
        f"\tby localhost with ESMTP id {tag[:12].upper()};",
        f"\t{email.utils.formatdate(ts + 2, usegmt=True)}",
        f"From: {sender}",
        "To: Test User <ipmdtest@localhost>",
        f"Subject: {subject}",
        f"Date: {email.utils.formatdate(ts, usegmt=True)}",
        f"Message-ID: <{tag[:24]}.{rng.randint(1000, 9999)}@genmail.ipmaildir.test>",
        f"X-Mailer: {rng.choice(MAILERS)}",
        f"X-Genmail-Seed: {seed}",
        "MIME-Version: 1.0",
    ]
    greeting = f"Hello,\n\n{marker}\n\n" if marker else "Hello,\n\n"
    sign = f"\n-- \n{sender.split(' <')[0]}\n"
    if size < LARGE_AT:
        body = greeting + text_block(rng, max(0, size - len(greeting) - len(sign))) + sign
        hdr += ["Content-Type: text/plain; charset=us-ascii; format=flowed",
                "Content-Transfer-Encoding: 7bit"]
        return "\n".join(hdr) + "\n\n" + body
    boundary = f"=_genmail_{tag[24:40]}"
    text = greeting + text_block(rng, rng.randint(1000, 4000)) + sign
    # base64 grows 4/3 plus a newline per 76 columns.
    raw_len = max(1, (size - len(text) - 400) * 57 // 77)
    data = base64.encodebytes(rng.randbytes(raw_len)).decode("ascii")
    name = f"{rng.choice(WORDS)}-{tag[:8]}.bin"
    hdr.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    body = (
        "This is a multi-part message in MIME format.\n\n"
        f"--{boundary}\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "Content-Transfer-Encoding: 7bit\n\n"
        f"{text}\n"
        f"--{boundary}\n"
        f'Content-Type: application/octet-stream; name="{name}"\n'
        "Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="{name}"\n\n'
        f"{data}\n"
        f"--{boundary}--\n"
    )
    return "\n".join(hdr) + "\n\n" + body


def mix_size(prefix, i, mix):
    if mix not in ("mail", "small"):
        return int(mix)
    rng = random.Random(f"mix:{prefix}:{i}")
    if mix == "mail" and rng.random() < BIG_SHARE:
        return rng.randint(BIG_MIN, BIG_MAX)
    return rng.randint(SMALL_MIN, SMALL_MAX)


def usage():
    sys.stderr.write(__doc__)
    return 2


def main(argv):
    if len(argv) >= 4 and argv[0] == "--many":
        out, prefix, count = argv[1], argv[2], int(argv[3])
        mix = argv[4] if len(argv) > 4 else "mail"
        os.makedirs(out, exist_ok=True)
        for i in range(count):
            seed = f"{prefix}-{i}"
            data = message(seed, mix_size(prefix, i, mix)).encode("ascii")
            with open(os.path.join(out, f"{prefix}-{i:05d}.eml"), "wb") as f:
                f.write(data)
        return 0
    if len(argv) not in (2, 3) or argv[0].startswith("-"):
        return usage()
    marker = argv[2] if len(argv) == 3 else None
    sys.stdout.buffer.write(message(argv[0], int(argv[1]), marker).encode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
