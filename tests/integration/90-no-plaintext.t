#!/usr/bin/env bash
# 90-no-plaintext.t — nothing readable reaches the store.  Messages carry
# unique random markers in Subject and body; a folder and a file name carry
# markers too; Dovecot adds its header cache.  grep -r -a over the store
# directory must find no marker, no header line, no attachment line and no
# name — while mounted (after sync) and after the unmount — though grep
# finds them all through the mount.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "${IPMD_TEST_TARGET:-}" = plain ] && skip_all "plain target has no store"
. "$here/mail-env.sh"

menv_require "$DOVECOT_LIBEXEC/dovecot-lda" doveadm setpriv python3 cc
MNT=$TEST_DIR/mnt
M=12

menv_user
menv_mount "$MNT"
STORE=$MAIL_STORE
menv_deliverer
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"

token() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32; }
mkdir -p "$TEST_DIR/msgs"
: >"$TEST_DIR/needles"
failed=0
for i in $(seq 1 $M); do
	mark=$(token)
	size=$((3000 + i * 1000))
	[ "$i" -eq $M ] && size=900000  # several chunks, with an attachment
	menv_gen "np-$i" "$size" "$mark" >"$TEST_DIR/msgs/np-$i.eml"
	echo "$mark" >>"$TEST_DIR/needles"
	if [ $((i % 2)) -eq 0 ]; then menv_lda <"$TEST_DIR/msgs/np-$i.eml"; else
		menv_as_user "$MAIL_DELIVER" "$MNT" <"$TEST_DIR/msgs/np-$i.eml" >/dev/null; fi
	[ $? -eq 0 ] || failed=$((failed + 1))
done
is "$failed" 0 "$M messages with markers delivered (dovecot-lda and qmail-style)"
# Whole header lines and a line of the attachment.
for h in Subject From Message-ID X-Genmail-Seed Received; do
	grep -m1 "^$h:" "$TEST_DIR/msgs/np-3.eml" >>"$TEST_DIR/needles"
done
awk 'length == 76 { n++; if (n == 100) { print; exit } }' "$TEST_DIR/msgs/np-$M.eml" >>"$TEST_DIR/needles"
# Names: a folder and a file.
folder=".Folder$(token)"
fname="1600000000.M1P1.$(token):2,S"
menv_as_user mkdir "$MNT/$folder" "$MNT/$folder/cur" "$MNT/$folder/new" "$MNT/$folder/tmp"
menv_as_user cp "$TEST_DIR/msgs/np-1.eml" "$MNT/$folder/cur/$fname"
echo "${folder#.}" >>"$TEST_DIR/needles"
echo "${fname%%:*}" | cut -d. -f3 >>"$TEST_DIR/needles"
n=$(wc -l <"$TEST_DIR/needles")
is "$(grep -c '^.\{16,\}$' "$TEST_DIR/needles")" "$n" "$n needles, none shorter than 16 characters"

# Positive control: through the mount every needle is found.
found=0
while IFS= read -r needle; do
	if grep -rqaF -- "$needle" "$MNT" || find "$MNT" -name "*$needle*" | grep -q .; then
		found=$((found + 1))
	else diag "not found through the mount: $needle"; fi
done <"$TEST_DIR/needles"
is "$found" "$n" "through the mount grep finds all $n needles"

# scan_store WHEN — no needle anywhere under the store (contents or names).
scan_store() {
	local leaks=0 needle
	while IFS= read -r needle; do
		if grep -rlaF -- "$needle" "$STORE" >"$TEST_DIR/leak" 2>/dev/null ||
			find "$STORE" -name "*$needle*" | grep . >"$TEST_DIR/leak"; then
			leaks=$((leaks + 1))
			diag "$1: '$needle' found in $(head -n 3 "$TEST_DIR/leak" | tr '\n' ' ')"
		fi
	done <"$TEST_DIR/needles"
	is "$leaks" 0 "$1: grep -r -a finds none of the $n needles in the store"
}
sync -f "$MNT" 2>/dev/null || sync
sleep 1
scan_store "mounted, after sync"
bytes=$(du -sb "$STORE" | cut -f1)
msgs=$(cat "$TEST_DIR"/msgs/*.eml | wc -c)
check "the store holds at least the messages' size ($bytes >= $msgs bytes)" test "$bytes" -ge "$msgs"

check "unmount" ipmd_umount "$MNT"
scan_store "unmounted"

# Still all there when mounted again (the scan was not of an empty store).
check "mount again" ipmd_mount "$STORE" "$MNT" -o allow_other
summary=$(menv_match "$TEST_DIR/msgs" "$MNT")
check "every marked message is back, byte-exact ($summary)" test $? -eq 0
check "the marked file name is back" test -f "$MNT/$folder/cur/$fname"
done_testing
