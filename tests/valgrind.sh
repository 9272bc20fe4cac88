#!/usr/bin/env bash
# tests/valgrind.sh — integration scripts with every ipmaildir process under
# valgrind (memcheck): the mount daemons and the commands the scripts run
# (init, fsck, gc, log, export …).  IPMAILDIR_BIN points at a wrapper that
# execs
#   valgrind --leak-check=full --errors-for-leak-kinds=definite … ipmaildir
# so each process writes its own log, and IPMD_WRAPPER=env only tells
# lib.sh to wait longer for a mount.  With --quiet valgrind writes only
# what it finds, so every log must stay empty (a process a script SIGKILLs
# never prints a summary; an empty log still means no error found up to
# the kill).  TAP on stdout.
#
#   BUILD=build tests/valgrind.sh [SCRIPT.t …]
# Default scripts: those below, which assert no timing (valgrind makes
# every process 20-50x slower); 20-dovecot-lda.t with 50 messages.
# Valgrind logs are kept in $VG_LOGS (default: a temp dir, printed).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind not installed"; exit 0; }
REAL_BIN="$PWD/$BUILD/ipmaildir"
[ -x "$REAL_BIN" ] || { echo "Bail out! no $REAL_BIN (run make)"; exit 1; }
VG_LOGS=${VG_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/ipmd-valgrind-XXXXXX")}
mkdir -p "$VG_LOGS"
cat >"$VG_LOGS/ipmaildir" <<EOF
#!/bin/sh
exec valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \\
	--show-leak-kinds=definite --track-fds=no --num-callers=30 \\
	--log-file="$VG_LOGS/vg.%p.log" "$REAL_BIN" "\$@"
EOF
chmod 755 "$VG_LOGS/ipmaildir"
export IPMAILDIR_BIN="$VG_LOGS/ipmaildir" IPMD_TOP="$PWD" IPMD_TOOLS="$PWD/$BUILD/tests/tools"
export IPMD_WRAPPER=env
export IPMD_LDA_COUNT=${IPMD_LDA_COUNT:-50}

scripts=("$@")
[ ${#scripts[@]} -eq 0 ] && scripts=(tests/integration/10-mount.t
	tests/integration/15-posix.t tests/integration/20-dovecot-lda.t
	tests/integration/50-imap.t tests/integration/55-log-at.t
	tests/integration/56-fsck.t tests/integration/57-gc.t
	tests/integration/59-archive.t tests/integration/61-import-export.t
	tests/integration/64-keys.t tests/integration/92-tamper.t)
n=0 failed=0
for s in "${scripts[@]}"; do
	n=$((n + 1))
	before=$(find "$VG_LOGS" -name 'vg.*.log' | wc -l)
	bad_before=$(find "$VG_LOGS" -name 'vg.*.log' -size +0 | wc -l)
	t0=$(date +%s)
	"$s" >"$VG_LOGS/${s##*/}.tap" 2>&1
	rc=$?
	logs=$(find "$VG_LOGS" -name 'vg.*.log' | wc -l)
	bad=$(($(find "$VG_LOGS" -name 'vg.*.log' -size +0 | wc -l) - bad_before))
	notok=$(grep -c '^not ok' "$VG_LOGS/${s##*/}.tap")
	if [ "$bad" -eq 0 ] && [ "$notok" -eq 0 ] && [ "$rc" -eq 0 ]; then
		echo "ok $n - ${s##*/} under valgrind: $((logs - before)) processes, no error reported, $(grep -c '^ok' "$VG_LOGS/${s##*/}.tap") tests pass, $(($(date +%s) - t0)) s"
	else
		echo "not ok $n - ${s##*/} under valgrind: exit $rc, $notok failed tests, $bad process logs with findings"
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
