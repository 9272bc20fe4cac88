#!/usr/bin/env bash
# 93-crash-append.t — a file that grows by appends, each fsync'ed (what
# Dovecot does to dovecot-uidlist), survives SIGKILLs of the daemon at
# several points byte-exact, and every commit holds the whole file
# (docs/ARCHITECTURE.md, "Append-friendly tails").
#
#   1. With no commit (commit_delay 10 min), 40 appends each fsync'ed put
#      no block in the store: the new bytes go to the journal as append
#      records, not as a re-sealed tail chunk.  SIGKILL, remount: the
#      file is byte-exact (the journal alone rebuilt it), and fsck of
#      the crashed store finds it consistent.
#   2. ITER iterations: mount with a commit delay of 5 ms, 50 ms or 1 s;
#      an appender fsyncs line after line; SIGKILL a random 0 … 0.7 s
#      after its first acknowledged append.  After each crash the file
#      must be the lines up to the last acknowledged one, or one more
#      (the append in flight), never anything else; fsck exits 0.
#   4. FAULT_ROUNDS rounds with a store failing 30 % of puts (--fault
#      put=0.3): appends (fsyncs retried), commits every 20 ms whose
#      seals fail at random, SIGKILL a random 0 … 0.6 s into it, remount
#      without faults: every acknowledged line is there (a commit must
#      not rotate the journal past appends it could not seal).
#   3. mount --at about a dozen commits, spread over all: each holds a
#      whole-line prefix of the final file, longer at each newer commit,
#      the newest all of it.
# IPMD_CRASH_APPEND_ITERATIONS (default 8); IPMD_CRASH_SEED fixes the choices.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only "crashes need an ipmaildir mount"

ITER=${IPMD_CRASH_APPEND_ITERATIONS:-8}
SEED=${IPMD_CRASH_SEED:-$$}
RANDOM=$SEED
diag "iterations=$ITER seed=$SEED"
ipmd_own_store
A=$TEST_DIR/at

cat >"$W/append.py" <<'PY'
# append.py FILE ACKLOG [COUNT [RETRIES]] — append numbered 80-byte lines
# to FILE after those it holds (O_APPEND), each written whole and
# fsync'ed; after each fsync returns 0, the line count goes to ACKLOG
# (local disk).  A failed fsync is tried again up to RETRIES times (a
# store failing on purpose); COUNT lines, or until an error (the daemon
# killed).
import os, sys, time
path, acklog = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 10**9
retries = int(sys.argv[4]) if len(sys.argv) > 4 else 0
def line(i):
    return ("%08d " % i + "uidlist line %d " % i * 8)[:79].encode() + b"\n"
def fsync(fd):
    for t in range(retries + 1):
        try:
            return os.fsync(fd)
        except OSError:
            if t == retries:
                raise
            time.sleep(0.02)
try:
    n = os.path.getsize(path) // 80 if os.path.exists(path) else 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with open(acklog, "a") as log:
        for i in range(n, n + count):
            os.write(fd, line(i))
            fsync(fd)
            log.write("%d\n" % (i + 1))
            log.flush()
except OSError:
    pass
PY
cat >"$W/check.py" <<'PY'
# check.py FILE ACKED — FILE holds lines 0 .. k-1 exactly, k = ACKED or
# ACKED + 1 (the append in flight at the kill).  Prints k; what is
# wrong goes to stderr.
import os, sys
import expect_files as ef
path, acked = sys.argv[1], int(sys.argv[2])
def line(i):
    return ("%08d " % i + "uidlist line %d " % i * 8)[:79].encode() + b"\n"
def lines(k):
    return b"".join(line(i) for i in range(k))
bad = ef.check(os.path.dirname(path), {
    os.path.basename(path): ef.one_of(lines(acked), lines(acked + 1))})
print(os.path.getsize(path) // 80)
sys.exit(ef.report(bad, out=sys.stderr))
PY
acked() { tail -n 1 "$W/ack" 2>/dev/null || echo 0; }
blocks() { find "$S/blocks" -type f | wc -l; }

# 1. No commit: the journal alone.
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
python3 "$W/append.py" "$M/dovecot-uidlist" "$W/ack" 1
ipmd_umount "$M"
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "remount failed"
before=$(blocks)
python3 "$W/append.py" "$M/dovecot-uidlist" "$W/ack" 40
is "$(acked)" 41 "40 appends acknowledged after the committed first line"
is "$(blocks)" "$before" "no block written by 40 fsync'ed appends (journal records)"
ipmd_kill9 "$M"
check "fsck: the crashed store is consistent" ipmd_fsck_ok
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount after the crash"
is "$(ipmd_py "$W/check.py" "$M/dovecot-uidlist" 41)" 41 \
	"after SIGKILL: the 41 lines, byte-exact"
ipmd_umount "$M"

# crash_round TENTHS ARGS… — mount with ARGS, run the appender (fsyncs
# retried 50 times), SIGKILL 0 … TENTHS-1 tenths of a second (and a
# random hundredth) after its first acknowledged append, check fsck.
# Then remount without faults: the file must hold every acknowledged
# line (check.py); the append in flight, if it came back, counts from
# here on.  Returns 1 (with why in $why) on any failure.
crash_round() {
	local tenths=$1 from ap k
	shift
	ipmd_mount "$S" "$M" "$@" || bail "mount $* failed"
	from=$(acked)
	python3 "$W/append.py" "$M/dovecot-uidlist" "$W/ack" 1000000 50 &
	ap=$!
	for _ in $(seq 50); do [ "$(acked)" != "$from" ] && break; sleep 0.1; done
	sleep "0.$((RANDOM % tenths))$((RANDOM % 10))"
	ipmd_kill9 "$M"
	wait "$ap"
	round_acked=$(($(acked) - from))
	why=
	ipmd_fsck_ok || why="fsck of the crashed store failed"
	ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount after a crash"
	if k=$(ipmd_py "$W/check.py" "$M/dovecot-uidlist" "$(acked)"); then
		[ "$k" != "$(acked)" ] && echo "$k" >>"$W/ack"
	else
		why="$why; $(acked) acknowledged, the file has $k lines or is torn"
	fi
	ipmd_umount "$M"
	[ -z "$why" ]
}

# 2. Kills at random points, across commits.
bad=0
for it in $(seq 1 "$ITER"); do
	delay=$(echo 5 50 1000 | cut -d' ' -f$((RANDOM % 3 + 1)))
	crash_round 8 -o commit_delay="$delay" ||
		{ bad=$((bad + 1)); diag "crash $it (delay $delay): $why"
		  # stderr too: prove shows it without -v (a CI log keeps it).
		  echo "93-crash-append: seed $SEED, crash $it (delay $delay): $why" >&2; }
done
is "$bad" 0 "$ITER crashes: each left every acknowledged line, byte-exact, nothing torn, fsck clean"
diag "$(acked) lines acknowledged in all"

# 4. A store failing puts: commits whose seal of the file fails must not
# rotate the journal past its appends.  Each round appends under faults
# while the committer runs (every 20 ms, its seals failing at random),
# SIGKILLs at a random moment, and remounts without faults.
FAULT_ROUNDS=${IPMD_CRASH_APPEND_FAULT_ROUNDS:-6}
fault_bad=0 fault_acked=0
for r in $(seq 1 "$FAULT_ROUNDS"); do
	crash_round 6 -o commit_delay=20 --fault "put=0.3,seed=$((SEED + r))" ||
		{ fault_bad=$((fault_bad + 1)); diag "fault round $r: $why"
		  echo "93-crash-append: seed $SEED, fault round $r: $why" >&2; }
	fault_acked=$((fault_acked + round_acked))
done
check "with put faults: $fault_acked appends acknowledged" test "$fault_acked" -gt 0
is "$fault_bad" 0 "$FAULT_ROUNDS crashes after failing seals: every acknowledged line there, fsck clean"

# 3. Every commit holds a whole-line prefix; the newest all of it.
ipmd_mount "$S" "$M" || bail "final mount"
cp "$M/dovecot-uidlist" "$W/final"
ipmd_umount "$M"
seqs=$("$IPMD_BIN" log --store "$S" --json | python3 -c '
import json, sys
s = sorted(c["seq"] for c in json.load(sys.stdin))
step = max(1, len(s) // 11)
print(" ".join(map(str, sorted(set(s[::step] + [s[-1]])))))')
prev=0 at_bad=0 n_at=0
for q in $seqs; do
	ipmd_mount "$S" "$A" --at "$q" ||
		{ at_bad=$((at_bad + 1))
		  echo "93-crash-append: seed $SEED, mount --at $q failed: $(tail -2 "$TEST_DIR/ipmaildir.log")" >&2
		  continue; }
	n_at=$((n_at + 1))
	if [ -e "$A/dovecot-uidlist" ]; then
		len=$(stat -c %s "$A/dovecot-uidlist")
		if [ $((len % 80)) -ne 0 ] || [ "$len" -lt "$prev" ] ||
		   ! cmp -s -n "$len" "$A/dovecot-uidlist" "$W/final"; then
			at_bad=$((at_bad + 1))
			diag "--at $q: $len bytes, not a whole-line prefix at least $prev long"
			echo "93-crash-append: seed $SEED, --at $q: $len bytes, not a whole-line prefix at least $prev long" >&2
		fi
		prev=$len
	fi
	ipmd_umount "$A"
done
is "$at_bad" 0 "mount --at each of $n_at commits: a whole-line prefix, growing"
is "$prev" "$(stat -c %s "$W/final")" "the newest commit holds the whole file"
done_testing
