#!/usr/bin/env bash
# 56-fsck-state.t — the store's state files (STORE/head, seen, pruned) and
# its key (issue 12, items 3 and 5): a missing head over a store with mail,
# a damaged or missing seen, seen copied over head — each refuses the mount
# with one line naming `ipmaildir fsck --repair`, fsck reports it (exit 4),
# gc refuses, and fsck --repair brings every message back byte for byte;
# a head and seen put back from before a gc get a head above its boundary.
# A store whose key file is gone is reported as such, and init refuses it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only

P=$TEST_DIR/pristine M=$TEST_DIR/mnt REF=$TEST_DIR/ref
ipmd_init "$P" || bail "init failed"
check "init writes a head at once" test -s "$P/head"
ipmd_mount "$P" "$M" || bail "mount failed"
for i in 1 2 3; do printf 'Subject: m%s\n\nbody %s\n' "$i" "$i" | ipmd_deliver "$M"; done
gen_message big 300000 >"$M/cur/big:2,S"
ipmd_umount "$M" || bail "unmount failed"
ipmd_mount "$P" "$M" || bail "mount failed"
printf 'Subject: last\n\nthe last message\n' | ipmd_deliver "$M"
ipmd_umount "$M" || bail "unmount failed"
ipmd_mount "$P" "$M" -o ro || bail "read-only mount failed"
cp -a "$M" "$REF"
ipmd_umount "$M"
nref=$(find "$REF" -type f | wc -l)
check "the reference copy holds the 5 messages" test "$nref" = 5
head_seq=$(ipmd_seqs "$P" 1)

# mount_refused WHAT PATTERN — the mount of $S fails, saying PATTERN.
mount_refused() {
	mkdir -p "$M"
	run_mount -f --store "$S" "$M"
	mountpoint -q "$M" && fusermount3 -u "$M"
	is "$rc" 1 "$1: the mount is refused"
	says "$1: naming $2" "$2"
}
# refused WHAT — the mount of $S fails with one line naming fsck --repair.
refused() {
	mount_refused "$1" "ipmaildir fsck --repair"
	is "$(wc -l <<<"$out")" 1 "$1: with one line"
}
# all_back WHAT — $S mounts and holds exactly the reference messages.
all_back() {
	ipmd_mount "$S" "$M" || { not_ok "$1: mounts"; return; }
	check "$1: every message is back, byte for byte" diff -r "$REF" "$M"
	ipmd_umount "$M"
	ipmd_fsck_exits 0 "$1: fsck is clean afterwards"
}

# ---------------------------------------------------------------- rm head
ipmd_copy
rm "$S/head"
refused "no head"
ipmd_fsck_exits 4 "no head: fsck exits 4"
says "no head: fsck says so" "STORE/head is missing"
run "$IPMD_BIN" status --store "$S"
says "no head: status says the head is missing, not 'nothing committed'" "^head: .*STORE/head is missing"
exits 1 "no head: log refuses (not an empty history)" "$IPMD_BIN" log --store "$S"
says "no head: log names fsck --repair" "ipmaildir fsck --repair"
exits 1 "no head: export refuses (not an empty mailbox)" "$IPMD_BIN" export --store "$S" "$TEST_DIR/export1"
says "no head: export names fsck --repair" "ipmaildir fsck --repair"
exits 1 "no head: gc --dry-run refuses" "$IPMD_BIN" gc --store "$S" --dry-run
says "no head: gc names fsck --repair" "ipmaildir fsck --repair"
ipmd_fsck_exits 1 "no head: fsck --repair exits 1" --repair
says "no head: rebuilt from STORE/seen" "STORE/head restored from STORE/seen: commit $head_seq"
all_back "no head"

# ---------------------------------------------------------------- rm head seen
ipmd_copy
rm "$S/head" "$S/seen"
refused "no head, no seen"
ipmd_fsck_exits 4 "no head, no seen: fsck exits 4"
ipmd_fsck_exits 1 "no head, no seen: fsck --repair exits 1" --repair
says "no head, no seen: rebuilt from the newest commit" "STORE/head restored from the newest commit in the store: commit $head_seq"
all_back "no head, no seen"
ipmd_mount "$S" "$M" && printf 'Subject: after\n\nafter\n' | ipmd_deliver "$M" && ipmd_umount "$M"
is "$(ipmd_seqs "$S" 1)" "$((head_seq + 1))" "no head, no seen: the next commit follows the newest one"

# ---------------------------------------------------------------- rm head, and the newest commit lost
# seen still says commit $head_seq was accepted: the head is rebuilt from
# the newest commit left, as a new commit above $head_seq (never below).
ipmd_copy
hc=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cid"])')
rm "$S/head" "$S/blocks/${hc:(-3):2}/$hc"
refused "no head, newest commit gone"
ipmd_fsck_exits 1 "no head, newest commit gone: fsck --repair exits 1" --repair
is "$(ipmd_seqs "$S" 1)" "$((head_seq + 1))" "no head, newest commit gone: the rebuilt head is commit $((head_seq + 1)), above the seq accepted"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "no head, newest commit gone: the older messages are there" cmp "$REF/cur/big:2,S" "$M/cur/big:2,S"
ipmd_umount "$M"
ipmd_fsck_exits 0 "no head, newest commit gone: fsck is clean afterwards"

# ---------------------------------------------------------------- old head and seen, gc since
# Both state files put back from an old copy (a backup restored) after gc
# freed the commit they name and cut the history above it (STORE/pruned):
# the newest commit is restored as a new commit above every seq accepted
# here, gc's boundary among them (at or below it every walk would end at
# the new head, and gc free the history as unreachable), and above the
# commit it follows (an edge must go down in seq).
ipmd_copy
cp "$S/head" "$TEST_DIR/head.before-gc"
cp "$S/seen" "$TEST_DIR/seen.before-gc"
old=$(ipmd_seqs "$S" 1)
for m in one two; do
	ipmd_mount "$S" "$M" || bail "mount failed"
	printf 'Subject: %s\n\n%s\n' "$m" "$m" >"$M/new/$m"
	ipmd_umount "$M" || bail "unmount failed"
done
top=$(ipmd_seqs "$S" 1)
exits 0 "old head and seen: gc --keep-last 1 after two more commits" \
	"$IPMD_BIN" gc --store "$S" --keep-last 1
check "… the history starts at the head (STORE/pruned)" test -s "$S/pruned"
cp "$TEST_DIR/head.before-gc" "$S/head"
cp "$TEST_DIR/seen.before-gc" "$S/seen"
ipmd_fsck_exits 1 "old head and seen after gc: fsck --repair exits 1" --repair
says "old head and seen after gc: the head moves up, nothing is rolled back" \
	"STORE/head named commit $old, which is gone; the newest intact commit in the store, $top (.*), is newer"
is "$(ipmd_seqs "$S")" "$((top + 1)) $top" \
	"old head and seen after gc: the new head is commit $((top + 1)), after commit $top"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "old head and seen after gc: the newest message is there" grep -qx two "$M/new/two"
ipmd_umount "$M"
ipmd_fsck_exits 0 "old head and seen after gc: fsck is clean afterwards"

# ---------------------------------------------------------------- rm seen
ipmd_copy
rm "$S/seen"
refused "no seen"
run "$IPMD_BIN" status --store "$S" --json
check "no seen: status --json names the problem" python3 -c 'import json,sys; assert "STORE/seen is missing" in json.load(sys.stdin)["problem"]' <<<"$out"
ipmd_fsck_exits 4 "no seen: fsck exits 4"
says "no seen: fsck says so" "STORE/seen is missing"
ipmd_fsck_exits 1 "no seen: fsck --repair exits 1" --repair
all_back "no seen"

# ---------------------------------------------------------------- a flipped byte in seen, an old head
ipmd_copy
cp "$S/head" "$TEST_DIR/head.old"
ipmd_mount "$S" "$M" && printf 'Subject: newer\n\nnewer\n' >"$M/new/newer" && ipmd_umount "$M"
cp "$TEST_DIR/head.old" "$S/head"
flip_byte "$S/seen"
refused "flipped seen, old head"
ipmd_fsck_exits 4 "flipped seen: fsck exits 4"
says "flipped seen: fsck says seen is damaged" "STORE/seen is damaged"
says "flipped seen: and that the head may be rolled back" "the head may have been rolled back"
ipmd_fsck_exits 1 "flipped seen: fsck --repair exits 1" --repair
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "flipped seen: the head is the newest commit again" grep -q "^newer$" "$M/new/newer"
ipmd_umount "$M"

# ---------------------------------------------------------------- seen copied over head
ipmd_copy
cp "$S/seen" "$S/head"
refused "seen copied over head"
ipmd_fsck_exits 4 "seen over head: fsck exits 4"
says "seen over head: the head does not open as one" "STORE/head is damaged"
ipmd_fsck_exits 1 "seen over head: fsck --repair exits 1" --repair
all_back "seen over head"

# ---------------------------------------------------------------- no head, mail only in the journal
# A crash before the delivery was committed, the head then lost: the
# journal holds the mail; fsck --repair rebuilds the head (from the
# mount's first, empty commit) and replays the journal into the next one.
S=$TEST_DIR/jonly
ipmd_init "$S" || bail "init failed"
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
printf 'Subject: j\n\nonly in the journal\n' >"$TEST_DIR/j.eml"
j=$("$IPMD_TOOLS/maildir_deliver" "$M" <"$TEST_DIR/j.eml")
ipmd_kill9 "$M"
rm -f "$S/head" "$S/seen"
refused "no head, mail only in the journal"
ipmd_fsck_exits 4 "no head, mail only in the journal: fsck exits 4"
ipmd_fsck_exits 1 "no head, mail only in the journal: fsck --repair exits 1" --repair
says "no head, mail only in the journal: replayed into a commit" "replayed [0-9]* journal records into commit"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "no head, mail only in the journal: the message is back, byte for byte" cmp "$TEST_DIR/j.eml" "$M/$j"
ipmd_umount "$M"

# ---------------------------------------------------------------- a store without its key
ipmd_copy
cp "$S/key" "$TEST_DIR/key.saved"
rm "$S/key"
exits 1 "no key: status exits 1" "$IPMD_BIN" status --store "$S"
says "no key: status says the key file is missing, not 'no mailbox'" "key file .* is missing"
says "no key: and names key restore" "ipmaildir key restore"
exits 1 "no key: init over the store refuses" "$IPMD_BIN" init --store "$S" --no-passphrase
is "$(wc -l <<<"$out")" 1 "no key: with one line"
says "no key: naming ipmaildir key restore" "ipmaildir key restore"
check "no key: init wrote no key file" test ! -e "$S/key"
mount_refused "no key" "ipmaildir key restore"
cp "$TEST_DIR/key.saved" "$S/key"
all_back "the key put back"

# ---------------------------------------------------------------- an empty store
S=$TEST_DIR/empty
ipmd_init "$S" || bail "init failed"
rm "$S/head"
check "an empty store without head (as an older init left it) mounts" ipmd_mount "$S" "$M"
ipmd_umount "$M"
check "and the mount gave it a head" test -s "$S/head"
exits 0 "init of a new store still works" "$IPMD_BIN" init --store "$TEST_DIR/empty2" --no-passphrase

done_testing
