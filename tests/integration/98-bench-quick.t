#!/usr/bin/env bash
# 98-bench-quick.t — the benchmark harness still works: `bench/run --quick`
# (small sizes) runs every workload on every target and writes the results
# (markdown table, CSV, PNG chart, each workload's output).  A check of the
# harness, never of speed: no figure is compared with a threshold, only
# whether it is there and whether the ratios are the figures' ratios.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

TOP=${IPMD_TOP:-$(cd "$here/../.." && pwd)}
[ "${IPMD_BENCH_QUICK:-1}" = 0 ] && skip_all "IPMD_BENCH_QUICK=0 (the sanitizer pass: the plain pass checks the harness)"
[ "$IPMD_TEST_TARGET" = ipmaildir ] || skip_all "the harness mounts its own targets"
[ "$(id -u)" = 0 ] || skip_all "bench/mail.sh needs root"
for c in gocryptfs /usr/sbin/dovecot /usr/lib/dovecot/dovecot-lda notmuch gnuplot \
	fusermount3 setpriv python3 postfix smtp-source; do
	command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || skip_all "$c not installed"
done
[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN (run make)"
BUILD_DIR=$(cd "$(dirname "$IPMD_BIN")" && pwd)
# Only this script needs it: a build without it fails here, not the run.
[ -x "$BUILD_DIR/bench/seal_store" ] || fail_alone "$BUILD_DIR/bench/seal_store not built (make integration or make bench)"

OUT=$TEST_DIR/results
LOG=$TEST_DIR/bench.log
# The node column when this build and tests/ipfs-node/ allow it (auto).
BUILD=$BUILD_DIR "$TOP/bench/run" --quick --out "$OUT" >"$LOG" 2>&1
rc=$?
is "$rc" 0 "bench/run --quick exits 0"
# prove shows stderr without -v: a CI log keeps why.
[ "$rc" = 0 ] || { tail -n 30 "$LOG" | sed 's/^/# /'; tail -n 30 "$LOG" | sed 's/^/98-bench-quick: /' >&2; }

# has_glob PATTERN: some file matches.
has_glob() { compgen -G "$1" >/dev/null; }

workloads=(seal_store journal_record mail_lda mail_raw mail_big mail_grep mail_imap mail_notmuch mail_archive mail_pipeline node_io kubo)
for w in "${workloads[@]}"; do
	if ! check "summary: $w ok" grep -Eq "^$w +ok " "$LOG"; then
		for f in "$OUT/$w"-*.txt; do
			[ -e "$f" ] || continue
			tail -n 15 "$f" | sed 's/^/# /'
			tail -n 40 "$f" | sed "s/^/98-bench-quick: $w: /" >&2
		done
	fi
	check "$w's output saved" has_glob "$OUT/$w-*.txt"
done

md=$(compgen -G "$OUT/*Z.md")
csv=$(compgen -G "$OUT/*Z.csv")
png=$(compgen -G "$OUT/*Z.png")
is "$(printf '%s\n' "$md" "$csv" "$png" | grep -c .)" 3 "one results .md, .csv and .png"
check "the chart is a PNG image" bash -c "head -c 8 '$png' | od -An -tx1 | tr -d ' \n' | grep -qx 89504e470d0a1a0a"
check "the markdown has the table, the chart and the targets" \
	bash -c "grep -q '^| workload *| metric' '$md' && grep -q '](.*\.png)' '$md' && grep -q '^## Targets missed' '$md'"

is "$(head -n 1 "$csv")" \
	'workload,metric,unit,better,plain,gocryptfs,ipmaildir,node,gocryptfs/plain,ipmaildir/plain,node/plain,goal,ipmaildir meets,node meets' \
	"CSV columns"

# Did the node target run?  bench/mail.sh says which targets it measured.
node_ran=0
grep -q '^# targets: .*\bnode\b' "$OUT"/mail_lda-*.txt && ! grep -q '^# targets: .*(node ' "$OUT"/mail_lda-*.txt && node_ran=1
diag "node target ran: $node_ran"

# want WORKLOAD METRIC-REGEX COLUMNS: a row of WORKLOAD whose metric
# matches, with a figure in each of COLUMNS (a list: p g i = plain,
# gocryptfs, ipmaildir; the node column is checked when the node ran).
want() {
	local w=$1 re=$2 cols=$3 line
	line=$(awk -F, -v w="$w" -v re="$re" '$1 == w && $2 ~ re { print; exit }' "$csv")
	if [ -z "$line" ]; then
		not_ok "row $w / $re"
		return
	fi
	local -a f
	IFS=, read -r -a f <<<"$line"
	local missing=
	case $cols in *p*) [ -n "${f[4]}" ] || missing="$missing plain" ;; esac
	case $cols in *g*) [ -n "${f[5]}" ] || missing="$missing gocryptfs" ;; esac
	case $cols in *i*) [ -n "${f[6]}" ] || missing="$missing ipmaildir" ;; esac
	[ "$node_ran" = 0 ] || [ -n "${f[7]}" ] || missing="$missing node"
	if [ -z "$missing" ]; then ok "row $w / $re has its figures"; else not_ok "row $w / $re: no figure for$missing"; fi
}
want lda 'dovecot-lda .* sequential' pgi
want lda 'dovecot-lda .* 4 parallel' pgi
want raw 'C deliverer .* sequential' pgi
want raw 'C deliverer .* 4 parallel' pgi
want big '^populate' pgi
want big '^ls -l' pgi
want big '^find \| wc' pgi
want big '^find -printf' pgi
want big 'into the full Maildir' pgi
want big 'into an empty Maildir' pgi
want big 'full/empty' pgi
want big 'peak RSS .*after the above' gi
want big 'until mountpoint' gi
want big 'until ls cur' gi
want big 'peak RSS .*after mount' gi
want grep 'warm' pgi
want grep 'cold' pgi
want imap 'first SELECT' pgi
want imap '1 client' pgi
want imap '4 clients' pgi
want imap "errors in Dovecot's log" pgi
want notmuch 'notmuch new' pgi
want archive '^populate' pgi
want archive 'until mountpoint' gi
want archive 'warm' pgi
want archive 'cold' pgi
# Counted with strace: no strace, no figure.
command -v strace >/dev/null 2>&1 && want archive 'FUSE requests' gi
want archive 'peak RSS' gi
want pipeline '^SMTP in to stored via LMTP' pgi
want pipeline 'smtpd accepted' pgi
want pipeline 'LMTP transmission per msg' pgi
want pipeline 'FUSE daemon CPU per msg' gi
want pipeline '^first IMAP fetch-back' pgi
want pipeline '^IMAP fetch-back .* again' pgi
want pipeline 'lost or altered' pgi
want pipeline "errors in Dovecot's and Postfix's logs" pgi

# The ratios are the figures' ratios; a goal's verdict is yes or NO.
bad=$(awk -F, 'NR > 1 {
	for (k = 0; k < 3; k++) {
		v = $(6 + k); r = $(9 + k)
		if ($5 != "" && $5 + 0 != 0 && v != "") {
			if (r == "" || (r - v / $5) > 0.006 || (v / $5 - r) > 0.006) print NR ": " $0
		} else if (r != "") print NR ": " $0
	}
	if ($12 != "" && $7 != "" && $13 != "yes" && $13 != "NO") print NR ": " $0
	if ($12 == "" && $13 != "") print NR ": " $0
}' "$csv")
is "$bad" "" "every ratio is target/plain, every goal has a verdict"
check "the issue's goals are in the CSV" test "$(awk -F, 'NR > 1 && $12 != ""' "$csv" | wc -l)" -ge 14

# Nothing left behind: bench/mail.sh's scratch directories are gone and
# nothing below them is mounted.
scratch=$(sed -n 's/^# mail: \([^ ]*\) .*/\1/p' "$OUT"/mail_*-*.txt | sort -u)
check "bench/mail.sh named its scratch directories" test -n "$scratch"
left=
for d in $scratch; do
	[ -e "$d" ] && left="$left $d"
	grep -q " ${d}[/ ]" /proc/mounts && left="$left (mounted: $d)"
done
is "$left" "" "no scratch directory or mount left behind"

done_testing
