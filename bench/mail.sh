#!/usr/bin/env bash
# bench/mail.sh — mail workloads on three filesystems side by side in one
# run: a plain directory, a gocryptfs mount and an ipmaildir mount, all
# backed by the same local filesystem (bench/README.md, "mail").
#
#   bench/mail.sh [--quick] [--csv FILE] [--rounds R] [--par P]
#                 [--lda-n N] [--raw-n N] [--big-n N] [--big-more N]
#                 [--grep-n N] [WORKLOAD...]      workloads: lda raw big grep
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
IPMD_BIN=${IPMAILDIR_BIN:-$TOP/$BUILD/ipmaildir}
IPMD_TOOLS=${IPMD_TOOLS:-$TOP/$BUILD/tests/tools}
# mail-env.sh finds the repository through it.
export IPMD_TOP=$TOP
MAIL_WORKLOADS=(lda raw big grep)
TARGETS=(plain gocryptfs ipmaildir)
CSV_HEAD='workload,metric,unit,better,plain,gocryptfs,ipmaildir,gocryptfs/plain,ipmaildir/plain'
# What a mount gets before it counts as failed: a 100k-message mailbox
# is read in full at mount.
MOUNT_WAIT_S=120
UNMOUNT_WAIT_S=120
GREP_WORD=mailbox

quick=0
csv=
selected=()
rounds=${IPMD_BENCH_ROUNDS:-3}
par=${IPMD_BENCH_PAR:-4}
lda_n=${IPMD_BENCH_LDA_N:-}
raw_n=${IPMD_BENCH_RAW_N:-}
big_n=${IPMD_BENCH_BIG_N:-}
big_more=${IPMD_BENCH_BIG_MORE:-}
grep_n=${IPMD_BENCH_GREP_N:-}

usage() {
	sed -n '6,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# ---- results: one row per metric, one value per target ----

# table_of CSV: the rows of CSV as a markdown table, ratios included.
table_of() {
	awk -F, '
	NR == 1 { next }
	{
		n++
		c[n,1] = $1; c[n,2] = $2; c[n,3] = $3 " (" $4 ")"
		for (i = 5; i <= 9; i++) c[n,i-1] = ($i == "" ? "-" : $i)
		gsub(/\|/, "\\|", c[n,2])
	}
	END {
		split("workload|metric|unit|plain|gocryptfs|ipmaildir|gocryptfs/plain|ipmaildir/plain", h, "|")
		for (i = 1; i <= 8; i++) { w[i] = length(h[i]); c[0,i] = h[i] }
		for (r = 1; r <= n; r++) for (i = 1; i <= 8; i++)
			if (length(c[r,i]) > w[i]) w[i] = length(c[r,i])
		for (r = 0; r <= n; r++) {
			line = "|"
			for (i = 1; i <= 8; i++)
				line = line " " sprintf(i <= 3 ? "%-*s" : "%*s", w[i], c[r,i]) " |"
			print line
			if (r == 0) {
				line = "|"
				for (i = 1; i <= 8; i++) {
					d = ""; for (k = 0; k < w[i]; k++) d = d "-"
					line = line (i <= 3 ? " " d " |" : " " substr(d, 2) ": |")
				}
				print line
			}
		}
	}' "$1"
}

ROW_KEYS=()
declare -A ROW_DESC VAL
# row KEY WORKLOAD METRIC UNIT BETTER — declare a row (METRIC: no commas).
row() {
	ROW_KEYS+=("$1")
	ROW_DESC[$1]="$2,$3,$4,$5"
}
# put KEY TARGET VALUE
put() { VAL[$1,$2]=$3; }

# ratio A B: A/B to two decimals, empty when either is missing or B is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 != 0) printf "%.2f", a / b }'
}

# emit_rows: this workload's rows, printed as a table and appended to $csv.
emit_rows() {
	local f=$TEST_DIR/rows.csv k t line p
	echo "$CSV_HEAD" >"$f"
	for k in "${ROW_KEYS[@]}"; do
		line=${ROW_DESC[$k]}
		p=${VAL[$k,plain]:-}
		for t in "${TARGETS[@]}"; do line="$line,${VAL[$k,$t]:-}"; done
		line="$line,$(ratio "${VAL[$k,gocryptfs]:-}" "$p"),$(ratio "${VAL[$k,ipmaildir]:-}" "$p")"
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
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
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
	--csv | --rounds | --par | --lda-n | --raw-n | --big-n | --big-more | --grep-n)
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
# Sizes: full figures fit the whole run in ~20 minutes on 2 cores
# (bench/README.md); --quick keeps the harness alive in ~2 minutes.
if [ "$quick" = 1 ]; then
	: "${lda_n:=50}" "${raw_n:=100}" "${big_n:=5000}" "${big_more:=100}" "${grep_n:=300}"
else
	: "${lda_n:=1000}" "${raw_n:=2000}" "${big_n:=100000}" "${big_more:=1000}" "${grep_n:=3000}"
fi
for v in "$rounds" "$par" "$lda_n" "$raw_n" "$big_n" "$big_more" "$grep_n"; do
	case $v in '' | *[!0-9]* | 0) echo "bench/mail.sh: not a positive count: '$v'" >&2; exit 2 ;; esac
done
[ "$csv" = "" ] || case $csv in /*) ;; *) csv=$PWD/$csv ;; esac

[ "$(id -u)" = 0 ] || die "needs root (a test user for dovecot-lda, allow_other, drop_caches)"
for c in gocryptfs fusermount3 mountpoint setpriv python3 "$IPMD_BIN"; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (make; make deps)"
done

_pids=()
_workers=()
# Per target: its scratch directory, Maildir, mount point, store (or
# cipher directory), daemon pid, and Dovecot configuration.
declare -A TGT_KIND TGT_BASE TGT_DIR TGT_MNT TGT_STORE TGT_PID DCONF
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
	ipmaildir)
		TGT_STORE[$t]=$base/store
		"$IPMD_BIN" init --store "$base/store" --no-passphrase >>"$base/daemon.log" 2>&1 ||
			die "ipmaildir init failed: $(cat "$base/daemon.log")"
		;;
	esac
	tgt_mount "$t"
	mkdir -p "${TGT_DIR[$t]}/cur" "${TGT_DIR[$t]}/new" "${TGT_DIR[$t]}/tmp" ||
		die "no Maildir on $t"
	chown "$MAIL_UID:$MAIL_GID" "${TGT_DIR[$t]}" "${TGT_DIR[$t]}/cur" "${TGT_DIR[$t]}/new" \
		"${TGT_DIR[$t]}/tmp" || die "chown of the Maildir on $t failed"
}

tgt_down() {
	tgt_unmount "$1"
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

# ---- corpora and deliveries ----

# split_lists DIR PREFIX P: the *.eml files of DIR, sorted, in PREFIX.all
# and dealt round-robin into PREFIX.0 … PREFIX.(P-1).
split_lists() {
	find "$1" -maxdepth 1 -type f -name '*.eml' | sort >"$2.all"
	awk -v p="$3" -v out="$2" '{ print > (out "." (NR - 1) % p) }' "$2.all"
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

# deliver_round KIND T LISTPREFIX P N: deliver, check that none failed,
# print the rate; sets LAST_RATE (and RW_RETRIES).
LAST_RATE=
deliver_round() {
	local kind=$1 t=$2 lists=$3 p=$4 n=$5 t0 s have
	t0=$(now)
	run_workers "$kind" "$t" "$lists" "$p"
	s=$(since "$t0")
	have=$(menv_count "${TGT_DIR[$t]}")
	[ "$RW_BAD" = 0 ] || { head -n 5 "$TEST_DIR/err.$t" >&2; die "$kind on $t: $RW_BAD deliveries failed"; }
	LAST_RATE=$(rate "$n" "$s")
	say "$t" "$kind x$p: $n messages in $s s, $LAST_RATE msg/s ($have in the Maildir, $RW_RETRIES tempfails retried)"
	[ "$RW_RETRIES" = 0 ] || tail -n 3 "$TEST_DIR/err.$t" | sed 's/^/             /' >&2
}

# ---- workloads ----

# dovecot-lda delivery of a mail corpus, sequential and P in parallel:
# the whole MDA (index, dovecot-uidlist, fsync) as a user runs it.
mail_lda() {
	local n=$lda_n t key p modes=(1)
	[ "$par" = 1 ] || modes+=("$par")
	menv_require "$DOVECOT_LIBEXEC/dovecot-lda"
	menv_user
	mkdir -p "$TEST_DIR/home"
	chown "$MAIL_UID:$MAIL_GID" "$TEST_DIR/home"
	echo "dovecot-lda: $n messages (genmail mail mix), sequential then $par in parallel"
	menv_gen_many "$TEST_DIR/lda" lda "$n" mail || die "genmail failed"
	chmod -R a+rX "$TEST_DIR/lda"
	split_lists "$TEST_DIR/lda" "$TEST_DIR/lda-list" "$par"
	echo "  corpus: $(bytes_in "$TEST_DIR/lda") bytes"
	for p in "${modes[@]}"; do
		key=lda$p
		if [ "$p" = 1 ]; then
			row "$key" lda "dovecot-lda $n msgs sequential" msg/s higher
		else
			row "$key" lda "dovecot-lda $n msgs $p parallel" msg/s higher
		fi
		row "$key-retry" lda "  of which tempfails retried" count lower
		all_up
		for t in "${TARGETS[@]}"; do
			menv_dovecot_conf "${TGT_BASE[$t]}/dovecot" "${TGT_DIR[$t]}"
			DCONF[$t]=$DOVECOT_CONF
		done
		for t in "${TARGETS[@]}"; do
			deliver_round lda "$t" "$TEST_DIR/lda-list" "$p" "$n"
			[ "$(menv_count "${TGT_DIR[$t]}")" = "$n" ] || die "lda on $t: not $n messages in the Maildir"
			put "$key" "$t" "$LAST_RATE"
			put "$key-retry" "$t" "$RW_RETRIES"
		done
		all_down
	done
	emit_rows
	headline "lda msg/s vs plain: seq ipmaildir $(ratio "${VAL[lda1,ipmaildir]}" "${VAL[lda1,plain]}")" \
		"gocryptfs $(ratio "${VAL[lda1,gocryptfs]}" "${VAL[lda1,plain]}");" \
		"x$par ipmaildir $(ratio "${VAL[lda$par,ipmaildir]}" "${VAL[lda$par,plain]}")" \
		"gocryptfs $(ratio "${VAL[lda$par,gocryptfs]}" "${VAL[lda$par,plain]}")"
}

# The qmail-style C deliverer (tmp/, write, fsync, link, unlink): the
# filesystem's share of a delivery with the least around it.
mail_raw() {
	local n=$raw_n t key p modes=(1)
	[ "$par" = 1 ] || modes+=("$par")
	menv_user
	echo "C deliverer ($MAIL_DELIVER): $n messages (genmail mail mix), sequential then $par in parallel"
	menv_gen_many "$TEST_DIR/raw" raw "$n" mail || die "genmail failed"
	split_lists "$TEST_DIR/raw" "$TEST_DIR/raw-list" "$par"
	echo "  corpus: $(bytes_in "$TEST_DIR/raw") bytes"
	for p in "${modes[@]}"; do
		key=raw$p
		if [ "$p" = 1 ]; then
			row "$key" raw "C deliverer $n msgs sequential" msg/s higher
		else
			row "$key" raw "C deliverer $n msgs $p parallel" msg/s higher
		fi
		row "$key-retry" raw "  of which tempfails retried" count lower
		all_up
		for t in "${TARGETS[@]}"; do
			deliver_round raw "$t" "$TEST_DIR/raw-list" "$p" "$n"
			[ "$(menv_count "${TGT_DIR[$t]}")" = "$n" ] || die "raw on $t: not $n messages in the Maildir"
			put "$key" "$t" "$LAST_RATE"
			put "$key-retry" "$t" "$RW_RETRIES"
		done
		all_down
	done
	emit_rows
	headline "raw msg/s vs plain: seq ipmaildir $(ratio "${VAL[raw1,ipmaildir]}" "${VAL[raw1,plain]}")" \
		"gocryptfs $(ratio "${VAL[raw1,gocryptfs]}" "${VAL[raw1,plain]}");" \
		"x$par ipmaildir $(ratio "${VAL[raw$par,ipmaildir]}" "${VAL[raw$par,plain]}")" \
		"gocryptfs $(ratio "${VAL[raw$par,gocryptfs]}" "${VAL[raw$par,plain]}")"
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
	row ls big "ls -l cur/ ($n entries; warm; median of $rounds)" s lower
	row find big "find | wc -l (warm; median of $rounds)" s lower
	row stat big "find -printf '%s %T@' (stat all; warm; median of $rounds)" s lower
	row full big "C deliverer $m msgs into the full Maildir" msg/s higher
	row empty big "C deliverer $m msgs into an empty Maildir (alternating)" msg/s higher
	row fullratio big "delivery rate full/empty" ratio higher
	row rss big "daemon peak RSS (VmHWM) after the above" MiB lower
	row mount big "mount of the full Maildir until mountpoint" s lower
	row mountls big "mount of the full Maildir until ls cur/ returns" s lower
	row rss2 big "daemon peak RSS (VmHWM) after mount + ls" MiB lower

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
	for t in gocryptfs ipmaildir; do
		put rss "$t" "$(peak_rss_mib "${TGT_PID[$t]}")"
		say "$t" "daemon peak RSS ${VAL[rss,$t]} MiB"
	done
	for t in gocryptfs ipmaildir; do
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

# grep_once T KEY BYTES: one timed grep -rc over T's Maildir into KEY (MB/s);
# its total of matching lines must be the same on every target (GREP_WANT).
GREP_WANT=
grep_once() {
	local t=$1 key=$2 bytes=$3 out=$TEST_DIR/grep.out t0 s rc total
	t0=$(now)
	grep -rc "$GREP_WORD" "${TGT_DIR[$t]}" >"$out"
	rc=$?
	s=$(since "$t0")
	[ "$rc" -le 1 ] || die "grep on $t failed ($rc)"
	total=$(awk -F: '{ s += $NF } END { print s + 0 }' "$out")
	[ -n "$GREP_WANT" ] || GREP_WANT=$total
	[ "$total" = "$GREP_WANT" ] || die "grep on $t counts $total lines, ${TARGETS[0]} $GREP_WANT"
	put "$key" "$t" "$(mbps "$bytes" "$s")"
	say "$t" "$key: $s s, ${VAL[$key,$t]} MB/s ($total matching lines)"
}

# grep -r over a corpus with MB-sized messages, warm and cold: the read
# path (FUSE, block fetch, decryption) with nothing written.
mail_grep() {
	local n=$grep_n t bytes
	menv_user
	echo "grep -rc $GREP_WORD over $n messages (genmail mail mix) in cur/"
	menv_gen_many "$TEST_DIR/grep" grep "$n" mail || die "genmail failed"
	bytes=$(bytes_in "$TEST_DIR/grep")
	echo "  corpus: $bytes bytes, $(find "$TEST_DIR/grep" -size +1M | wc -l) messages over 1 MiB"
	row warm grep "grep -r $n msgs warm (second of two runs)" MB/s higher
	row cold grep "grep -r $n msgs cold (drop_caches; FUSE: remounted)" MB/s higher
	all_up
	for t in "${TARGETS[@]}"; do
		cp -r "$TEST_DIR/grep/." "${TGT_DIR[$t]}/cur/" || die "cp into $t failed"
	done
	sync -f "$TEST_DIR"
	for t in "${TARGETS[@]}"; do
		grep -rc "$GREP_WORD" "${TGT_DIR[$t]}" >/dev/null
		grep_once "$t" warm "$bytes"
	done
	for t in "${TARGETS[@]}"; do
		if [ "$t" = ipmaildir ]; then
			tgt_unmount "$t"
			tgt_mount "$t"
		fi
		drop_caches
		grep_once "$t" cold "$bytes"
	done
	all_down
	emit_rows
	headline "grep MB/s vs plain: warm ipmaildir $(ratio "${VAL[warm,ipmaildir]}" "${VAL[warm,plain]}")" \
		"gocryptfs $(ratio "${VAL[warm,gocryptfs]}" "${VAL[warm,plain]}");" \
		"cold ipmaildir $(ratio "${VAL[cold,ipmaildir]}" "${VAL[cold,plain]}")" \
		"gocryptfs $(ratio "${VAL[cold,gocryptfs]}" "${VAL[cold,plain]}")"
}

# ---- main ----

T_START=$(now)
# Each workload ends by setting it (headline WORDS…): its figure in one
# line, printed last (bench/run shows the last line in its summary).
HEADLINE=
headline() { HEADLINE="$*"; }

echo "# mail: $TEST_DIR ($(stat -f -c %T "$TEST_DIR")), $(gocryptfs -version 2>/dev/null | cut -d';' -f1)," \
	"dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1), rounds $rounds, parallel $par"
echo "# sizes: lda $lda_n, raw $raw_n, big $big_n + $big_more, grep $grep_n$([ "$quick" = 1 ] && echo ' (quick)')"
for w in "${selected[@]}"; do
	echo
	w0=$(now)
	"mail_$w"
	echo "# $w: $(since "$w0") s in all"
	echo "$HEADLINE"
done
