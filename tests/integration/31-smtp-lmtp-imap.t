#!/usr/bin/env bash
# 31-smtp-lmtp-imap.t — the mail server people run, end to end: Postfix's
# smtpd on 127.0.0.1 receives mail from smtp-source (4 SMTP sessions at a
# time), hands it over LMTP to Dovecot's LMTP server, which stores it in
# the mount as the unprivileged mail user (allow_other); then 4 IMAP
# clients fetch the INBOX back.  Every message must come out once, byte
# for byte below the trace headers Postfix and Dovecot add, on disk and
# over IMAP; neither server may log an error.  Private instances (own
# configuration, queue and state under $TEST_DIR), 127.0.0.1 only, ports
# picked here, stopped by pid.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require postfix smtp-source postqueue /usr/sbin/dovecot setpriv python3 xargs
N=${IPMD_PIPELINE_COUNT:-48}
SESSIONS=4
MNT=$TEST_DIR/mnt
IMAP_PORT=$(free_port)
SMTP_PORT=$(free_port)
[ "$IMAP_PORT" != "$SMTP_PORT" ] || SMTP_PORT=$(free_port)

menv_user
menv_mount "$MNT"
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT" "$IMAP_PORT" postfix
menv_postfix_conf "$TEST_DIR/postfix" "$SMTP_PORT" "$DOVECOT_LMTP"
check "dovecot (IMAP and LMTP) starts" menv_dovecot_start "$IMAP_PORT"
check "dovecot's LMTP socket is there" test -S "$DOVECOT_LMTP"
check "private postfix instance starts" menv_postfix_start
check "smtpd answers on 127.0.0.1:$SMTP_PORT" menv_wait_port "$SMTP_PORT"

# Both servers listen on the loopback only, on the ports picked here.
if command -v ss >/dev/null; then
	listen=$(ss -Hltnp | grep -E "pid=($POSTFIX_PID|$DOVECOT_PID)," | awk '{ print $4 }' | sort | paste -sd' ')
	is "$listen" "$(printf '127.0.0.1:%s\n' "$IMAP_PORT" "$SMTP_PORT" | sort | paste -sd' ')" \
		"the servers listen on 127.0.0.1:$IMAP_PORT and :$SMTP_PORT only ($listen)"
fi

menv_gen_many "$TEST_DIR/msgs" pipe "$N" small
menv_gen pipe-big-1 1500000 >"$TEST_DIR/msgs/pipe-big-1.eml"
menv_gen pipe-big-2 2900000 >"$TEST_DIR/msgs/pipe-big-2.eml"
total=$((N + 2))
find "$TEST_DIR/msgs" -name '*.eml' | sort >"$TEST_DIR/send.list"
# What arrives at smtpd: each message, byte for byte, is checked against it.
menv_smtp_expect "$TEST_DIR/msgs" "$TEST_DIR/expect"

menv_smtp_send "$SMTP_PORT" "$SESSIONS" "$TEST_DIR/send.list" >"$TEST_DIR/send.out"
is "$(wc -l <"$TEST_DIR/send.out")" "$total" "smtp-source ran once per message ($total)"
is "$(awk '$1 != 0' "$TEST_DIR/send.out" | wc -l)" 0 "smtpd accepted every message"

# Delivery is asynchronous: wait for lmtp(8) to report all of them sent
# (Dovecot answers 250 only once the message is stored), 120 s at most.
sent() { grep -c 'relay=.*lmtp.* status=sent' "$POSTFIX_LOG"; }
for _ in $(seq 1200); do
	[ "$(sent)" -ge "$total" ] && break
	sleep 0.1
done
is "$(sent)" "$total" "Postfix's log shows $total LMTP deliveries status=sent"
check "no deferred or bounced delivery" bash -c "! grep -E 'status=(deferred|bounced)' '$POSTFIX_LOG' >&2"
check "the queue is empty" bash -c "postqueue -c '$POSTFIX_CONF' -p | grep -q 'Mail queue is empty'"
saved=$(grep -c 'lmtp(.*saved mail to INBOX' "$DOVECOT_LOG")
is "$saved" "$total" "Dovecot's LMTP logged $total messages saved to INBOX"

is "$(menv_count "$MNT")" "$total" "$total files in new/ and cur/"
summary=$(menv_match "$TEST_DIR/expect" "$MNT")
check "on disk: every message once, byte-exact below the added headers ($summary)" test $? -eq 0
first=$(find "$MNT/new" "$MNT/cur" -type f | head -n 1)
check "Dovecot's LMTP added Delivered-To" grep -q "^Delivered-To: $MAIL_USER@localhost" "$first"
check "Postfix's smtpd added its Received line" grep -qE "by localhost \\(Postfix\\) with E?SMTP id" "$first"
is "$(find "$MNT/tmp" -type f | wc -l)" 0 "nothing left in tmp/"
check "the files are the mail user's" \
	test "$(find "$MNT/new" "$MNT/cur" -type f ! -uid "$MAIL_UID" | wc -l)" = 0

# IMAP: 4 clients fetch every message back and check it byte for byte.
fetch=$("$MENV_PY" "$here/imap_fetchback.py" "$IMAP_PORT" "$MAIL_USER" "$MAIL_PASS" "$SESSIONS" \
	"$TEST_DIR/expect" 2>"$TEST_DIR/fetch.err")
rc=$?
diag "fetch-back: $fetch"
sed 's/^/# /' "$TEST_DIR/fetch.err" | head -n 20
is "$rc" 0 "over IMAP ($SESSIONS clients): every message once, byte-exact, nothing else"
check "the fetch-back saw $total messages" grep -q "\"messages\": $total, \"originals\": $total, \"fetched\": $total," <<<"$fetch"
# LMTP saves leave UIDs to the next sync; after the IMAP sessions'
# SELECT every message has one in dovecot-uidlist.
uids=$(tail -n +2 "$MNT/dovecot-uidlist" | grep -c "^[0-9]")
is "$uids" "$total" "after SELECT, dovecot-uidlist lists $total messages"

check "postfix stops" postfix -c "$POSTFIX_CONF" stop
for _ in $(seq 100); do kill -0 "$POSTFIX_PID" 2>/dev/null || break; sleep 0.1; done
check "postfix master $POSTFIX_PID is gone" bash -c "! kill -0 $POSTFIX_PID 2>/dev/null"
menv_stop_pid "$DOVECOT_PID"
check "dovecot $DOVECOT_PID is gone" bash -c "! kill -0 $DOVECOT_PID 2>/dev/null"
check "no warning, error or fatal in Postfix's log" bash -c "! grep -E ': (warning|error|fatal|panic):' '$POSTFIX_LOG' >&2"
check "no Error/Panic/Fatal in Dovecot's log" menv_dovecot_log_clean
done_testing
