#!/usr/bin/env bash
# 67-device-owner.t — whose the mail is on this device (issue 17, owners;
# fs/mount/owner.h).  Two devices' mail users need not share a uid: the
# mailbox made here as root (its owner: uid 0) is mounted as a device whose
# mail user is uid/gid 65534 (-o owner=65534,group=65534, allow_other so
# that user reaches it and the kernel checks modes against what is shown).
#  - every file and folder the mailbox's owner has is shown as 65534's, so
#    that user reads its 0600 mail and delivers into its 0700 folders;
#  - what 65534 writes is stored as the mailbox owner's: mounted again
#    without the option (a root daemon shows owners as stored) it is uid 0;
#  - another owner (a chown to 4242) is shown as stored either way;
#  - a chown to this device's user is stored as the mailbox owner;
#  - this device's user may share its mail (ipmaildir share), not others'.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own mount options"
[ "$(id -u)" = 0 ] || skip_all "needs root to switch to another uid"
command -v setpriv > /dev/null || skip_all "setpriv (util-linux) not installed"

S=$TEST_DIR/store M=$TEST_DIR/mnt
ipmd_init "$S" || bail "init failed"
as_user() { (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$@"); }
as_user test -x "$TEST_DIR" || skip_all "uid 65534 cannot reach $TEST_DIR"
owner() { stat -c %u:%g "$1"; }

# As stored: root's mailbox, a 0600 message, a 0700 folder.
ipmd_mount "$S" "$M" || bail "mount failed"
mkdir -p "$M/cur" "$M/new" "$M/tmp" && chmod 0700 "$M" "$M/cur" "$M/new" "$M/tmp" &&
	printf 'Subject: mine\n\nsecret\n' > "$M/cur/1.root:2,S" &&
	chmod 0600 "$M/cur/1.root:2,S" && printf 'x\n' > "$M/cur/other" &&
	chown 4242:4242 "$M/cur/other" || bail "setting up the mailbox"
is "$(owner "$M/cur/1.root:2,S")" 0:0 "a root daemon shows owners as stored"
ipmd_umount "$M" || bail "unmount failed"

ipmd_mount "$S" "$M" -o owner=65534,group=65534,allow_other || bail "mount as device of uid 65534 failed"
is "$(owner "$M")" 65534:65534 "-o owner: the mailbox's top is shown as this device's user's"
is "$(owner "$M/cur/1.root:2,S")" 65534:65534 "… and the mailbox owner's message"
is "$(owner "$M/cur/other")" 4242:4242 "another owner is shown as stored"
is "$(as_user cat "$M/cur/1.root:2,S" 2>&1 | tail -1)" secret \
	"this device's user reads its 0600 mail (the kernel checks what it is shown)"
as_user sh -c "printf 'Subject: new\n\nhello\n' > '$M/new/2.user'"
is "$?" 0 "… and delivers into its 0700 folder"
is "$(owner "$M/new/2.user")" 65534:65534 "… its new file shown as its own"
cap=$(as_user "$IPMD_BIN" share "$M/cur/1.root:2,S" 2>"$TEST_DIR/share.err")
is "$?" 0 "this device's user shares its mail (the owner it is shown)"
check "… and gets a capability" grep -q '^ipmaildir:' <<<"$cap"
as_user "$IPMD_BIN" share "$M/cur/other" >"$TEST_DIR/share-other.out" 2>/dev/null
is "$?" 1 "… but not another owner's message"
check "… which gets no capability" test ! -s "$TEST_DIR/share-other.out"
chown 65534:65534 "$M/cur/other"
is "$(owner "$M/cur/other")" 65534:65534 "a chown to this device's user"
ipmd_umount "$M" || bail "unmount failed"

ipmd_mount "$S" "$M" || bail "mount as root failed"
is "$(owner "$M/new/2.user")" 0:0 "stored as the mailbox owner's: uid 0 as stored"
is "$(owner "$M/cur/other")" 0:0 "… and the chown to this device's user too"
is "$(owner "$M/cur/1.root:2,S")" 0:0 "the mailbox owner's message unchanged"
ipmd_umount "$M"
done_testing
