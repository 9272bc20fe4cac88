#!/usr/bin/env bash
# 94-faults.t — deliveries and reads on a store that fails: 5% of puts and
# gets fail, 2% of syncs, and 2% of all calls are delayed by 1.5 s
# (ipfs/bs_fault.h through `mount --fault`; lib.sh passes IPMD_FAULT to
# every mount, so `IPMD_FAULT=SPEC tests/run integration` runs the whole
# suite that way).  Checks:
#   - every MDA answers within 60 s: delivered (0) or a temporary failure
#     (75, EX_TEMPFAIL) — never a hang, never a permanent failure;
#   - a read returns the message's bytes or fails with EIO, never others;
#   - the mount recovers by itself: once faults stop (remount without
#     them) every delivery that exited 0 is there byte-exact, exactly once.
# IPMD_FAULT_SEED fixes the fault sequence; IPMD_FAULT_N deliveries per MDA.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "faults need an ipmaildir store"
menv_require "$DOVECOT_LIBEXEC/dovecot-lda" setpriv python3 cc timeout

SEED=${IPMD_FAULT_SEED:-$$}
N=${IPMD_FAULT_N:-30}
SPEC="put=0.05,get=0.05,sync=0.02,delay=0.02,delay_ms=1500,seed=$SEED"
diag "fault spec: $SPEC"
MNT=$TEST_DIR/mnt
LOG=$TEST_DIR/ipmaildir.log

menv_user
IPMD_FAULT=$SPEC menv_mount "$MNT"
STORE=$MAIL_STORE
menv_deliverer
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"
menv_gen_many "$TEST_DIR/msgs" q "$N" small
menv_gen_many "$TEST_DIR/msgs" lda "$N" small
chmod 755 "$TEST_DIR/msgs"; chmod 644 "$TEST_DIR"/msgs/*.eml

# Two MDAs side by side, each message under a 60 s timeout (124 = hang).
menv_as_user bash -c 'for f in "$0"/q-*.eml; do
	name=$(timeout 60 "$1" "$2" <"$f" 2>/dev/null); echo "$? ${f##*/} $name"
done' "$TEST_DIR/msgs" "$MAIL_DELIVER" "$MNT" >"$TEST_DIR/q.log" &
qpid=$!
menv_as_user bash -c 'for f in "$0"/lda-*.eml; do
	timeout 60 "${@:1}" <"$f" >/dev/null 2>&1; echo "$? ${f##*/}"
done' "$TEST_DIR/msgs" "$DOVECOT_LIBEXEC/dovecot-lda" -c "$DOVECOT_CONF" -e \
	-f sender@example.org -a "$MAIL_USER@localhost" >"$TEST_DIR/lda.log" &
ldapid=$!
wait $qpid $ldapid

count() { awk -v c="$2" '$1 == c' "$1" | wc -l; }
ok_q=$(count "$TEST_DIR/q.log" 0) tf_q=$(count "$TEST_DIR/q.log" 75)
ok_l=$(count "$TEST_DIR/lda.log" 0) tf_l=$(count "$TEST_DIR/lda.log" 75)
diag "qmail-style: $ok_q delivered, $tf_q tempfail; dovecot-lda: $ok_l delivered, $tf_l tempfail"
is "$(cat "$TEST_DIR/q.log" "$TEST_DIR/lda.log" | wc -l)" $((2 * N)) "every MDA ran to an answer"
is "$(awk '$1 != 0 && $1 != 75' "$TEST_DIR/q.log" "$TEST_DIR/lda.log" | wc -l)" 0 \
	"every answer is delivered (0) or a temporary failure (75): no hang (124), no permanent failure"
check "most deliveries succeed despite the faults ($((ok_q + ok_l)) of $((2 * N)))" \
	test $((ok_q + ok_l)) -ge $N
awk '$1 == 0 { print $2 }' "$TEST_DIR/q.log" "$TEST_DIR/lda.log" >"$TEST_DIR/acked.list"

# Reads through the faults: remount (empty caches) still faulty, read all.
ipmd_umount "$MNT"
mounted=0
for try in 1 2 3 4 5; do
	IPMD_FAULT=$SPEC ipmd_mount "$STORE" "$MNT" -o allow_other && { mounted=1; break; }
	diag "faulty mount attempt $try failed: $(grep 'mount:' "$LOG" | tail -1)"
done
check "the store mounts on the faulty backend (attempts: $try)" test $mounted = 1
good=0 eio=0 wrong=0
while [ $mounted = 1 ] && read -r rc src name; do
	[ "$rc" = 0 ] || continue
	for _ in 1; do
		if cat "$MNT/$name" >"$TEST_DIR/r" 2>"$TEST_DIR/r.err"; then
			cmp -s "$TEST_DIR/r" "$TEST_DIR/msgs/$src" && good=$((good + 1)) || wrong=$((wrong + 1))
		elif grep -q "Input/output error" "$TEST_DIR/r.err"; then
			eio=$((eio + 1))
		else
			wrong=$((wrong + 1)); diag "$name: $(cat "$TEST_DIR/r.err")"
		fi
	done
done <"$TEST_DIR/q.log"
diag "reads under faults: $good whole, $eio EIO"
is "$wrong" 0 "a read under faults gives the message or EIO, never other bytes"
check "reads mostly succeed ($good)" test "$good" -gt "$eio"
[ $mounted = 1 ] && ipmd_umount "$MNT"
injected=$(grep -o 'fault injection: .*' "$LOG" | awk '{s += $6} END {print s + 0}')
diag "faults injected over all faulty mounts: $injected failed calls; $(grep -o 'fault injection: .*' "$LOG" | tail -1)"
check "faults were injected ($injected)" test "$injected" -gt 0

# Recovery: without faults, everything acknowledged is there.
check "remount without faults" ipmd_mount "$STORE" "$MNT" -o allow_other
mkdir -p "$TEST_DIR/acked"
while read -r f; do cp "$TEST_DIR/msgs/$f" "$TEST_DIR/acked/"; done <"$TEST_DIR/acked.list"
summary=$(menv_match "$TEST_DIR/acked" "$MNT")
check "every acknowledged delivery is there, whole, once ($summary)" test $? -eq 0
if "$IPMD_BIN" fsck --help >/dev/null 2>&1; then
	ipmd_umount "$MNT"
	"$IPMD_BIN" fsck --store "$STORE" >"$TEST_DIR/fsck.out" 2>&1
	is "$?" 0 "fsck: the store is consistent after the faults"
	sed 's/^/# /' "$TEST_DIR/fsck.out" | grep -vi '^# *ok' | head -5
fi
done_testing
