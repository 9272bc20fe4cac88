#!/usr/bin/env bash
# 40-mdeliver-qmail.t — qmail-style deliveries into the mount: the C
# deliverer (tmp/ O_EXCL, write, fsync, link() to new/, unlink tmp/; and
# its --rename variant) and mblaze's mdeliver.  Every message byte-exact,
# nothing added, nothing left in tmp/.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require mdeliver setpriv python3 cc
N=${IPMD_QMAIL_COUNT:-40}
MNT=$TEST_DIR/mnt

menv_user
menv_mount "$MNT"
menv_deliverer

# Hard links as qmail relies on them: both names, one inode, real st_nlink.
menv_as_user sh -c 'printf "link probe\n" > "$1/tmp/probe" && ln "$1/tmp/probe" "$1/new/probe"' _ "$MNT"
check "link() from tmp/ to new/ works" test -f "$MNT/new/probe"
is "$(stat -c %h "$MNT/new/probe" 2>/dev/null)" 2 "st_nlink is 2 with both names"
is "$(stat -c %i "$MNT/tmp/probe" 2>/dev/null)" "$(stat -c %i "$MNT/new/probe" 2>/dev/null)" "both names have one inode number"
rm -f "$MNT/tmp/probe"
is "$(stat -c %h "$MNT/new/probe" 2>/dev/null)" 1 "st_nlink is 1 after unlink of tmp/"
is "$(cat "$MNT/new/probe" 2>/dev/null)" "link probe" "content survives the unlink of the first name"
rm -f "$MNT/new/probe"

# Three sets of messages, one per delivery method, each with a large one.
for m in link rename mdeliver; do
	menv_gen_many "$TEST_DIR/$m" "q$m" "$N" small
	menv_gen "q$m-big" 2200000 >"$TEST_DIR/$m/q$m-big.eml"
done

deliver_all() {  # deliver_all SET COMMAND... — run COMMAND per message as the user
	local set=$1 f rc failed=0; shift
	for f in "$TEST_DIR/$set"/*.eml; do
		menv_as_user "$@" <"$f" >>"$TEST_DIR/$set.out"
		rc=$?
		if [ "$rc" -ne 0 ]; then
			failed=$((failed + 1))
			diag "$set: exit $rc for $(basename "$f")"
		fi
	done
	return "$failed"
}

check "C deliverer (link) exits 0 for each message" deliver_all link "$MAIL_DELIVER" "$MNT"
check "C deliverer (--rename) exits 0 for each message" deliver_all rename "$MAIL_DELIVER" --rename "$MNT"
check "mdeliver exits 0 for each message" deliver_all mdeliver mdeliver "$MNT"

missing=0
while read -r name; do [ -f "$MNT/$name" ] || missing=$((missing + 1)); done <"$TEST_DIR/link.out"
while read -r name; do [ -f "$MNT/$name" ] || missing=$((missing + 1)); done <"$TEST_DIR/rename.out"
is "$missing" 0 "every name the C deliverer printed exists"
is "$(sort -u "$TEST_DIR/link.out" "$TEST_DIR/rename.out" | wc -l)" "$(((N + 1) * 2))" "every C delivery got its own name"

for m in link rename mdeliver; do
	summary=$(menv_match --exact "$TEST_DIR/$m" "$MNT")
	check "$m: every message present once, byte-exact ($summary)" test $? -eq 0
done
is "$(menv_count "$MNT")" "$(((N + 1) * 3))" "$(((N + 1) * 3)) messages in new/ and cur/"
is "$(find "$MNT/new" -type f -links +1 | wc -l)" 0 "no message keeps a second link"
is "$(find "$MNT/tmp" -type f | wc -l)" 0 "nothing left in tmp/"

# mdeliver -c -X: straight into cur/ with flags in the name.
menv_gen qflags 3000 >"$TEST_DIR/flags.eml"
menv_as_user mdeliver -c -X FS "$MNT" <"$TEST_DIR/flags.eml"
is "$?" 0 "mdeliver -c -X FS exits 0"
flagged=$(find "$MNT/cur" -type f -name '*:2,FS' | wc -l)
is "$flagged" 1 "mdeliver -c -X FS leaves one cur/*:2,FS file"
check "the flagged message is byte-exact" cmp -s "$TEST_DIR/flags.eml" "$(find "$MNT/cur" -type f -name '*:2,FS' | head -n 1)"

# The deliverer's exit codes: permanent for a missing Maildir, temporary
# when tmp/ cannot be written.
"$MAIL_DELIVER" "$MNT/no-such-maildir" </dev/null 2>/dev/null
is "$?" 100 "C deliverer: missing Maildir is a permanent failure (100)"
mkdir -p "$TEST_DIR/broken/new" "$TEST_DIR/broken/cur"
"$MAIL_DELIVER" "$TEST_DIR/broken" <"$TEST_DIR/flags.eml" 2>/dev/null
is "$?" 75 "C deliverer: no tmp/ is a temporary failure (75)"
done_testing
