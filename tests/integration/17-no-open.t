#!/usr/bin/env bash
# 17-no-open.t — the kernel opens files without asking the daemon (FUSE
# no-open, fs/fuse/ops.c op_init), so a file's state is its inode's, made
# by the first write and sealed by fsync, rename, link or the next commit
# (fs/mount/mount.h, "File states"): no release comes, not even for a
# created file.  Checks:
#   - a warm pass over many files costs the daemon no open, flush or
#     release (counted in the mount's -d log of FUSE calls);
#   - readdir lists a directory in inode order (what prefetching follows);
#   - one file read by many processes at once gives each the same bytes;
#   - a file created, written, renamed while still open, written on and
#     closed: all of it is committed (no release seals it);
#   - opens for writing after many read-only opens: an append, an
#     O_TRUNC rewrite (no stale tail from the page cache), a write in
#     place, appends from many processes at once;
#   - a write never fsynced through such an open survives SIGKILL once a
#     commit followed it (nothing else seals it), 1,100 files written at
#     once too (more than the commit's list holds); an fsynced one
#     survives SIGKILL at once;
#   - all of it reads back the same after a remount.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "counts the daemon's calls"

STORE=$TEST_DIR/store
MNT=$TEST_DIR/mnt
SRC=$TEST_DIR/src
LOG=$TEST_DIR/ipmaildir.log
N=300
mkdir -p "$SRC/cur" "$SRC/new"
python3 "${IPMD_TOP:-$PWD}/tests/integration/genmail.py" --many "$SRC/cur" m $N small ||
	bail "genmail failed"
gen_message big 3000000 >"$SRC/big"

ipmd_init "$STORE" || bail "init failed"
"$IPMD_BIN" import --store "$STORE" --quiet "$SRC" >/dev/null 2>&1 || bail "import failed"
cp "$SRC/big" "$TEST_DIR/big" # the import skips what is not in cur/ or new/

# calls OPCODE… — how many of these FUSE calls the -d log holds so far.
calls() {
	local pat
	pat=$(printf '|%s' "$@")
	grep -cE "opcode: (${pat:1}) " "$LOG"
}
# commits — the seq of the newest commit.
commits() {
	"$IPMD_BIN" log --store "$STORE" 2>/dev/null | awk 'NR == 2 { print $1 }'
}
# wait_commit SEQ — until a commit newer than SEQ is written (at most 30 s).
wait_commit() {
	local i
	for i in $(seq 300); do
		[ "$(commits)" -gt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
same_tree() { diff -r "$SRC/cur" "$MNT/cur" >/dev/null; }

# ---- a warm pass reaches the daemon with no open, flush or release ----
ipmd_mount "$STORE" "$MNT" -d || bail "mount failed"
check "the first pass reads every message intact" same_tree
cp "$TEST_DIR/big" "$MNT/big" || bail "cp big failed"
before=$(calls OPEN FLUSH RELEASE)
reads=$(calls READ)
check "a second pass reads them intact" same_tree
check "and a third" same_tree
sleep 1 # a release is sent after close returns: let any arrive
is "$(($(calls OPEN FLUSH RELEASE) - before))" 0 \
	"two warm passes over $N files: no open, flush or release reached the daemon"
diag "READ calls in the warm passes: $(($(calls READ) - reads))"
check "the kernel's open was asked for at most once" test "$(calls OPEN)" -le 1
# readdir lists in inode order, the order prefetching follows (fs/fuse/ops.c
# list_dir); the import made the files in name order.
ls -fi "$MNT/cur" | awk '$2 ~ /^m-/ { print $1 }' >"$TEST_DIR/inos"
check "readdir lists files in inode order" sort -n -c "$TEST_DIR/inos"
is "$(wc -l <"$TEST_DIR/inos")" $N "and lists every one"
ipmd_umount "$MNT" || bail "unmount failed"

# ---- many readers, then writers, on one mount ----
ipmd_mount "$STORE" "$MNT" -o commit_delay=100 || bail "mount failed"
mkdir -p "$MNT/tmp" "$MNT/new"
pids=()
for i in $(seq 16); do
	cmp -s "$TEST_DIR/big" "$MNT/big" >"$TEST_DIR/cmp.$i" 2>&1 &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
is "$bad" 0 "16 processes reading one 3 MB file at once (cold) all get its bytes"

# Written in tmp/, renamed into new/ while the writer still holds it open,
# read back by another process, then closed.
python3 - "$MNT" "$TEST_DIR/r1" >"$TEST_DIR/rename.out" 2>&1 <<'PY'
import os, sys
m = sys.argv[1]
fd = os.open(m + "/tmp/r1", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"x" * 70000 + b"end\n")
os.rename(m + "/tmp/r1", m + "/new/r1")
got = open(m + "/new/r1", "rb").read()
os.write(fd, b"after the rename\n")
os.close(fd)
got2 = open(m + "/new/r1", "rb").read()
print(got == b"x" * 70000 + b"end\n", got2.endswith(b"end\nafter the rename\n"))
open(sys.argv[2], "wb").write(got2)
PY
is "$(cat "$TEST_DIR/rename.out")" "True True" \
	"a file written, renamed while open, read back; written on and read again"

f=$MNT/cur/m-00007.eml
for i in $(seq 200); do cat "$f" >/dev/null; done
echo "appended after 200 read-only opens" >>"$f"
cat "$SRC/cur/m-00007.eml" >"$TEST_DIR/m7"
echo "appended after 200 read-only opens" >>"$TEST_DIR/m7"
check "an append after 200 read-only opens reads back" cmp -s "$TEST_DIR/m7" "$f"

f=$MNT/cur/m-00008.eml
for i in $(seq 200); do cat "$f" >/dev/null; done
printf 'short\n' >"$f"
is "$(stat -c %s "$f"):$(cat "$f")" "6:short" \
	"an O_TRUNC rewrite after 200 read-only opens: the new bytes, no stale tail"

f=$MNT/cur/m-00009.eml
for i in $(seq 200); do cat "$f" >/dev/null; done
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"PATCHED", 100)
os.close(fd)' "$f"
python3 -c '
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[100:107] = b"PATCHED"
open(sys.argv[2], "wb").write(d)' "$SRC/cur/m-00009.eml" "$TEST_DIR/m9"
check "a write in place after 200 read-only opens reads back" cmp -s "$TEST_DIR/m9" "$f"

# Appends from 8 processes at once to one existing file (O_APPEND).
: >"$MNT/log" # created, then appended to by handles the daemon never sees
pids=()
for w in $(seq 8); do
	(for i in $(seq 50); do printf 'writer %d line %03d %s\n' "$w" "$i" \
		"................................................................" >>"$MNT/log"; done) &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
is "$(wc -l <"$MNT/log"):$(grep -cE '^writer [1-8] line [0-9]{3} \.{64}$' "$MNT/log")" "400:400" \
	"8 processes appending 50 lines each: 400 whole lines"
sort "$MNT/log" >"$TEST_DIR/log.sorted"

# ---- what survives a SIGKILL ----
# Remounted: nothing is waiting for a commit, so the next one follows the
# write below.
check "unmount" ipmd_umount "$MNT"
ipmd_mount "$STORE" "$MNT" -o commit_delay=100 || bail "mount failed"
seq0=$(commits)
echo "no fsync, then a commit" >>"$MNT/cur/m-00010.eml"
cat "$SRC/cur/m-00010.eml" >"$TEST_DIR/m10"
echo "no fsync, then a commit" >>"$TEST_DIR/m10"
check "a commit follows a write that nothing closed or synced" wait_commit "$seq0"
ipmd_kill9 "$MNT"
ipmd_mount "$STORE" "$MNT" -o commit_delay=600000 || bail "mount after SIGKILL failed"
check "that write survived SIGKILL" cmp -s "$TEST_DIR/m10" "$MNT/cur/m-00010.eml"
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.write(fd, b"fsynced\n")
os.fsync(fd)' "$MNT/cur/m-00011.eml"
cat "$SRC/cur/m-00011.eml" >"$TEST_DIR/m11"
echo "fsynced" >>"$TEST_DIR/m11"
ipmd_kill9 "$MNT"
ipmd_mount "$STORE" "$MNT" -o commit_delay=5000 || bail "mount after the second SIGKILL failed"
check "a write fsynced through such an open survived SIGKILL at once" \
	cmp -s "$TEST_DIR/m11" "$MNT/cur/m-00011.eml"

# More files written within one commit delay than the commit's list of
# them holds (UNCLAIMED_MAX, fs/mount/mount.h): it seals them all.
seq0=$(commits)
python3 - "$MNT/many" <<'PY'
import os, sys
os.mkdir(sys.argv[1])
for i in range(1100):
    with open(os.path.join(sys.argv[1], "f%04d" % i), "w") as f:
        f.write("file %d\n" % i)
PY
check "a commit follows the 1,100 files written" wait_commit "$seq0"
ipmd_kill9 "$MNT"
ipmd_mount "$STORE" "$MNT" || bail "mount after the third SIGKILL failed"
bad=0
for i in $(seq 0 1099); do
	[ "$(cat "$MNT/many/$(printf 'f%04d' "$i")" 2>/dev/null)" = "file $i" ] || bad=$((bad + 1))
done
is "$bad" 0 "all 1,100 files survived SIGKILL with their bytes"

# ---- after a remount ----
check "after remounts: the append" cmp -s "$TEST_DIR/m7" "$MNT/cur/m-00007.eml"
is "$(cat "$MNT/cur/m-00008.eml")" "short" "after remounts: the rewrite"
check "after remounts: the write in place" cmp -s "$TEST_DIR/m9" "$MNT/cur/m-00009.eml"
is "$(stat -c %s "$TEST_DIR/r1")" 70021 "the renamed file as read before the remounts"
check "after remounts: the renamed file, written on after its rename" \
	cmp -s "$TEST_DIR/r1" "$MNT/new/r1"
check "after remounts: the 400 appended lines" cmp -s "$TEST_DIR/log.sorted" <(sort "$MNT/log")
check "after remounts: the big file" cmp -s "$TEST_DIR/big" "$MNT/big"
check "unmount" ipmd_umount "$MNT"
done_testing
