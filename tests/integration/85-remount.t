#!/usr/bin/env bash
# 85-remount.t — what a Maildir holds survives the daemon going away.
#  1. A clean unmount and remount: identical names, sizes, mtimes and sha256
#     of every file (messages and Dovecot's own files).
#  2. A crash: qmail-style deliveries run in the background, the daemon is
#     SIGKILLed in the middle, the store is mounted again.  Every delivery
#     whose deliverer exited 0 must be there intact, and nothing partial may
#     be in new/ or cur/ (tmp/ may keep debris: that is what it is for).
# In plain mode the unmount and the kill do nothing; the checks still run.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require "$DOVECOT_LIBEXEC/dovecot-lda" doveadm setpriv sha256sum python3 cc
MNT=$TEST_DIR/mnt
LOOPS=4
PER=${IPMD_REMOUNT_PER:-60}

menv_user
menv_mount "$MNT"
STORE=$MAIL_STORE
menv_deliverer
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"

remount() {
	ipmd_umount "$MNT" || return 1
	ipmd_mount "$STORE" "$MNT" -o allow_other
}

# snapshot FILE — every file and directory under MNT: type, name, size,
# mtime (as precise as the filesystem shows it), mode; then sha256 of files.
snapshot() {
	(cd "$MNT" && find . -mindepth 1 -printf '%y %P %s %T@ %m\n' | grep -v '^d' | LC_ALL=C sort &&
		find . -mindepth 1 -type d -printf '%P\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) >"$1"
}

# ---------------------------------------------------------------- 1. remount
menv_gen_many "$TEST_DIR/first" r1 30 small
menv_gen r1-big 2500000 >"$TEST_DIR/first/r1-big.eml"
failed=0
i=0
for f in "$TEST_DIR"/first/*.eml; do
	if [ $((i % 3)) -eq 0 ]; then menv_lda <"$f"; else menv_as_user "$MAIL_DELIVER" "$MNT" <"$f" >/dev/null; fi
	[ $? -eq 0 ] || failed=$((failed + 1))
	i=$((i + 1))
done
is "$failed" 0 "31 messages delivered (dovecot-lda and qmail-style)"
menv_as_user mkdir "$MNT/.Folder" "$MNT/.Folder/cur" "$MNT/.Folder/new" "$MNT/.Folder/tmp"
menv_as_user cp "$TEST_DIR/first/r1-00001.eml" "$MNT/.Folder/cur/1600000000.M1P1.host:2,S"
touch -d @1600000000 "$MNT/.Folder/cur/1600000000.M1P1.host:2,S"
before_status=$(menv_doveadm mailbox status messages INBOX 2>&1)
snapshot "$TEST_DIR/before"

check "unmount and mount again" remount
snapshot "$TEST_DIR/after"
if diff "$TEST_DIR/before" "$TEST_DIR/after" >"$TEST_DIR/remount.diff"; then
	ok "after the remount: same names, sizes, mtimes, modes and sha256 ($(grep -c '^f ' "$TEST_DIR/before") files)"
else
	not_ok "after the remount: same names, sizes, mtimes, modes and sha256"
	head -n 20 "$TEST_DIR/remount.diff" | while IFS= read -r l; do diag "$l"; done
fi
is "$(menv_doveadm mailbox status messages INBOX 2>&1)" "$before_status" "Dovecot reads the same INBOX after the remount"
summary=$(menv_match --exact "$TEST_DIR/first" "$MNT")
check "the delivered messages are byte-exact after the remount ($summary)" test $? -eq 0

# ---------------------------------------------------------------- 2. crash
for k in $(seq 1 $LOOPS); do
	menv_gen_many "$TEST_DIR/crash" "c$k" $((PER - 2)) small
	menv_gen "c$k-big1" $((1100000 * k)) >"$TEST_DIR/crash/c$k-big1.eml"
	menv_gen "c$k-big2" $((700000 * k)) >"$TEST_DIR/crash/c$k-big2.eml"
done
(cd "$TEST_DIR/crash" && sha256sum -- *.eml) >"$TEST_DIR/crash.sha"
chmod 644 "$TEST_DIR/crash.sha"

# loop K — deliver cK-* until STOP appears; log "rc source new/NAME".
loop() {
	menv_as_user bash -c 'for f in "$0"/c'"$1"'-*.eml; do
		[ -e "$1" ] && break
		name=$("$2" "$3" <"$f" 2>/dev/null)
		echo "$? ${f##*/} $name"
	done' "$TEST_DIR/crash" "$TEST_DIR/stop" "$MAIL_DELIVER" "$MNT" >"$TEST_DIR/loop-$1.log"
}
pids=()
for k in $(seq 1 $LOOPS); do
	loop "$k" &
	pids+=($!)
	track_pid "$!"
done
# Kill once some deliveries are through (10 s at most).
for _ in $(seq 100); do
	[ "$(cat "$TEST_DIR"/loop-*.log 2>/dev/null | awk '$1 == 0' | wc -l)" -ge 20 ] && break
	sleep 0.1
done
ipmd_kill9 "$MNT"
touch "$TEST_DIR/stop"
for p in "${pids[@]}"; do wait "$p"; done
delivered=$(cat "$TEST_DIR"/loop-*.log | awk '$1 == 0' | wc -l)
refused=$(cat "$TEST_DIR"/loop-*.log | awk '$1 != 0' | wc -l)
diag "before the kill: $delivered deliveries exited 0, $refused did not"
check "some deliveries had succeeded before the kill" test "$delivered" -gt 0

if [ "$IPMD_TEST_TARGET" != plain ]; then
	check "the store mounts again after the crash" ipmd_mount "$STORE" "$MNT" -o allow_other
fi

# Every delivery that exited 0 is there, byte for byte.
lost=0
while read -r rc src name; do
	[ "$rc" -eq 0 ] || continue
	want=$(awk -v s="$src" '$2 == s { print $1 }' "$TEST_DIR/crash.sha")
	got=$(sha256sum <"$MNT/$name" 2>/dev/null | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		lost=$((lost + 1))
		[ "$lost" -le 10 ] && diag "lost or damaged: $src as $name"
	fi
done < <(cat "$TEST_DIR"/loop-*.log)
is "$lost" 0 "all $delivered deliveries that exited 0 are present and intact"

# Nothing partial: every file in new/ and cur/ is a whole message.
all_sha=$(cut -d' ' -f1 "$TEST_DIR/crash.sha"; for f in "$TEST_DIR"/first/*.eml; do sha256sum <"$f" | cut -d' ' -f1; done)
partial=0
while IFS= read -r -d '' f; do
	s=$(sha256sum <"$f" | cut -d' ' -f1)
	if ! grep -qx "$s" <<<"$all_sha"; then
		partial=$((partial + 1))
		diag "not a whole message: ${f#"$MNT"/} ($(stat -c %s "$f") bytes)"
	fi
done < <(find "$MNT/new" "$MNT/cur" "$MNT/.Folder/cur" -type f -print0)
is "$partial" 0 "no partial or damaged file in new/ or cur/"
diag "tmp/ holds $(find "$MNT/tmp" -type f | wc -l) leftover file(s)"
summary=$(menv_match --exact "$TEST_DIR/first" "$MNT")
check "the messages from before the crash are intact ($summary)" test $? -eq 0
# A deliverer cut off after its link() may have failed yet left a whole
# message: more than the successes is fine, more than the attempts is not.
count=$(menv_count "$MNT")
attempts=$(cat "$TEST_DIR"/loop-*.log | wc -l)
check "new/ and cur/ hold the first 31 and between $delivered and $attempts more ($((count - 31)))" \
	test "$count" -ge $((31 + delivered)) -a "$count" -le $((31 + attempts))

# The mailbox takes mail again, and Dovecot can read it.
menv_gen r3-after 5000 >"$TEST_DIR/after.eml"
name=$(menv_as_user "$MAIL_DELIVER" "$MNT" <"$TEST_DIR/after.eml")
is "$?" 0 "a delivery after the crash exits 0"
check "and is byte-exact" cmp -s "$TEST_DIR/after.eml" "$MNT/$name"
check "dovecot-lda delivers after the crash" menv_lda <"$TEST_DIR/first/r1-00002.eml"
status=$(menv_doveadm mailbox status messages INBOX 2>&1)
is "$status" "INBOX messages=$(menv_count "$MNT")" "Dovecot's index agrees with the files ($status)"
done_testing
