#!/usr/bin/env bash
# 67-two-devices-index.t — index files between a device that keeps them
# as local cache files (A, index_cache on, the default) and one that
# commits them (B, -o index_cache=off): fs/mount/follow.h, merge.h.
# B takes A's head, then writes an index file (as its Dovecot does) and a
# message, and publishes.  A, nothing changed since, could fast-forward to
# B's commit, but that would make B's index file an ordinary file of A's
# (A's Dovecot would read it and commit its writes): A merges instead,
# which leaves it out.  A gets the message, not the index file; B then
# fast-forwards to A's merge, which drops it there too (Dovecot rebuilds
# it), and both hold the same names.  Then a fresh device C, with no head
# of its own, takes B's next head (index file included) without that
# file: a commit of C's over B's, every message and dovecot-uidlist kept,
# fsck clean on B and C.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
ipmd_two_devices
OPTS=commit_delay=200,publish=1,sync=1
msg() { printf 'Subject: %s\nMessage-ID: <%s@index>\n\nbody of %s\n' "$1" "$1" "$1"; }
deliver() { msg "$2" | "$DELIVER" "$1" | sed 's|^new/||'; }
same() { [ "$(file_names "$MA")" = "$(file_names "$MB")" ]; }
# took PID WHAT — the log says that mount took another device's head in
took() { grep -qE "ipmaildir\[$1\]: $2" "$TEST_DIR/ipmaildir.log"; }

ipmd_mount "$A" "$MA" --node "$IPFS_ADDR_1" -o "$OPTS" || bail "mount of A failed"
PID_A=$IPMD_PID
first=$(deliver "$MA" first)
check "A published its head" poll 60 grep -q 'published commit' "$TEST_DIR/ipmaildir.log"
ipmd_mount "$B" "$MB" --node "$IPFS_ADDR_2" -o "$OPTS,index_cache=off" ||
	bail "mount of B failed"
PID_B=$IPMD_PID
check "B (index_cache=off) takes A's head" poll 120 test -e "$MB/new/$first"

printf 'index of B\n' >"$MB/dovecot.index.log"
second=$(deliver "$MB" second)
check "A gets B's message" poll 180 test -e "$MA/new/$second"
check "… by a merge, not a fast-forward" took "$PID_A" 'merged commit'
check "… without B's index file" test ! -e "$MA/dovecot.index.log"
gone_on_b() { [ ! -e "$MB/dovecot.index.log" ]; }
check "B takes A's merge: its committed index file goes too" poll 180 gone_on_b
check "both hold the same names" poll 120 same ||
	diag "A: $(file_names "$MA" | tr '\n' ' ') / B: $(file_names "$MB" | tr '\n' ' ')"
check "A never fast-forwarded to a tree with B's index file" \
	bash -c "! test -e '$MA/dovecot.index.log'"

# ---- a fresh device's first round on a head that holds index files
# A goes, so nothing merges B's next head; B writes an index file again,
# a message and dovecot-uidlist, and publishes at unmount.  C, a new
# device with no head of its own (index_cache on, the default), must not
# fast-forward to that tree as it is: B's index file would become C's
# ordinary file.  It takes B's tree without it, as a commit of its own.
IPMD_PID=$PID_A
ipmd_umount "$MA" || not_ok "unmount of A"
printf 'index of B, again\n' >"$MB/dovecot.index.log"
printf '3 V1 N4\n' >"$MB/dovecot-uidlist"
third=$(deliver "$MB" third)
IPMD_PID=$PID_B
ipmd_umount "$MB" || not_ok "unmount of B"

C=$TEST_DIR/store-c
MC=$TEST_DIR/mnt-c
ipmd_second_device "$A" "$C" || bail "key restore of C: $(cat "$TEST_DIR/restore.err")"
ipmd_mount "$C" "$MC" --node "$IPFS_ADDR_1" -o "$OPTS" || bail "mount of C failed"
PID_C=$IPMD_PID
check "C (fresh, index_cache on) takes B's head" poll 180 test -e "$MC/new/$third"
no_index() { [ -z "$(find "$1" -name 'dovecot.index*' -o -name 'dovecot.list.index*')" ]; }
check "… without B's index file" no_index "$MC"
for m in "$first" "$second" "$third"; do
	check "… with message $m" test -e "$MC/new/$m"
done
check "… and dovecot-uidlist" grep -qx '3 V1 N4' "$MC/dovecot-uidlist"
ipmd_umount "$MC" || not_ok "unmount of C"
# Its head (not only its live tree) lacks the file: a mount without a
# node shows what C committed.
ipmd_mount "$C" "$MC" || bail "second mount of C failed"
check "C's committed head holds no index file" no_index "$MC"
check "… and every message" test -e "$MC/new/$third" -a -e "$MC/new/$first"
ipmd_umount "$MC" || not_ok "unmount of C (local)"
for s in "$B" "$C"; do
	"$IPMD_BIN" fsck --store "$s" >"$TEST_DIR/fsck.out" 2>&1
	rc=$?
	is "$rc" 0 "fsck finds ${s##*/} clean"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$TEST_DIR/fsck.out" | head -8
done
grep -E 'merged commit|fast-forwarded' "$TEST_DIR/ipmaildir.log" |
	while read -r l; do diag "$l"; done
done_testing
