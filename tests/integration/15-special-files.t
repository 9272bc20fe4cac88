#!/usr/bin/env bash
# 15-special-files.t — every file type on the mount: FIFOs (mkfifo),
# sockets (python's socket.bind), character and block devices (mknod, as
# root) are entries of the tree (fs/model/tree.h), made, stat'ed (type,
# mode, rdev), renamed, hard-linked, chmod'ed, chown'ed and removed as on
# a local filesystem.  Checks, for each type:
#   - create, stat, rename, link (nlink 2, one inode), chmod, chown,
#     unlink, against the same steps on a local directory;
#   - a FIFO on the mount passes data between two processes;
#   - a device node on the mount (nodev, as FUSE mounts are) can't be
#     opened: EACCES, as a local nodev mount says;
#   - after a remount every one is still there, the same; made, the
#     directory fsynced and the daemon killed: replayed from the journal;
#   - with -o dev (root) the kernel opens a device on the mount;
#   - fsck is clean;
#   - mount --at (a past state) and the archive view show them;
#   - export writes them back as what they are.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the mount's entries"
command -v python3 >/dev/null || skip_all "python3 not installed"

STORE=$TEST_DIR/store
MNT=$TEST_DIR/mnt
LOCAL=$TEST_DIR/local
root=false
[ "$(id -u)" = 0 ] && root=true

ipmd_init "$STORE" || bail "init failed"
ipmd_mount "$STORE" "$MNT" || bail "mount failed"
mkdir -p "$LOCAL"

# mk DIR NAME TYPE — make one special file of TYPE (fifo, sock, chr, blk).
mk() {
	case $3 in
	fifo) mkfifo -m 640 "$1/$2" ;;
	sock) python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$1/$2" ;;
	chr) mknod -m 620 "$1/$2" c 1 3 ;;
	blk) mknod -m 660 "$1/$2" b 7 200 ;;
	esac
}
# desc PATH — what stat says of it that must survive: type, mode, major,
# minor (hex), owner, links.
desc() { stat -c '%F %a %t:%T %u:%g %h' "$1"; }

types="fifo sock"
$root && types="$types chr blk"
$root || diag "not root: device nodes are not made (mknod needs CAP_MKNOD)"

for t in $types; do
	exits 0 "$t: created on the mount" mk "$MNT" "$t" "$t"
	mk "$LOCAL" "$t" "$t" || bail "mk $t on the local directory"
	is "$(desc "$MNT/$t")" "$(desc "$LOCAL/$t")" "$t: stat as on a local filesystem ($(desc "$LOCAL/$t"))"
	is "$(stat -c %s "$MNT/$t")" 0 "$t: size 0"
	exits 0 "$t: renamed" mv "$MNT/$t" "$MNT/cur/$t.moved"
	check "$t: ...gone from its old name" test ! -e "$MNT/$t"
	exits 0 "$t: hard-linked" ln "$MNT/cur/$t.moved" "$MNT/$t.link"
	is "$(stat -c '%i %h' "$MNT/$t.link")" "$(stat -c '%i %h' "$MNT/cur/$t.moved")" "$t: one inode, the same for both names"
	is "$(stat -c %h "$MNT/$t.link")" 2 "$t: nlink 2"
	exits 0 "$t: chmod" chmod 604 "$MNT/$t.link"
	exits 0 "$t: chown" chown 1234:5678 "$MNT/$t.link"
	mv "$LOCAL/$t" "$LOCAL/$t.moved" && ln "$LOCAL/$t.moved" "$LOCAL/$t.link" &&
		chmod 604 "$LOCAL/$t.link" && chown 1234:5678 "$LOCAL/$t.link" || bail "local steps for $t"
	is "$(desc "$MNT/cur/$t.moved")" "$(desc "$LOCAL/$t.moved")" "$t: after chmod and chown, as on a local filesystem"
	# Kept through the remount below: one of the two names goes now.
	mk "$MNT" "$t.gone" "$t"
	exits 0 "$t: unlinked" rm "$MNT/$t.gone"
	check "$t: ...and gone" test ! -e "$MNT/$t.gone"
done
# mknod_errno PATH — the errno of mknod(PATH, S_IFDIR | 0755), or 0.
mknod_errno() {
	python3 -c 'import os,sys,stat
try:
    os.mknod(sys.argv[1], stat.S_IFDIR | 0o755); print(0)
except OSError as e:
    print(e.errno)' "$1"
}
is "$(mknod_errno "$MNT/d")" "$(mknod_errno "$LOCAL/d")" "mknod of a directory: the errno a local filesystem gives"

# A FIFO carries bytes between two processes on the mount.
mkfifo "$MNT/pipe" || bail "mkfifo pipe"
timeout 20 cat "$MNT/pipe" >"$TEST_DIR/pipe.out" &
reader=$!
track_pid "$reader"
echo "through the fifo" | timeout 20 tee "$MNT/pipe" >/dev/null
wait "$reader"
is "$(cat "$TEST_DIR/pipe.out")" "through the fifo" "a FIFO on the mount passes data between two processes"
if $root; then
	# FUSE mounts are nodev: the kernel refuses to open the device.
	err=$(python3 -c 'import os,sys
try:
    os.open(sys.argv[1], os.O_RDONLY)
except OSError as e:
    print(e.errno)' "$MNT/cur/chr.moved")
	is "$err" 13 "a device node on the (nodev) mount does not open: EACCES"
fi

# State as it should be after the remount.
snap() { (cd "$1" && for f in $(find . ! -name . ! -type d | LC_ALL=C sort); do echo "$f $(desc "$f") $(stat -c %i "$f")"; done); }
before=$(snap "$MNT")
ipmd_umount "$MNT" || bail "unmount failed"
# The unmount's final commit: the state --at looks at below.
seq_before=$("$IPMD_BIN" log --store "$STORE" 2>/dev/null | awk 'NR == 2 { print $1 }')
ipmd_mount "$STORE" "$MNT" || bail "remount failed"
is "$(snap "$MNT")" "$before" "after a remount: every special file, its type, mode, device, owner, links and inode"
for t in $types; do
	rm "$MNT/$t.link" || bail "rm $t.link"
done
is "$(stat -c %h "$MNT/cur/fifo.moved")" 1 "a name removed after the remount: nlink back to 1"
ipmd_umount "$MNT" || bail "unmount failed"

# Journaled like any create: an fsync of the directory makes it durable,
# and a crash right after loses none (journal replay, no commit between).
ipmd_mount "$STORE" "$MNT" -o commit_delay=600000 || bail "mount failed"
mk "$MNT" crash.fifo fifo
$root && mk "$MNT" crash.chr chr
python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$MNT" || bail "fsync of the directory"
crashed=$(desc "$MNT/crash.fifo"; $root && desc "$MNT/crash.chr")
ipmd_kill9 "$MNT"
ipmd_mount "$STORE" "$MNT" || bail "mount after the crash failed"
is "$(desc "$MNT/crash.fifo"; $root && desc "$MNT/crash.chr")" "$crashed" \
	"made, the directory fsynced, then a crash: replayed from the journal as they were"
rm "$MNT"/crash.*
ipmd_umount "$MNT" || bail "unmount failed"
if $root; then
	# With -o dev (root) the kernel opens the device: 1,3 is /dev/null.
	ipmd_mount "$STORE" "$MNT" -o dev || bail "mount -o dev failed"
	check "-o dev: the character device 1,3 on the mount is a null device (write)" sh -c "echo x >'$MNT/cur/chr.moved'"
	is "$(wc -c <"$MNT/cur/chr.moved")" 0 "...(read: nothing)"
	ipmd_umount "$MNT" || bail "unmount failed"
fi

"$IPMD_BIN" fsck --store "$STORE" >"$TEST_DIR/fsck.out" 2>&1
is "$?" 0 "fsck: clean"

# The past state (before the links were removed), beside the head.
PAST=$TEST_DIR/past
ipmd_mount "$STORE" "$PAST" --at "$seq_before" || bail "mount --at failed"
is "$(snap "$PAST")" "$before" "mount --at the commit before: the same special files, links and all"
ipmd_umount "$PAST"

# The archive view shows them too (read-only).
AR=$TEST_DIR/archive
mkdir -p "$AR"
"$IPMD_BIN" archive --store "$STORE" "$AR" 2>"$TEST_DIR/archive.err" || bail "archive failed: $(cat "$TEST_DIR/archive.err")"
_cleanups+=("fusermount3 -u '$AR'")
is "$(desc "$AR/latest/cur/fifo.moved" | cut -d' ' -f1,3)" "fifo 0:0" "archive: a FIFO is a FIFO"
if $root; then
	is "$(stat -c '%F %t:%T' "$AR/latest/cur/blk.moved")" "block special file 7:c8" "archive: a block device, 7,200"
fi
fusermount3 -u "$AR"

# export writes them back as they are (as root, owners too), save that a
# device node is the exporting user's and 0600: the tree (merged from
# another device, or forged) must not hand a disk to every local user.
"$IPMD_BIN" export --store "$STORE" "$TEST_DIR/out" >/dev/null 2>"$TEST_DIR/export.err"
is "$?" 0 "export exits 0"
for t in $types; do
	case $t in
	chr | blk)
		want="$(stat -c '%F 600 %t:%T' "$LOCAL/$t.moved") $(id -u):$(id -g)"
		name="export: $t with its device number, 0600 and the exporter's" ;;
	*)
		want=$(stat -c '%F %a %t:%T %u:%g' "$LOCAL/$t.moved")
		name="export: $t as it was" ;;
	esac
	is "$(stat -c '%F %a %t:%T %u:%g' "$TEST_DIR/out/cur/$t.moved")" "$want" "$name"
done
"$IPMD_BIN" export --store "$STORE" --json "$TEST_DIR/out2" >"$TEST_DIR/export.json" 2>/dev/null
n=$(set -- $types; echo $(($# + 1))) # and the pipe
is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["special_files"])' "$TEST_DIR/export.json")" "$n" \
	"export --json counts them as special_files"
done_testing
