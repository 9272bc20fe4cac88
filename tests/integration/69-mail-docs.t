#!/usr/bin/env bash
# 69-mail-docs.t — every tagged snippet of docs/mail-software.md, taken out
# of the document and used on a real mount: Postfix's main.cf settings
# (postconf accepts them, postmap resolves the virtual map), Dovecot's
# mail_location (doveadm reads the mount's INBOX through it), the muttrc
# (neomutt takes every line), the notmuch config (notmuch new indexes the
# mount) and the mbsync store (mbsync syncs a Maildir into the mount).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail-env.sh"
menv_require postconf postmap doveadm doveconf neomutt notmuch mbsync setpriv
DOC=$MENV_TOP/docs/mail-software.md
[ -r "$DOC" ] || bail "no $DOC"

# snippet TAG — the fenced block "```LANG TAG" of the document, with the
# sample mount point replaced by $MNT; fails when there is none.
snippet() {
	awk -v tag="$1" -v mnt="$MNT" '
		/^```/ && inside { inside = 0; found = 1; next }
		/^```/ { n = split($0, w, " "); if (n >= 2 && w[2] == tag) inside = 1; next }
		inside { gsub("/home/alice/Maildir", mnt); print }
		END { exit !found }' "$DOC"
}

menv_user
MNT=$TEST_DIR/home/Maildir
mkdir -p "$TEST_DIR/home"
menv_mount "$MNT"
N=3
for i in $(seq $N); do
	printf 'From: a@example.org\nSubject: docs %s\nMessage-ID: <docs-%s@example.org>\n\nbody %s\n' \
			"$i" "$i" "$i" >"$TEST_DIR/m$i"
	cp "$TEST_DIR/m$i" "$MNT/tmp/$i.docs" && mv "$MNT/tmp/$i.docs" "$MNT/new/$i.docs"
done
chown "$MAIL_UID:$MAIL_GID" "$MNT"/new/*
is "$(ls "$MNT/new" | wc -l)" "$N" "$N messages delivered into the mount"

# every tagged block the test knows, and no other
tags=$(awk '/^```[a-z]+ [a-z-]+$/ { print $2 }' "$DOC" | LC_ALL=C sort | tr '\n' ' ')
is "$tags" "dovecot mbsync muttrc notmuch postfix-main postfix-virtual postfix-vmailbox " \
	"the document's tagged snippets are the ones this test exercises"

# --- Postfix -------------------------------------------------------------
P=$TEST_DIR/postfix
mkdir -p "$P"
: >"$P/master.cf"
snippet postfix-main >"$P/main.cf"
snippet postfix-virtual >>"$P/main.cf"
snippet postfix-vmailbox >"$P/vmailbox"
sed -i "s|hash:/etc/postfix/vmailbox|hash:$P/vmailbox|" "$P/main.cf"
out=$(postconf -c "$P" -n 2>"$P/err")
check "postconf takes the main.cf snippets without a warning" test ! -s "$P/err"
[ -s "$P/err" ] && diag "$(cat "$P/err")"
check "... home_mailbox = Maildir/ (Maildir delivery)" grep -qx 'home_mailbox = Maildir/' <<<"$out"
check "... virtual_mailbox_base set" grep -qx 'virtual_mailbox_base = /var/mail/vhosts' <<<"$out"
postmap -c "$P" "hash:$P/vmailbox" 2>"$P/err"
is "$(postmap -c "$P" -q alice@example.org "hash:$P/vmailbox")" "example.org/alice/" \
	"postmap resolves the vmailbox snippet to a Maildir path"

# --- Dovecot ---------------------------------------------------------------
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"
# The doc's mail_location and mmap_disable instead of the test's own.
sed -i '/^mail_location/d; /^mmap_disable/d' "$DOVECOT_CONF"
snippet dovecot >>"$DOVECOT_CONF"
doveconf -c "$DOVECOT_CONF" -n >/dev/null 2>"$TEST_DIR/doveconf.err"
is "$?" 0 "doveconf accepts the config with the snippet"
is "$(doveconf -c "$DOVECOT_CONF" -h mail_location)" "maildir:~/Maildir" "... mail_location is the doc's"
is "$(doveconf -c "$DOVECOT_CONF" -h mmap_disable)" "yes" "... mmap_disable is the doc's: yes (23-mmap-grow.t)"
is "$(menv_doveadm mailbox status messages INBOX 2>"$TEST_DIR/doveadm.err")" \
	"INBOX messages=$N" "doveadm reads $N messages in INBOX through ~/Maildir on the mount"
[ -s "$TEST_DIR/doveadm.err" ] && diag "$(head -c 400 "$TEST_DIR/doveadm.err")"

# --- neomutt ---------------------------------------------------------------
snippet muttrc >"$TEST_DIR/muttrc"
chmod 644 "$TEST_DIR/muttrc"
menv_as_user neomutt -n -F "$TEST_DIR/muttrc" -Q mbox_type -Q folder -Q spoolfile \
	>"$TEST_DIR/mutt.out" 2>"$TEST_DIR/mutt.err"
is "$?" 0 "neomutt takes the muttrc snippet"
check "... with no complaint" test ! -s "$TEST_DIR/mutt.err"
check "... mbox_type is Maildir" grep -qx 'set mbox_type = "Maildir"' "$TEST_DIR/mutt.out"
check "... folder is ~/Maildir, the mount" grep -qx "set folder = \"$MNT\"" "$TEST_DIR/mutt.out"
check "... spoolfile is the mount's inbox" grep -qE "^set spool_?file = \"$MNT/+\"\$" "$TEST_DIR/mutt.out"
[ -s "$TEST_DIR/mutt.err" ] && diag "$(head -c 400 "$TEST_DIR/mutt.err")"

# --- notmuch ---------------------------------------------------------------
snippet notmuch >"$TEST_DIR/notmuch-config"
chmod 644 "$TEST_DIR/notmuch-config"
nm() { menv_as_user NOTMUCH_CONFIG="$TEST_DIR/notmuch-config" notmuch "$@"; }
out=$(nm new 2>&1)
check "notmuch new with the snippet's config indexes $N messages" grep -q "Added $N new messages" <<<"$out"
check "... its database is on the mount" test -d "$MNT/.notmuch/xapian"
is "$(nm count tag:inbox)" "$N" "notmuch count tag:inbox (the snippet's new.tags)"

# --- mbsync ----------------------------------------------------------------
# The doc's store as the near side, a plain Maildir with one message as the
# far side (standing in for the IMAP server).
FAR=$TEST_DIR/far
mkdir -p "$FAR/cur" "$FAR/new" "$FAR/tmp"
printf 'From: b@example.org\nSubject: via mbsync\nMessage-ID: <mbsync-1@example.org>\n\nsynced\n' \
	>"$FAR/new/1.far"
chown -R "$MAIL_UID:$MAIL_GID" "$FAR"
{
	snippet mbsync
	printf '\nMaildirStore far\nPath %s/\nInbox %s/\n\n' "$FAR" "$FAR"
	printf 'Channel test\nFar :far:\nNear :ipmaildir:\nPatterns INBOX\nCreate Near\nSyncState *\n'
} >"$TEST_DIR/mbsyncrc"
chmod 644 "$TEST_DIR/mbsyncrc"
menv_as_user mbsync -c "$TEST_DIR/mbsyncrc" -a >"$TEST_DIR/mbsync.out" 2>&1
is "$?" 0 "mbsync syncs into the snippet's MaildirStore"
[ -s "$TEST_DIR/mbsync.out" ] && diag "$(tail -c 400 "$TEST_DIR/mbsync.out")"
check "... the far message is now in the mount" \
	bash -c "grep -rlq 'Message-ID: <mbsync-1@example.org>' '$MNT/new' '$MNT/cur'"

ipmd_umount "$MNT"
check "unmounted cleanly" bash -c "! mountpoint -q '$MNT'"
done_testing
