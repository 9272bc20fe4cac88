#!/usr/bin/env bash
# 95-disk-full.t — the store's file system fills up.
# The store lives on a small tmpfs of its own (mounted and unmounted by this
# test), with a ballast file beside it taking all but a little space.
#   - deliveries fail as temporary failures (75: ENOSPC reaches the MDA),
#     and the daemon stays up;
#   - everything delivered before is still there, byte-exact;
#   - when space frees (ballast removed) deliveries succeed again;
#   - the journal is never left corrupt: the daemon killed while the disk
#     was full remounts cleanly (replay), fsck finds the store consistent.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "needs an ipmaildir store"
[ "$(id -u)" = 0 ] || skip_all "mounting a tmpfs needs root"
menv_require "$DOVECOT_LIBEXEC/dovecot-lda" setpriv python3 cc

FS=$TEST_DIR/small
mkdir -p "$FS"
mount -t tmpfs -o size=24m,mode=0755 ipmd-test-full "$FS" || skip_all "cannot mount a tmpfs"
on_cleanup "umount -l '$FS'"
MNT=$TEST_DIR/mnt
STORE=$FS/store

menv_user
menv_mount "$MNT" "$STORE"
menv_deliverer
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"
menv_gen_many "$TEST_DIR/msgs" d 200 40000
chmod 755 "$TEST_DIR/msgs"; chmod 644 "$TEST_DIR"/msgs/*.eml

# deliver FIRST LAST LOG — qmail-style deliveries of d-FIRST … d-LAST.
deliver() {
	local i f
	for i in $(seq "$1" "$2"); do
		f=$(printf '%s/d-%05d.eml' "$TEST_DIR/msgs" "$i")
		name=$(menv_as_user "$MAIL_DELIVER" "$MNT" <"$f" 2>/dev/null)
		echo "$? ${f##*/} $name"
	done >>"$3"
}
# intact LOG — every delivery LOG says succeeded reads back byte-exact.
intact() {
	local bad=0 rc src name
	while read -r rc src name; do
		[ "$rc" = 0 ] || continue
		cmp -s "$MNT/$name" "$TEST_DIR/msgs/$src" || bad=$((bad + 1))
	done <"$1"
	return $bad
}

deliver 0 19 "$TEST_DIR/before.log"
is "$(awk '$1 == 0' "$TEST_DIR/before.log" | wc -l)" 20 "20 deliveries with room to spare"
sync -f "$FS/store" 2>/dev/null
# Ballast: fill the tmpfs but for about 1 MB.
free_kb=$(df -k --output=avail "$FS" | tail -1)
fallocate -l $(((free_kb - 1024) * 1024)) "$FS/ballast" ||
	dd if=/dev/zero of="$FS/ballast" bs=1k count=$((free_kb - 1024)) status=none
diag "store: $(du -sk "$FS/store" | cut -f1) KiB; free now: $(df -k --output=avail "$FS" | tail -1) KiB"

deliver 20 79 "$TEST_DIR/full.log"
ok_full=$(awk '$1 == 0' "$TEST_DIR/full.log" | wc -l)
tf_full=$(awk '$1 == 75' "$TEST_DIR/full.log" | wc -l)
diag "disk full: $ok_full delivered, $tf_full temporary failures"
check "with the disk full, deliveries fail ($tf_full of 60)" test "$tf_full" -gt 0
is "$(awk '$1 != 0 && $1 != 75' "$TEST_DIR/full.log" | wc -l)" 0 "every failure is temporary (75)"
menv_lda <"$TEST_DIR/msgs/d-00199.eml"; rc=$?
case $rc in 0|75) ok "dovecot-lda on a full disk: exit $rc (delivered or tempfail)" ;;
*) not_ok "dovecot-lda on a full disk: exit $rc" ;; esac
check "the daemon is still up" kill -0 "$IPMD_PID"
check "what was delivered before is intact" intact "$TEST_DIR/before.log"
check "what was delivered while full is intact" intact "$TEST_DIR/full.log"
grep -qi "no space" "$TEST_DIR/ipmaildir.log" && ok "the mount logs the full disk" ||
	diag "no 'No space' line in the mount log"

# Crash while full: the journal must replay.
cp "$TEST_DIR/full.log" "$TEST_DIR/acked.log"
cat "$TEST_DIR/before.log" >>"$TEST_DIR/acked.log"
ipmd_kill9 "$MNT"
rm -f "$FS/ballast"
if "$IPMD_BIN" fsck --help >/dev/null 2>&1; then
	"$IPMD_BIN" fsck --store "$STORE" >"$TEST_DIR/fsck.out" 2>&1
	is "$?" 0 "fsck after a crash on a full disk: consistent"
	grep -v '^fsck: *ok' "$TEST_DIR/fsck.out" | head -5 | sed 's/^/# /'
fi
check "space freed: the store mounts again (replay)" ipmd_mount "$STORE" "$MNT" -o allow_other
check "every acknowledged delivery survived the full disk and the crash" intact "$TEST_DIR/acked.log"

deliver 80 99 "$TEST_DIR/after.log"
is "$(awk '$1 == 0' "$TEST_DIR/after.log" | wc -l)" 20 "deliveries resume once space is free"
check "unmount commits" ipmd_umount "$MNT"
check "and mounts again" ipmd_mount "$STORE" "$MNT" -o allow_other
cat "$TEST_DIR/after.log" >>"$TEST_DIR/acked.log"
check "everything acknowledged is there at the end" intact "$TEST_DIR/acked.log"
check "unmount at the end" ipmd_umount "$MNT"
done_testing
