#!/usr/bin/env bash
# 20-dovecot-lda.t — dovecot-lda delivers 1,000 generated messages (mostly
# 2-20 KiB, about 2% of 1-3 MiB with base64 attachments) into the mount as
# its Maildir, with Dovecot's own dovecot-uidlist and dovecot.index* files
# kept inside the Maildir as a user's Dovecot keeps them.  Every delivery
# must exit 0 and every message must be there byte for byte.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require "$DOVECOT_LIBEXEC/dovecot-lda" doveadm setpriv python3
N=${IPMD_LDA_COUNT:-1000}
MNT=$TEST_DIR/mnt

menv_user
menv_mount "$MNT"
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"

menv_gen_many "$TEST_DIR/msgs" lda "$N" mail
is "$(find "$TEST_DIR/msgs" -name '*.eml' | wc -l)" "$N" "generated $N messages"
big=$(find "$TEST_DIR/msgs" -name '*.eml' -size +1M | wc -l)
check "some messages are over 1 MiB ($big)" test "$big" -gt 0

# One shell as the user runs every delivery (as Postfix's local(8) would
# run mailbox_command), logging "rc file" and the time every 100.
start=$SECONDS
menv_as_user bash -c 'n=0
	for f in "$0"/*.eml; do
		"$@" <"$f"
		echo "$? ${f##*/}"
		n=$((n + 1))
		[ $((n % 100)) -eq 0 ] && echo "# $n after ${SECONDS}s" >&2
	done' "$TEST_DIR/msgs" "$DOVECOT_LIBEXEC/dovecot-lda" -c "$DOVECOT_CONF" -e \
	-f sender@example.org -a "$MAIL_USER@localhost" >"$TEST_DIR/lda.log" 2>"$TEST_DIR/lda.err"
diag "$N deliveries in $((SECONDS - start)) s"
diag "progress: $(grep '^# ' "$TEST_DIR/lda.err" | sed 's/^# //' | paste -sd, -)"
sed -i '/^# /d' "$TEST_DIR/lda.err"
is "$(wc -l <"$TEST_DIR/lda.log")" "$N" "dovecot-lda ran for each of $N messages"
failed=$(awk '$1 != 0' "$TEST_DIR/lda.log" | wc -l)
awk '$1 != 0' "$TEST_DIR/lda.log" | head -n 10 | while IFS= read -r l; do diag "exit $l"; done
is "$failed" 0 "dovecot-lda exited 0 for each of $N messages"
is "$(wc -l <"$TEST_DIR/lda.err")" 0 "dovecot-lda wrote nothing to stderr"
head -n 5 "$TEST_DIR/lda.err" | while IFS= read -r l; do diag "$l"; done

is "$(menv_count "$MNT")" "$N" "$N files in new/ and cur/"
summary=$(menv_match "$TEST_DIR/msgs" "$MNT")
check "every message present once, byte-exact ($summary)" test $? -eq 0
is "$(find "$MNT/tmp" -type f | wc -l)" 0 "nothing left in tmp/"

# Dovecot's size hint in the name (,S=) is the file's real size.
bad_s=$(find "$MNT/new" "$MNT/cur" -type f -name '*,S=*' -printf '%f %s\n' |
	awk '{ if (match($1, /,S=[0-9]+/)) { s = substr($1, RSTART + 3, RLENGTH - 3); if (s != $2) n++ } } END { print n + 0 }')
is "$bad_s" 0 "every ,S=size in a file name matches its size"

check "dovecot-uidlist is in the Maildir" test -s "$MNT/dovecot-uidlist"
check "dovecot.index.log is in the Maildir" test -s "$MNT/dovecot.index.log"
uids=$(tail -n +2 "$MNT/dovecot-uidlist" | grep -c "^[0-9]")
is "$uids" "$N" "dovecot-uidlist lists $N messages"

# Dovecot reads back what it wrote: its index and the files agree.
status=$(menv_doveadm mailbox status messages INBOX 2>&1)
is "$status" "INBOX messages=$N" "doveadm sees $N messages in INBOX"
one=$(find "$TEST_DIR/msgs" -name '*.eml' -size +1M | head -n 1)
mid=$(grep -m1 -i '^Message-ID:' "$one" | sed 's/^[^:]*:[[:space:]]*//')
menv_doveadm fetch body header Message-ID "$mid" >"$TEST_DIR/fetched" 2>&1
body_in() { "$MENV_PY" -c 'import sys
o = open(sys.argv[1], "rb").read().split(b"\n\n", 1)[1]
sys.exit(0 if o in open(sys.argv[2], "rb").read() else 1)' "$@"; }
check "doveadm fetches the body of a 1 MiB+ message, byte-exact" body_in "$one" "$TEST_DIR/fetched"

check "no Error/Panic/Fatal in Dovecot's log" menv_dovecot_log_clean
done_testing
