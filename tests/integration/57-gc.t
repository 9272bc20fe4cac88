#!/usr/bin/env bash
# 57-gc.t — ipmaildir gc frees what no retained state needs and nothing
# else: after it, every retained commit checks clean (fsck --deep) and reads
# back; the journal's blocks after a crash survive it; it refuses to run
# while a past state is mounted or the mailbox is mounted read-only;
# mounted read-write, the daemon runs it (66-control.t) and keeps what is
# not committed yet.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only

S=$TEST_DIR/store M=$TEST_DIR/mnt A=$TEST_DIR/at
nblocks() { find "$S/blocks" -type f -name 'bafk*' | wc -l; }
ipmd_init "$S" || bail "init failed"
# Four sessions; each delivers, and rewrites a state file several times
# (as Dovecot does dovecot-uidlist; its index files are local cache, never
# committed): the old versions are garbage at once.
for s in 1 2 3 4; do
	ipmd_mount "$S" "$M" || bail "mount failed"
	for i in 1 2; do printf 'Subject: s%s m%s\n\n%s\n' "$s" "$i" "$(head -c 3000 /dev/urandom | base64)" | ipmd_deliver "$M"; done
	for v in 1 2 3; do head -c 5000 /dev/urandom >"$M/dovecot-uidlist"; sync "$M/dovecot-uidlist"; done
	gen_message "big$s" 600000 >"$TEST_DIR/big$s.eml"
	cp "$TEST_DIR/big$s.eml" "$M/cur/big$s:2,S"
	[ "$s" -gt 1 ] && rm "$M/cur/big$((s - 1)):2,S"
	ipmd_umount "$M" || bail "unmount failed"
done
all=$(ipmd_seqs "$S")
before=$(nblocks)
diag "commits: $all; blocks: $before"

exits 0 "gc --dry-run exits 0" "$IPMD_BIN" gc --store "$S" --dry-run
would=$(sed -nE 's/^gc: would free ([0-9]+) blocks.*/\1/p' <<<"$out")
check "--dry-run says what it would free ($would blocks)" test -n "$would" -a "${would:-0}" -gt 0
is "$(nblocks)" "$before" "--dry-run frees nothing"
"$IPMD_BIN" gc --store "$S" --dry-run --json >"$TEST_DIR/gc.json" 2>/dev/null
is "$?" 0 "gc --dry-run --json exits 0"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["dry_run"], d["freed_blocks"], d["kept"] == d["commits"], d["exit"], d["store"])' "$TEST_DIR/gc.json")" \
	"True $would True 0 $S" "... one JSON object: the same blocks, every commit kept, the store"
is "$(nblocks)" "$before" "... and frees nothing"

exits 0 "gc (keeping every commit) exits 0" "$IPMD_BIN" gc --store "$S"
freed=$(sed -nE 's/^gc: freed ([0-9]+) blocks.*/\1/p' <<<"$out")
is "$freed" "$would" "it frees what --dry-run announced"
is "$(nblocks)" "$((before - freed))" "the store holds that many blocks fewer"
is "$(ipmd_seqs "$S")" "$all" "every commit is still in the log"
"$IPMD_BIN" fsck --store "$S" --deep >"$TEST_DIR/fsck1" 2>&1
is "$?" 0 "fsck --deep is clean after gc"

# Keep the newest two commits.
exits 0 "gc --keep-last 2 exits 0" "$IPMD_BIN" gc --store "$S" --keep-last 2
says "says which commits it dropped" "dropped commits 1 to"
read -r -a kept <<<"$(ipmd_seqs "$S")"
is "${#kept[@]}" 2 "the log shows two commits"
check "log says older commits were freed by gc" sh -c "'$IPMD_BIN' log --store '$S' | grep -q 'freed by ipmaildir gc'"
"$IPMD_BIN" fsck --store "$S" --deep >"$TEST_DIR/fsck2" 2>&1
is "$?" 0 "fsck --deep is clean: a parent pruned by gc is normal"
check "fsck says the older ones were freed by gc" grep -q "older ones freed by gc" "$TEST_DIR/fsck2"
check "blocks were freed" test "$(nblocks)" -lt "$((before - freed))"
mkdir -p "$A"
run_mount --store "$S" --at 1 "$A"
mountpoint -q "$A" && fusermount3 -u "$A"
is "$rc" 1 "mount --at a dropped commit fails (exit 1)"
says "with a clear reason" "no such commit among those gc kept"
ipmd_mount "$S" "$A" --at "${kept[1]}" || bail "mount --at failed"
check "the older retained commit reads back (big3)" cmp "$TEST_DIR/big3.eml" "$A/cur/big3:2,S"
check "…and does not have big4" test ! -e "$A/cur/big4:2,S"
exits 1 "gc refuses while a past state is mounted" "$IPMD_BIN" gc --store "$S"
says "and says why" "past state of the mailbox"
ipmd_umount "$A"
ipmd_mount "$S" "$M" || bail "mount failed"
check "the head reads back after gc (big4)" cmp "$TEST_DIR/big4.eml" "$M/cur/big4:2,S"
ipmd_umount "$M"
ipmd_mount "$S" "$M" -o ro || bail "mount -o ro failed"
exits 1 "gc refuses while the mailbox is mounted read-only" "$IPMD_BIN" gc --store "$S"
says "and says why" "is mounted: unmount it first"

# A crash leaves changes only in the journal (no commit names them): gc
# must keep their blocks.
for i in 1 2 3; do gen_message "j$i" $((100000 * i)) >"$TEST_DIR/j$i.eml"; done
ipmd_umount "$M"
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
for i in 1 2 3; do "$IPMD_TOOLS/maildir_deliver" "$M" <"$TEST_DIR/j$i.eml" >"$TEST_DIR/j$i.name" || bail "deliver"; done
ipmd_kill9 "$M"
"$IPMD_BIN" gc --store "$S" --keep-last 1 >"$TEST_DIR/gc3" 2>&1
is "$?" 0 "gc with a pending journal exits 0"
"$IPMD_BIN" fsck --store "$S" >"$TEST_DIR/fsck3" 2>&1
is "$?" 0 "fsck is clean: the journal's blocks are all there"
ipmd_mount "$S" "$M" || bail "mount after crash failed"
for i in 1 2 3; do
	check "journaled delivery $i survives gc byte-exact" cmp "$TEST_DIR/j$i.eml" "$M/$(cat "$TEST_DIR/j$i.name")"
done
ipmd_umount "$M"

# The same while mounted read-write: the daemon's gc keeps deliveries
# no commit names yet (the journal and the tree as mounted).
for i in 1 2 3; do gen_message "k$i" $((100000 * i)) >"$TEST_DIR/k$i.eml"; done
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
for i in 1 2 3; do "$IPMD_TOOLS/maildir_deliver" "$M" <"$TEST_DIR/k$i.eml" >"$TEST_DIR/k$i.name" || bail "deliver"; done
exits 0 "gc while mounted with uncommitted deliveries exits 0" "$IPMD_BIN" gc --store "$S" --keep-last 1
for i in 1 2 3; do
	check "uncommitted delivery $i survives gc while mounted" cmp "$TEST_DIR/k$i.eml" "$M/$(cat "$TEST_DIR/k$i.name")"
done
ipmd_umount "$M"
exits 0 "fsck is clean after it" "$IPMD_BIN" fsck --store "$S"

"$IPMD_BIN" gc --store "$S" --keep-within 1w >"$TEST_DIR/gc4" 2>&1
is "$?" 0 "--keep-within 1w exits 0"
"$IPMD_BIN" gc --store "$S" --keep-within soon >/dev/null 2>&1
is "$?" 2 "--keep-within with a bad duration: exit 2"
"$IPMD_BIN" gc --store "$S" --keep-last 0 >/dev/null 2>&1
is "$?" 2 "--keep-last 0: exit 2"
done_testing
