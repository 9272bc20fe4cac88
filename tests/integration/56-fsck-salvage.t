#!/usr/bin/env bash
# 56-fsck-salvage.t — issue 12 item 4: one lost block must not cost the
# mailbox.  N messages in two folders (some flagged) and a big one over
# three chunks; a small message's only chunk and the big one's middle
# chunk are deleted from the store.  fsck --repair moves just those two to
# the Maildir++ folder .lost+found (named on its output, what could be read
# kept) and every other message stays byte-exact with its flags and
# folder, through a remount and a gc.  Also: a damaged file only the
# journal names; a block whose node does not answer (not damage: left in
# place); every retained commit naming the lost block (the history starts
# at the salvage).  A rollback happens only when asked (--rollback-to SEQ)
# and lists each message it drops.  IPMD_SALVAGE_N sets N.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the store itself"
command -v python3 >/dev/null || skip_all "python3 not installed"

N=${IPMD_SALVAGE_N:-200}
S=$TEST_DIR/store M=$TEST_DIR/mnt W=$TEST_DIR/want
mkdir -p "$W/cur" "$W/.Sent/cur"
# Messages: i%5==0 into .Sent, i%3==0 flagged Seen, the rest unflagged.
msg_path() {
	local i=$1 dir=cur flags=
	[ $((i % 5)) -eq 0 ] && dir=.Sent/cur
	[ $((i % 3)) -eq 0 ] && flags=S
	echo "$dir/msg$i.salvage:2,$flags"
}
for i in $(seq 1 "$N"); do
	printf 'Subject: message %s\nMessage-Id: <%s@salvage>\n\nbody of message %s\n' \
		"$i" "$i" "$i" >"$W/$(msg_path "$i")"
done
gen_message big 700000 >"$W/cur/big:2,S"

ipmd_init "$S" || bail "init failed"
ipmd_mount "$S" "$M" || bail "mount failed"
mkdir -p "$M/cur" "$M/new" "$M/tmp" "$M/.Sent/cur" "$M/.Sent/new" "$M/.Sent/tmp"
half=$((N / 2))
for i in $(seq 1 "$half"); do cp "$W/$(msg_path "$i")" "$M/$(msg_path "$i")"; done
cp "$W/cur/big:2,S" "$M/cur/big:2,S"
ipmd_umount "$M" || bail "unmount failed"
seq_half=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')
ipmd_mount "$S" "$M" || bail "mount failed"
for i in $(seq $((half + 1)) "$N"); do cp "$W/$(msg_path "$i")" "$M/$(msg_path "$i")"; done
ipmd_umount "$M" || bail "unmount failed"
head_seq=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')

"$IPMD_BIN" fsck --store "$S" -v >"$TEST_DIR/list" 2>&1
is "$?" 0 "fsck of the intact store: clean"
cp -a "$S" "$TEST_DIR/pristine"
blockfile() { echo "$S/blocks/${1:(-3):2}/$1"; }
cid_of() { awk -v k="$1" -v p="$2" '$2 == "ok" && $3 == k && $5 == p { print $4; exit }' "$TEST_DIR/list"; }
chunks_of() { awk -v p="$1" '$2 == "ok" && $3 == "chunk" && $5 == p { print $4 }' "$TEST_DIR/list"; }

# The damage: a small message's one chunk, the big one's middle chunk.
victim=$(msg_path 7)
c=$(cid_of chunk "/$victim")
check "fsck -v lists the victim's chunk" test -n "$c"
rm "$(blockfile "$c")"
mapfile -t big_chunks < <(chunks_of "/cur/big:2,S")
is "${#big_chunks[@]}" 3 "the big message has three chunks"
rm "$(blockfile "${big_chunks[1]}")"

out=$("$IPMD_BIN" fsck --store "$S" 2>&1); rc=$?
is "$rc" 4 "fsck finds the damage: exit 4"
out=$("$IPMD_BIN" fsck --store "$S" --repair 2>&1); rc=$?
printf '%s\n' "$out" >"$TEST_DIR/repair.out"
is "$rc" 1 "fsck --repair: exit 1 (corrected)"
check "no rollback without asking" bash -c '! grep -q "rolled the head back" "$1"' _ "$TEST_DIR/repair.out"
check "names the damaged small message and where it went" \
	grep -qF "fsck: REPAIRED: /$victim: damaged (chunk $c missing from the store): moved to /.lost+found/cur/msg7.salvage:2, (0 of its $(stat -c %s "$W/$victim") bytes read)" "$TEST_DIR/repair.out"
big_size=$(stat -c %s "$W/cur/big:2,S")
big_line=$(grep -F "fsck: REPAIRED: /cur/big:2,S: damaged (chunk ${big_chunks[1]} missing from the store): moved to /.lost+found/cur/big:2,S (" "$TEST_DIR/repair.out")
check "names the damaged big message and where it went" test -n "$big_line"
big_read=$(sed -n "s/.*(\([0-9]*\) of its $big_size bytes read)\$/\1/p" <<<"$big_line")
is "$(grep -c '^fsck: REPAIRED: /.*moved to /.lost+found' "$TEST_DIR/repair.out")" 2 "exactly two files moved"
check "says the repaired store checks clean" grep -q "repaired: the mailbox is consistent" "$TEST_DIR/repair.out"
check "the new commit skips the commits that name the lost blocks" grep -q "name the lost blocks: the new commit [0-9]* follows commit [0-9]*" "$TEST_DIR/repair.out"
new_seq=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')
check "the repair is a new commit above the damaged head $head_seq" test "$new_seq" -gt "$head_seq"
out=$("$IPMD_BIN" fsck --store "$S" 2>&1); rc=$?
is "$rc" 0 "fsck after the repair: clean"

# compare_intact — every message but the two damaged ones is byte-exact,
# under its own name (flags) in its own folder, and nothing else is there.
compare_intact() {
	local bad=0 i p
	for i in $(seq 1 "$N"); do
		[ "$i" -eq 7 ] && continue
		p=$(msg_path "$i")
		cmp -s "$W/$p" "$M/$p" || { diag "differs or missing: $p"; bad=1; }
	done
	local got want
	got=$(cd "$M" && find cur .Sent -type f | sort)
	want=$(cd "$W" && find cur .Sent -type f ! -name 'big:2,S' ! -name 'msg7.salvage:2,' | sort)
	[ "$got" = "$want" ] || { diag "the folders hold other files"; bad=1; }
	return $bad
}
# compare_intact_pristine — every message of the intact store is there,
# byte-exact, under its name, in its folder.
compare_intact_pristine() {
	local bad=0 i p
	for i in $(seq 1 "$N"); do
		p=$(msg_path "$i")
		cmp -s "$W/$p" "$M/$p" || { diag "differs or missing: $p"; bad=1; }
	done
	cmp -s "$W/cur/big:2,S" "$M/cur/big:2,S" || { diag "big differs"; bad=1; }
	return $bad
}
ipmd_mount "$S" "$M" || bail "mount after repair failed"
check "all $((N - 1)) other small messages byte-exact, flags and folders kept" compare_intact
check ".lost+found is a Maildir++ folder (cur new tmp)" test -d "$M/.lost+found/cur" -a -d "$M/.lost+found/new" -a -d "$M/.lost+found/tmp"
check "the damaged message is in .lost+found/cur, saying what it was" \
	grep -q "^Subject: \[ipmaildir fsck\] damaged file /$victim\$" "$M/.lost+found/cur/msg7.salvage:2,"
# The big one: what read, byte-exact around one marker for the lost chunk.
check "the big one keeps the $big_read bytes that read, around a marker for the rest" \
	python3 - "$M/.lost+found/cur/big:2,S" "$W/cur/big:2,S" "$big_read" <<'PY'
import re, sys
got, orig, n = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), int(sys.argv[3])
body = got.split(b"-" * 72 + b"\n", 1)[1]
parts = re.split(rb"\n\[ipmaildir fsck: (\d+) bytes lost here\]\n", body)
assert len(parts) == 3, "one marker"
pre, lost, post = parts[0], int(parts[1]), parts[2]
assert pre and post and lost > 0
assert orig.startswith(pre) and orig.endswith(post)
assert len(pre) + lost + len(post) == len(orig) and len(pre) + len(post) == n
PY
ipmd_umount "$M"

out=$("$IPMD_BIN" gc --store "$S" 2>&1); rc=$?
is "$rc" 0 "gc runs after the repair"
ipmd_mount "$S" "$M" || bail "mount after gc failed"
check "after gc every intact message is still byte-exact" compare_intact
ipmd_umount "$M"
out=$("$IPMD_BIN" fsck --store "$S" --deep 2>&1); rc=$?
is "$rc" 0 "fsck --deep after gc: clean"

# A damaged file that only the journal names (written, fsynced, then the
# daemon killed before a commit): salvaged the same way; the commits below
# name none of its blocks, so the salvage follows the head as usual.
S=$TEST_DIR/journal
cp -a "$TEST_DIR/pristine" "$S"
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
touch "$TEST_DIR/before-journal"
sleep 1
gen_message jbig 700000 >"$TEST_DIR/jbig.eml"
cp "$TEST_DIR/jbig.eml" "$M/tmp/jbig" && python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$M/tmp/jbig"
mv "$M/tmp/jbig" "$M/cur/jbig:2,S"
ipmd_kill9 "$M"
# Its chunks are the big blocks written after the mark (over WAL_EMBED_MAX,
# so in the store, not carried in the journal).
jchunk=$(find "$S/blocks" -type f -newer "$TEST_DIR/before-journal" -size +100k | head -n 1)
check "the journaled message's chunks are in the store" test -n "$jchunk"
rm -f "$jchunk"
out=$("$IPMD_BIN" fsck --store "$S" --repair 2>&1); rc=$?
is "$rc" 1 "--repair of a damaged file only the journal names: exit 1"
check "names it and moves it to .lost+found" grep -q "^fsck: REPAIRED: /cur/jbig:2,S: damaged (chunk $(basename "$jchunk") missing from the store): moved to /.lost+found/cur/jbig:2,S (" <<<"$out"
is "$("$IPMD_BIN" log --store "$S" --json | python3 -c 'import json,sys; print(" ".join(str(c["seq"]) for c in json.load(sys.stdin)))')" "$((head_seq + 2)) $(seq -s ' ' "$head_seq" -1 1)" "log: the new commit, then every commit of the intact store"
check "the new commit skips only the replay's, which names the lost block" grep -q "commits $((head_seq + 1)) to $((head_seq + 1)) name the lost blocks: the new commit $((head_seq + 2)) follows commit $head_seq " <<<"$out"
out=$("$IPMD_BIN" fsck --store "$S" --deep 2>&1); rc=$?
is "$rc" 0 "fsck --deep after it: clean"
ipmd_mount "$S" "$M" || bail "mount failed"
check "the committed messages are all there" compare_intact_pristine
ipmd_umount "$M"

# A block gone here whose node does not answer is not known to be lost:
# the file stays where it is, and nothing is rolled back.
S=$TEST_DIR/nodedown
cp -a "$TEST_DIR/pristine" "$S"
rm "$(blockfile "$c")"
out=$("$IPMD_BIN" fsck --store "$S" --repair --node "/ip4/127.0.0.1/tcp/$(free_port)" 2>&1); rc=$?
is "$rc" 4 "--repair with the node down: exit 4 (left)"
check "says it leaves the file in place" grep -qF "fsck: /$victim: a read error, not damage: --repair leaves it in place" <<<"$out"
check "moves and rolls back nothing" bash -c '! grep -q "REPAIRED" <<<"$1"' _ "$out"
is "$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')" "$head_seq" "the head is still commit $head_seq"

# Every retained commit names the lost block (gc kept only the head): the
# salvage starts the history.
S=$TEST_DIR/pruned
cp -a "$TEST_DIR/pristine" "$S"
out=$("$IPMD_BIN" gc --store "$S" --keep-last 1 2>&1); rc=$?
is "$rc" 0 "gc --keep-last 1 on a copy of the intact store"
rm "$(blockfile "$c")"
out=$("$IPMD_BIN" fsck --store "$S" --repair 2>&1); rc=$?
is "$rc" 1 "--repair with no retained commit free of the lost block: exit 1"
check "says the history now starts at the new commit" grep -q "every retained commit names the lost blocks: the history now starts at the new commit $((head_seq + 1))" <<<"$out"
is "$("$IPMD_BIN" log --store "$S" --json | python3 -c 'import json,sys; print(" ".join(str(c["seq"]) for c in json.load(sys.stdin)))')" "$((head_seq + 1))" "log: just the new commit"
out=$("$IPMD_BIN" gc --store "$S" 2>&1); rc=$?
is "$rc" 0 "gc runs after it"
out=$("$IPMD_BIN" fsck --store "$S" --deep 2>&1); rc=$?
is "$rc" 0 "fsck --deep: clean"

# An explicit rollback (on a copy made before the damage): the state of
# the first half, saying what it drops.
S=$TEST_DIR/pristine
out=$("$IPMD_BIN" fsck --store "$S" --repair 2>&1); rc=$?
is "$rc" 0 "--repair of an intact store: exit 0, nothing rolled back"
out=$("$IPMD_BIN" fsck --store "$S" --rollback-to 999999 2>&1); rc=$?
is "$rc" 8 "--rollback-to a commit not in the chain: exit 8"
check "and says so" grep -q "no such commit in the retained chain" <<<"$out"
out=$("$IPMD_BIN" fsck --store "$S" --rollback-to "$seq_half" 2>&1); rc=$?
printf '%s\n' "$out" >"$TEST_DIR/rollback.out"
is "$rc" 1 "--rollback-to $seq_half: exit 1"
check "says it rolled back as asked" grep -q "rolled the head back from commit [0-9]* to commit $seq_half (.*), as asked" "$TEST_DIR/rollback.out"
want=$(for i in $(seq $((half + 1)) "$N"); do echo "fsck: DROPPED: /$(msg_path "$i")"; done)
got=$(grep '^fsck: DROPPED: ' "$TEST_DIR/rollback.out" | sort)
is "$got" "$(sort <<<"$want")" "lists each message it drops: the second half, no other"
check "and counts them" grep -q "the rollback dropped $((N - half)) files" "$TEST_DIR/rollback.out"
ipmd_mount "$S" "$M" || bail "mount after rollback failed"
ok_first=1
for i in $(seq 1 "$half"); do cmp -s "$W/$(msg_path "$i")" "$M/$(msg_path "$i")" || ok_first=0; done
is "$ok_first" 1 "the first half is there after the rollback"
check "the second half is not" test ! -e "$M/$(msg_path "$N")"
ipmd_umount "$M"
out=$("$IPMD_BIN" fsck --store "$S" 2>&1); rc=$?
is "$rc" 0 "fsck after the rollback: clean"
done_testing
