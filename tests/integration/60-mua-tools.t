#!/usr/bin/env bash
# 60-mua-tools.t — mail user agents on the mount, run as the test user:
# notmuch (its Xapian database in MNT/.notmuch, flag sync by rename),
# mblaze (minc, mlist, mscan, mshow, mflag), neomutt (a batch send with
# Fcc into the Maildir, and a scripted session on a pseudo-terminal that
# saves, flags and deletes).  Every effect is checked on disk.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require notmuch neomutt minc mlist mscan mshow mflag setpriv python3 cc
MNT=$TEST_DIR/mnt
N=20

menv_user
menv_mount "$MNT"
menv_deliverer
menv_gen_many "$TEST_DIR/msgs" mua $((N - 1)) small
menv_gen mua-big 1200000 >"$TEST_DIR/msgs/mua-big.eml"
failed=0
for f in "$TEST_DIR"/msgs/*.eml; do
	menv_as_user "$MAIL_DELIVER" "$MNT" <"$f" >/dev/null || failed=$((failed + 1))
done
is "$failed" 0 "$N messages delivered to new/"

# file_of MSGID — the one file in MNT (any folder) holding that Message-ID.
file_of() { grep -rlF --exclude-dir=.notmuch --exclude-dir=tmp -- "Message-ID: <$1>" "$MNT" 2>/dev/null; }
# mid N — Message-ID (without <>) of the Nth generated message.
mid() { grep -m1 -i '^Message-ID:' "$TEST_DIR/msgs/mua-$(printf %05d "$1").eml" | sed 's/.*<\(.*\)>.*/\1/'; }
orig() { echo "$TEST_DIR/msgs/mua-$(printf %05d "$1").eml"; }

# ---------------------------------------------------------------- notmuch
menv_notmuch_config "$TEST_DIR/notmuch-config" "$MNT"
nm() { menv_as_user NOTMUCH_CONFIG="$TEST_DIR/notmuch-config" notmuch "$@"; }

out=$(nm new 2>&1)
check "notmuch new exits 0" test $? -eq 0
diag "$(echo "$out" | tr '\n' ' ')"
check "notmuch new reports $N new messages" grep -q "Added $N new messages" <<<"$out"
check "the Xapian database is inside the Maildir (.notmuch/xapian)" test -d "$MNT/.notmuch/xapian"
is "$(nm count '*')" "$N" "notmuch count finds $N messages"
subject=$(grep -m1 '^Subject:' "$(orig 3)" | sed 's/^Subject: //')
is "$(nm search --output=messages "subject:\"$subject\"")" "id:$(mid 3)" "notmuch search by subject finds the message"
is "$(nm search --output=messages tag:unread | wc -l)" "$N" "every message is tagged unread"
nm show --format=raw "id:$(mid 3)" >"$TEST_DIR/raw3"
check "notmuch show --format=raw is byte-exact" cmp -s "$TEST_DIR/raw3" "$(orig 3)"
nm show --format=raw "id:$(grep -m1 -i '^Message-ID:' "$TEST_DIR/msgs/mua-big.eml" | sed 's/.*<\(.*\)>.*/\1/')" >"$TEST_DIR/rawbig"
check "notmuch show --format=raw of a 1.2 MB message is byte-exact" cmp -s "$TEST_DIR/rawbig" "$TEST_DIR/msgs/mua-big.eml"
nm tag -unread "id:$(mid 0)"
f=$(file_of "$(mid 0)")
check "notmuch tag -unread renames the file to cur/*:2,S ($(basename "$f"))" bash -c "[[ '$f' == '$MNT/cur/'*':2,S' ]]"
nm tag +flagged "id:$(mid 1)"
f=$(file_of "$(mid 1)")
check "notmuch tag +flagged renames the file to cur/*:2,F ($(basename "$f"))" bash -c "[[ '$f' == '$MNT/cur/'*':2,F' ]]"

# ---------------------------------------------------------------- mblaze
mkdir -p "$TEST_DIR/mblaze"
chown "$MAIL_UID:$MAIL_GID" "$TEST_DIR/mblaze"
mb() { menv_as_user MBLAZE="$TEST_DIR/mblaze" "$@"; }

inc=$(mb minc "$MNT")
check "minc exits 0" test $? -eq 0
is "$(grep -c . <<<"$inc")" "$((N - 2))" "minc moved the $((N - 2)) messages still in new/ to cur/"
is "$(find "$MNT/new" -type f | wc -l)" 0 "new/ is empty after minc"
is "$(mb mlist "$MNT" | wc -l)" "$N" "mlist lists $N messages"
scan=$(mb mlist "$MNT" | mb mscan 2>/dev/null)
is "$(grep -c . <<<"$scan")" "$N" "mscan prints one line per message"
short=$(grep -m1 '^Subject:' "$(orig 5)" | sed 's/^Subject: //' | cut -c1-20)
check "mscan shows a known subject" grep -qF "$short" <<<"$scan"
mb mshow -r "$(file_of "$(mid 5)")" >"$TEST_DIR/mshow5"
check "mshow -r prints the body byte for byte" cmp -s <(sed '1,/^$/d' "$TEST_DIR/mshow5") <(sed '1,/^$/d' "$(orig 5)")
for i in 6 7; do
	mb mflag -S "$(file_of "$(mid "$i")")" >/dev/null
	f=$(file_of "$(mid "$i")")
	check "mflag -S renames message $i to cur/*:2,S ($(basename "$f"))" bash -c "[[ '$f' == '$MNT/cur/'*':2,S' ]]"
done
mb mflag -F -R "$(file_of "$(mid 7)")" >/dev/null
f=$(file_of "$(mid 7)")
check "mflag -F -R gives :2,FRS ($(basename "$f"))" bash -c "[[ '$f' == *':2,FRS' ]]"
mb mflag -s "$(file_of "$(mid 6)")" >/dev/null
f=$(file_of "$(mid 6)")
check "mflag -s takes S off again ($(basename "$f"))" bash -c "[[ '$f' == *':2,' ]]"
is "$(mb mlist -S "$MNT" | wc -l)" 2 "mlist -S lists the 2 seen messages"
check "a message renamed three times is still byte-exact" cmp -s "$(file_of "$(mid 7)")" "$(orig 7)"

# ---------------------------------------------------------------- neomutt
cat >"$TEST_DIR/muttrc" <<EOF
set folder = "$MNT"
set spoolfile = "$MNT"
set mbox_type = Maildir
set record = "=.Sent"
set copy = yes
set sendmail = "/bin/true"
set from = "$MAIL_USER@localhost"
set use_from = yes
set realname = "Test User"
set confirmcreate = no
set confirmappend = no
set delete = yes
set quit = yes
set mark_old = no
set move = no
set wait_key = no
set beep = no
set header_cache = ""
set message_cachedir = ""
set sort = date
EOF
chmod 644 "$TEST_DIR/muttrc"
printf 'Batch body line, sent by neomutt in batch mode.\n' >"$TEST_DIR/body.txt"
chmod 644 "$TEST_DIR/body.txt"
menv_as_user neomutt -n -F "$TEST_DIR/muttrc" -s "ipmd batch fcc test" -- someone@localhost <"$TEST_DIR/body.txt" >"$TEST_DIR/neomutt-batch.out" 2>&1
is "$?" 0 "neomutt batch send exits 0"
sent=$(grep -rlF "Subject: ipmd batch fcc test" "$MNT/.Sent" 2>/dev/null)
check "the Fcc copy is in .Sent/cur with :2,S" bash -c "[[ '$sent' == '$MNT/.Sent/cur/'*':2,S' ]]"
check "the Fcc copy holds the body" grep -qF "Batch body line, sent by neomutt in batch mode." "$sent"

# Save message 8 to =.Saved, flag 9, delete 10, then sync: all on a pty.
keys="<tag-pattern>~i $(mid 8)<enter><tag-prefix><save-message>=.Saved<enter><untag-pattern>~A<enter>"
keys+="<tag-pattern>~i $(mid 9)<enter><tag-prefix><flag-message><untag-pattern>~A<enter>"
keys+="<tag-pattern>~i $(mid 10)<enter><tag-prefix><delete-message><untag-pattern>~A<enter>"
keys+="<sync-mailbox><quit>"
menv_user_argv
menv_pty 60 "$TEST_DIR/neomutt.screen" "${MENV_ARGV[@]}" TERM=xterm \
	neomutt -n -F "$TEST_DIR/muttrc" -f "$MNT" -e "push '$keys'"
rc=$?
is "$rc" 0 "neomutt session on a pty exits 0"
[ "$rc" -eq 0 ] || diag "screen: $(tr -c '[:print:]\n' ' ' <"$TEST_DIR/neomutt.screen" | tail -c 600)"
saved=$(file_of "$(mid 8)")
check "the saved message moved to .Saved ($saved)" bash -c "[[ '$saved' == '$MNT/.Saved/'* ]]"
check "the saved message's body is byte-exact" cmp -s <(sed '1,/^$/d' "$saved") <(sed '1,/^$/d' "$(orig 8)")
check "its headers are the original's (neomutt adds Content-Length)" \
	cmp -s <(sed '/^$/q' "$saved" | grep -v '^Content-Length:') <(sed '/^$/q' "$(orig 8)")
f=$(file_of "$(mid 9)")
check "the flagged message got F in its name ($(basename "$f"))" bash -c "[[ '$f' == *':2,'*F* ]]"
is "$(file_of "$(mid 10)")" "" "the deleted message's file is gone"
is "$(find "$MNT/cur" "$MNT/new" -type f | wc -l)" "$((N - 2))" "$((N - 2)) messages left in the inbox"

# notmuch follows what the others did behind its back.
out=$(nm new 2>&1)
check "notmuch new after the changes exits 0" test $? -eq 0
diag "$(echo "$out" | tr '\n' ' ')"
# Inbox N-2, .Saved 1, .Sent 1.
is "$(nm count '*')" "$N" "notmuch counts $N messages (inbox, .Saved, .Sent)"
is "$(nm search --output=files "id:$(mid 8)")" "$saved" "notmuch knows the saved message's new path"
is "$(nm count "id:$(mid 10)")" 0 "notmuch dropped the deleted message"
is "$(find "$MNT/tmp" "$MNT/.Saved/tmp" "$MNT/.Sent/tmp" -type f | wc -l)" 0 "nothing left in any tmp/"
done_testing
