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
gone=$((16#${mid%.jnl}))
mkdir -p "$M"
run_mount --store "$S" "$M"
mountpoint -q "$M" && fusermount3 -u "$M"
is "$rc" 1 "the mount refuses a missing middle generation (exit 1)"
says "…in one line naming it" "journal generation $gone is missing: .*; run ipmaildir fsck"
check "…and the journal is left as it was" test ! -e "$S/journal/$mid"
out=$("$IPMD_BIN" fsck --store "$S" 2>&1); rc=$?
is "$rc" 4 "fsck: exit 4"
check "…as DAMAGE naming the generation" grep -q "DAMAGE: journal generation $gone is missing" <<<"$out"
check "status names it" bash -c '"$1" status --store "$2" 2>&1 | grep -q "^journal: *generation $3 is missing: run ipmaildir fsck"' _ "$IPMD_BIN" "$S" "$gone"
out=$("$IPMD_BIN" gc --store "$S" 2>&1); rc=$?
check "gc refuses to collect over it" test "$rc" != 0
check "…saying why" grep -q "the journal does not replay cleanly (a generation is missing)" <<<"$out"
out=$("$IPMD_BIN" fsck --repair --store "$S" 2>&1); rc=$?
is "$rc" 1 "fsck --repair: exit 1 (corrected)"
check "…saying it replayed across the lost generation" grep -q "REPAIRED: replayed the journal across the missing generation $gone" <<<"$out"
"$IPMD_BIN" fsck --store "$S" >/dev/null 2>&1
is "$?" 0 "fsck after the repair: clean"
ipmd_mount "$S" "$M" || bail "mount after the repair"
check "the delivery before the gap is there" grep -qs "before the gap" "$M"/new/*
check "…and the one after it" grep -qs "after the gap" "$M"/new/*
ipmd_umount "$M" || bail "umount"
done_testing
