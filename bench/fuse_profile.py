#!/usr/bin/env python3
"""bench/fuse_profile.py — FUSE requests of one mount from `perf script`.

    perf record -a -e fuse:fuse_request_send -e fuse:fuse_request_end \
        -e 'syscalls:sys_*_fdatasync' -e 'syscalls:sys_*_fsync' -o DATA
    perf script -F comm,pid,tid,time,event,trace -i DATA |
        fuse_profile.py CONNECTION DAEMON_PID [LABEL]

CONNECTION is the mount's FUSE connection (`mountpoint -d MNT`, as
MAJOR:MINOR; the tracepoint prints MAJOR << 20 | MINOR); DAEMON_PID the
FUSE daemon, whose threads' fdatasync and fsync calls are counted; "-"
for both on a plain directory.  The fsync and fdatasync calls of processes
named "imap" (Dovecot's; on a machine running other Dovecots, theirs too)
are counted and timed on every target, the baseline's too.  Sends
and ends are paired by request id.  Prints a markdown table: per opcode the
count, the mean and total time from send to end (wall time: queueing in the
kernel and the daemon included), and the most in flight at once; then the
wall time, the mean number of requests in flight (sum of latencies / wall)
and the daemon's syncs.  Latencies move with the machine's load; counts and
shares do not.
"""
import re
import sys

SEND = re.compile(r"\s(\d+)\.(\d+):\s+fuse:fuse_request_send: connection (\d+) "
                  r"req (\d+) opcode \d+ \((\w+)\)")
END = re.compile(r"\s(\d+)\.(\d+):\s+fuse:fuse_request_end: connection (\d+) req (\d+)")
IMAP_SYNC = re.compile(r"^\s*imap\s+\d+/(\d+)\s+(\d+)\.(\d+):\s+syscalls:sys_(enter|exit)_(fdatasync|fsync)")
SYNC = re.compile(r"^\s*\S+\s+(\d+)/\d+\s.*syscalls:sys_enter_(fdatasync|fsync)")


def ts(sec, frac):
    return int(sec) + int(frac) / 10 ** len(frac)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    conn = "-"
    if sys.argv[1] != "-":
        major, minor = (int(x) for x in sys.argv[1].split(":"))
        conn = str(major << 20 | minor)
    daemon = sys.argv[2]
    label = sys.argv[3] if len(sys.argv) > 3 else ""
    open_ = {}
    stats = {}
    syncs = {"fdatasync": 0, "fsync": 0}
    inflight = {}
    first = last = None
    isync_open = {}
    isync = [0, 0.0]
    for line in sys.stdin:
        m = IMAP_SYNC.search(line)
        if m:
            t = ts(m.group(2), m.group(3))
            if m.group(4) == "enter":
                isync_open[m.group(1)] = t
            elif m.group(1) in isync_open:
                isync[0] += 1
                isync[1] += t - isync_open.pop(m.group(1))
            continue
        m = SEND.search(line)
        if m and m.group(3) == conn:
            t = ts(m.group(1), m.group(2))
            op = m.group(5).replace("FUSE_", "")
            open_[m.group(4)] = (t, op)
            inflight[op] = inflight.get(op, 0) + 1
            s = stats.setdefault(op, [0, 0.0, 0])
            s[2] = max(s[2], inflight[op])
            first = t if first is None else first
            continue
        m = END.search(line)
        if m and m.group(3) == conn and m.group(4) in open_:
            t = ts(m.group(1), m.group(2))
            t0, op = open_.pop(m.group(4))
            inflight[op] -= 1
            s = stats[op]
            s[0] += 1
            s[1] += t - t0
            last = t
            continue
        m = SYNC.search(line)
        if m and m.group(1) == daemon:
            syncs[m.group(2)] += 1
    total_n = sum(s[0] for s in stats.values())
    total_t = sum(s[1] for s in stats.values())
    wall = (last - first) if first is not None and last is not None else 0.0
    print(f"#### FUSE requests {label}".rstrip())
    print()
    print("| opcode | count | share | mean µs | total ms | share of time | most in flight |")
    print("|---|---|---|---|---|---|---|")
    for op, s in sorted(stats.items(), key=lambda kv: -kv[1][1]):
        if not s[0]:
            continue
        print(f"| {op} | {s[0]} | {100 * s[0] / total_n:.1f} % | {1e6 * s[1] / s[0]:.0f} | "
              f"{1e3 * s[1]:.1f} | {100 * s[1] / total_t:.1f} % | {s[2]} |")
    print()
    print(f"requests {total_n}, wall {wall:.3f} s, time in requests {total_t:.3f} s, "
          f"mean in flight {total_t / wall if wall else 0:.2f}; daemon fdatasync "
          f"{syncs['fdatasync']}, fsync {syncs['fsync']}; Dovecot's fsync+fdatasync "
          f"{isync[0]}, mean {1e6 * isync[1] / isync[0] if isync[0] else 0:.0f} µs, "
          f"total {1e3 * isync[1]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
