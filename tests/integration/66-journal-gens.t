#!/usr/bin/env bash
# 66-journal-gens.t — opening a store read-write that replays nothing
# (a mount without mail, fsck --repair on a clean store) reuses the newest
# empty journal generation instead of starting one more, and drops older
# empty ones; records appended to a reused generation survive a crash.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's journal"

S=$TEST_DIR/store M=$TEST_DIR/mnt
ipmd_init "$S" || bail "init"
njnl() { find "$S/journal" -name '*.jnl' | wc -l; }
gens() { find "$S/journal" -name '*.jnl' -printf '%f\n' | sort | tr '\n' ' '; }

ipmd_mount "$S" "$M" || bail "mount"
echo "Subject: one" > "$M/new/one"
ipmd_umount "$M" || bail "umount"
is "$(njnl)" 1 "after a mount with mail and an unmount: one generation"
first=$(gens)

for i in 1 2 3; do
	ipmd_mount "$S" "$M" || bail "mount $i"
	ipmd_umount "$M" || bail "umount $i"
done
is "$(njnl)" 1 "three mounts that change nothing leave one generation"
is "$(gens)" "$first" "…the same one, reused"

for i in 1 2 3; do
	"$IPMD_BIN" fsck --repair --store "$S" >/dev/null 2>&1
	is "$?" 0 "fsck --repair $i on a clean store: clean"
done
is "$(njnl)" 1 "repeated fsck --repair leaves one generation"

# Empty generations left by an older version (or a crash between the
# open and the drop) go at the next open; the newest is the one reused.
g=$(basename "$(find "$S/journal" -name '*.jnl')" .jnl)
next=$(printf '%016x' $((16#$g + 1)))
after=$(printf '%016x' $((16#$g + 2)))
cp "$S/journal/$g.jnl" "$TEST_DIR/empty.jnl"
# An empty generation is its 16-byte header: "ipmdjnl1" and the gen.
hdr() { printf 'ipmdjnl1'; python3 -c 'import sys; sys.stdout.buffer.write(int(sys.argv[1], 16).to_bytes(8, "big"))' "$1"; }
hdr "$next" > "$S/journal/$next.jnl"
hdr "$after" > "$S/journal/$after.jnl"
is "$(njnl)" 3 "three empty generations planted"
ipmd_mount "$S" "$M" || bail "mount over planted generations"
is "$(gens)" "$after.jnl " "the mount keeps only the newest empty generation"

# A crash after records went into the reused generation: they replay.
# Nothing commits on its own for a minute, so only the journal has them.
ipmd_umount "$M" || bail "umount"
ipmd_mount "$S" "$M" -o commit_delay=60000 || bail "mount (slow commits)"
is "$(gens)" "$after.jnl " "…reused again by the next mount"
gen_message 7 3000 > "$TEST_DIR/m2"
cp "$TEST_DIR/m2" "$M/tmp/m2" && sync "$M/tmp/m2" && mv "$M/tmp/m2" "$M/new/m2"
check "the message is in the reused generation" test "$(stat -c %s "$S/journal/$after.jnl")" -gt 16
ipmd_kill9 "$M"
ipmd_mount "$S" "$M" || bail "remount after the crash"
check "after a crash the journaled message is there" cmp -s "$TEST_DIR/m2" "$M/new/m2"
check "…and the older message too" test -f "$M/new/one"
ipmd_umount "$M" || bail "umount"
is "$(njnl)" 1 "after the replay's commit: one generation again"
"$IPMD_BIN" fsck --store "$S" >/dev/null 2>&1
is "$?" 0 "fsck: clean"

# Several generations pending: every commit fails after it rotated the
# journal (each sync of the store fails), so the head keeps naming the
# oldest.  One of the middle ones lost (deleted by hand, a disk fault) took
# acknowledged deliveries with it: the mount must refuse, not replay the
# others as if it had never been.
# refused_then_repaired FILE WHAT — generation FILE (NNN.jnl, removed) is
# missing: the mount refuses in one line naming it and the directory and
# leaves the journal as it was; fsck says DAMAGE (exit 4); status and gc
# name it; fsck --repair replays across it (exit 1), after which fsck is
# clean.
refused_then_repaired() {
	local file=$1 what=$2 gen=$((16#${1%.jnl}))
	mkdir -p "$M"
	run_mount --store "$S" "$M"
	mountpoint -q "$M" && fusermount3 -u "$M"
	is "$rc" 1 "the mount refuses a missing $what generation (exit 1)"
	says "…in one line naming it and the directory" "journal generation $gen is missing: any changes $file (in $S/journal) held are lost; refusing to mount without it; run ipmaildir fsck"
	check "…and the journal is left as it was" test ! -e "$S/journal/$file"
	ipmd_fsck_exits 4 "fsck: exit 4"
	says "…as DAMAGE naming the generation" "DAMAGE: journal generation $gen is missing ($file"
	check "status names it" bash -c '"$1" status --store "$2" 2>&1 | grep -q "^journal: *generation $3 is missing: run ipmaildir fsck"' _ "$IPMD_BIN" "$S" "$gen"
	run "$IPMD_BIN" gc --store "$S"
	check "gc refuses to collect over it" test "$rc" != 0
	says "…saying why" "the journal does not replay cleanly (a generation is missing)"
	ipmd_fsck_exits 1 "fsck --repair: exit 1 (corrected)" --repair
	says "…saying it replayed across the lost generation" "REPAIRED: replayed the journal across the missing generation $gen"
	ipmd_fsck_exits 0 "fsck after the repair: clean"
}
newest() { find "$S/journal" -name '*.jnl' -printf '%f\n' | sort | tail -n 1; }
# wait_rotation N — until more than N generations exist (a commit tried).
wait_rotation() {
	local i
	for i in $(seq 200); do [ "$(njnl)" -gt "$1" ] && return 0; sleep 0.1; done
	return 1
}
IPMD_FAULT=sync=1 ipmd_mount "$S" "$M" -o commit_delay=1000 || bail "mount (failing syncs)"
printf 'Subject: g1\n\nbefore the gap\n' | ipmd_deliver "$M" || bail "deliver g1"
n=$(njnl); wait_rotation "$n" || bail "no commit tried after g1"
# Everything of g1 is older than this file, everything of g3 newer.
mid=$(newest)
printf 'Subject: g2\n\nin the gap\n' | ipmd_deliver "$M" || bail "deliver g2"
n=$(njnl); wait_rotation "$n" || bail "no commit tried after g2"
printf 'Subject: g3\n\nafter the gap\n' | ipmd_deliver "$M" || bail "deliver g3"
ipmd_kill9 "$M"
diag "pending: $(gens); removing $mid ($(stat -c %s "$S/journal/$mid") bytes)"
check "the oldest pending generation is older than the one removed" \
	test "$(find "$S/journal" -name '*.jnl' -printf '%f\n' | sort | head -n 1)" '<' "$mid"
rm "$S/journal/$mid"
refused_then_repaired "$mid" middle
ipmd_mount "$S" "$M" || bail "mount after the repair"
check "the delivery before the gap is there" grep -qs "before the gap" "$M"/new/*
check "…and the one after it" grep -qs "after the gap" "$M"/new/*
ipmd_umount "$M" || bail "umount"

# The FIRST pending generation lost: the one the head names.  The head
# says its file must be there (journal_first, fs/store/head.h), so the
# generations after it replaying alone is refused as for a middle one.
oldest() { find "$S/journal" -name '*.jnl' -printf '%f\n' | sort | head -n 1; }
HS=$IPMD_TOOLS/head_state
IPMD_FAULT=sync=1 ipmd_mount "$S" "$M" -o commit_delay=1000 || bail "mount (failing syncs, 2)"
first=$(oldest)
fgen=$((16#${first%.jnl}))
is "$("$HS" "$S")" "journal_gen=$fgen journal_first=1" "the head names the generation in use, and vouches for its file"
printf 'Subject: f1\n\nin the first generation\n' | ipmd_deliver "$M" || bail "deliver f1"
n=$(njnl); wait_rotation "$n" || bail "no commit tried after f1"
printf 'Subject: f2\n\nafter the first generation\n' | ipmd_deliver "$M" || bail "deliver f2"
ipmd_kill9 "$M"
diag "pending: $(gens); removing $first ($(stat -c %s "$S/journal/$first") bytes)"
check "f1 went into the first generation" grep -q . <(find "$S/journal/$first" -size +16c)
rm "$S/journal/$first"
refused_then_repaired "$first" first
ipmd_mount "$S" "$M" || bail "mount after the repair"
check "the delivery after the lost generation is there" grep -qs "after the first generation" "$M"/new/*
check "…the one in it is not (as fsck said)" bash -c '! grep -qs "in the first generation" "$1"/new/*' _ "$M"
check "…and the older mail is" grep -qs "after the gap" "$M"/new/*
ipmd_umount "$M" || bail "umount"

# A head an older version wrote ("v":2, no journal_first): those versions
# dropped the empty generations below the one a mount reused and left the
# head naming the oldest, so the first file lies above the head's
# generation.  Such a store must still mount; fsck says what it cannot
# check; the mount writes the head anew, after which the rule holds.
g=$(oldest); g=${g%.jnl}
next=$(printf '%016x' $((16#$g + 1)))
after=$(printf '%016x' $((16#$g + 2)))
hdr "$next" > "$S/journal/$next.jnl"
hdr "$after" > "$S/journal/$after.jnl"
rm "$S/journal/$g.jnl"
"$HS" --v2 "$S" || bail "head_state --v2"
is "$("$HS" "$S")" "journal_gen=$((16#$g)) journal_first=0" "an old-format head naming generation $((16#$g)), whose file is gone"
ipmd_fsck_exits 0 "fsck on it: no damage"
says "…saying the first generation's loss could not be seen" "journal: the head (from an older version, or rebuilt) does not record that generation $((16#$g))'s file must be there"
ipmd_mount "$S" "$M" || bail "an old-format head with its first file above its generation must mount"
ok "…and it mounts"
is "$("$HS" "$S")" "journal_gen=$((16#$after)) journal_first=1" "the mount moved the head to the reused generation, vouching for it"
is "$(gens)" "$after.jnl " "…then dropped the older ones"
check "the mail is there" grep -qs "after the first generation" "$M"/new/*
ipmd_umount "$M" || bail "umount"
ipmd_fsck_exits 0 "fsck after it: clean"
check "…with nothing left unchecked" bash -c '! grep -q "does not record" <<<"$1"' _ "$out"
done_testing
