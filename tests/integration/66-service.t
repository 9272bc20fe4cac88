#!/usr/bin/env bash
# 66-service.t — the mount as a system service: systemd readiness (READY=1
# once the mount answers, STATUS=, STOPPING=1) on a fake NOTIFY_SOCKET and
# the foreground's "mounted and ready" line; `ipmaildir umount`, which
# returns after the last commit with the daemon's status; a mount point
# must be an empty directory (-o nonempty, config key nonempty); the log:
# -o log=FILE (config key log), and stderr when nothing listens on
# /dev/log.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the daemon itself"
command -v python3 >/dev/null || skip_all "no python3"

S=$TEST_DIR/store M=$TEST_DIR/mnt
ipmd_init "$S" || bail "init failed"

# has_line FILE PATTERN — a line of FILE matches (a FILE not there yet:
# none does).
has_line() { grep -qE "$2" "$1" 2>/dev/null; }
# wait_for FILE PATTERN — until a line of FILE matches (at most 30 s).
wait_for() { poll 30 has_line "$1" "$2"; }
# the newest commit's "messages" from log --json
newest_messages() {
	"$IPMD_BIN" log --store "$S" --json -n 1 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["messages"])'
}
deliver() { # deliver NAME — one message into new/, the Maildir way
	printf 'From: a@example.org\nSubject: %s\n\nbody %s\n' "$1" "$1" >"$M/tmp/$1"
	mv "$M/tmp/$1" "$M/new/$1"
}

# --- systemd readiness -------------------------------------------------------
SOCK=$TEST_DIR/notify.sock NLOG=$TEST_DIR/notify.log
python3 "$here/notify_listen.py" "$SOCK" "$M" "$NLOG" &
LISTENER=$!
track_pid "$LISTENER"
poll 10 test -S "$SOCK" # if it never comes, the READY=1 check fails
NOTIFY_SOCKET=$SOCK ipmd_mount "$S" "$M" || bail "mount failed"
check "READY=1 reaches the notify socket" wait_for "$NLOG" '^READY=1$'
check "... once the mount answers (it was mounted and served a stat then)" \
	wait_for "$NLOG" '^checked: mounted$'
check "... with a STATUS= line naming the head commit" \
	grep -qE '^STATUS=head commit [0-9]+' "$NLOG"
is "$(grep -c 'mounted and ready' "$TEST_DIR/ipmaildir.out")" 1 \
	"-f prints one 'mounted and ready' line on stdout"
check "... naming the mount point" grep -q "mounted and ready on $M\$" "$TEST_DIR/ipmaildir.out"
seq0=$("$IPMD_BIN" log --store "$S" --json -n 1 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')
deliver s1
check "a commit after a delivery: STATUS= says the new head" \
	wait_for "$NLOG" "^STATUS=head commit $((seq0 + 1))"
"$IPMD_BIN" umount "$M"
is "$?" 0 "ipmaildir umount exits 0"
check "STOPPING=1 at unmount" wait_for "$NLOG" '^STOPPING=1$'
wait "$LISTENER"
is "$(grep -c '^READY=1$' "$NLOG")" 1 "READY=1 was sent once"
check "READY=1 came before STOPPING=1" \
	test "$(grep -n '^READY=1$' "$NLOG" | cut -d: -f1)" -lt "$(grep -n '^STOPPING=1$' "$NLOG" | cut -d: -f1)"

# --- ipmaildir umount: returns after the last commit ------------------------
# No commit while mounted (commit_delay 10 min): only the unmount writes one.
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
before=$(newest_messages)
deliver u1
deliver u2
"$IPMD_BIN" umount "$M"
rc=$?
is "$rc" 0 "umount of a mount with two deliveries exits 0"
is "$(newest_messages)" "$((before + 2))" "the next log shows the last commit, holding both"
check "the mount is gone" bash -c "! mountpoint -q '$M'"
wait "$IPMD_PID"
is "$?" 0 "... and the daemon exited 0, as umount said"

# The daemon's status comes back: a last commit that fails (every sync of
# the store fails) is exit 1 from the daemon, and from umount.
ipmd_mount "$S" "$M" -o commit_delay=600000 --fault sync=1 || bail "mount failed"
deliver f1
"$IPMD_BIN" umount "$M" 2>"$TEST_DIR/umount.err"
rc=$?
is "$rc" 1 "a failed last commit: umount exits 1"
check "... saying the daemon exited with status 1" \
	grep -q "umount: the daemon of .* exited with status 1" "$TEST_DIR/umount.err"
wait "$IPMD_PID"
is "$?" 1 "... the daemon's own status"
ipmd_mount "$S" "$M" || bail "mount failed"
check "the journal kept the delivery for the next mount" test -f "$M/new/f1"
"$IPMD_BIN" umount "$M"
is "$?" 0 "which commits it at its umount"

# fusermount3's own refusal (a busy mount: a process's working directory
# is in it) is its first line, without its "fusermount3: " prefix; exit
# 1, and the mount stays.
ipmd_mount "$S" "$M" || bail "mount failed"
(cd "$M" && exec sleep 600) &
HOLDER=$!
track_pid "$HOLDER"
holder_inside() { [ "$(readlink "/proc/$HOLDER/cwd")" = "$M" ]; }
poll 30 holder_inside || diag "the holder did not get into $M"
"$IPMD_BIN" umount "$M" 2>"$TEST_DIR/err"
is "$?" 1 "umount of a busy mount exits 1"
is "$(wc -l <"$TEST_DIR/err")" 1 "... with one line"
check "... fusermount3's reason, without its prefix" grep -qE \
	'^ipmaildir umount: failed to unmount .*: Device or resource busy$' \
	"$TEST_DIR/err"
check "... and the mount stays" mountpoint -q "$M"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null
"$IPMD_BIN" umount "$M"
is "$?" 0 "not busy any more: umount exits 0"

# Not an ipmaildir mount, or no mount: one line, exit 1.
mkdir -p "$TEST_DIR/plain"
"$IPMD_BIN" umount "$TEST_DIR/plain" 2>"$TEST_DIR/err"
is "$?" 1 "umount of a directory that is no mount point exits 1"
is "$(wc -l <"$TEST_DIR/err")" 1 "... with one line"
check "... saying so" grep -qE '^ipmaildir umount: .* is not a mount point$' "$TEST_DIR/err"
"$IPMD_BIN" umount /proc 2>"$TEST_DIR/err"
is "$?" 1 "umount of another file system's mount point exits 1"
is "$(cat "$TEST_DIR/err")" "ipmaildir umount: /proc is not an ipmaildir mount (proc)" \
	"... with one line naming its type"
"$IPMD_BIN" umount 2>/dev/null
is "$?" 2 "umount without a mount point: usage, exit 2"

# A read-only mount writes nothing: umount returns once it is gone.
ipmd_mount "$S" "$M" -o ro || bail "ro mount failed"
"$IPMD_BIN" umount "$M"
is "$?" 0 "umount of a read-only mount exits 0"
check "... and it is gone" bash -c "! mountpoint -q '$M'"
wait "$IPMD_PID"

# --- the mount point must be an empty directory -----------------------------
touch "$TEST_DIR/file"
run_mount --store "$S" "$TEST_DIR/file"
is "$rc" 1 "mount on a file is refused"
is "$out" "ipmaildir mount: $TEST_DIR/file is not a directory" "... with one line"
N=$TEST_DIR/nonempty
mkdir -p "$N/cur"
echo "a plain Maildir's message" >"$N/cur/old"
run_mount --store "$S" "$N"
is "$rc" 1 "mount on a directory that holds files is refused"
is "$(wc -l <<<"$out")" 1 "... with one line"
says "... saying it is not empty and naming -o nonempty" "$N is not empty.*-o nonempty"
check "... and nothing was mounted" bash -c "! mountpoint -q '$N'"
ipmd_mount "$S" "$N" -o nonempty
check "-o nonempty mounts there anyway" mountpoint -q "$N"
check "... over what it held" test ! -e "$N/cur/old"
"$IPMD_BIN" umount "$N"
is "$?" 0 "... and unmounts"
check "what it held is there again" test -f "$N/cur/old"
IPMAILDIR_NONEMPTY=yes ipmd_mount "$S" "$N"
check "nonempty is a config key too (\$IPMAILDIR_NONEMPTY=yes)" mountpoint -q "$N"
"$IPMD_BIN" umount "$N"
IPMAILDIR_NONEMPTY=no run_mount --store "$S" "$N"
is "$rc" 1 "... and =no refuses again"

# --- the log ------------------------------------------------------------------
LOGF=$TEST_DIR/daemon.log
: >"$TEST_DIR/ipmaildir.log"
ipmd_mount "$S" "$M" -o "log=$LOGF" || bail "mount with -o log failed"
check "-o log=FILE: the mount start is logged there" wait_for "$LOGF" \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[-+][0-9]{4} ipmaildir\[[0-9]+\]: mounted on $M and ready"
"$IPMD_BIN" umount "$M"
check "... and not on stderr" bash -c "! grep -q 'mounted on' '$TEST_DIR/ipmaildir.log'"
check "the file is the owner's only" test "$(stat -c %a "$LOGF")" = 600
bad=$TEST_DIR/no-such-dir/log
run_mount --store "$S" -o "log=$bad" "$M"
is "$rc" 1 "-o log= a file that can't be created: exit 1"
is "$out" "ipmaildir mount: -o log=$bad: No such file or directory" "... one line"
run_mount --store "$S" -o log=relative "$M"
is "$rc" 2 "-o log= a relative path: usage, exit 2"
CF=$TEST_DIR/log-conf
printf 'log = %s\n' "$TEST_DIR/conf.log" >"$CF"
IPMAILDIR_CONFIG=$CF ipmd_mount "$S" "$M" || bail "mount with log in the config failed"
check "log is a config key too" wait_for "$TEST_DIR/conf.log" "mounted on $M and ready"
"$IPMD_BIN" umount "$M"

# No syslog listening (no /dev/log socket): a daemon in the background
# still logs, on the stderr it was started with.
if [ -S /dev/log ]; then
	ok "# SKIP this machine has a syslog at /dev/log"
else
	run_mount --store "$S" "$M"
	is "$rc" 0 "a mount in the background, no /dev/log"
	check "... its log goes to the stderr it was started with" \
		wait_for "$TEST_DIR/run_mount.out" "^ipmaildir\[[0-9]+\]: mounted on $M and ready"
	"$IPMD_BIN" umount "$M"
	is "$?" 0 "... and umount waits for it too"
fi

done_testing
