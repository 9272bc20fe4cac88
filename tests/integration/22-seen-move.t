#!/usr/bin/env bash
# 22-seen-move.t — a rename from a Maildir's new/ to its cur/ (an IMAP
# server marking mail seen) is journaled and durable at the next sync,
# not on return (docs/ARCHITECTURE.md, "Durability and commits"):
#   - 40 such moves cost the daemon no fdatasync of their own (strace
#     counts its sync calls), where a move from tmp/ to new/ still does;
#   - SIGKILL right after the moves loses no message: each is there once,
#     whole, in cur/ under its new name or back in new/ under its old one;
#   - Dovecot SELECTs the crashed Maildir without an error in its log.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "durability is ipmaildir's"
menv_require strace python3 setpriv /usr/sbin/dovecot
N=40
MNT=$TEST_DIR/mnt
menv_imap_mount "$MNT"
STORE=$MAIL_STORE
menv_gen_many "$TEST_DIR/msgs" seen "$N" mail
for f in "$TEST_DIR/msgs"/*.eml; do
	"$MAIL_DELIVER" "$MNT" <"$f" >/dev/null || bail "delivery failed"
done
is "$(find "$MNT/new" -type f | wc -l)" "$N" "$N messages delivered into new/"
# No commit (and its syncs) while the daemon's syncs are counted.
ipmd_umount "$MNT"
ipmd_mount "$STORE" "$MNT" -o allow_other,commit_delay=60000 || bail "remount failed"

# syncs MNT-OP...: the daemon's fsync/fdatasync/syncfs calls while the
# command runs (strace attached to every thread).
syncs() {
	strace -f -qq -e trace=fsync,fdatasync,syncfs -o "$TEST_DIR/strace" -p "$IPMD_PID" &
	local sp=$!
	sleep 0.5
	"$@"
	sleep 0.2
	kill -INT "$sp"
	wait "$sp" 2>/dev/null
	grep -c -E '^[0-9]+ +(fsync|fdatasync|syncfs)\(' "$TEST_DIR/strace"
}
move_all() {
	"$MENV_PY" -c 'import os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d + "/new")):
    os.rename(d + "/new/" + n, d + "/cur/" + n + ":2,S")' "$MNT"
}
n=$(syncs move_all)
check "$N moves from new/ to cur/ cost the daemon no sync each ($n syncs)" test "$n" -lt 5
is "$(find "$MNT/cur" -type f | wc -l)" "$N" "... and all $N are in cur/"
# The other direction of the rule: a delivery's move into new/ is synced.
one() { "$MAIL_DELIVER" "$MNT" <"$(find "$TEST_DIR/msgs" -name '*.eml' | head -n 1)" >/dev/null; }
n=$(syncs one)
check "a delivery into new/ is synced before it returns ($n syncs)" test "$n" -ge 1
find "$MNT/new" -type f -delete

# A crash right after the moves, before any commit.
ipmd_umount "$MNT"
ipmd_mount "$STORE" "$MNT" -o allow_other,commit_delay=60000 || bail "remount failed"
for f in "$MNT"/cur/*; do mv "$f" "$MNT/new/$(basename "${f%:2,S}")"; done
is "$(find "$MNT/new" -type f | wc -l)" "$N" "$N messages back in new/, committed"
ipmd_umount "$MNT"
ipmd_mount "$STORE" "$MNT" -o allow_other,commit_delay=60000 || bail "remount failed"
move_all
ipmd_kill9 "$MNT"
ipmd_mount "$STORE" "$MNT" -o allow_other || bail "remount after SIGKILL failed"
summary=$(menv_match "$TEST_DIR/msgs" "$MNT")
check "after SIGKILL every message is there once, whole ($summary)" test $? -eq 0
in_cur=$(find "$MNT/cur" -type f | wc -l)
in_new=$(find "$MNT/new" -type f | wc -l)
is "$((in_cur + in_new))" "$N" "in cur/ ($in_cur) or back in new/ ($in_new)"
bad=$(find "$MNT/cur" -type f ! -name '*:2,S' | wc -l)
is "$bad" 0 "those in cur/ carry the name they were moved to"
chown -R "$MAIL_UID:$MAIL_GID" "$MNT"
menv_dovecot_start "$PORT" || bail "dovecot did not start"
sel=$("$MENV_PY" - "$PORT" "$MAIL_USER" "$MAIL_PASS" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
typ, data = m.select("INBOX")
print(typ, data[0].decode())
PY
)
is "$sel" "OK $N" "Dovecot SELECTs all $N"
check "no Error/Panic/Fatal in Dovecot's log" menv_dovecot_log_clean
done_testing
