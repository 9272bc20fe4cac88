#!/usr/bin/env bash
# bench/lda_counts.sh [N] — what N sequential dovecot-lda deliveries (the
# genmail `mail` mix, seed "lda": the same corpus every run) cost the
# store, in counts, not times (the machine may be loaded): blocks and
# their bytes under STORE/blocks, the daemon's write_bytes
# (/proc/PID/io), the journal bytes (each generation's largest size,
# sampled every 0.2 s), the daemon's fdatasync/fsync/syncfs calls
# (strace -c -f), and dovecot-uidlist's size at the end.  Dovecot runs as
# the test user through allow_other, as in tests/integration/20-dovecot-lda.t.
# Needs root, strace, Dovecot; the test harness's environment
# (IPMAILDIR_BIN, IPMD_TOP; /work/logs/t.sh-style), scratch under TMPDIR.
N=${1:-300}
here=$(cd "$(dirname "$0")/../tests/integration" && pwd)
export IPMD_TOP=${IPMD_TOP:-$(cd "$here/../.." && pwd)}
export IPMAILDIR_BIN=${IPMAILDIR_BIN:-$IPMD_TOP/build/ipmaildir}
. "$here/lib.sh"
. "$here/mail-env.sh"
menv_require "$DOVECOT_LIBEXEC/dovecot-lda" setpriv python3 strace
MNT=$TEST_DIR/mnt
menv_user
menv_mount "$MNT"
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"
menv_gen_many "$TEST_DIR/msgs" lda "$N" mail >/dev/null
chmod -R a+rX "$TEST_DIR/msgs"
strace -c -f -e trace=fdatasync,fsync,syncfs -o "$TEST_DIR/strace" -p "$IPMD_PID" 2>/dev/null &
spid=$!
sleep 1
w0=$(awk '/^write_bytes/ {print $2}' "/proc/$IPMD_PID/io")
: >"$TEST_DIR/jsizes"
# The journal's sizes, sampled from outside (the mail user can't read the store).
(while :; do ls -l "$MAIL_STORE/journal" >>"$TEST_DIR/jsizes" 2>/dev/null; sleep 0.2; done) &
jpid=$!
menv_as_user bash -c 'for f in "$0"/*.eml; do
		"$@" <"$f" || echo "failed $f" >&2
	done; true' "$TEST_DIR/msgs" "$DOVECOT_LIBEXEC/dovecot-lda" -c "$DOVECOT_CONF" -e \
	-f sender@example.org -a "$MAIL_USER@localhost" 2>"$TEST_DIR/lda.err"
sleep 2
w1=$(awk '/^write_bytes/ {print $2}' "/proc/$IPMD_PID/io")
kill -INT "$spid"; wait "$spid" 2>/dev/null
kill "$jpid"; wait "$jpid" 2>/dev/null
echo "deliveries $N, failed $(grep -c '^failed' "$TEST_DIR/lda.err")"
grep -v '^failed' "$TEST_DIR/lda.err" | head -3
echo "mail_bytes $(cat "$TEST_DIR"/msgs/*.eml | wc -c)"
echo "uidlist_bytes $(stat -c %s "$MNT/dovecot-uidlist")"
ipmd_umount "$MNT"
echo "daemon_write_bytes $((w1 - w0))"
echo "blocks $(find "$MAIL_STORE/blocks" -type f | wc -l)"
echo "block_bytes $(find "$MAIL_STORE/blocks" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
# ls -l lines of the journal: the largest size seen of each generation.
echo "journal_bytes_sampled $(awk '$NF ~ /\.jnl$/ { if ($5 > m[$NF]) m[$NF] = $5 } END { for (f in m) s += m[f]; print s + 0 }' "$TEST_DIR/jsizes")"
awk '$NF ~ /^(fdatasync|fsync|syncfs)$/ {print $NF, $4}' "$TEST_DIR/strace"
