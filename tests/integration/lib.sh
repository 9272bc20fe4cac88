# tests/integration/lib.sh — shared helpers for the integration scripts (bash, TAP).
#
# Source it first:  . "$(dirname "$0")/lib.sh"
#
# Target: by default the scripts run against a real ipmaildir mount.  With
# IPMD_TEST_TARGET=plain they run against a plain directory instead — how a
# script is checked for being right about the mail software before the
# filesystem is blamed.
#
# Every server or daemon a script starts is recorded with track_pid and
# stopped (by pid and start time, never by name) in the EXIT trap, which
# also unmounts.

set -u
IPMD_BIN=${IPMAILDIR_BIN:-${IPMD_TOP:-$PWD}/build/ipmaildir}
IPMD_TOOLS=${IPMD_TOOLS:-${IPMD_TOP:-$PWD}/build/tests/tools}
IPMD_TEST_TARGET=${IPMD_TEST_TARGET:-ipmaildir}

_tap_n=0
_tap_failed=0
_tracked_pids=()
_mounts=()
_cleanups=()

# (Each TAP line, bail and the plan first check the script's tools:
# need_tool below.)
ok()      { _ipmd_need_named_tools; _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok()  { _ipmd_need_named_tools; _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
diag()    { echo "# $*"; }
# check "name" command...   — ok if the command succeeds
check()   { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; return 1; fi; }
# is "got" "want" "name"
is()      { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; diag "got:  '$1'"; diag "want: '$2'"; fi; }
# run CMD... — CMD's output (stdout and stderr) in $out, its status in $rc.
run()     { out=$("$@" 2>&1); rc=$?; }
# run_mount ARG... — run `"$IPMD_BIN" mount ARG...` where the mount
# should fail, or detach: its output (stdout and stderr) in $out, its
# status in $rc.  Bounded by 30 s: a foreground mount that wrongly starts
# runs until stopped, and a hang is no refusal, so timeout's 124 is a
# failure of its own ("mount timed out"), said here; rc stays 124 for the
# caller's checks of the exact status.  The output goes through a file: a
# background mount that wrongly starts keeps its stderr, and $(...) would
# wait for it forever.
run_mount() { run_mount_via 30 "$IPMD_BIN" mount "$@"; }
# run_mount_via SECONDS CMD... — run_mount for a command line that runs
# ipmaildir mount itself (setsid -w …, a mount with a node's longer
# timeouts), bounded by SECONDS.
run_mount_via() {
	local secs=$1; shift
	timeout "$secs" "$@" >"$TEST_DIR/run_mount.out" 2>&1; rc=$?
	out=$(cat "$TEST_DIR/run_mount.out")
	[ "$rc" = 124 ] && not_ok "mount timed out after $secs s (a hang, not a refusal): ${*##*/}"
	return 0
}
# exits RC "name" CMD... — ok if CMD (through run) exits RC
exits()   { local want=$1 name=$2; shift 2; run "$@"; is "$rc" "$want" "$name"; }
# says "name" PATTERN — ok if the last run's output has a line matching PATTERN
says()    { check "$1" grep -q -- "$2" <<<"$out"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
bail()    { _ipmd_need_named_tools; echo "Bail out! $*"; exit 255; }
done_testing() {
	_ipmd_need_named_tools
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ] && [ "$_tap_n" -gt 0 ]
}

# A process is its pid and its start time (tests/ipfs-node/pid.sh): a
# daemon stopped long before may have left its pid to another process by
# the time the EXIT trap runs, which signals only a pid that still has the
# start time recorded.
. "$(dirname "${BASH_SOURCE[0]}")/../ipfs-node/pid.sh"
track_pid()   { _tracked_pids+=("$1:$(pid_start "$1")"); }
on_cleanup()  { _cleanups+=("$*"); }

_cleanup() {
	local i status=$?
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" >/dev/null 2>&1 || true; done
	for m in "${_mounts[@]}"; do ipmd_umount "$m" >/dev/null 2>&1 || true; done
	local t p s
	for t in "${_tracked_pids[@]}"; do
		p=${t%%:*} s=${t#*:}
		pid_is "$p" "$s" && kill "$p" 2>/dev/null
	done
	for t in "${_tracked_pids[@]}"; do
		p=${t%%:*} s=${t#*:}
		for _ in $(seq 50); do pid_is "$p" "$s" || break; sleep 0.1; done
		pid_is "$p" "$s" && kill -9 "$p" 2>/dev/null
	done
	# A sanitizer build's daemons report to their logs (stderr), where no
	# check would see them: any report fails the script.  So does a
	# daemon's "bug:" line, a broken invariant it caught and survived
	# (fs/mount/mount.h, "Held states and freed inodes").  Daemons log to
	# *.log (ipmd_mount), and those a script starts itself to the *.err
	# or *.out it names (run_mount.out; a background mount's stderr).
	local reports bad='ERROR: (Address|Leak)Sanitizer|runtime error:|\]: bug: '
	reports=$(grep -rlE --include='*.log' --include='*.err' --include='*.out' \
		"$bad" "${TEST_DIR:-/nonexistent}" 2>/dev/null)
	if [ -n "$reports" ]; then
		for f in $reports; do
			echo "# sanitizer report or bug in $f:"
			grep -m1 -A25 -E "$bad" "$f" | sed 's/^/#   /'
		done
		status=1
	fi
	# Only the directory made below, never what TEST_DIR was set to by
	# hand: sourced with TEST_DIR=/tmp, this once emptied /tmp.
	[ -n "${_ipmd_scratch:-}" ] && [ "${TEST_DIR:-}" = "$_ipmd_scratch" ] &&
		[ -z "${IPMD_KEEP_TEMP:-}" ] && rm -rf "$_ipmd_scratch"
	exit "$status"
}
trap _cleanup EXIT

# The test tools (tests/tools/NAME.c): `make` builds only the program,
# `make check` the tools too.  A missing one would fail later as something
# else (a delivery never made reads as lost mail), so it fails the script
# first, as one check naming it, then the plan and exit 1: this script
# only, never the whole prove run (no bail), and never a script that
# skips (the plain target, no python3 or Kubo) and so needs none.
#
# need_tool NAME — at the point of use.  In a subshell (a pipeline's
# part) it can stop only that: a diagnostic and 127 there, and the
# script's next TAP line reports the tool (_ipmd_need_named_tools).
need_tool() {
	[ -x "$IPMD_TOOLS/$1" ] && return 0
	if [ "$BASH_SUBSHELL" -gt 0 ]; then
		echo "# tool $1 is not built ($IPMD_TOOLS/$1)" >&2
		return 127
	fi
	_ipmd_tools_checked=1
	fail_alone "tool $1 is not built ($IPMD_TOOLS/$1): run make check"
}
# fail_alone WHAT — a failed check saying WHAT, the plan, exit 1: this
# script fails and prove goes on to the next (bail would stop the run).
# For what the script can't run without but the others can (a program
# make did not build).
fail_alone() {
	not_ok "$1"
	echo "1..$_tap_n"
	exit 1
}
# _ipmd_need_named_tools — need_tool for every tool the script names
# ("$IPMD_TOOLS/NAME", or through this file's helpers), once: at its
# first TAP line, bail or plan.  That is after its skip tests (skip_all
# comes before any TAP line) and before a check a missing tool would
# fail as something else.
_ipmd_need_named_tools() {
	[ -n "${_ipmd_tools_checked:-}" ] && return 0
	_ipmd_tools_checked=1
	[ -f "$0" ] || return 0
	local t
	for t in $(grep -oE 'IPMD_TOOLS/[A-Za-z0-9_]+' "$0" | sed 's|.*/||' | sort -u) \
		$(grep -qwE 'ipmd_deliver|node_test_require' "$0" && echo maildir_deliver) \
		$(grep -qw dag_two_lines "$0" && echo dag_commit); do
		need_tool "$t"
	done
}

# A fresh scratch directory for this script: $TEST_DIR.
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ipmd-it-XXXXXX")
_ipmd_scratch=$TEST_DIR
chmod 755 "$TEST_DIR"

# ipmd_init STORE — a new mailbox without passphrase.
ipmd_init() {
	"$IPMD_BIN" init --store "$1" --no-passphrase >/dev/null 2>>"$TEST_DIR/init.log"
}

# ipmd_mount STORE MOUNTPOINT [extra mount args] — mount in the foreground
# as a tracked background process; returns when the mount is live.
# Sets IPMD_PID.  In plain mode: just makes the directory.
ipmd_mount() {
	local store=$1 mnt=$2; shift 2
	mkdir -p "$mnt"
	if [ "$IPMD_TEST_TARGET" = plain ]; then
		mkdir -p "$mnt/cur" "$mnt/new" "$mnt/tmp"
		IPMD_PID=
		return 0
	fi
	# IPMD_FAULT=SPEC: every mount on the fault-injecting store (bs_fault.h);
	# IPMD_WRAPPER="valgrind …": the daemon runs under that command.
	local fault=()
	[ -n "${IPMD_FAULT:-}" ] && fault=(--fault "$IPMD_FAULT")
	# stdout: the foreground's one "mounted and ready" line, kept out of
	# the TAP stream.
	${IPMD_WRAPPER:-} "$IPMD_BIN" mount -f --store "$store" "${fault[@]}" "$@" "$mnt" \
		>>"$TEST_DIR/ipmaildir.out" 2>>"$TEST_DIR/ipmaildir.log" &
	IPMD_PID=$!
	track_pid "$IPMD_PID"
	_mounts+=("$mnt")
	# Tenths of a second to wait: 10 s; 30 s more under a wrapper; and
	# for --at, whose seq is found by walking the first-parent line back
	# from the head (history_resolve), one commit block per step.
	local i tries=100 a
	[ -n "${IPMD_WRAPPER:-}" ] && tries=$((tries + 300))
	for a in "$@"; do [ "$a" = --at ] && tries=$((tries + 200)); done
	for i in $(seq "$tries"); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$IPMD_PID" 2>/dev/null || { cat "$TEST_DIR/ipmaildir.log" >&2; return 1; }
		sleep 0.1
	done
	# Given up: the daemon must not mount later over what the script
	# does next (another mount there, or a check of an empty directory).
	echo "ipmd_mount: $mnt not mounted after $((tries / 10)) s; killing pid $IPMD_PID" >&2
	ipmd_kill9 "$mnt"
	return 1
}

# ipmd_umount MOUNTPOINT — unmount and wait for the daemon to exit.
ipmd_umount() {
	local mnt=$1
	[ "$IPMD_TEST_TARGET" = plain ] && return 0
	mountpoint -q "$mnt" || return 0
	fusermount3 -u "$mnt" || return 1
	if [ -n "${IPMD_PID:-}" ]; then
		local i
		# The daemon may wait for its node's uploads (-o upload_wait, 30 s).
		for i in $(seq 600); do kill -0 "$IPMD_PID" 2>/dev/null || return 0; sleep 0.1; done
		return 1
	fi
}

# ipmd_kill9 — crash the daemon (SIGKILL) and clear the dead mount.
ipmd_kill9() {
	local mnt=$1
	[ "$IPMD_TEST_TARGET" = plain ] && return 0
	kill -9 "$IPMD_PID" 2>/dev/null
	wait "$IPMD_PID" 2>/dev/null
	fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
}

# ---------------------------------------------------------------- stores

# ipmd_store_only [WHY] — skip the script unless it runs against
# ipmaildir (it looks into the store, or crashes the daemon: WHY, "tests
# the store itself" by default) with python3 (to read the --json output,
# or to run its checkers).
ipmd_store_only() {
	[ "$IPMD_TEST_TARGET" = plain ] && skip_all "${1:-tests the store itself}"
	command -v python3 >/dev/null || skip_all "python3 not installed"
}

# ipmd_own_store — a store of the script's own and its places: S (a new
# mailbox, ipmd_init: bails when that fails), its mount point M, and W, a
# folder (made) for the script's programs and what they leave.
ipmd_own_store() {
	S=$TEST_DIR/store
	M=$TEST_DIR/mnt
	W=$TEST_DIR/work
	mkdir -p "$W"
	ipmd_init "$S" || bail "init failed"
}

# ipmd_py SCRIPT ARG… — python3 with this folder's modules importable
# (expect_files.py, what a crash script's checker compares files with;
# genmail.py; mailcheck.py), writing no __pycache__ into the tree.
IPMD_IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ipmd_py() {
	PYTHONPATH=$IPMD_IT_DIR${PYTHONPATH:+:$PYTHONPATH} PYTHONDONTWRITEBYTECODE=1 \
		python3 "$@"
}

# ipmd_deliver MAILDIR <MESSAGE — one delivery by the C deliverer, quietly.
ipmd_deliver() { need_tool maildir_deliver; "$IPMD_TOOLS/maildir_deliver" "$1" >/dev/null; }

# ipmd_seqs STORE [N] — the seqs of the newest N commits (all without N),
# newest first, on one line.
ipmd_seqs() {
	"$IPMD_BIN" log --store "$1" --json ${2:+-n "$2"} |
		python3 -c 'import json,sys; print(" ".join(str(c["seq"]) for c in json.load(sys.stdin)))'
}

# ipmd_copy — S becomes a new copy of the store $P ($TEST_DIR/s1, s2, …),
# for one kind of damage each.
ipmd_copy() { _ipmd_copies=$((${_ipmd_copies:-0} + 1)); S=$TEST_DIR/s$_ipmd_copies; cp -a "$P" "$S"; }

# ipmd_fsck_exits RC "name" [ARGS...] — ipmaildir fsck --store $S ARGS
# exits RC (its output in $out, for says).
ipmd_fsck_exits() { local want=$1 name=$2; shift 2; exits "$want" "$name" "$IPMD_BIN" fsck --store "$S" "$@"; }

# ipmd_fsck_ok [STORE] — fsck of STORE ($S by default; a crashed one)
# exits 0; else its output (up to 40 lines) as diag, on stderr too: prove
# shows that without -v, so a CI log keeps the reason.
ipmd_fsck_ok() {
	local rc said
	"$IPMD_BIN" fsck --store "${1:-$S}" >"$TEST_DIR/fsck.out" 2>&1 && return 0
	rc=$?
	said="# fsck exited $rc:"$'\n'$(head -n 40 "$TEST_DIR/fsck.out" | sed 's/^/#   /')
	echo "$said"
	echo "$said" >&2
	return 1
}

# flip_byte FILE [MASK] [AT] — the byte at AT (the middle by default; from
# the end if negative) xor MASK (1 by default), in place.
flip_byte() {
	python3 - "$1" "${2:-1}" "${3:-}" <<'PY'
import sys
path, mask, at = sys.argv[1], int(sys.argv[2], 0), sys.argv[3]
b = bytearray(open(path, 'rb').read())
b[int(at) if at else len(b) // 2] ^= mask
open(path, 'wb').write(bytes(b))
PY
}

# free_port — an unused TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Deterministic test messages: gen_message SEED SIZE > file
gen_message() {
	python3 "${IPMD_TOP:-$PWD}/tests/integration/genmail.py" "$1" "$2"
}

# chunk_block_size SIZE — the block length a chunk of SIZE bytes is stored
# at by a padding writer (the default): Padmé(SIZE) + 40, capped like
# obj_padded_len (fs/model/object.h).  `pad=none` writers and old blocks: SIZE + 40.
chunk_block_size() {
	local L=$1 e=0 s=0 x max=$((1024 * 1024 - 1024 - 40))
	if [ "$L" -ge 2 ] && [ "$L" -le "$max" ]; then
		x=$L; while [ "$x" -gt 1 ]; do x=$((x >> 1)); e=$((e + 1)); done
		x=$e; while [ "$x" -gt 1 ]; do x=$((x >> 1)); s=$((s + 1)); done
		local mask=$(((1 << (e - s - 1)) - 1))
		L=$(((L + mask) & ~mask))
		[ "$L" -gt "$max" ] && L=$max
	fi
	echo $((L + 40))
}

# poll SECONDS CMD… — run CMD every 0.5 s until it succeeds, at most
# SECONDS: 0 when it did.  A bound for waits, never a timing check.
poll() {
	local i n=$(($1 * 2))
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 0.5
	done
	return 1
}

# dag_two_lines STORE — a merged history on STORE's head, made by
# tests/tools/dag_commit as a mount's sync would make it (nothing mounted
# on STORE): a-1, a-2 on this device's line, o-1 … o-5 on device 1's,
# the merge of o-5 into a-2 the head.  Sets aline and oline (each line's
# CIDs, oldest first) and m (the merge's); bails when a step fails.
dag_two_lines() {
	need_tool dag_commit
	local dag=$IPMD_TOOLS/dag_commit
	read -r -d '' -a aline < <("$dag" "$1" line head 0 2 a) || true
	read -r -d '' -a oline < <("$dag" "$1" line head 1 5 o) || true
	[ "${#aline[@]}" = 2 ] && [ "${#oline[@]}" = 5 ] || bail "dag_commit line failed"
	m=$("$dag" "$1" merge "${aline[1]}" "${oline[4]}") || bail "dag_commit merge failed"
	"$dag" "$1" head "$m" || bail "dag_commit head failed"
}

# file_names DIR — every file below DIR, "./path", sorted bytewise.
file_names() { (cd "$1" && find . -type f | LC_ALL=C sort); }

# ipmd_second_device STORE STORE2 — make STORE2 a second device of
# STORE's mailbox: `key backup` of STORE, `key restore` into STORE2 (no
# passphrase; it draws a device number of its own, said on
# $TEST_DIR/restore.err).
ipmd_second_device() {
	"$IPMD_BIN" key backup --store "$1" >"$TEST_DIR/backup" 2>/dev/null &&
		"$IPMD_BIN" key restore --store "$2" --no-new-passphrase \
			"$TEST_DIR/backup" 2>"$TEST_DIR/restore.err"
}

# ipmd_two_stores — two devices of one mailbox in $TEST_DIR: A (store-a,
# init) and B (store-b, ipmd_second_device of A), with mount points MA
# and MB; bails when either cannot be made.  ipfs-lib.sh's
# ipmd_two_devices starts their nodes too.
ipmd_two_stores() {
	A=$TEST_DIR/store-a
	B=$TEST_DIR/store-b
	MA=$TEST_DIR/mnt-a
	MB=$TEST_DIR/mnt-b
	ipmd_init "$A" || bail "init of A failed"
	ipmd_second_device "$A" "$B" ||
		bail "key backup/restore: $(cat "$TEST_DIR/restore.err")"
}
