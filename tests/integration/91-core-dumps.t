#!/usr/bin/env bash
# 91-core-dumps.t — no ipmaildir process can dump its memory (keys,
# plaintext) to a core file or hand it to another process of its user:
# every command sets RLIMIT_CORE to 0 (soft and hard) and PR_SET_DUMPABLE
# to 0 before it reads a key.  Checked from outside, on the mount daemon
# (/proc/PID/limits) and on a command run as an ordinary user blocked on a
# passphrase FIFO (not dumpable: /proc/PID/mem and environ belong to root
# and that user can't read them).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "${IPMD_TEST_TARGET:-}" = plain ] && skip_all "plain target has no daemon"
[ "$(id -u)" = 0 ] || skip_all "needs root (to run a command as nobody)"
command -v setpriv >/dev/null || skip_all "needs setpriv"

# Allow cores here, so what the processes show is their own doing.
ulimit -c unlimited 2>/dev/null || ulimit -S -c unlimited 2>/dev/null || true

# core_limits PID — "soft hard" of Max core file size.
core_limits() { awk '/^Max core file size/ { print $5, $6 }' "/proc/$1/limits"; }

S=$TEST_DIR/store
M=$TEST_DIR/mnt
ipmd_init "$S" || bail "init"
ipmd_mount "$S" "$M" || bail "mount"
echo hello >"$M/new/1.a.host"
is "$(core_limits "$IPMD_PID")" "0 0" "the mount daemon: core file size 0 (soft and hard)"
check "the daemon serves mail as before" grep -qx hello "$M/new/1.a.host"
check "unmount" ipmd_umount "$M"

# A command of an ordinary user, held open: init reading its passphrase
# from a FIFO nobody has written yet.
U=$TEST_DIR/user
mkdir "$U" && chown nobody:nogroup "$U"
mkfifo -m 600 "$U/pass" && chown nobody "$U/pass"
# (setpriv and env exec: $! is the ipmaildir process itself.)
setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$U" XDG_CONFIG_HOME="$U/.config" IPMAILDIR_CONFIG_NOSYSTEM=1 "$IPMD_BIN" init \
	--store "$U/store" --passphrase-file "$U/pass" \
	>"$TEST_DIR/init.out" 2>&1 </dev/null &
pid=$!
track_pid "$pid"
for i in $(seq 100); do
	[ "$(cat "/proc/$pid/wchan" 2>/dev/null)" = wait_for_partner ] && break
	sleep 0.05
done
check "init as nobody waits on the passphrase FIFO" kill -0 "$pid"
is "$(stat -c %U "/proc/$pid/mem")" root "not dumpable: its /proc/PID/mem belongs to root"
check "its own user can't read its environment" \
	bash -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups cat /proc/$pid/environ >/dev/null 2>&1"
is "$(core_limits "$pid")" "0 0" "a command: core file size 0 (soft and hard)"
timeout 10 sh -c "echo 'correct horse battery' >'$U/pass'"
wait "$pid"
is "$?" 0 "and it still creates the mailbox"
check "with a key file" test -f "$U/store/key"
done_testing
