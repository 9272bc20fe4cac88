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
done_testing
