#!/usr/bin/env bash
# 30-postfix.t — Postfix's local(8) delivers to home_mailbox = Maildir/ of a
# user whose ~/Maildir is the mount; messages come in through sendmail(1).
# A private Postfix instance (own config, queue and data directories under
# $TEST_DIR, loopback only, nothing relayed, no network listener).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require postfix sendmail postqueue setpriv flock python3
N=${IPMD_POSTFIX_COUNT:-100}
MNT=$TEST_DIR/mnt

menv_user
menv_mount "$MNT"

# ~ipmdtest/Maildir is shared by every run of this script: one at a time.
exec 9>"$MAIL_HOME/.postfix-test.lock"
flock -w 300 9 || bail "another 30-postfix.t holds $MAIL_HOME/.postfix-test.lock"
if [ -e "$MAIL_HOME/Maildir" ] && [ ! -L "$MAIL_HOME/Maildir" ]; then
	bail "$MAIL_HOME/Maildir exists and is not this test's symlink"
fi
ln -sfn "$MNT" "$MAIL_HOME/Maildir"
on_cleanup "rm -f '$MAIL_HOME/Maildir'"

menv_postfix_conf "$TEST_DIR/postfix"
check "private postfix instance starts" menv_postfix_start
if command -v ss >/dev/null; then
	listeners=$(ss -Hltnp | grep -c "pid=${POSTFIX_PID:-none},")
	is "$listeners" 0 "the instance listens on no TCP port"
fi

menv_gen_many "$TEST_DIR/msgs" pf "$N" small
menv_gen pf-big-1 1500000 >"$TEST_DIR/msgs/pf-big-1.eml"
menv_gen pf-big-2 2900000 >"$TEST_DIR/msgs/pf-big-2.eml"
total=$((N + 2))

failed=0
for f in "$TEST_DIR"/msgs/*.eml; do
	menv_sendmail "$MAIL_USER@localhost" <"$f" || failed=$((failed + 1))
done
is "$failed" 0 "sendmail accepted all $total messages"

# Delivery is asynchronous: wait for local(8) to finish (60 s at most).
for _ in $(seq 600); do
	[ "$(menv_count "$MNT")" -ge "$total" ] && break
	sleep 0.1
done
is "$(menv_count "$MNT")" "$total" "$total messages arrived in the Maildir"
sent=$(grep -c 'relay=local.*status=sent' "$POSTFIX_LOG")
is "$sent" "$total" "the log shows $total local deliveries status=sent"
check "no deferred or bounced delivery" bash -c "! grep -E 'status=(deferred|bounced)' '$POSTFIX_LOG' >&2"
check "the queue is empty" bash -c "postqueue -c '$POSTFIX_CONF' -p | grep -q 'Mail queue is empty'"

summary=$(menv_match "$TEST_DIR/msgs" "$MNT")
check "every message present once, byte-exact below Postfix's headers ($summary)" test $? -eq 0
first=$(find "$MNT/new" -type f | head -n 1)
check "local(8) added Delivered-To" grep -q "^Delivered-To: $MAIL_USER@localhost" "$first"
is "$(find "$MNT/tmp" -type f | wc -l)" 0 "nothing left in tmp/"

check "postfix stops" postfix -c "$POSTFIX_CONF" stop
for _ in $(seq 100); do kill -0 "$POSTFIX_PID" 2>/dev/null || break; sleep 0.1; done
check "postfix master $POSTFIX_PID is gone" bash -c "! kill -0 $POSTFIX_PID 2>/dev/null"
check "no warning, error or fatal in Postfix's log" bash -c "! grep -E ': (warning|error|fatal|panic):' '$POSTFIX_LOG' >&2"
done_testing
