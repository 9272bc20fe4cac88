#!/usr/bin/env bash
# tests/valgrind.sh — integration scripts with the daemon under valgrind
# (memcheck): every mount those scripts make runs as
#   valgrind --leak-check=full --errors-for-leak-kinds=definite …
# through lib.sh's IPMD_WRAPPER hook.  With --quiet valgrind writes only
# what it finds, so every daemon's log must stay empty (daemons a script
# SIGKILLs never print a summary; an empty log still means no error found
# up to the kill).  TAP on stdout.
#
#   BUILD=build tests/valgrind.sh [SCRIPT.t …]
# Default scripts: 10-mount.t 15-posix.t 20-dovecot-lda.t (50 messages).
# Valgrind logs are kept in $VG_LOGS (default: a temp dir, printed).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind not installed"; exit 0; }
export IPMAILDIR_BIN="$PWD/$BUILD/ipmaildir" IPMD_TOP="$PWD" IPMD_TOOLS="$PWD/$BUILD/tests/tools"
export IPMD_LDA_COUNT=${IPMD_LDA_COUNT:-50}
VG_LOGS=${VG_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/ipmd-valgrind-XXXXXX")}
mkdir -p "$VG_LOGS"
export IPMD_WRAPPER="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no --num-callers=30 --log-file=$VG_LOGS/vg.%p.log"

scripts=("$@")
[ ${#scripts[@]} -eq 0 ] && scripts=(tests/integration/10-mount.t tests/integration/15-posix.t tests/integration/20-dovecot-lda.t)
n=0 failed=0
for s in "${scripts[@]}"; do
	n=$((n + 1))
	before=$(ls "$VG_LOGS"/vg.*.log 2>/dev/null | wc -l)
	"$s" >"$VG_LOGS/${s##*/}.tap" 2>&1
	rc=$?
	logs=$(ls "$VG_LOGS"/vg.*.log 2>/dev/null | wc -l)
	bad=$(find "$VG_LOGS" -name 'vg.*.log' -size +0 | wc -l)
	notok=$(grep -c '^not ok' "$VG_LOGS/${s##*/}.tap")
	if [ "$bad" -eq 0 ] && [ "$notok" -eq 0 ] && [ "$rc" -eq 0 ]; then
		echo "ok $n - ${s##*/} under valgrind: $((logs - before)) daemons, no error reported, $(grep -c '^ok' "$VG_LOGS/${s##*/}.tap") tests pass"
	else
		echo "not ok $n - ${s##*/} under valgrind: exit $rc, $notok failed tests, $bad daemon logs with findings"
		for l in $(find "$VG_LOGS" -name 'vg.*.log' -size +0 | head -3); do
			sed 's/^/# /' "$l" | head -40
		done
		grep '^not ok' "$VG_LOGS/${s##*/}.tap" | head -5 | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
echo "# logs in $VG_LOGS"
echo "1..$n"
[ "$failed" -eq 0 ]
