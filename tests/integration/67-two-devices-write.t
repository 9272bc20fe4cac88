#!/usr/bin/env bash
# 67-two-devices-write.t — the other device's head arrives while a file is
# being written (issue 17; fs/mount/follow.c: a fast-forward needs no
# change since the commit and every file state idle, and frees the tree a
# write in progress would come back to; else the round merges.  Every
# write is a change until the next commit seals it, so here the rounds
# merge; the idle rule guards a write call in flight at that moment, a
# window this test cannot aim at).
# A and B share a head (B fast-forwarded to it at its first mount).  On B a
# writer opens tmp/w and keeps appending numbered lines, one every 50 ms,
# never closing; meanwhile A delivers and publishes, and B's sync takes
# A's head in (logged: merged or fast-forwarded) while the writer writes.
# The writer goes on for a while after that round, then fsyncs, closes and
# renames tmp/w to new/ as an MDA does.  Nothing written is lost: every
# line, in order, on B and — once both converge — on A, byte for byte;
# and A's delivery is on B.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
ipmd_two_devices
OPTS=commit_delay=200,publish=1,sync=1
msg() { printf 'Subject: %s\nMessage-ID: <%s@write>\n\nbody of %s\n' "$1" "$1" "$1"; }
deliver() { msg "$2" | "$DELIVER" "$1" | sed 's|^new/||'; }
same() { [ "$(file_names "$MA")" = "$(file_names "$MB")" ]; }
# taken — B's log lines saying it took another device's head in
taken() { grep -cE "ipmaildir\[$PID_B\]: (merged commit|fast-forwarded)" "$TEST_DIR/ipmaildir.log"; }

ipmd_mount "$A" "$MA" --node "$IPFS_ADDR_1" -o "$OPTS" || bail "mount of A failed"
PID_A=$IPMD_PID
first=$(deliver "$MA" first)
check "A published its head" poll 60 grep -q 'published commit' "$TEST_DIR/ipmaildir.log"
ipmd_mount "$B" "$MB" --node "$IPFS_ADDR_2" -o "$OPTS" || bail "mount of B failed"
PID_B=$IPMD_PID
check "B takes A's head" poll 120 test -e "$MB/new/$first"

# ------------------------------------------------------------ the writer
# Appends "line N" every 50 ms to tmp/w (one open, never closed) until
# the stop file appears; then fsync, close, rename into new/; prints N.
cat >"$TEST_DIR/writer.py" <<'PY'
import os, sys, time
mnt, stop = sys.argv[1], sys.argv[2]
tmp, dst = os.path.join(mnt, "tmp", "w"), os.path.join(mnt, "new", "1.writer")
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"Subject: written during a sync\n\n")
n = 0
while not os.path.exists(stop) and n < 20000:
    n += 1
    os.write(fd, b"line %06d of the message being written\n" % n)
    time.sleep(0.05)
os.fsync(fd)
os.close(fd)
os.rename(tmp, dst)
print(n)
PY
stop=$TEST_DIR/stop
before=$(taken)
python3 "$TEST_DIR/writer.py" "$MB" "$stop" >"$TEST_DIR/writer.out" 2>"$TEST_DIR/writer.err" &
wpid=$!
track_pid "$wpid"
on_cleanup "touch '$stop'" # a failed step leaves no writer in the mount
check "the writer has started" poll 30 test -s "$MB/tmp/w"
second=$(deliver "$MA" second)
check "A publishes a head B does not have" poll 60 bash -c \
	"[ \$(grep -c 'ipmaildir\[$PID_A\]: published commit' '$TEST_DIR/ipmaildir.log') -ge 2 ]"
took_it() { [ "$(taken)" -gt "$before" ]; }
check "B takes A's new head in while the writer writes" poll 120 took_it
check "… the writer still writing then" kill -0 "$wpid"
size=$(stat -c %s "$MB/tmp/w" 2>/dev/null || echo 0)
grown() { [ "$(stat -c %s "$MB/tmp/w" 2>/dev/null || echo 0)" -gt $((size + 400)) ]; }
check "the writer goes on writing after the round" poll 30 grown
touch "$stop"
wait "$wpid"
is "$?" 0 "the writer fsynced, closed and renamed without an error: $(cat "$TEST_DIR/writer.err")"
n=$(cat "$TEST_DIR/writer.out")
diag "lines written: $n; rounds that took A's head: $(($(taken) - before)): $(grep -oE "ipmaildir\[$PID_B\]: (merged commit|fast-forwarded)" "$TEST_DIR/ipmaildir.log" | sort | uniq -c | tr '\n' ' ')"

# ------------------------------------------------------------ nothing lost
want() {
	printf 'Subject: written during a sync\n\n'
	for i in $(seq "$n"); do printf 'line %06d of the message being written\n' "$i"; done
}
want >"$TEST_DIR/want"
check "B's message holds every line written, in order" cmp -s "$TEST_DIR/want" "$MB/new/1.writer"
check "A's delivery made meanwhile is on B" test -e "$MB/new/$second"
check "both converge" poll 180 same
check "… A has the written message, byte for byte" cmp -s "$TEST_DIR/want" "$MA/new/1.writer"
check "… and nothing is left in B's tmp/" test -z "$(ls "$MB/tmp")"
done_testing
