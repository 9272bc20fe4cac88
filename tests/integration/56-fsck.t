#!/usr/bin/env bash
# 56-fsck.t — ipmaildir fsck finds each kind of damage, names the block and
# the file, exits as e2fsck does (0 clean, 1 corrected, 4 left, 8 could not
# run), and --repair leaves a mailbox that mounts and says what it lost.
# Damage is made on copies of one store with real deliveries: a flipped byte
# in a chunk, an index block, a directory node and a commit; a deleted
# block; a garbled journal (tail and middle); a head swapped for an older one.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only

P=$TEST_DIR/pristine M=$TEST_DIR/mnt
ipmd_init "$P" || bail "init failed"
ipmd_mount "$P" "$M" || bail "mount failed"
for i in 1 2 3; do printf 'Subject: m%s\n\nbody %s\n' "$i" "$i" | ipmd_deliver "$M"; done
gen_message big 700000 >"$TEST_DIR/big.eml"
cp "$TEST_DIR/big.eml" "$M/cur/big:2,S"
mkdir -p "$M/.Sent/cur" "$M/.Sent/new" "$M/.Sent/tmp"
printf 'Subject: sent\n\nsent\n' | ipmd_deliver "$M/.Sent"
ipmd_umount "$M" || bail "unmount failed"
ipmd_mount "$P" "$M" || bail "mount failed"
printf 'Subject: last\n\nthe last message\n' >"$TEST_DIR/last.eml"
last=$("$IPMD_TOOLS/maildir_deliver" "$M" <"$TEST_DIR/last.eml")
ipmd_umount "$M" || bail "unmount failed"
head_seq=$(ipmd_seqs "$P" 1)

"$IPMD_BIN" fsck --store "$P" -v >"$TEST_DIR/list" 2>&1
is "$?" 0 "fsck of an intact store exits 0"
check "and says clean" grep -q '^fsck: clean' "$TEST_DIR/list"

# blockfile CID — where bs_local keeps it (two characters before the last).
blockfile() { echo "$S/blocks/${1:(-3):2}/$1"; }
# cid_of KIND PATH — the CID fsck -v listed for that kind and file.
cid_of() { awk -v k="$1" -v p="$2" '$2 == "ok" && $3 == k && $5 == p { print $4; exit }' "$TEST_DIR/list"; }
# damage KIND PATH HOW NAME — on a new copy of P, the block fsck -v listed
# for the KIND of PATH ($c) is damaged (HOW: flip_byte, or rm); fsck exits
# 4 (NAME).
damage() {
	ipmd_copy
	c=$(cid_of "$1" "$2")
	check "fsck -v lists the $1 block to damage" test -n "$c"
	"$3" "$(blockfile "$c")"
	ipmd_fsck_exits 4 "$4"
}

# ---------------------------------------------------------------- a chunk
damage chunk "/$last" flip_byte "flipped chunk: exit 4 (errors left)"
says "names the chunk, the file and what is wrong" "file /$last: chunk $c: altered"
# --json: the same verdict, one object on stdout.
json_fsck() { # json_fsck EXPR ARGS... — python EXPR over fsck --json's object
	local expr=$1; shift
	"$IPMD_BIN" fsck --store "$S" --json "$@" 2>/dev/null |
		python3 -c "import json,sys; d=json.load(sys.stdin); print($expr)"
}
is "$(json_fsck 'd["exit"], d["result"], d["problems"] > 0' )" "4 uncorrected True" \
	"fsck --json: exit 4, uncorrected, problems counted"
check "... its damage list names the chunk" grep -q "chunk $c: altered" <<<"$(json_fsck '"\n".join(d["damage"])')"
"$IPMD_BIN" fsck --store "$S" --json >/dev/null 2>&1
is "$?" 4 "... and its exit status is fsck's"
ipmd_fsck_exits 1 "--repair: exit 1 (corrected)" --repair
check "--repair does not roll back unasked" bash -c '! grep -q "rolled the head back" <<<"$1"' _ "$out"
says "--repair names the damaged message and moves it to .lost+found" "REPAIRED: /$last: damaged (chunk $c altered .*): moved to /.lost+found/cur/${last##*/} (0 of its"
# A reader that saw commit $head_seq must take the repaired state as news:
# it is a new commit above it, whose parent is the newest commit that does
# not name the damaged block.
says "the salvaged state is the new commit $((head_seq + 1)), after commit $((head_seq - 1))" "the new commit $((head_seq + 1)) follows commit $((head_seq - 1)) "
seqs=$(ipmd_seqs "$S" 2)
is "$seqs" "$((head_seq + 1)) $((head_seq - 1))" "log: the new commit, then the intact one below the damage"
ipmd_fsck_exits 0 "fsck after the repair: clean"
is "$(json_fsck 'd["exit"], d["result"], len(d["damage"]), d["store"]')" "0 clean 0 $S" \
	"fsck --json after the repair: exit 0, clean, no damage, the store named"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "the repaired mailbox mounts; older messages read back" cmp "$TEST_DIR/big.eml" "$M/cur/big:2,S"
check "the damaged newest message left its folder" test ! -e "$M/$last"
check "and is in .lost+found/cur, saying what happened" grep -q "^Subject: \[ipmaildir fsck\] damaged file /$last" "$M/.lost+found/cur/${last##*/}"
check "the other messages are all there" cmp "$TEST_DIR/big.eml" "$M/cur/big:2,S"
printf 'Subject: after\n\nafter the repair\n' >"$M/new/after" && sync
ipmd_umount "$M"
seq=$(ipmd_seqs "$S" 1)
is "$seq" "$((head_seq + 2))" "the next commit follows the repair's"
ipmd_fsck_exits 0 "fsck over the chain with the repair's seq gap: clean"

# ---------------------------------------------------------------- an index
damage index "/cur/big:2,S" flip_byte "flipped index block: exit 4"
says "names the index block and the file" "file /cur/big:2,S: index block $c: altered"
ipmd_fsck_exits 1 "--repair: exit 1" --repair
says "moves the big message to .lost+found: nothing of it reads" "REPAIRED: /cur/big:2,S: damaged (index block $c altered .*): moved to /.lost+found/cur/big:2,S (0 of its [0-9]* bytes read)"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "the repaired mailbox mounts, the damaged message out of cur/" test ! -e "$M/cur/big:2,S"
check "in .lost+found/cur, saying its index does not read" grep -q "bytes lost here: the file's index does not read" "$M/.lost+found/cur/big:2,S"
check "the newest message is still there" cmp "$TEST_DIR/last.eml" "$M/$last"
ipmd_umount "$M"

# ---------------------------------------------------------------- a directory node
damage directory "/.Sent/cur" flip_byte "flipped directory node: exit 4"
says "names the directory node and the commit" "commit $head_seq: directory node $c: altered"
ipmd_fsck_exits 4 "--repair: an empty folder's node, shared by every commit: exit 4" --repair
says "says no commit is intact" "no retained commit is intact"

# The newest folder node (new/ with the last message): commit $((head_seq - 1))
# is intact, but going back to it is for the user to ask.
damage directory "/new" flip_byte "a damaged folder: exit 4"
ipmd_fsck_exits 4 "--repair of a damaged folder: exit 4, nothing rolled back unasked" --repair
says "names the commit --rollback-to would restore" "not repaired: .* ipmaildir fsck --rollback-to [0-9]* restores"
to=$(sed -n 's/.*--rollback-to \([0-9]*\) restores the newest.*/\1/p' <<<"$out")
seqs=$(ipmd_seqs "$S" 1)
is "$seqs" "$head_seq" "the head is left as it was"
ipmd_fsck_exits 1 "--rollback-to $to: exit 1" --rollback-to "$to"
says "says it rolled back as asked" "rolled the head back from commit $head_seq to commit $to (.*), as asked"
says "the head's tree does not read: says what it dropped can't be listed" "what the rollback dropped can't be listed"
check "the rolled-back store mounts" ipmd_mount "$S" "$M"
ipmd_umount "$M"

# ---------------------------------------------------------------- the head commit
ipmd_copy
hc=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cid"])')
flip_byte "$(blockfile "$hc")"
ipmd_fsck_exits 4 "flipped head commit: exit 4"
says "names the head commit" "the head commit $hc: altered"
ipmd_fsck_exits 1 "--repair rolls back to the newest intact commit: exit 1" --repair
says "and says so" "rolled the head back from commit $head_seq to commit $((head_seq - 1))"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "mounts; the previous state is there" cmp "$TEST_DIR/big.eml" "$M/cur/big:2,S"
ipmd_umount "$M"

# ---------------------------------------------------------------- a missing block
damage chunk "/cur/big:2,S" rm "deleted chunk: exit 4"
says "names the chunk as missing" "file /cur/big:2,S: chunk $c: missing from the store"

# ---------------------------------------------------------------- the head swapped for an older one
ipmd_copy
ipmd_mount "$S" "$M" && printf 'Subject: x\n\nx\n' | ipmd_deliver "$M" && ipmd_umount "$M"
cp "$S/head" "$TEST_DIR/head.old"
ipmd_mount "$S" "$M" && printf 'Subject: y\n\ny\n' | ipmd_deliver "$M" && ipmd_umount "$M"
cp "$TEST_DIR/head.old" "$S/head"
ipmd_fsck_exits 4 "head swapped for an older copy: exit 4"
says "says the head was rolled back (STORE/seen)" "was already accepted here (STORE/seen)"
exits 1 "export --car of the rolled-back head fails" "$IPMD_BIN" export --store "$S" --car "$TEST_DIR/old.car"
says "and says it refuses a rollback" "refusing a rollback"
ipmd_fsck_exits 1 "--repair restores the head from STORE/seen: exit 1" --repair
check "mounts again after the repair" ipmd_mount "$S" "$M"
ipmd_umount "$M"

# ---------------------------------------------------------------- the journal
ipmd_copy
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
for i in 1 2 3; do printf 'Subject: j%s\n\njournal %s\n' "$i" "$i" | ipmd_deliver "$M"; done
ipmd_kill9 "$M"
ipmd_fsck_exits 0 "a pending journal after a crash is not damage: exit 0"
check "fsck reports the records that replay" grep -qE "journal: [0-9]+ files, [0-9]+ records .* changes replay over commit $head_seq" <<<"$out"
cp -a "$S" "$S.mid"
cp -a "$S" "$S.cut"
cp -a "$S" "$S.len"
jnl=$(ls "$S/journal/"*.jnl | tail -n 1)
flip_byte "$jnl" 1 -3
ipmd_fsck_exits 4 "garbled journal tail: exit 4"
says "says the last record does not open" "journal: its last record .* does not open"
says "... cut off by a read-write mount only" "does not open .*: left in place, the next read-write mount cuts it off"
check "a whole record that does not open is no unfinished write" bash -c '! grep -q "unfinished write" <<<"$1"' _ "$out"
ipmd_fsck_exits 1 "--repair: exit 1" --repair
says "cuts the torn record and replays the rest into a commit" "replayed [0-9]* journal records into commit $((head_seq + 1))"
says "and says it cut the torn record" "REPAIRED: cut the torn last journal record"
check "… and no unfinished write" bash -c '! grep -q "unfinished write" <<<"$1"' _ "$out"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "the journaled deliveries before the torn record came back" grep -qs "journal 2" "$M"/new/*
ipmd_umount "$M"

S=$S.mid
jnl=$(ls "$S/journal/"*.jnl | tail -n 1)
flip_byte "$jnl" 1 40
ipmd_fsck_exits 4 "a bad record in the middle of the journal: exit 4"
check "names the journal file and offset" grep -qE "journal $(basename "$jnl"): the record at offset 16 does not open" <<<"$out"
ipmd_fsck_exits 1 "--repair: exit 1" --repair
says "says where it cut the journal" "cut journal $(basename "$jnl") at offset 16"
check "the repaired store mounts" ipmd_mount "$S" "$M"
ipmd_umount "$M"

# An unfinished write at the journal's end, as a crash during a pwrite that
# spans pages leaves it (the pages not yet copied are missing): never
# acknowledged, cut by the next read-write mount, so not damage.
S=${S%.mid}.cut
jnl=$(ls "$S/journal/"*.jnl | tail -n 1)
truncate -s $(($(stat -c %s "$jnl") - 7)) "$jnl"
ipmd_fsck_exits 0 "7 bytes cut off the newest journal file (an unfinished write): exit 0"
says "notes the unfinished write" "^fsck: journal: an unfinished write at the end of the journal ([0-9]* bytes): a crash stopped it before its call returned; left in place, the next read-write mount cuts it off"
check "and reports no damage" bash -c '! grep -q "DAMAGE" <<<"$1"' _ "$out"
is "$(json_fsck 'd["exit"], len(d["damage"]), any("unfinished write" in n for n in d["notes"])')" "0 0 True" \
	"fsck --json: exit 0, no damage, the note among the notes"
cp -a "$S" "$S.rep"
S=$S.rep
ipmd_fsck_exits 1 "--repair replays the pending journal: exit 1" --repair
says "and says it cut the unfinished write" "REPAIRED: cut an unfinished write at the journal's end"
check "… not a torn record" bash -c '! grep -q "REPAIRED: cut the torn" <<<"$1"' _ "$out"
ipmd_fsck_exits 0 "fsck after that repair: exit 0"
check "and says nothing of an unfinished write" bash -c '! grep -q "unfinished write" <<<"$1"' _ "$out"
S=${S%.rep}
ipmd_mount "$S" "$M" || bail "mount over an unfinished write failed"
check "the mount replays the rest: the journaled deliveries are there" \
	bash -c 'grep -qs "journal 1" "$1"/new/* && grep -qs "journal 2" "$1"/new/*' _ "$M"
ipmd_umount "$M"
ipmd_fsck_exits 0 "fsck after that mount: exit 0"
check "and says nothing of an unfinished write" bash -c '! grep -q "unfinished write" <<<"$1"' _ "$out"

# A bit flipped in the first record's length field (+512 KiB) makes the
# rest of the file look like one record cut short; but the next record
# opens inside it, so the records after it were written and synced:
# damage, not an unfinished write, and the mount refuses rather than cut
# them as never acknowledged.
S=${S%.cut}.len
jnl=$(ls "$S/journal/"*.jnl | tail -n 1)
flip_byte "$jnl" 0x08 17
ipmd_fsck_exits 4 "a flipped bit in a journal length field: exit 4"
check "names the journal file and offset" grep -qE "journal $(basename "$jnl"): the record at offset 16 does not open" <<<"$out"
check "and calls it no unfinished write" bash -c '! grep -q "unfinished write" <<<"$1"' _ "$out"
mkdir -p "$M"
run_mount --store "$S" "$M"
is "$rc" 1 "the mount refuses it (exit 1)"
says "saying where the journal is damaged" "journal $(basename "$jnl") is damaged at offset 16"
check "and not that it cut an unfinished write" bash -c '! grep -qE "unfinished write|never acknowledged" <<<"$1"' _ "$out"
mountpoint -q "$M" && fusermount3 -u "$M"

# ---------------------------------------------------------------- a forged signature
# A head commit that opens under this mailbox's manifest key but is signed
# by another mailbox's key (tests/tools/forge_commit).
ipmd_copy
O=$TEST_DIR/other
[ -e "$O/key" ] || ipmd_init "$O" >/dev/null || bail "init of the other mailbox failed"
check "a commit signed by another key is written" "$IPMD_TOOLS/forge_commit" "$S" "$O"
ipmd_fsck_exits 4 "a forged head commit: exit 4"
says "says it is not signed by this mailbox's key" "the head commit .*: not signed by this mailbox's key"
mkdir -p "$M"
run_mount --store "$S" "$M"
is "$rc" 1 "the mount refuses it (exit 1)"
says "saying why" "not signed by this mailbox's key"
mountpoint -q "$M" && fusermount3 -u "$M"

# ---------------------------------------------------------------- while mounted
ipmd_copy
ipmd_mount "$S" "$M" || bail "mount failed"
ipmd_fsck_exits 8 "--repair while mounted: exit 8" --repair
says "and says the mailbox is mounted" "is mounted"
ipmd_fsck_exits 0 "a check while mounted: exit 0"
says "leaves the journal alone" "journal: not checked: the mailbox is mounted"
ipmd_umount "$M"
ipmd_fsck_exits 2 "an unknown option: exit 2" --bogus
done_testing
