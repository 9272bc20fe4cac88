#!/usr/bin/env bash
# bench/append_fsync.sh [N] [LINE] — what growing a file costs the store:
# N appends of LINE bytes (default 300 × 80) to one file in a fresh
# mailbox, each followed by fsync (what Dovecot does to dovecot-uidlist on
# every delivery), then a clean unmount.  Prints counts, not times (the
# machine may be loaded): blocks and their bytes under STORE/blocks, the
# daemon's write_bytes (/proc/PID/io), the journal bytes written (the
# generations' sizes summed as they are dropped: sampled after each
# append), and the daemon's fdatasync/fsync calls (strace -c -f).
# Needs strace, python3 and the built build/ipmaildir.  Scratch under
# ${SCRATCH:-.scratch/append}.
set -eu
N=${1:-300}
LINE=${2:-80}
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${IPMAILDIR_BIN:-$top/build/ipmaildir}
D=${SCRATCH:-$top/.scratch/append}
rm -rf "$D"
mkdir -p "$D"
export XDG_CONFIG_HOME=$D/config
S=$D/store
M=$D/mnt
mkdir -p "$M"
"$BIN" init --store "$S" --no-passphrase >/dev/null
"$BIN" mount -f --store "$S" "$M" >"$D/out" 2>"$D/log" &
pid=$!
for _ in $(seq 100); do mountpoint -q "$M" && break; sleep 0.1; done
mountpoint -q "$M"
strace -c -f -e trace=fdatasync,fsync,syncfs -o "$D/strace" -p "$pid" &
spid=$!
sleep 1
w0=$(awk '/^write_bytes/ {print $2}' "/proc/$pid/io")
python3 - "$M/dovecot-uidlist" "$N" "$LINE" "$S/journal" <<'PY'
import os, sys
path, n, width, jdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
seen = {}          # journal file -> the largest size seen
def sample():
    for f in os.listdir(jdir):
        try:
            seen[f] = max(seen.get(f, 0), os.path.getsize(os.path.join(jdir, f)))
        except FileNotFoundError:
            pass
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
for i in range(n):
    line = ("%d %s" % (i + 1, "x" * width))[:width - 1] + "\n"
    os.write(fd, line.encode())
    os.fsync(fd)
    sample()
os.close(fd)
print("journal_bytes_sampled", sum(seen.values()))
PY
sleep 2
w1=$(awk '/^write_bytes/ {print $2}' "/proc/$pid/io")
kill -INT "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
fusermount3 -u "$M"
wait "$pid" || true
echo "daemon_write_bytes $((w1 - w0))"
echo "blocks $(find "$S/blocks" -type f | wc -l)"
echo "block_bytes $(find "$S/blocks" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
awk '$NF ~ /^(fdatasync|fsync|syncfs)$/ {print $NF, $4}' "$D/strace"
