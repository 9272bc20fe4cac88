#!/usr/bin/env bash
# 56-fsck-state.t — the store's state files (STORE/head, seen, pruned) and
# its key (issue 12, items 3 and 5): a missing head over a store with mail,
# a damaged or missing seen, seen copied over head — each refuses the mount
# with one line naming `ipmaildir fsck --repair`, fsck reports it (exit 4),
# gc refuses, and fsck --repair brings every message back byte for byte.
# A store whose key file is gone is reported as such, and init refuses it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the store itself"
command -v python3 >/dev/null || skip_all "python3 not installed"

P=$TEST_DIR/pristine M=$TEST_DIR/mnt REF=$TEST_DIR/ref
deliver() { "$IPMD_TOOLS/maildir_deliver" "$1" >/dev/null; }
ipmd_init "$P" || bail "init failed"
check "init writes a head at once" test -s "$P/head"
ipmd_mount "$P" "$M" || bail "mount failed"
for i in 1 2 3; do printf 'Subject: m%s\n\nbody %s\n' "$i" "$i" | deliver "$M"; done
gen_message big 300000 >"$M/cur/big:2,S"
ipmd_umount "$M" || bail "unmount failed"
ipmd_mount "$P" "$M" || bail "mount failed"
printf 'Subject: last\n\nthe last message\n' | deliver "$M"
ipmd_umount "$M" || bail "unmount failed"
ipmd_mount "$P" "$M" -o ro || bail "read-only mount failed"
cp -a "$M" "$REF"
ipmd_umount "$M"
nref=$(find "$REF" -type f | wc -l)
check "the reference copy holds the 5 messages" test "$nref" = 5
seq_of() { "$IPMD_BIN" log --store "$1" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])'; }
head_seq=$(seq_of "$P")

n=0
fresh() { n=$((n + 1)); S=$TEST_DIR/s$n; cp -a "$P" "$S"; }
run() { out=$("$@" 2>&1); rc=$?; }
flip() { python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(bytes(b))' "$1"; }
# refused WHAT — the mount of $S fails with one line naming fsck --repair.
refused() {
	mkdir -p "$M"
	run timeout 30 "$IPMD_BIN" mount -f --store "$S" "$M"
	mountpoint -q "$M" && fusermount3 -u "$M"
	is "$rc" 1 "$1: the mount is refused"
	is "$(wc -l <<<"$out")" 1 "$1: with one line"
	check "$1: naming ipmaildir fsck --repair" grep -q "ipmaildir fsck --repair" <<<"$out"
}
# all_back WHAT — $S mounts and holds exactly the reference messages.
all_back() {
	ipmd_mount "$S" "$M" || { not_ok "$1: mounts"; return; }
	check "$1: every message is back, byte for byte" diff -r "$REF" "$M"
	ipmd_umount "$M"
	run "$IPMD_BIN" fsck --store "$S"
	is "$rc" 0 "$1: fsck is clean afterwards"
}

# ---------------------------------------------------------------- rm head
fresh
rm "$S/head"
refused "no head"
run "$IPMD_BIN" fsck --store "$S"
is "$rc" 4 "no head: fsck exits 4"
check "no head: fsck says so" grep -q "STORE/head is missing" <<<"$out"
run "$IPMD_BIN" status --store "$S"
check "no head: status says the head is missing, not 'nothing committed'" grep -q "^head: .*STORE/head is missing" <<<"$out"
run "$IPMD_BIN" log --store "$S"
is "$rc" 1 "no head: log refuses (not an empty history)"
check "no head: log names fsck --repair" grep -q "ipmaildir fsck --repair" <<<"$out"
run "$IPMD_BIN" export --store "$S" "$TEST_DIR/export1"
is "$rc" 1 "no head: export refuses (not an empty mailbox)"
check "no head: export names fsck --repair" grep -q "ipmaildir fsck --repair" <<<"$out"
run "$IPMD_BIN" gc --store "$S" --dry-run
is "$rc" 1 "no head: gc --dry-run refuses"
check "no head: gc names fsck --repair" grep -q "ipmaildir fsck --repair" <<<"$out"
run "$IPMD_BIN" fsck --store "$S" --repair
is "$rc" 1 "no head: fsck --repair exits 1"
check "no head: rebuilt from STORE/seen" grep -q "STORE/head restored from STORE/seen: commit $head_seq" <<<"$out"
all_back "no head"

# ---------------------------------------------------------------- rm head seen
fresh
rm "$S/head" "$S/seen"
refused "no head, no seen"
run "$IPMD_BIN" fsck --store "$S"
is "$rc" 4 "no head, no seen: fsck exits 4"
run "$IPMD_BIN" fsck --store "$S" --repair
is "$rc" 1 "no head, no seen: fsck --repair exits 1"
check "no head, no seen: rebuilt from the newest commit" grep -q "STORE/head restored from the newest commit in the store: commit $head_seq" <<<"$out"
all_back "no head, no seen"
ipmd_mount "$S" "$M" && printf 'Subject: after\n\nafter\n' | deliver "$M" && ipmd_umount "$M"
is "$(seq_of "$S")" "$((head_seq + 1))" "no head, no seen: the next commit follows the newest one"

# ---------------------------------------------------------------- rm head, and the newest commit lost
# seen still says commit $head_seq was accepted: the head is rebuilt from
# the newest commit left, as a new commit above $head_seq (never below).
fresh
hc=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cid"])')
rm "$S/head" "$S/blocks/${hc:(-3):2}/$hc"
refused "no head, newest commit gone"
run "$IPMD_BIN" fsck --store "$S" --repair
is "$rc" 1 "no head, newest commit gone: fsck --repair exits 1"
is "$(seq_of "$S")" "$((head_seq + 1))" "no head, newest commit gone: the rebuilt head is commit $((head_seq + 1)), above the seq accepted"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "no head, newest commit gone: the older messages are there" cmp "$REF/cur/big:2,S" "$M/cur/big:2,S"
ipmd_umount "$M"
run "$IPMD_BIN" fsck --store "$S"
is "$rc" 0 "no head, newest commit gone: fsck is clean afterwards"

# ---------------------------------------------------------------- rm seen
fresh
rm "$S/seen"
refused "no seen"
run "$IPMD_BIN" status --store "$S" --json
check "no seen: status --json names the problem" python3 -c 'import json,sys; assert "STORE/seen is missing" in json.load(sys.stdin)["problem"]' <<<"$out"
run "$IPMD_BIN" fsck --store "$S"
is "$rc" 4 "no seen: fsck exits 4"
check "no seen: fsck says so" grep -q "STORE/seen is missing" <<<"$out"
run "$IPMD_BIN" fsck --store "$S" --repair
is "$rc" 1 "no seen: fsck --repair exits 1"
all_back "no seen"

# ---------------------------------------------------------------- a flipped byte in seen, an old head
fresh
cp "$S/head" "$TEST_DIR/head.old"
ipmd_mount "$S" "$M" && printf 'Subject: newer\n\nnewer\n' >"$M/new/newer" && ipmd_umount "$M"
cp "$TEST_DIR/head.old" "$S/head"
flip "$S/seen"
refused "flipped seen, old head"
run "$IPMD_BIN" fsck --store "$S"
is "$rc" 4 "flipped seen: fsck exits 4"
check "flipped seen: fsck says seen is damaged" grep -q "STORE/seen is damaged" <<<"$out"
check "flipped seen: and that the head may be rolled back" grep -q "the head may have been rolled back" <<<"$out"
run "$IPMD_BIN" fsck --store "$S" --repair
is "$rc" 1 "flipped seen: fsck --repair exits 1"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "flipped seen: the head is the newest commit again" grep -q "^newer$" "$M/new/newer"
ipmd_umount "$M"

# ---------------------------------------------------------------- seen copied over head
fresh
cp "$S/seen" "$S/head"
refused "seen copied over head"
run "$IPMD_BIN" fsck --store "$S"
is "$rc" 4 "seen over head: fsck exits 4"
check "seen over head: the head does not open as one" grep -q "STORE/head is damaged" <<<"$out"
run "$IPMD_BIN" fsck --store "$S" --repair
is "$rc" 1 "seen over head: fsck --repair exits 1"
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
run "$IPMD_BIN" fsck --store "$S"
is "$rc" 4 "no head, mail only in the journal: fsck exits 4"
run "$IPMD_BIN" fsck --store "$S" --repair
is "$rc" 1 "no head, mail only in the journal: fsck --repair exits 1"
check "no head, mail only in the journal: replayed into a commit" grep -q "replayed [0-9]* journal records into commit" <<<"$out"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "no head, mail only in the journal: the message is back, byte for byte" cmp "$TEST_DIR/j.eml" "$M/$j"
ipmd_umount "$M"

# ---------------------------------------------------------------- a store without its key
fresh
cp "$S/key" "$TEST_DIR/key.saved"
rm "$S/key"
run "$IPMD_BIN" status --store "$S"
is "$rc" 1 "no key: status exits 1"
check "no key: status says the key file is missing, not 'no mailbox'" grep -q "key file .* is missing" <<<"$out"
check "no key: and names key restore" grep -q "ipmaildir key restore" <<<"$out"
run "$IPMD_BIN" init --store "$S" --no-passphrase
is "$rc" 1 "no key: init over the store refuses"
is "$(wc -l <<<"$out")" 1 "no key: with one line"
check "no key: naming ipmaildir key restore" grep -q "ipmaildir key restore" <<<"$out"
check "no key: init wrote no key file" test ! -e "$S/key"
refused_key() {
	run timeout 30 "$IPMD_BIN" mount -f --store "$S" "$M"
	mountpoint -q "$M" && fusermount3 -u "$M"
	is "$rc" 1 "no key: the mount is refused"
	check "no key: naming key restore" grep -q "ipmaildir key restore" <<<"$out"
}
refused_key
cp "$TEST_DIR/key.saved" "$S/key"
all_back "the key put back"

# ---------------------------------------------------------------- an empty store
S=$TEST_DIR/empty
ipmd_init "$S" || bail "init failed"
rm "$S/head"
check "an empty store without head (as an older init left it) mounts" ipmd_mount "$S" "$M"
ipmd_umount "$M"
check "and the mount gave it a head" test -s "$S/head"
run "$IPMD_BIN" init --store "$TEST_DIR/empty2" --no-passphrase
is "$rc" 0 "init of a new store still works"

done_testing
