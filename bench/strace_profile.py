#!/usr/bin/env python3
"""Summaries of the straces bench/mail.sh's pipeline takes when profiling.

    strace_profile.py [--from T] [--to T] fuse TRACE      a FUSE daemon's requests
    strace_profile.py [--from T] [--to T] files TRACE MAILDIR
                                          a mail server's calls on MAILDIR

--from and --to (seconds since the epoch, as strace -ttt prints them)
keep the calls that started in that window.

fuse: TRACE is `strace -f -ttt -T -y -x -s 192 -o TRACE -p DAEMON` (-s:
room for the longest name after the request's header).  Each read() of
/dev/fuse is a request (struct fuse_in_header: len, opcode, unique,
nodeid, ...; then the name of a LOOKUP, CREATE, MKNOD, MKDIR, UNLINK,
RMDIR, RENAME, LINK); the writev() or write() that answers it on the same
thread carries its unique.  The time between the two is what the daemon
took (strace's own cost included: compare ops with each other, not with
a run without strace; the wait in the kernel's queue before the read is
not in it).  Requests are grouped by opcode and by the class of file they
name (nodeids are named by the LOOKUP/CREATE/MKNOD/MKDIR/LINK replies,
struct fuse_entry_out; "?" is a nodeid looked up before the trace began,
such as cur/ new/ tmp/, or a name the daemon encrypts).

files: TRACE is `strace -f -ttt -T -y -e trace=%file,%desc -o TRACE -p SERVER`
(the server's children followed).  Each call on a file below MAILDIR (a
path argument, or -y's <path> of its fd) adds its time (-T) to the
file's class, per call name.

Both print markdown tables: count, total ms, mean us, share of the total.
"""
import re
import struct
import sys
from collections import defaultdict

OPS = {1: "LOOKUP", 2: "FORGET", 3: "GETATTR", 4: "SETATTR", 5: "READLINK",
       6: "SYMLINK", 8: "MKNOD", 9: "MKDIR", 10: "UNLINK", 11: "RMDIR",
       12: "RENAME", 13: "LINK", 14: "OPEN", 15: "READ", 16: "WRITE",
       17: "STATFS", 18: "RELEASE", 20: "FSYNC", 21: "SETXATTR",
       22: "GETXATTR", 23: "LISTXATTR", 24: "REMOVEXATTR", 25: "FLUSH",
       26: "INIT", 27: "OPENDIR", 28: "READDIR", 29: "RELEASEDIR",
       30: "FSYNCDIR", 31: "GETLK", 32: "SETLK", 33: "SETLKW", 34: "ACCESS",
       35: "CREATE", 36: "INTERRUPT", 37: "BMAP", 38: "DESTROY", 39: "IOCTL",
       40: "POLL", 41: "NOTIFY_REPLY", 42: "BATCH_FORGET", 43: "FALLOCATE",
       44: "READDIRPLUS", 45: "RENAME2", 46: "LSEEK", 47: "COPY_FILE_RANGE"}
# Requests whose reply is a struct fuse_entry_out naming a new nodeid.
ENTRY_OPS = {1, 8, 9, 13, 35}
# Offset of the name after the header (40 bytes) and the op's own struct.
NAME_AT = {1: 0, 8: 16, 9: 8, 10: 0, 11: 0, 12: 8, 13: 8, 35: 16, 45: 16}
HDR = 40

# A call (complete, or its <unfinished ...> start) or a <... resumed> end;
# the pid prefix is strace -f -o's.
START = re.compile(r'^(\d+)\s+(\d+\.\d+) (\w+)\((\d+)(<[^>]*>)?, (.*)$')
RESUMED = re.compile(r'^(\d+)\s+(\d+\.\d+) <\.\.\. (\w+) resumed>(.*)$')
TOOK = re.compile(r' <(\d+\.\d+)>$')
STR = re.compile(r'"((?:[^"\\]|\\.)*)"')


def unescape(s):
    """strace's -x string (\\xNN escapes, \\n, \\\\) as bytes."""
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "t": b"\t", "r": b"\r", "0": b"\0"}.get(n, n.encode())
            i += 2
            continue
        out += c.encode("latin-1")
        i += 1
    return bytes(out)


def file_class(name):
    """The kind of file a name is, for a mail store."""
    if name is None:
        return "?"
    base = name.rsplit("/", 1)[-1]
    if base.startswith("dovecot.list.index"):
        return "dovecot.list.index*"
    if base == "dovecot-uidlist.lock":
        return base
    for k in ("dovecot.index.log", "dovecot.index.cache", "dovecot.index",
              "dovecot-uidlist", "dovecot-keywords"):
        if base.startswith(k):
            return k + "*"
    if base in ("", "cur", "new", "tmp", "/") or name in ("<root>",):
        return "directory"
    if re.match(r"^\d+\.", base):
        return "message"
    return "other"


def table(rows, head, inflight=None):
    """ROWS of (key, count, seconds); INFLIGHT: {key: most at once}."""
    total = sum(r[2] for r in rows) or 1
    extra = " most at once |" if inflight else ""
    print(f"| {head} | count | total ms | mean us | share |{extra}")
    print("|---|--:|--:|--:|--:|" + ("--:|" if inflight else ""))
    for key, n, secs in sorted(rows, key=lambda r: -r[2]):
        more = f" {inflight.get(key, 0)} |" if inflight else ""
        print(f"| {key} | {n} | {secs * 1e3:.1f} | {secs / n * 1e6:.0f} | "
              f"{secs / total * 100:.1f}% |{more}")
    print()


def most_at_once(spans):
    """The largest number of (start, end) SPANS open at one time."""
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    n = top = 0
    for _, d in events:
        n += d
        top = max(top, n)
    return top


WINDOW = [0.0, float("inf")]


def in_window(t):
    return WINDOW[0] <= float(t) <= WINDOW[1]


def fuse(path):
    names = {1: "<root>"}
    pending = {}            # tid -> (t, opcode, unique, nodeid, name)
    by_op = defaultdict(lambda: [0, 0.0])
    by_file = defaultdict(lambda: [0, 0.0])
    spans = defaultdict(list)
    fuse_fds, open_calls = set(), {}
    calls = defaultdict(lambda: [0, 0.0])
    for line in open(path, errors="replace"):
        took = TOOK.search(line)
        if took:
            c = START.match(line) or RESUMED.match(line)
            if c and in_window(c.group(2)):
                calls[c.group(3)][0] += 1
                calls[c.group(3)][1] += float(took.group(1))
        line = line.rstrip("\n")
        m = START.match(line)
        if m:
            tid, t, call, fd, fdpath, rest = m.groups()
            if fdpath == "</dev/fuse>":
                fuse_fds.add(fd)
            if rest.endswith("<unfinished ...>"):
                open_calls[tid] = (fd, t, rest)
                continue
        else:
            m = RESUMED.match(line)
            if not m or m.group(1) not in open_calls:
                continue
            tid, t, call, rest = m.groups()
            fd, t_start, rest_start = open_calls.pop(tid)
            # A read's buffer is in its end, a reply's in its start.
            if call in ("writev", "write"):
                t, rest = t_start, rest_start
        if fd not in fuse_fds:
            continue
        t = float(t)
        s = STR.search(rest)
        if not s:
            continue
        data = unescape(s.group(1))
        if call == "read":
            if len(data) < HDR:
                continue
            _, op, unique, nodeid = struct.unpack_from("<IIQQ", data)
            name = None
            if op in NAME_AT and len(data) > HDR + NAME_AT[op]:
                name = data[HDR + NAME_AT[op]:].split(b"\0", 1)[0].decode("latin-1")
            pending[tid] = (t, op, unique, nodeid, name)
        elif call in ("writev", "write") and tid in pending and len(data) >= 16:
            _, err, unique = struct.unpack_from("<IiQ", data)
            t0, op, want, nodeid, name = pending.pop(tid)
            if unique != want:
                continue
            dt = t - t0
            # Names come from the whole trace, whatever the window.
            if op in ENTRY_OPS and err == 0:
                iovs = STR.findall(rest)
                if len(iovs) > 1:
                    entry = unescape(iovs[1])
                    if len(entry) >= 8:
                        names[struct.unpack_from("<Q", entry)[0]] = name
            if not in_window(t0):
                continue
            opname = OPS.get(op, str(op))
            spans[opname].append((t0, t))
            by_op[opname][0] += 1
            by_op[opname][1] += dt
            cls = file_class(name if name is not None else names.get(nodeid))
            by_file[(cls, opname)][0] += 1
            by_file[(cls, opname)][1] += dt
    rows = [(k, v[0], v[1]) for k, v in by_op.items()]
    print(f"FUSE requests: {sum(r[1] for r in rows)}, "
          f"{sum(r[2] for r in rows):.2f} s in the daemon (under strace)\n")
    print("most at once: the most requests of that opcode the daemon was "
          "working on at one time (its threads, or the kernel's locks, bound it)\n")
    table(rows, "opcode", {k: most_at_once(v) for k, v in spans.items()})
    per = defaultdict(lambda: [0, 0.0])
    for (cls, _), v in by_file.items():
        per[cls][0] += v[0]
        per[cls][1] += v[1]
    table([(k, v[0], v[1]) for k, v in per.items()], "file class")
    table([(f"{c} {o}", v[0], v[1]) for (c, o), v in by_file.items() if v[1] > 0.001],
          "file class, opcode")
    if calls:
        print("The daemon's system calls (all threads; -T, time inside each call, "
              "a blocking read of /dev/fuse is idle time):\n")
        table([(k, v[0], v[1]) for k, v in calls.items()], "system call")


FILES_LINE = re.compile(r'^(\d+)\s+(\d+\.\d+) (\w+)\((.*)\) = (.*) <(\d+\.\d+)>$')
FD_PATH = re.compile(r'^-?\d+<([^>]*)>')
PATH_ARG = re.compile(r'"([^"]*)"')


def files(path, maildir):
    maildir = maildir.rstrip("/") + "/"
    by = defaultdict(lambda: [0, 0.0])
    started = {}            # tid -> the line of a call <unfinished ...>
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.endswith(" <unfinished ...>"):
            started[line.split(None, 1)[0]] = line[:-len(" <unfinished ...>")]
            continue
        r = RESUMED.match(line)
        if r and r.group(1) in started:
            line = started.pop(r.group(1)) + r.group(4)
        m = FILES_LINE.match(line)
        if not m or not in_window(m.group(2)):
            continue
        call, args, secs = m.group(3), m.group(4), float(m.group(6))
        fd = FD_PATH.match(args)
        p = PATH_ARG.search(args)
        name = fd.group(1) if fd else (p.group(1) if p else None)
        if name is None or not (name + "/").startswith(maildir):
            continue
        cls = file_class(name)
        by[(cls, call)][0] += 1
        by[(cls, call)][1] += secs
    per = defaultdict(lambda: [0, 0.0])
    for (cls, _), v in by.items():
        per[cls][0] += v[0]
        per[cls][1] += v[1]
    rows = [(k, v[0], v[1]) for k, v in per.items()]
    print(f"file system calls on the mailbox: {sum(r[1] for r in rows)}, "
          f"{sum(r[2] for r in rows):.2f} s (-T, under strace)\n")
    table(rows, "file class")
    table([(f"{c} {o}", v[0], v[1]) for (c, o), v in by.items() if v[1] > 0.001], "file class, call")


def main():
    args = sys.argv[1:]
    while args[:1] in (["--from"], ["--to"]) and len(args) > 1:
        WINDOW[0 if args[0] == "--from" else 1] = float(args[1])
        args = args[2:]
    if args[:1] == ["fuse"] and len(args) == 2:
        fuse(args[1])
    elif args[:1] == ["files"] and len(args) == 3:
        files(args[1], args[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
