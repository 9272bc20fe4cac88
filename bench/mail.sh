#!/usr/bin/env bash
# bench/mail.sh — mail workloads on three filesystems side by side in one
# run: a plain directory, a gocryptfs mount, an ipmaildir mount on its
# local store and (when `ipmaildir mount --node` and Kubo from
# tests/ipfs-node/kubo-install.sh are there) an ipmaildir mount on a Kubo
# node on 127.0.0.1, all backed by the same local filesystem (bench/README.md,
# "mail").  IPMD_BENCH_NODE=0 leaves the node out, =1 makes it required;
# IPMD_BENCH_GOCRYPTFS=0 leaves gocryptfs out.
#
#   bench/mail.sh [--quick] [--csv FILE] [--rounds R] [--par P]
#                 [--lda-n N] [--raw-n N] [--big-n N] [--big-more N]
#                 [--grep-n N] [--imap-n N] [--nm-n N] [--archive-n N]
#                 [--pipe-n N] [WORKLOAD...]
#                 workloads: lda raw big grep imap notmuch archive pipeline
#   bench/mail.sh --table CSV                     print CSV as a markdown table
#
# Each workload gets fresh targets, measures each target in turn (one step
# on all three before the next, so a noisy moment hits all alike), prints
# its rows as a table, appends them to --csv FILE (bench/run collects the
# rows of all workloads there), and ends with a one-line headline.  The
# IPMD_BENCH_* variables below set the same sizes as the options.
#
# Needs root (a test user for dovecot-lda, allow_other, drop_caches).
# Everything it starts (mounts, daemons, workers) is stopped by pid and
# unmounted in the EXIT trap, and its scratch directory under
# ${TMPDIR:-/var/tmp} is removed (IPMD_KEEP_TEMP=1 keeps it).
# Exit: 0 every selected workload ran, 1 a failure (a delivery failed,
# a count or a grep total differs between targets), 2 usage.
set -uo pipefail
export LC_ALL=C
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
IPMD_BIN=${IPMAILDIR_BIN:-$BUILD/ipmaildir}
IPMD_TOOLS=${IPMD_TOOLS:-$BUILD/tests/tools}
# mail-env.sh finds the repository through it.
export IPMD_TOP=$TOP
MAIL_WORKLOADS=(lda raw big grep imap notmuch archive pipeline)
# Every column of the CSV; TARGETS are those that run (node when it can).
ALL_TARGETS=(plain gocryptfs ipmaildir node)
TARGETS=(plain gocryptfs ipmaildir)
# IPMD_BENCH_GOCRYPTFS=0 leaves gocryptfs out: copying a 100k-message
# archive into it costs minutes and the goals are ratios to plain.
[ "${IPMD_BENCH_GOCRYPTFS:-1}" != 0 ] || TARGETS=(plain ipmaildir)
CSV_HEAD='workload,metric,unit,better,plain,gocryptfs,ipmaildir,node,gocryptfs/plain,ipmaildir/plain,node/plain,goal,ipmaildir meets,node meets'
# What a mount gets before it counts as failed: a 100k-message mailbox
# is read in full at mount.
MOUNT_WAIT_S=120
UNMOUNT_WAIT_S=120
GREP_WORD=mailbox

quick=0
csv=
selected=()
rounds=${IPMD_BENCH_ROUNDS:-}
par=${IPMD_BENCH_PAR:-4}
lda_n=${IPMD_BENCH_LDA_N:-}
raw_n=${IPMD_BENCH_RAW_N:-}
big_n=${IPMD_BENCH_BIG_N:-}
big_more=${IPMD_BENCH_BIG_MORE:-}
grep_n=${IPMD_BENCH_GREP_N:-}
imap_n=${IPMD_BENCH_IMAP_N:-}
nm_n=${IPMD_BENCH_NM_N:-}
archive_n=${IPMD_BENCH_ARCHIVE_N:-}
pipe_n=${IPMD_BENCH_PIPE_N:-}

usage() {
	sed -n '9,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# ---- results: one row per metric, one value per target ----

# table_of CSV: the rows of CSV as a markdown table, ratios included.
# The columns are the CSV's own (older results have no node column).
table_of() {
	awk -F, '
	NR == 1 {
		nc = NF - 1
		c[0,1] = $1; c[0,2] = $2; c[0,3] = "unit"
		for (i = 5; i <= NF; i++) c[0,i-1] = $i
		next
	}
	{
		n++
		c[n,1] = $1; c[n,2] = $2; c[n,3] = $3 " (" $4 ")"
		for (i = 5; i <= nc + 1; i++) c[n,i-1] = ($i == "" ? "-" : $i)
		gsub(/\|/, "\\|", c[n,2])
	}
	END {
		for (i = 1; i <= nc; i++) w[i] = length(c[0,i])
		for (r = 1; r <= n; r++) for (i = 1; i <= nc; i++)
			if (length(c[r,i]) > w[i]) w[i] = length(c[r,i])
		for (r = 0; r <= n; r++) {
			line = "|"
			for (i = 1; i <= nc; i++)
				line = line " " sprintf(i <= 3 ? "%-*s" : "%*s", w[i], c[r,i]) " |"
			print line
			if (r == 0) {
				line = "|"
				for (i = 1; i <= nc; i++) {
					d = ""; for (k = 0; k < w[i]; k++) d = d "-"
					line = line (i <= 3 ? " " d " |" : " " substr(d, 2) ": |")
				}
				print line
			}
		}
	}' "$1"
}

ROW_KEYS=()
declare -A ROW_DESC ROW_GOAL VAL
# row KEY WORKLOAD METRIC UNIT BETTER [GOAL] — declare a row (METRIC: no
# commas).  GOAL is the issue's target for it, words of the form r>=X
# (ratio target/plain), g>=X (ratio ipmaildir/gocryptfs) or v<=X (the
# figure itself), with >= or <=; goal_met checks them.
row() {
	ROW_KEYS+=("$1")
	ROW_DESC[$1]="$2,$3,$4,$5"
	ROW_GOAL[$1]=${6:-}
}

# goal_met GOAL VALUE PLAIN GOCRYPTFS: yes, NO, or nothing when GOAL is
# empty or VALUE missing.
goal_met() {
	awk -v goal="$1" -v v="$2" -v p="$3" -v g="$4" 'BEGIN {
		if (goal == "" || v == "") exit
		ok = 1; n = split(goal, w, " ")
		for (i = 1; i <= n; i++) {
			k = substr(w[i], 1, 1); op = substr(w[i], 2, 2); lim = substr(w[i], 4) + 0
			if (k == "v") x = v
			else if (k == "r") { if (p == "" || p + 0 == 0) exit; x = v / p }
			else { if (g == "" || g + 0 == 0) exit; x = v / g }
			if (op == ">=" ? x < lim : x > lim) ok = 0
		}
		print ok ? "yes" : "NO"
	}'
}
# put KEY TARGET VALUE
put() { VAL[$1,$2]=$3; }

# ratio A B: A/B to two decimals, empty when either is missing or B is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 != 0) printf "%.2f", a / b }'
}

# vs_plain KEY [UNIT] — "ipmaildir R gocryptfs R": KEY on each over KEY on
# plain (ratio), UNIT after each.
vs_plain() {
	echo "ipmaildir $(ratio "${VAL[$1,ipmaildir]:-}" "${VAL[$1,plain]:-}")${2:-}" \
		"gocryptfs $(ratio "${VAL[$1,gocryptfs]:-}" "${VAL[$1,plain]:-}")${2:-}"
}

# emit_rows: this workload's rows, printed as a table and appended to $csv.
emit_rows() {
	local f=$TEST_DIR/rows.csv k t line p
	echo "$CSV_HEAD" >"$f"
	for k in "${ROW_KEYS[@]}"; do
		line=${ROW_DESC[$k]}
		p=${VAL[$k,plain]:-}
		for t in "${ALL_TARGETS[@]}"; do line="$line,${VAL[$k,$t]:-}"; done
		for t in "${ALL_TARGETS[@]:1}"; do line="$line,$(ratio "${VAL[$k,$t]:-}" "$p")"; done
		line="$line,${ROW_GOAL[$k]}"
		for t in ipmaildir node; do
			line="$line,$(goal_met "${ROW_GOAL[$k]}" "${VAL[$k,$t]:-}" "$p" "${VAL[$k,gocryptfs]:-}")"
		done
		echo "$line" >>"$f"
	done
	echo
	table_of "$f"
	if [ -n "$csv" ]; then
		[ -s "$csv" ] || echo "$CSV_HEAD" >"$csv"
		tail -n +2 "$f" >>"$csv"
	fi
	ROW_KEYS=()
}

# ---- arithmetic on figures ----

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s }'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / 1e6 / s }'; }
# median X...: three decimals below 100, one from there on.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf (m < 100 ? "%.3f" : "%.1f"), m }'
}
bytes_in() { find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
# peak_rss_mib PID: VmHWM of a live process, in MiB.
peak_rss_mib() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null
}
# say ID TEXT: a progress line, after the seconds since the start.
say() { printf '%7.1f  %-16s %s\n' "$(since "$T_START")" "$@"; }

die() {
	echo "bench/mail.sh: $*" >&2
	exit 1
}

# ---- scratch directory, cleanup, and what mail-env.sh needs ----

if [ "${1:-}" = --table ]; then
	[ $# = 2 ] || { usage >&2; exit 2; }
	table_of "$2"
	exit
fi

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--csv | --rounds | --par | --lda-n | --raw-n | --big-n | --big-more | --grep-n | --imap-n | --nm-n | \
		--archive-n | --pipe-n)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		case $1 in
		--csv) csv=$2 ;;
		--rounds) rounds=$2 ;;
		--par) par=$2 ;;
		--lda-n) lda_n=$2 ;;
		--raw-n) raw_n=$2 ;;
		--big-n) big_n=$2 ;;
		--big-more) big_more=$2 ;;
		--grep-n) grep_n=$2 ;;
		--imap-n) imap_n=$2 ;;
		--nm-n) nm_n=$2 ;;
		--archive-n) archive_n=$2 ;;
		--pipe-n) pipe_n=$2 ;;
		esac
		shift
		;;
	-h | --help) usage; exit 0 ;;
	-*) usage >&2; exit 2 ;;
	*)
		printf '%s\n' "${MAIL_WORKLOADS[@]}" | grep -qx -- "$1" ||
			{ echo "bench/mail.sh: unknown workload '$1'" >&2; usage >&2; exit 2; }
		selected+=("$1")
		;;
	esac
	shift
done
[ "${#selected[@]}" -gt 0 ] || selected=("${MAIL_WORKLOADS[@]}")
# Sizes: the full ones are the issue's (bench/README.md says how long they
# take); --quick keeps the harness alive in about two minutes.
if [ "$quick" = 1 ]; then
	: "${lda_n:=20}" "${raw_n:=40}" "${big_n:=1000}" "${big_more:=40}" "${grep_n:=100}"
	: "${imap_n:=30}" "${nm_n:=60}" "${archive_n:=500}" "${pipe_n:=40}" "${rounds:=2}"
else
	: "${lda_n:=5000}" "${raw_n:=2000}" "${big_n:=100000}" "${big_more:=1000}" "${grep_n:=3000}"
	: "${imap_n:=500}" "${nm_n:=2000}" "${archive_n:=100000}" "${pipe_n:=2000}" "${rounds:=3}"
fi
for v in "$rounds" "$par" "$lda_n" "$raw_n" "$big_n" "$big_more" "$grep_n" "$imap_n" "$nm_n" "$archive_n" "$pipe_n"; do
	case $v in '' | *[!0-9]* | 0) echo "bench/mail.sh: not a positive count: '$v'" >&2; exit 2 ;; esac
done
[ "$csv" = "" ] || case $csv in /*) ;; *) csv=$PWD/$csv ;; esac

[ "$(id -u)" = 0 ] || die "needs root (a test user for dovecot-lda, allow_other, drop_caches)"
for c in gocryptfs fusermount3 mountpoint setpriv python3 "$IPMD_BIN"; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (make; make deps)"
done
# The node column: ipmaildir on a Kubo node (tests/ipfs-node/) on
# 127.0.0.1, when this ipmaildir can mount on a node.
NODE_DIR=$TOP/tests/ipfs-node
NODE_NOTE=
if [ "${IPMD_BENCH_NODE:-auto}" = 0 ]; then
	NODE_NOTE="left out (IPMD_BENCH_NODE=0)"
elif ! "$IPMD_BIN" mount --help 2>&1 | grep -q -- '--node'; then
	NODE_NOTE="not run: this ipmaildir has no 'mount --node'"
elif ! "$NODE_DIR/kubo-install.sh" >/dev/null 2>&1; then
	NODE_NOTE="not run: no Kubo (tests/ipfs-node/kubo-install.sh)"
else
	TARGETS+=(node)
fi
[ -z "$NODE_NOTE" ] || [ "${IPMD_BENCH_NODE:-auto}" != 1 ] || die "node target $NODE_NOTE"

_pids=()
_workers=()
# Per target: its scratch directory, Maildir, mount point, store (or
# cipher directory), daemon pid, and Dovecot configuration.
declare -A TGT_KIND TGT_BASE TGT_DIR TGT_MNT TGT_STORE TGT_PID TGT_API DCONF
track_pid() { _pids+=("$1"); }
_cleanups=()
on_cleanup() { _cleanups+=("$*"); }
skip_all() { die "$*"; }
bail() { die "$*"; }

# tgt_unmount T: unmount T's mount and wait for its daemon to exit; if it
# is busy or stuck: lazy unmount and SIGKILL, so that nothing below the
# scratch directory stays mounted.
tgt_unmount() {
	local t=$1 mnt=${TGT_MNT[$1]:-} pid=${TGT_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	for i in 1 2 3 4 5; do
		mountpoint -q "$mnt" || break
		fusermount3 -u "$mnt" 2>/dev/null && break
		sleep 0.5
	done
	mountpoint -q "$mnt" && fusermount3 -u -z "$mnt" 2>/dev/null
	for ((i = 0; i < UNMOUNT_WAIT_S * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench/mail.sh: $t daemon $pid did not exit after unmount: SIGKILL" >&2
		kill -9 "$pid" 2>/dev/null
		mountpoint -q "$mnt" && fusermount3 -u -z "$mnt" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	TGT_PID[$t]=
}

_cleanup() {
	local i t p
	for p in "${_workers[@]}"; do kill "$p" 2>/dev/null; done
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" >/dev/null 2>&1; done
	for t in "${!TGT_PID[@]}"; do tgt_unmount "$t"; done
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "${TEST_DIR:-}" ] && [ -d "$TEST_DIR" ]; then
		if [ -n "${IPMD_KEEP_TEMP:-}" ]; then
			echo "bench/mail.sh: kept $TEST_DIR" >&2
		elif grep -q " ${TEST_DIR}[/ ]" /proc/mounts; then
			echo "bench/mail.sh: something is still mounted below $TEST_DIR: not removed" >&2
		else
			rm -rf --one-file-system "$TEST_DIR"
		fi
	fi
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The plain target and every backing store share this filesystem.
TEST_DIR=$(mktemp -d "${TMPDIR:-/var/tmp}/ipmd-bench-mail-XXXXXX") || die "no scratch directory"
chmod 755 "$TEST_DIR"
# shellcheck source=tests/integration/mail-env.sh
. "$TOP/tests/integration/mail-env.sh"
menv_deliverer

# ---- targets ----

_tgt_seq=0

# A target is known by an id: its kind (one of TARGETS) or KIND-SUFFIX
# for a second instance of the same kind.

# tgt_mount ID: start the target's daemon in the foreground as our child,
# return when the mount is live (TGT_PID set).  Plain: nothing to do.
tgt_mount() {
	local t=$1 mnt=${TGT_MNT[$1]} store=${TGT_STORE[$1]} log=${TGT_BASE[$1]}/daemon.log pid i
	case ${TGT_KIND[$t]} in
	plain) return 0 ;;
	gocryptfs) gocryptfs -fg -q -extpass 'echo pw' -allow_other "$store" "$mnt" 2>>"$log" & ;;
	ipmaildir) "$IPMD_BIN" mount -f --store "$store" -o allow_other "$mnt" 2>>"$log" & ;;
	node)
		"$IPMD_BIN" mount -f --store "$store" --node "${TGT_API[$t]}" -o allow_other "$mnt" \
			2>>"$log" &
		;;
	esac
	pid=$!
	TGT_PID[$t]=$pid
	for ((i = 0; i < MOUNT_WAIT_S * 100; i++)); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	cat "$log" >&2
	die "mount of $t at $mnt failed"
}

# tgt_up ID [KIND]: a fresh, empty Maildir (cur/ new/ tmp/) at
# ${TGT_DIR[ID]} on a new target of KIND (default: ID), owned by the
# test user.
tgt_up() {
	local t=$1 base
	_tgt_seq=$((_tgt_seq + 1))
	base=$TEST_DIR/$t.$_tgt_seq
	mkdir -p "$base/mnt" || die "mkdir $base"
	TGT_KIND[$t]=${2:-$1}
	TGT_BASE[$t]=$base
	TGT_MNT[$t]=$base/mnt
	TGT_DIR[$t]=$base/mnt
	case ${TGT_KIND[$t]} in
	plain) TGT_STORE[$t]= ;;
	gocryptfs)
		TGT_STORE[$t]=$base/cipher
		mkdir -p "$base/cipher"
		gocryptfs -init -q -extpass 'echo pw' "$base/cipher" >>"$base/daemon.log" 2>&1 ||
			die "gocryptfs -init failed: $(cat "$base/daemon.log")"
		;;
	ipmaildir | node)
		TGT_STORE[$t]=$base/store
		"$IPMD_BIN" init --store "$base/store" --no-passphrase >>"$base/daemon.log" 2>&1 ||
			die "ipmaildir init failed: $(cat "$base/daemon.log")"
		;;
	esac
	if [ "${TGT_KIND[$t]}" = node ]; then
		# A node of its own per target, in the target's directory.
		on_cleanup "'$NODE_DIR/stop-nodes.sh' '$base/ipfs'"
		"$NODE_DIR/kubo-start.sh" 1 "$base/ipfs" >>"$base/daemon.log" 2>&1 ||
			die "Kubo node failed to start: $(tail -n 5 "$base/daemon.log")"
		# shellcheck disable=SC1091 # written by kubo-start.sh
		TGT_API[$t]=$(. "$base/ipfs/nodes.env" && echo "$IPFS_API_1")
		[ -n "${TGT_API[$t]}" ] || die "no API address in $base/ipfs/nodes.env"
	fi
	tgt_mount "$t"
	mkdir -p "${TGT_DIR[$t]}/cur" "${TGT_DIR[$t]}/new" "${TGT_DIR[$t]}/tmp" ||
		die "no Maildir on $t"
	chown "$MAIL_UID:$MAIL_GID" "${TGT_DIR[$t]}" "${TGT_DIR[$t]}/cur" "${TGT_DIR[$t]}/new" \
		"${TGT_DIR[$t]}/tmp" || die "chown of the Maildir on $t failed"
}

tgt_down() {
	tgt_unmount "$1"
	[ "${TGT_KIND[$1]}" != node ] || "$NODE_DIR/stop-nodes.sh" "${TGT_BASE[$1]}/ipfs" >/dev/null 2>&1
	rm -rf --one-file-system "${TGT_BASE[$1]}"
}

all_up() { local t; for t in "${TARGETS[@]}"; do tgt_up "$t"; done; }
all_down() { local t; for t in "${TARGETS[@]}"; do tgt_down "$t"; done; }

# drop_caches: the kernel's page, dentry and inode caches (all of them,
# machine-wide: the only way to get cold reads).
drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches || die "cannot drop caches"
}

# free_port: an unused TCP port on 127.0.0.1.
free_port() {
	"$MENV_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- corpora and deliveries ----

# split_lists DIR PREFIX P R: the *.eml files of DIR, sorted, cut into R
# consecutive segments (the timed rounds of a delivery), segment r in
# PREFIX.r.all and dealt round-robin into PREFIX.r.0 … PREFIX.r.(P-1).
split_lists() {
	find "$1" -maxdepth 1 -type f -name '*.eml' | sort >"$2.list"
	awk -v p="$3" -v r="$4" -v out="$2" -v n="$(wc -l <"$2.list")" '{
		seg = int((NR - 1) * r / n)
		print > (out "." seg ".all")
		print > (out "." seg "." (NR - 1) % p)
	}' "$2.list"
}

# replicate SRC DST COUNT: COUNT messages in DST under Maildir cur/ names
# (":2,S"), message i being SRC's (i mod |SRC|)-th with a header line of
# its own in front, so that no two files are equal (ipmaildir's convergent
# encryption would store equal files once) and generating 100k of them
# takes seconds, not minutes.
replicate() {
	"$MENV_PY" - "$@" <<'PY' || die "cannot generate $2"
import os, sys
src, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = [open(os.path.join(src, n), "rb").read() for n in sorted(os.listdir(src))]
os.makedirs(out, exist_ok=True)
for i in range(count):
    name = f"{1600000000 + i}.M{i:06d}P{i % 997}.bench.example:2,S"
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"X-Bench-Copy: %d\n" % i + base[i % len(base)])
PY
}

# A temporary failure (exit 75) is retried at once, up to TEMPFAIL_TRIES
# times in all, as an MTA would requeue it: the time of the retries counts
# and their number is reported.  Workers print "rc tries file" per message.
TEMPFAIL_TRIES=5
# Deliveries into a full and an empty Maildir alternate in batches: a
# tenth of them, at least BATCH_MIN.
BATCH_MIN=10
BATCH=

# raw_worker MAILDIR LIST ERRFILE: the C deliverer once per file of LIST.
raw_worker() {
	local f rc try
	while IFS= read -r f; do
		for ((try = 1; try <= TEMPFAIL_TRIES; try++)); do
			"$MAIL_DELIVER" "$1" <"$f" >/dev/null 2>>"$3"
			rc=$?
			[ "$rc" = 75 ] || break
		done
		echo "$rc $((try > TEMPFAIL_TRIES ? TEMPFAIL_TRIES : try)) $f"
	done <"$2"
}

# lda_worker CONF LIST: dovecot-lda as the test user, one shell for the
# whole LIST as Postfix's local(8) would run mailbox_command.
lda_worker() {
	# shellcheck disable=SC2016 # expanded by the user's shell
	menv_as_user bash -c 'while IFS= read -r f; do
		for ((try = 1; try <= $1; try++)); do
			"${@:2}" <"$f"; rc=$?
			[ "$rc" = 75 ] || break
		done
		echo "$rc $((try > $1 ? $1 : try)) $f"
	done <"$0"' "$2" "$TEMPFAIL_TRIES" "$DOVECOT_LIBEXEC/dovecot-lda" -c "$1" -e \
		-f sender@example.org -a "$MAIL_USER@localhost"
}

# run_workers KIND T LISTPREFIX P: P workers of KIND (raw|lda) on target
# T over LISTPREFIX.0 … .(P-1) at once (P=1: LISTPREFIX.all); sets
# RW_BAD to the number of failed deliveries and RW_RETRIES to the number
# of retried tempfails.  Not in a subshell: the workers' pids must be in
# _workers for the EXIT trap.
RW_BAD=
RW_RETRIES=
run_workers() {
	local kind=$1 t=$2 lists=$3 p=$4 w out=$TEST_DIR/out.$2 list
	rm -f "$out".*
	: >"$TEST_DIR/err.$t"
	_workers=()
	for ((w = 0; w < p; w++)); do
		list=$lists.$w
		[ "$p" = 1 ] && list=$lists.all
		[ -e "$list" ] || continue
		if [ "$kind" = raw ]; then
			raw_worker "${TGT_DIR[$t]}" "$list" "$TEST_DIR/err.$t" >"$out.$w" &
		else
			lda_worker "${DCONF[$t]}" "$list" >"$out.$w" 2>>"$TEST_DIR/err.$t" &
		fi
		_workers+=($!)
	done
	for w in "${_workers[@]}"; do wait "$w"; done
	_workers=()
	RW_BAD=$(cat "$out".* | awk '$1 != 0 { n++ } END { print n + 0 }')
	RW_RETRIES=$(cat "$out".* | awk '{ n += $2 - 1 } END { print n + 0 }')
}

# deliver_round KIND T LISTPREFIX P N: deliver the R segments of
# split_lists one after the other, each timed, checking that none failed;
# sets LAST_RATE to the median of the segments' rates and RW_RETRIES to
# the retries of all.
LAST_RATE=
deliver_round() {
	local kind=$1 t=$2 lists=$3 p=$4 n=$5 r t0 s have m rates=() retries=0
	for ((r = 0; r < rounds; r++)); do
		[ -e "$lists.$r.all" ] || continue
		m=$(wc -l <"$lists.$r.all")
		t0=$(now)
		run_workers "$kind" "$t" "$lists.$r" "$p"
		s=$(since "$t0")
		[ "$RW_BAD" = 0 ] || { head -n 5 "$TEST_DIR/err.$t" >&2; die "$kind on $t: $RW_BAD deliveries failed"; }
		rates+=("$(rate "$m" "$s")")
		retries=$((retries + RW_RETRIES))
		[ "$RW_RETRIES" = 0 ] || tail -n 3 "$TEST_DIR/err.$t" | sed 's/^/             /' >&2
	done
	RW_RETRIES=$retries
	have=$(menv_count "${TGT_DIR[$t]}")
	LAST_RATE=$(median "${rates[@]}")
	say "$t" "$kind x$p: $n messages, rounds ${rates[*]} msg/s, median $LAST_RATE ($have in the Maildir, $RW_RETRIES tempfails retried)"
}

# ---- workloads ----

# delivery_modes KIND WHAT N SEQ_GOAL PAR_GOAL [PREPARE] — KIND's delivery
# of the N messages split into $TEST_DIR/KIND-list, one at a time and then
# $par at once, on every target: msg/s (SEQ_GOAL, PAR_GOAL) and the
# tempfails retried, then the headline.  PREPARE, a function, runs once the
# targets are up, before each mode's deliveries.
delivery_modes() {
	local kind=$1 what=$2 n=$3 seq_goal=$4 par_goal=$5 prepare=${6:-}
	local t key p modes=(1)
	[ "$par" = 1 ] || modes+=("$par")
	for p in "${modes[@]}"; do
		key=$kind$p
		if [ "$p" = 1 ]; then
			row "$key" "$kind" "$what $n msgs sequential (median of $rounds parts)" msg/s higher "$seq_goal"
		else
			row "$key" "$kind" "$what $n msgs $p parallel (median of $rounds parts)" msg/s higher "$par_goal"
		fi
		row "$key-retry" "$kind" "  of which tempfails retried" count lower
		all_up
		if [ -n "$prepare" ]; then "$prepare"; fi
		for t in "${TARGETS[@]}"; do
			deliver_round "$kind" "$t" "$TEST_DIR/$kind-list" "$p" "$n"
			[ "$(menv_count "${TGT_DIR[$t]}")" = "$n" ] || die "$kind on $t: not $n messages in the Maildir"
			put "$key" "$t" "$LAST_RATE"
			put "$key-retry" "$t" "$RW_RETRIES"
		done
		all_down
	done
	emit_rows
	headline "$kind msg/s vs plain: seq $(vs_plain "${kind}1");" "x$par $(vs_plain "$kind$par")"
}

# Each target's Dovecot configuration, for dovecot-lda.
lda_conf() {
	local t
	for t in "${TARGETS[@]}"; do
		menv_dovecot_conf "${TGT_BASE[$t]}/dovecot" "${TGT_DIR[$t]}"
		DCONF[$t]=$DOVECOT_CONF
	done
}

# dovecot-lda delivery of a mail corpus, sequential and P in parallel:
# the whole MDA (index, dovecot-uidlist, fsync) as a user runs it.
mail_lda() {
	local n=$lda_n
	menv_require "$DOVECOT_LIBEXEC/dovecot-lda"
	menv_user
	mkdir -p "$TEST_DIR/home"
	chown "$MAIL_UID:$MAIL_GID" "$TEST_DIR/home"
	echo "dovecot-lda: $n messages (genmail mail mix), sequential then $par in parallel"
	menv_gen_many "$TEST_DIR/lda" lda "$n" mail || die "genmail failed"
	chmod -R a+rX "$TEST_DIR/lda"
	split_lists "$TEST_DIR/lda" "$TEST_DIR/lda-list" "$par" "$rounds"
	echo "  corpus: $(bytes_in "$TEST_DIR/lda") bytes"
	delivery_modes lda dovecot-lda "$n" "r>=0.9 g>=1.3" "r>=1.0" lda_conf
}

# The qmail-style C deliverer (tmp/, write, fsync, link, unlink): the
# filesystem's share of a delivery with the least around it.
mail_raw() {
	local n=$raw_n
	menv_user
	echo "C deliverer ($MAIL_DELIVER): $n messages (genmail mail mix), sequential then $par in parallel"
	menv_gen_many "$TEST_DIR/raw" raw "$n" mail || die "genmail failed"
	split_lists "$TEST_DIR/raw" "$TEST_DIR/raw-list" "$par" "$rounds"
	echo "  corpus: $(bytes_in "$TEST_DIR/raw") bytes"
	delivery_modes raw "C deliverer" "$n" "r>=0.5" "r>=0.5"
}

# timed_rounds KEY LABEL CMD [warm]: run `bash -c CMD _ MAILDIR` once on
# every target to warm it (not when told it is warm), then R rounds over
# the targets in turn; the median time per target into KEY.
timed_rounds() {
	local key=$1 label=$2 cmd=$3 t r t0 s
	local -A times
	if [ "${4:-}" != warm ]; then
		for t in "${TARGETS[@]}"; do
			bash -c "$cmd" _ "${TGT_DIR[$t]}" >/dev/null || die "$label failed on $t"
		done
	fi
	for ((r = 1; r <= rounds; r++)); do
		for t in "${TARGETS[@]}"; do
			t0=$(now)
			bash -c "$cmd" _ "${TGT_DIR[$t]}" >/dev/null
			s=$(since "$t0")
			times[$t]="${times[$t]:-} $s"
		done
	done
	for t in "${TARGETS[@]}"; do
		# shellcheck disable=SC2086 # the list of rounds, split on purpose
		put "$key" "$t" "$(median ${times[$t]})"
		say "$t" "$label: rounds${times[$t]} s, median ${VAL[$key,$t]} s"
	done
}

# deliver_full_empty M: on every target, the batches of
# $TEST_DIR/full.B into the full Maildir and of $TEST_DIR/empty.B into
# the empty one (id KIND-empty), alternating batch by batch so that a
# noisy moment slows both alike; rates into VAL[full|empty], their ratio
# into VAL[fullratio].
deliver_full_empty() {
	local m=$1 b t id list t0 s order
	local -A secs retries
	for ((b = 0; b * BATCH < m; b++)); do
		for t in "${TARGETS[@]}"; do
			order=("$t" "$t-empty")
			[ $((b % 2)) = 0 ] || order=("$t-empty" "$t")
			for id in "${order[@]}"; do
				list=$TEST_DIR/empty.$b
				[ "$id" = "$t" ] && list=$TEST_DIR/full.$b
				t0=$(now)
				run_workers raw "$id" "$list" 1
				s=$(since "$t0")
				[ "$RW_BAD" = 0 ] || { head -n 5 "$TEST_DIR/err.$id" >&2; die "raw on $id: $RW_BAD deliveries failed"; }
				secs[$id]=$(awk -v a="${secs[$id]:-0}" -v b="$s" 'BEGIN { print a + b }')
				retries[$id]=$((${retries[$id]:-0} + RW_RETRIES))
			done
		done
	done
	for t in "${TARGETS[@]}"; do
		put full "$t" "$(rate "$m" "${secs[$t]}")"
		put empty "$t" "$(rate "$m" "${secs[$t-empty]}")"
		put fullratio "$t" "$(ratio "${VAL[full,$t]}" "${VAL[empty,$t]}")"
		say "$t" "raw into the full Maildir ${VAL[full,$t]} msg/s, into an empty one ${VAL[empty,$t]} msg/s (${retries[$t]} and ${retries[$t-empty]} tempfails retried)"
	done
}

# 100,000 messages in one folder: populating it, listing and stat'ing it,
# delivering into it next to delivering into an empty one, and (the FUSE
# targets) mounting it again.
mail_big() {
	local n=$big_n m=$big_more t t0 s base_n=2000 lines want
	[ "$quick" = 1 ] && base_n=500
	[ "$base_n" -gt "$n" ] && base_n=$n
	BATCH=$((m / 10 > BATCH_MIN ? m / 10 : BATCH_MIN))
	menv_user
	echo "one folder of $n messages (${base_n} genmail small messages, each copy with a header of its own);" \
		"$m deliveries into it and $m into an empty Maildir, in alternating batches of $BATCH"
	menv_gen_many "$TEST_DIR/big-base" big "$base_n" small || die "genmail failed"
	replicate "$TEST_DIR/big-base" "$TEST_DIR/big" "$n"
	menv_gen_many "$TEST_DIR/more" more "$((2 * m))" small || die "genmail failed"
	find "$TEST_DIR/more" -name '*.eml' | sort >"$TEST_DIR/more-list"
	# Batch b of each: $TEST_DIR/{empty,full}.b.all (run_workers' naming).
	head -n "$m" "$TEST_DIR/more-list" | awk -v d="$TEST_DIR/empty" -v k="$BATCH" \
		'{ print > (d "." int((NR - 1) / k) ".all") }'
	tail -n "$m" "$TEST_DIR/more-list" | awk -v d="$TEST_DIR/full" -v k="$BATCH" \
		'{ print > (d "." int((NR - 1) / k) ".all") }'
	echo "  corpus: $(bytes_in "$TEST_DIR/big") bytes in cur/"

	row fill big "populate cur/ with $n msgs (cp -r + sync)" s lower
	row fillrate big "populate cur/ with $n msgs (cp -r + sync)" msg/s higher
	row ls big "ls -l cur/ ($n entries; warm; median of $rounds)" s lower "r<=2"
	row find big "find | wc -l (warm; median of $rounds)" s lower
	row stat big "find -printf '%s %T@' (stat all; warm; median of $rounds)" s lower
	row full big "C deliverer $m msgs into the full Maildir" msg/s higher
	row empty big "C deliverer $m msgs into an empty Maildir (alternating)" msg/s higher
	row fullratio big "delivery rate full/empty" ratio higher "v>=0.8"
	row rss big "daemon peak RSS (VmHWM) after the above" MiB lower "v<=150"
	row mount big "mount of the full Maildir until mountpoint" s lower "v<=1"
	row mountls big "mount of the full Maildir until ls cur/ returns" s lower
	row rss2 big "daemon peak RSS (VmHWM) after mount + ls" MiB lower "v<=150"

	all_up
	for t in "${TARGETS[@]}"; do tgt_up "$t-empty" "$t"; done
	for t in "${TARGETS[@]}"; do
		t0=$(now)
		cp -r "$TEST_DIR/big/." "${TGT_DIR[$t]}/cur/" || die "cp into $t failed"
		sync -f "$TEST_DIR" || die "sync failed"
		s=$(since "$t0")
		put fill "$t" "$s"
		put fillrate "$t" "$(rate "$n" "$s")"
		say "$t" "populate: $n messages in $s s, ${VAL[fillrate,$t]} msg/s"
	done
	for t in "${TARGETS[@]}"; do
		lines=$(find "${TGT_DIR[$t]}/cur" -maxdepth 1 -type f | wc -l)
		[ "$lines" = "$n" ] || die "$t: $lines files in cur/, not $n"
	done
	# shellcheck disable=SC2016 # $1 is expanded by bash -c
	timed_rounds ls "ls -l cur/" 'ls -l "$1/cur"'
	# ls -l has just stat'ed every entry: these two are warm already.
	# shellcheck disable=SC2016
	timed_rounds find "find | wc -l" 'find "$1" | wc -l' warm
	# shellcheck disable=SC2016
	timed_rounds stat "find -printf (stat)" 'find "$1" -printf "%s %T@\n"' warm
	deliver_full_empty "$m"
	for t in "${TARGETS[@]}"; do
		want=$((n + m))
		[ "$(menv_count "${TGT_DIR[$t]}")" = "$want" ] || die "$t: not $want messages after delivery"
		[ "$(menv_count "${TGT_DIR[$t-empty]}")" = "$m" ] || die "$t-empty: not $m messages after delivery"
		tgt_down "$t-empty"
	done
	for t in "${TARGETS[@]:1}"; do
		put rss "$t" "$(peak_rss_mib "${TGT_PID[$t]}")"
		say "$t" "daemon peak RSS ${VAL[rss,$t]} MiB"
	done
	for t in "${TARGETS[@]:1}"; do
		tgt_unmount "$t"
		t0=$(now)
		tgt_mount "$t"
		put mount "$t" "$(since "$t0")"
		# The figure is how long ls takes, names need no care.
		# shellcheck disable=SC2012
		lines=$(ls "${TGT_DIR[$t]}/cur" | wc -l)
		put mountls "$t" "$(since "$t0")"
		[ "$lines" = "$n" ] || die "$t: ls of cur/ after the mount shows $lines, not $n"
		put rss2 "$t" "$(peak_rss_mib "${TGT_PID[$t]}")"
		say "$t" "mount ${VAL[mount,$t]} s, with ls of cur/ ${VAL[mountls,$t]} s, peak RSS ${VAL[rss2,$t]} MiB"
	done
	all_down
	emit_rows
	headline "big vs plain: populate ipmaildir $(ratio "${VAL[fill,ipmaildir]}" "${VAL[fill,plain]}")x the time," \
		"ls -l $(ratio "${VAL[ls,ipmaildir]}" "${VAL[ls,plain]}")x; full/empty delivery ipmaildir ${VAL[fullratio,ipmaildir]}" \
		"plain ${VAL[fullratio,plain]}; ipmaildir mount+ls ${VAL[mountls,ipmaildir]} s, RSS ${VAL[rss,ipmaildir]} MiB"
}

# grep_once T BYTES: one timed grep -rc over T's Maildir; its total of
# matching lines must be the same on every target (GREP_WANT).  Sets
# GREP_S (seconds).  The output goes to a file: GNU grep stops at a file's
# first match when its output is /dev/null, so a run to /dev/null reads
# almost nothing and warms nothing.
GREP_WANT=
GREP_S=
grep_once() {
	local t=$1 bytes=$2 out=$TEST_DIR/grep.out t0 rc total
	t0=$(now)
	grep -rc "$GREP_WORD" "${TGT_DIR[$t]}" >"$out"
	rc=$?
	GREP_S=$(since "$t0")
	[ "$rc" -le 1 ] || die "grep on $t failed ($rc)"
	total=$(awk -F: '{ s += $NF } END { print s + 0 }' "$out")
	[ -n "$GREP_WANT" ] || GREP_WANT=$total
	[ "$total" = "$GREP_WANT" ] || die "grep on $t counts $total lines, ${TARGETS[0]} $GREP_WANT"
}

# grep_rounds WKEY CKEY BYTES [HOOK]: grep_once on every target, untimed,
# then R warm rounds and R cold rounds (each drops the page cache;
# ipmaildir and node are mounted again first: their chunk cache is in the
# daemon); the medians in MB/s into VAL[WKEY,*] and VAL[CKEY,*].  HOOK T,
# when given, runs after T's last warm grep and after each cold one.
grep_rounds() {
	local wkey=$1 ckey=$2 bytes=$3 hook=${4:-} t r
	local -A warm cold
	for t in "${TARGETS[@]}"; do grep_once "$t" "$bytes"; done
	for ((r = 1; r <= rounds; r++)); do
		for t in "${TARGETS[@]}"; do
			grep_once "$t" "$bytes"
			warm[$t]="${warm[$t]:-} $(mbps "$bytes" "$GREP_S")"
		done
	done
	for t in "${TARGETS[@]}"; do [ -z "$hook" ] || "$hook" "$t"; done
	for ((r = 1; r <= rounds; r++)); do
		for t in "${TARGETS[@]}"; do
			case ${TGT_KIND[$t]} in
			ipmaildir | node) tgt_unmount "$t"; tgt_mount "$t" ;;
			esac
			drop_caches
			grep_once "$t" "$bytes"
			cold[$t]="${cold[$t]:-} $(mbps "$bytes" "$GREP_S")"
			[ -z "$hook" ] || "$hook" "$t"
		done
	done
	for t in "${TARGETS[@]}"; do
		# shellcheck disable=SC2086 # the list of rounds, split on purpose
		put "$wkey" "$t" "$(median ${warm[$t]})"
		# shellcheck disable=SC2086
		put "$ckey" "$t" "$(median ${cold[$t]})"
		say "$t" "warm MB/s:${warm[$t]}, median ${VAL[$wkey,$t]}; cold:${cold[$t]}, median ${VAL[$ckey,$t]} ($GREP_WANT matching lines)"
	done
}

# grep -r over a corpus with MB-sized messages, warm and cold: the read
# path (FUSE, block fetch, decryption) with nothing written.  Each figure
# is the median of R rounds; a cold round drops the page cache and
# remounts ipmaildir (its chunk cache lives in the daemon).
mail_grep() {
	local n=$grep_n t bytes
	menv_user
	echo "grep -rc $GREP_WORD over $n messages (genmail mail mix) in cur/"
	menv_gen_many "$TEST_DIR/grep" grep "$n" mail || die "genmail failed"
	bytes=$(bytes_in "$TEST_DIR/grep")
	echo "  corpus: $bytes bytes, $(find "$TEST_DIR/grep" -size +1M | wc -l) messages over 1 MiB"
	row warm grep "grep -r $n msgs warm (page cache; median of $rounds)" MB/s higher "r>=0.7"
	row cold grep "grep -r $n msgs cold (drop_caches; FUSE: remounted; median of $rounds)" MB/s higher "r>=0.5"
	all_up
	for t in "${TARGETS[@]}"; do
		cp -r "$TEST_DIR/grep/." "${TGT_DIR[$t]}/cur/" || die "cp into $t failed"
	done
	sync -f "$TEST_DIR"
	grep_rounds warm cold "$bytes"
	all_down
	emit_rows
	headline "grep MB/s vs plain: warm $(vs_plain warm);" "cold $(vs_plain cold)"
}

# log_errors LOG: the Error/Panic/Fatal lines of a Dovecot log.
# fuse_replies T: how many replies T's FUSE daemon writes (write and
# writev calls of all its threads, strace -c; it writes nothing else
# while grep -r reads) during one grep -r of its Maildir.  Empty without
# strace.  Not timed: strace slows the daemon.
fuse_replies() {
	local t=$1 out=$TEST_DIR/strace.$1 sp
	command -v strace >/dev/null 2>&1 || return 0
	strace -c -f -o "$out" -p "${TGT_PID[$t]}" 2>/dev/null &
	sp=$!
	track_pid "$sp"
	sleep 1 # until every thread is attached
	grep -rc "$GREP_WORD" "${TGT_DIR[$t]}" >"$TEST_DIR/grep.out"
	sleep 0.5 # a release comes after close returns
	kill -INT "$sp" 2>/dev/null
	wait "$sp" 2>/dev/null
	awk '$NF == "write" || $NF == "writev" { n += $4 } END { print n + 0 }' "$out"
}

# archive_rss T: the highest VmHWM of T's daemons so far into VAL[arss,T].
archive_rss() {
	[ "${TGT_KIND[$1]}" != plain ] || return 0
	put arss "$1" "$(awk -v a="${VAL[arss,$1]:-}" -v b="$(peak_rss_mib "${TGT_PID[$1]}")" \
		'BEGIN { print (a != "" && a + 0 > b + 0) ? a : b }')"
}

# An archive read with shell tools: N small messages (about the 3.6 KiB of
# the issue's 364 MiB / 100,000) in cur/ — copied into plain and
# gocryptfs, imported into ipmaildir (`ipmaildir import`, as an archive
# is made) — then grep -r over it, warm and cold, the FUSE daemon's
# requests in one warm pass (two per file before the no-open change:
# open and release), its peak RSS, and the time to mount it.
mail_archive() {
	local n=$archive_n t s t0 bytes base_n=2000 per
	[ "$quick" = 1 ] && base_n=200
	[ "$base_n" -gt "$n" ] && base_n=$n
	menv_user
	echo "an archive of $n messages (${base_n} genmail messages of 3,500 bytes, each copy with a header of its own) in cur/"
	menv_gen_many "$TEST_DIR/arc-base" arc "$base_n" 3500 || die "genmail failed"
	replicate "$TEST_DIR/arc-base" "$TEST_DIR/archive/cur" "$n"
	mkdir -p "$TEST_DIR/archive/new" "$TEST_DIR/archive/tmp"
	bytes=$(bytes_in "$TEST_DIR/archive")
	echo "  corpus: $bytes bytes"
	GREP_WANT=
	row afill archive "populate $n msgs (cp -r + sync; ipmaildir: import)" s lower
	row amount archive "mount of the $n-msg archive until mountpoint" s lower "v<=1"
	row awarm archive "grep -r $n msgs warm (page cache; median of $rounds)" MB/s higher "r>=0.7"
	row acold archive "grep -r $n msgs cold (drop_caches; FUSE: remounted; median of $rounds)" MB/s higher "r>=0.5"
	row areq archive "FUSE requests per msg of one warm grep -r (strace -c)" count lower "v<=1"
	row arss archive "daemon peak RSS (VmHWM) of any mount through a full grep" MiB lower "v<=150"
	all_up
	for t in "${TARGETS[@]}"; do
		t0=$(now)
		case ${TGT_KIND[$t]} in
		ipmaildir | node)
			tgt_unmount "$t"
			"$IPMD_BIN" import --store "${TGT_STORE[$t]}" --quiet "$TEST_DIR/archive" \
				>>"${TGT_BASE[$t]}/daemon.log" 2>&1 || die "import into $t failed"
			;;
		*) cp -r "$TEST_DIR/archive/cur/." "${TGT_DIR[$t]}/cur/" || die "cp into $t failed" ;;
		esac
		sync -f "$TEST_DIR" || die "sync failed"
		put afill "$t" "$(since "$t0")"
		if [ "${TGT_KIND[$t]}" != plain ]; then
			tgt_unmount "$t"
			t0=$(now)
			tgt_mount "$t"
			put amount "$t" "$(since "$t0")"
		fi
		s=$(find "${TGT_DIR[$t]}/cur" -maxdepth 1 -type f | wc -l)
		[ "$s" = "$n" ] || die "$t: $s files in cur/, not $n"
		say "$t" "populate ${VAL[afill,$t]} s, mount ${VAL[amount,$t]:--} s"
	done
	for t in "${TARGETS[@]}"; do grep_once "$t" "$bytes"; done
	for t in "${TARGETS[@]:1}"; do
		per=$(fuse_replies "$t")
		[ -z "$per" ] || put areq "$t" "$(awk -v a="$per" -v n="$n" 'BEGIN { printf "%.3f", a / n }')"
		say "$t" "one warm grep -r: ${per:-?} FUSE replies for $n messages"
	done
	grep_rounds awarm acold "$bytes" archive_rss
	for t in "${TARGETS[@]:1}"; do say "$t" "peak RSS ${VAL[arss,$t]} MiB"; done
	all_down
	emit_rows
	headline "archive grep MB/s vs plain: warm ipmaildir $(ratio "${VAL[awarm,ipmaildir]}" "${VAL[awarm,plain]}")" \
		"gocryptfs $(ratio "${VAL[awarm,gocryptfs]:-}" "${VAL[awarm,plain]}");" \
		"cold ipmaildir $(ratio "${VAL[acold,ipmaildir]}" "${VAL[acold,plain]}")" \
		"gocryptfs $(ratio "${VAL[acold,gocryptfs]:-}" "${VAL[acold,plain]}");" \
		"ipmaildir ${VAL[areq,ipmaildir]:-?} requests/msg warm, mount ${VAL[amount,ipmaildir]} s, RSS ${VAL[arss,ipmaildir]} MiB"
}

log_errors() { grep -cE '(Error|Panic|Fatal):' "$1"; }

# imap_pass T CLIENTS PASS: one pass of bench/imap_load.py against T's
# Dovecot; sets IMAP_RATE, IMAP_DIGEST and IMAP_SECS, dies on an error.
IMAP_RATE=
IMAP_DIGEST=
imap_pass() {
	local t=$1 c=$2 pass=$3 out
	imap_trace "$t"
	out=$("$MENV_PY" "$TOP/bench/imap_load.py" "${IMAP_PORT[$t]}" "$MAIL_USER" "$MAIL_PASS" \
		"$c" "$pass") || die "IMAP load on $t ($c clients) failed: $out"
	imap_untrace "$t" "$c" "$pass" "$out"
	IMAP_RATE=$("$MENV_PY" -c 'import json,sys; print(json.loads(sys.argv[1])["ops_per_s"])' "$out")
	IMAP_DIGEST=$("$MENV_PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["digest"], j["messages"])' "$out")
}

# IPMD_BENCH_PROFILE=DIR: each IMAP pass runs under `perf record -a` of
# the FUSE request tracepoints and the fdatasync/fsync syscalls;
# bench/fuse_profile.py sums a FUSE mount's requests per opcode (count,
# time from send to end, most in flight), its daemon's syncs and, on every
# target, Dovecot's fsyncs into DIR/imap-T-cC-pP.md, with the pass's rate
# and a FUSE daemon's CPU (utime+stime) across it.  A daemon started with
# IPMD_LOCKSTAT=FILE set (a profiling build that counts its mutex waits
# there) adds that file's counters before and after.
IMAP_TRACER=
IMAP_CPU0=
imap_trace() {
	local t=$1 dir=${IPMD_BENCH_PROFILE:-} pid=${TGT_PID[$1]:-}
	[ -n "$dir" ] || return 0
	command -v perf >/dev/null || die "IPMD_BENCH_PROFILE needs perf"
	mkdir -p "$dir" || die "no profile directory $dir"
	perf record -q -a -e fuse:fuse_request_send -e fuse:fuse_request_end \
		-e 'syscalls:sys_*_fdatasync' -e 'syscalls:sys_*_fsync' \
		-o "$dir/imap.data" 2>>"$dir/perf.err" &
	IMAP_TRACER=$!
	track_pid "$IMAP_TRACER"
	if [ "${IPMD_BENCH_PROFILE_WITH:-}" = strace ]; then
		strace -f -qq -ttt -T -y -e trace=fsync,fdatasync,rename,link,unlink,openat \
			-o "$dir/imap-$t-dovecot.strace" -p "${DPID[$t]}" &
		IMAP_TRACER="$IMAP_TRACER $!"
		track_pid "$!"
	fi
	IMAP_CPU0=0
	[ -z "$pid" ] || IMAP_CPU0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	[ -z "${IPMD_LOCKSTAT:-}" ] || cp "$IPMD_LOCKSTAT" "$dir/lock0" 2>/dev/null
	sleep 1 # until perf is recording
}

imap_untrace() {
	local t=$1 c=$2 pass=$3 out=$4 dir=${IPMD_BENCH_PROFILE:-} pid=${TGT_PID[$1]:-} f cpu
	[ -n "$IMAP_TRACER" ] || return 0
	cpu=0
	[ -z "$pid" ] || cpu=$(($(awk '{print $14 + $15}' "/proc/$pid/stat") - IMAP_CPU0))
	# shellcheck disable=SC2086 # the tracers' pids, split on purpose
	kill -INT $IMAP_TRACER 2>/dev/null
	# shellcheck disable=SC2086
	wait $IMAP_TRACER 2>/dev/null
	[ ! -e "$dir/imap-$t-dovecot.strace" ] ||
		mv "$dir/imap-$t-dovecot.strace" "$dir/imap-$t-c$c-p$pass-dovecot.strace"
	IMAP_TRACER=
	f=$dir/imap-$t-c$c-p$pass.md
	{
		echo "### $t, $c clients, pass $pass"
		echo
		echo "pass: $out"
		echo "daemon CPU: $((cpu * 1000 / $(getconf CLK_TCK))) ms"
		if [ -n "${IPMD_LOCKSTAT:-}" ]; then
			echo "lock counters (calls, waits, ns waited) before: $(cat "$dir/lock0" 2>/dev/null)"
			echo "after: $(cat "$IPMD_LOCKSTAT" 2>/dev/null)"
		fi
		echo
		perf script -F comm,pid,tid,time,event,trace -i "$dir/imap.data" 2>/dev/null |
			"$MENV_PY" "$TOP/bench/fuse_profile.py" \
				"$([ -z "$pid" ] && echo - || mountpoint -d "${TGT_MNT[$t]}")" "${pid:--}"
	} >"$f"
	rm -f "$dir/imap.data"
}

# A Dovecot IMAP server per target on 127.0.0.1 over the same messages,
# loaded by bench/imap_load.py: the first SELECT (Dovecot indexes the
# Maildir), then R rounds of a pass with 1 client and a pass with P
# clients (FETCH headers, FETCH bodies, STORE flags, STORE \Deleted and
# EXPUNGE of about 5% a pass).  Before each pass every target holds the
# same messages: the digests of what was fetched must agree.  Dovecot's
# log must have no error on plain or ipmaildir (gocryptfs's are counted).
mail_imap() {
	local n=$imap_n t r c pass=0 want t0 port
	local -A rate1 rateP
	declare -gA IMAP_PORT DLOG DPID
	menv_require /usr/sbin/dovecot
	menv_user
	mkdir -p "$TEST_DIR/home"
	chown "$MAIL_UID:$MAIL_GID" "$TEST_DIR/home"
	echo "Dovecot IMAP on 127.0.0.1: $n messages (genmail mail mix), 1 and $par clients, $rounds rounds"
	menv_gen_many "$TEST_DIR/imap" imap "$n" mail || die "genmail failed"
	echo "  corpus: $(bytes_in "$TEST_DIR/imap") bytes"
	row select imap "first SELECT of $n msgs (Dovecot indexes them)" s lower
	row imap1 imap "IMAP ops 1 client (median of $rounds passes)" ops/s higher "r>=0.8"
	row "imap$par" imap "IMAP ops $par clients (median of $rounds passes)" ops/s higher "r>=0.8"
	row imaperr imap "  errors in Dovecot's log" count lower "v<=0"
	all_up
	for t in "${TARGETS[@]}"; do
		cp -r "$TEST_DIR/imap/." "${TGT_DIR[$t]}/new/" || die "cp into $t failed"
		chown -R "$MAIL_UID:$MAIL_GID" "${TGT_DIR[$t]}/new" || die "chown on $t failed"
		port=$(free_port)
		IMAP_PORT[$t]=$port
		menv_dovecot_conf "${TGT_BASE[$t]}/dovecot" "${TGT_DIR[$t]}" "$port"
		DLOG[$t]=$DOVECOT_LOG
		menv_dovecot_start "$port" || die "dovecot on $t did not start"
		DPID[$t]=$DOVECOT_PID
	done
	for t in "${TARGETS[@]}"; do
		t0=$(now)
		"$MENV_PY" - "${IMAP_PORT[$t]}" "$MAIL_USER" "$MAIL_PASS" "$n" <<'PY' || die "first SELECT on $t failed"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
typ, data = m.select("INBOX")
sys.exit(0 if typ == "OK" and data == [sys.argv[4].encode()] else 1)
PY
		put select "$t" "$(since "$t0")"
		say "$t" "first SELECT: ${VAL[select,$t]} s"
	done
	for ((r = 1; r <= rounds; r++)); do
		for c in 1 "$par"; do
			want=
			for t in "${TARGETS[@]}"; do
				imap_pass "$t" "$c" "$pass"
				[ -n "$want" ] || want=$IMAP_DIGEST
				[ "$IMAP_DIGEST" = "$want" ] ||
					die "IMAP pass $pass on $t fetched other messages than on ${TARGETS[0]}"
				if [ "$c" = 1 ]; then rate1[$t]="${rate1[$t]:-} $IMAP_RATE"; else rateP[$t]="${rateP[$t]:-} $IMAP_RATE"; fi
			done
			pass=$((pass + 1))
			[ "$par" != 1 ] || break
		done
	done
	for t in "${TARGETS[@]}"; do
		menv_stop_pid "${DPID[$t]}"
		# shellcheck disable=SC2086 # the list of passes, split on purpose
		put imap1 "$t" "$(median ${rate1[$t]})"
		# shellcheck disable=SC2086
		[ "$par" = 1 ] || put "imap$par" "$t" "$(median ${rateP[$t]})"
		put imaperr "$t" "$(log_errors "${DLOG[$t]}")"
		say "$t" "IMAP ops/s 1 client:${rate1[$t]}, $par clients:${rateP[$t]:-}; ${VAL[imaperr,$t]} errors in the log"
		if [ "${VAL[imaperr,$t]}" != 0 ]; then
			grep -E '(Error|Panic|Fatal):' "${DLOG[$t]}" | head -n 3 >&2
			[ "$t" = gocryptfs ] || die "Dovecot logged errors on $t"
		fi
	done
	all_down
	emit_rows
	headline "imap ops/s vs plain: 1 client $(vs_plain imap1); $par clients ipmaildir" \
		"$(ratio "${VAL[imap$par,ipmaildir]:-}" "${VAL[imap$par,plain]:-}");" \
		"errors in Dovecot's log: ipmaildir ${VAL[imaperr,ipmaildir]}"
}

# notmuch new on a fresh database (its Xapian files in the Maildir, on the
# target, as 60-mua-tools.t has them) over messages already in cur/, warm:
# R rounds, each after removing the database; every message indexed.
mail_notmuch() {
	local n=$nm_n t r t0 s out
	local -A secs
	menv_require notmuch
	menv_user
	mkdir -p "$TEST_DIR/home"
	chown "$MAIL_UID:$MAIL_GID" "$TEST_DIR/home"
	echo "notmuch new over $n messages (genmail mail mix) in cur/, fresh database, $rounds rounds"
	menv_gen_many "$TEST_DIR/nm" nm "$n" mail || die "genmail failed"
	echo "  corpus: $(bytes_in "$TEST_DIR/nm") bytes"
	row nm notmuch "notmuch new $n msgs fresh database (median of $rounds)" s lower "r<=1.5"
	row nmrate notmuch "notmuch new $n msgs fresh database (median of $rounds)" msg/s higher
	all_up
	for t in "${TARGETS[@]}"; do
		cp -r "$TEST_DIR/nm/." "${TGT_DIR[$t]}/cur/" || die "cp into $t failed"
		chown -R "$MAIL_UID:$MAIL_GID" "${TGT_DIR[$t]}/cur" || die "chown on $t failed"
		menv_notmuch_config "${TGT_BASE[$t]}/notmuch-config" "${TGT_DIR[$t]}"
		# Warm: what is measured is indexing, not the first read.
		find "${TGT_DIR[$t]}/cur" -type f -exec cat {} + >/dev/null
	done
	for ((r = 1; r <= rounds; r++)); do
		for t in "${TARGETS[@]}"; do
			rm -rf "${TGT_DIR[$t]}/.notmuch"
			t0=$(now)
			out=$(menv_as_user NOTMUCH_CONFIG="${TGT_BASE[$t]}/notmuch-config" notmuch new 2>&1) ||
				die "notmuch new on $t failed: $out"
			s=$(since "$t0")
			grep -q "Added $n new messages" <<<"$out" || die "notmuch new on $t: $out"
			secs[$t]="${secs[$t]:-} $s"
		done
	done
	for t in "${TARGETS[@]}"; do
		out=$(menv_as_user NOTMUCH_CONFIG="${TGT_BASE[$t]}/notmuch-config" notmuch count '*')
		[ "$out" = "$n" ] || die "notmuch count on $t: $out, not $n"
		# shellcheck disable=SC2086 # the list of rounds, split on purpose
		put nm "$t" "$(median ${secs[$t]})"
		put nmrate "$t" "$(rate "$n" "${VAL[nm,$t]}")"
		say "$t" "notmuch new: rounds${secs[$t]} s, median ${VAL[nm,$t]} s"
	done
	all_down
	emit_rows
	headline "notmuch new time vs plain: $(vs_plain nm x)"
}

# The SMTP -> LMTP -> IMAP pipeline (its own file: this one is long).
# shellcheck source=bench/mail_pipeline.sh
. "$TOP/bench/mail_pipeline.sh"

# ---- main ----

T_START=$(now)
# Each workload ends by setting it (headline WORDS…): its figure in one
# line, printed last (bench/run shows the last line in its summary).
HEADLINE=
headline() { HEADLINE="$*"; }

echo "# mail: $TEST_DIR ($(stat -f -c %T "$TEST_DIR")), $(gocryptfs -version 2>/dev/null | cut -d';' -f1)," \
	"dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1), rounds $rounds, parallel $par"
echo "# sizes: lda $lda_n, raw $raw_n, big $big_n + $big_more, grep $grep_n, imap $imap_n, notmuch $nm_n," \
	"archive $archive_n, pipeline $pipe_n$([ "$quick" = 1 ] && echo ' (quick)')"
echo "# targets: ${TARGETS[*]}${NODE_NOTE:+ (node $NODE_NOTE)}"
for w in "${selected[@]}"; do
	echo
	w0=$(now)
	"mail_$w"
	echo "# $w: $(since "$w0") s in all"
	echo "$HEADLINE"
done
