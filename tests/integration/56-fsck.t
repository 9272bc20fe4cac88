#!/usr/bin/env bash
# 56-fsck.t — ipmaildir fsck finds each kind of damage, names the block and
# the file, exits as e2fsck does (0 clean, 1 corrected, 4 left, 8 could not
# run), and --repair leaves a mailbox that mounts and says what it lost.
# Damage is made on copies of one store with real deliveries: a flipped byte
# in a chunk, an index block, a directory node and a commit; a deleted
# block; a garbled journal (tail and middle); a head swapped for an older one.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the store itself"
command -v python3 >/dev/null || skip_all "python3 not installed"

P=$TEST_DIR/pristine M=$TEST_DIR/mnt
deliver() { "$IPMD_TOOLS/maildir_deliver" "$1" >/dev/null; }
ipmd_init "$P" || bail "init failed"
ipmd_mount "$P" "$M" || bail "mount failed"
for i in 1 2 3; do printf 'Subject: m%s\n\nbody %s\n' "$i" "$i" | deliver "$M"; done
gen_message big 700000 >"$TEST_DIR/big.eml"
cp "$TEST_DIR/big.eml" "$M/cur/big:2,S"
mkdir -p "$M/.Sent/cur" "$M/.Sent/new" "$M/.Sent/tmp"
printf 'Subject: sent\n\nsent\n' | deliver "$M/.Sent"
ipmd_umount "$M" || bail "unmount failed"
ipmd_mount "$P" "$M" || bail "mount failed"
printf 'Subject: last\n\nthe last message\n' >"$TEST_DIR/last.eml"
last=$("$IPMD_TOOLS/maildir_deliver" "$M" <"$TEST_DIR/last.eml")
ipmd_umount "$M" || bail "unmount failed"
head_seq=$("$IPMD_BIN" log --store "$P" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')

"$IPMD_BIN" fsck --store "$P" -v >"$TEST_DIR/list" 2>&1
is "$?" 0 "fsck of an intact store exits 0"
check "and says clean" grep -q '^fsck: clean' "$TEST_DIR/list"

# blockfile CID — where bs_local keeps it (two characters before the last).
blockfile() { echo "$S/blocks/${1:(-3):2}/$1"; }
# cid_of KIND PATH — the CID fsck -v listed for that kind and file.
cid_of() { awk -v k="$1" -v p="$2" '$2 == "ok" && $3 == k && $5 == p { print $4; exit }' "$TEST_DIR/list"; }
flip() { python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x40
open(p, 'wb').write(bytes(b))
PY
}
# fresh — S becomes a new copy of the pristine store.
n=0
fresh() { n=$((n + 1)); S=$TEST_DIR/s$n; cp -a "$P" "$S"; }
# run_fsck ARGS... — output in $out, status in $rc.
run_fsck() { out=$("$IPMD_BIN" fsck --store "$S" "$@" 2>&1); rc=$?; }

# ---------------------------------------------------------------- a chunk
fresh
c=$(cid_of chunk "/$last")
check "fsck -v lists the last message's chunk" test -n "$c"
flip "$(blockfile "$c")"
run_fsck
is "$rc" 4 "flipped chunk: exit 4 (errors left)"
check "names the chunk, the file and what is wrong" grep -q "file /$last: chunk $c: altered" <<<"$out"
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
run_fsck --repair
is "$rc" 1 "--repair: exit 1 (corrected)"
check "--repair does not roll back unasked" bash -c '! grep -q "rolled the head back" <<<"$1"' _ "$out"
check "--repair names the damaged message and moves it to .lost+found" grep -q "REPAIRED: /$last: damaged (chunk $c altered .*): moved to /.lost+found/cur/${last##*/} (0 of its" <<<"$out"
# A reader that saw commit $head_seq must take the repaired state as news:
# it is a new commit above it, whose parent is the newest commit that does
# not name the damaged block.
check "the salvaged state is the new commit $((head_seq + 1)), after commit $((head_seq - 1))" grep -q "the new commit $((head_seq + 1)) follows commit $((head_seq - 1)) " <<<"$out"
seqs=$("$IPMD_BIN" log --store "$S" --json -n 2 | python3 -c 'import json,sys; print(" ".join(str(c["seq"]) for c in json.load(sys.stdin)))')
is "$seqs" "$((head_seq + 1)) $((head_seq - 1))" "log: the new commit, then the intact one below the damage"
run_fsck
is "$rc" 0 "fsck after the repair: clean"
is "$(json_fsck 'd["exit"], d["result"], len(d["damage"]), d["store"]')" "0 clean 0 $S" \
	"fsck --json after the repair: exit 0, clean, no damage, the store named"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "the repaired mailbox mounts; older messages read back" cmp "$TEST_DIR/big.eml" "$M/cur/big:2,S"
check "the damaged newest message left its folder" test ! -e "$M/$last"
check "and is in .lost+found/cur, saying what happened" grep -q "^Subject: \[ipmaildir fsck\] damaged file /$last" "$M/.lost+found/cur/${last##*/}"
check "the other messages are all there" cmp "$TEST_DIR/big.eml" "$M/cur/big:2,S"
printf 'Subject: after\n\nafter the repair\n' >"$M/new/after" && sync
ipmd_umount "$M"
seq=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')
is "$seq" "$((head_seq + 2))" "the next commit follows the repair's"
run_fsck
is "$rc" 0 "fsck over the chain with the repair's seq gap: clean"

# ---------------------------------------------------------------- an index
fresh
c=$(cid_of index "/cur/big:2,S")
check "fsck -v lists the big message's index block" test -n "$c"
flip "$(blockfile "$c")"
run_fsck
is "$rc" 4 "flipped index block: exit 4"
check "names the index block and the file" grep -q "file /cur/big:2,S: index block $c: altered" <<<"$out"
run_fsck --repair
is "$rc" 1 "--repair: exit 1"
check "moves the big message to .lost+found: nothing of it reads" grep -q "REPAIRED: /cur/big:2,S: damaged (index block $c altered .*): moved to /.lost+found/cur/big:2,S (0 of its [0-9]* bytes read)" <<<"$out"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "the repaired mailbox mounts, the damaged message out of cur/" test ! -e "$M/cur/big:2,S"
check "in .lost+found/cur, saying its index does not read" grep -q "bytes lost here: the file's index does not read" "$M/.lost+found/cur/big:2,S"
check "the newest message is still there" cmp "$TEST_DIR/last.eml" "$M/$last"
ipmd_umount "$M"

# ---------------------------------------------------------------- a directory node
fresh
c=$(cid_of directory "/.Sent/cur")
check "fsck -v lists the .Sent/cur directory node" test -n "$c"
flip "$(blockfile "$c")"
run_fsck
is "$rc" 4 "flipped directory node: exit 4"
check "names the directory node and the commit" grep -q "commit $head_seq: directory node $c: altered" <<<"$out"
run_fsck --repair
is "$rc" 4 "--repair: an empty folder's node, shared by every commit: exit 4"
check "says no commit is intact" grep -q "no retained commit is intact" <<<"$out"

# The newest folder node (new/ with the last message): commit $((head_seq - 1))
# is intact, but going back to it is for the user to ask.
fresh
c=$(cid_of directory "/new")
flip "$(blockfile "$c")"
run_fsck --repair
is "$rc" 4 "--repair of a damaged folder: exit 4, nothing rolled back unasked"
check "names the commit --rollback-to would restore" grep -q "not repaired: .* ipmaildir fsck --rollback-to [0-9]* restores" <<<"$out"
to=$(sed -n 's/.*--rollback-to \([0-9]*\) restores the newest.*/\1/p' <<<"$out")
seqs=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')
is "$seqs" "$head_seq" "the head is left as it was"
run_fsck --rollback-to "$to"
is "$rc" 1 "--rollback-to $to: exit 1"
check "says it rolled back as asked" grep -q "rolled the head back from commit $head_seq to commit $to (.*), as asked" <<<"$out"
check "the head's tree does not read: says what it dropped can't be listed" grep -q "what the rollback dropped can't be listed" <<<"$out"
check "the rolled-back store mounts" ipmd_mount "$S" "$M"
ipmd_umount "$M"

# ---------------------------------------------------------------- the head commit
fresh
hc=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cid"])')
flip "$(blockfile "$hc")"
run_fsck
is "$rc" 4 "flipped head commit: exit 4"
check "names the head commit" grep -q "the head commit $hc: altered" <<<"$out"
run_fsck --repair
is "$rc" 1 "--repair rolls back to the newest intact commit: exit 1"
check "and says so" grep -q "rolled the head back from commit $head_seq to commit $((head_seq - 1))" <<<"$out"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "mounts; the previous state is there" cmp "$TEST_DIR/big.eml" "$M/cur/big:2,S"
ipmd_umount "$M"

# ---------------------------------------------------------------- a missing block
fresh
c=$(cid_of chunk "/cur/big:2,S")
rm "$(blockfile "$c")"
run_fsck
is "$rc" 4 "deleted chunk: exit 4"
check "names the chunk as missing" grep -q "file /cur/big:2,S: chunk $c: missing from the store" <<<"$out"

# ---------------------------------------------------------------- the head swapped for an older one
fresh
ipmd_mount "$S" "$M" && printf 'Subject: x\n\nx\n' | deliver "$M" && ipmd_umount "$M"
cp "$S/head" "$TEST_DIR/head.old"
ipmd_mount "$S" "$M" && printf 'Subject: y\n\ny\n' | deliver "$M" && ipmd_umount "$M"
cp "$TEST_DIR/head.old" "$S/head"
run_fsck
is "$rc" 4 "head swapped for an older copy: exit 4"
check "says the head was rolled back (STORE/seen)" grep -q "was already accepted here (STORE/seen)" <<<"$out"
out=$("$IPMD_BIN" export --store "$S" --car "$TEST_DIR/old.car" 2>&1); rc=$?
is "$rc" 1 "export --car of the rolled-back head fails"
check "and says it refuses a rollback" grep -q "refusing a rollback" <<<"$out"
run_fsck --repair
is "$rc" 1 "--repair restores the head from STORE/seen: exit 1"
check "mounts again after the repair" ipmd_mount "$S" "$M"
ipmd_umount "$M"

# ---------------------------------------------------------------- the journal
fresh
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
for i in 1 2 3; do printf 'Subject: j%s\n\njournal %s\n' "$i" "$i" | deliver "$M"; done
ipmd_kill9 "$M"
run_fsck
is "$rc" 0 "a pending journal after a crash is not damage: exit 0"
check "fsck reports the records that replay" grep -qE "journal: [0-9]+ files, [0-9]+ records .* changes replay over commit $head_seq" <<<"$out"
cp -a "$S" "$S.mid"
jnl=$(ls "$S/journal/"*.jnl | tail -n 1)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-3]^=1; open(p,"wb").write(bytes(b))' "$jnl"
run_fsck
is "$rc" 4 "garbled journal tail: exit 4"
check "says the last record is torn" grep -q "journal: its last record .* is torn" <<<"$out"
run_fsck --repair
is "$rc" 1 "--repair: exit 1"
check "cuts the torn record and replays the rest into a commit" grep -q "replayed [0-9]* journal records into commit $((head_seq + 1))" <<<"$out"
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "the journaled deliveries before the torn record came back" grep -qs "journal 2" "$M"/new/*
ipmd_umount "$M"

S=$S.mid
jnl=$(ls "$S/journal/"*.jnl | tail -n 1)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[40]^=1; open(p,"wb").write(bytes(b))' "$jnl"
run_fsck
is "$rc" 4 "a bad record in the middle of the journal: exit 4"
check "names the journal file and offset" grep -qE "journal $(basename "$jnl"): the record at offset 16 does not open" <<<"$out"
run_fsck --repair
is "$rc" 1 "--repair: exit 1"
check "says where it cut the journal" grep -q "cut journal $(basename "$jnl") at offset 16" <<<"$out"
check "the repaired store mounts" ipmd_mount "$S" "$M"
ipmd_umount "$M"

# ---------------------------------------------------------------- a forged signature
# A head commit that opens under this mailbox's manifest key but is signed
# by another mailbox's key (tests/tools/forge_commit).
fresh
O=$TEST_DIR/other
[ -e "$O/key" ] || ipmd_init "$O" >/dev/null || bail "init of the other mailbox failed"
check "a commit signed by another key is written" "$IPMD_TOOLS/forge_commit" "$S" "$O"
run_fsck
is "$rc" 4 "a forged head commit: exit 4"
check "says it is not signed by this mailbox's key" grep -q "the head commit .*: not signed by this mailbox's key" <<<"$out"
mkdir -p "$M"
out=$("$IPMD_BIN" mount --store "$S" "$M" 2>&1)
rc=$?
check "the mount refuses it" test "$rc" != 0
check "saying why" grep -q "not signed by this mailbox's key" <<<"$out"
mountpoint -q "$M" && fusermount3 -u "$M"

# ---------------------------------------------------------------- while mounted
fresh
ipmd_mount "$S" "$M" || bail "mount failed"
run_fsck --repair
is "$rc" 8 "--repair while mounted: exit 8"
check "and says the mailbox is mounted" grep -q "is mounted" <<<"$out"
run_fsck
is "$rc" 0 "a check while mounted: exit 0"
check "leaves the journal alone" grep -q "journal: not checked: the mailbox is mounted" <<<"$out"
ipmd_umount "$M"
run_fsck --bogus
is "$rc" 2 "an unknown option: exit 2"
done_testing
