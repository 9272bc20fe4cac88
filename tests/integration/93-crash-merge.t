#!/usr/bin/env bash
# 93-crash-merge.t — the crash suite's merge: a daemon SIGKILLed in the
# middle of a merge (issue 17) finishes it at its next mount, nothing lost.
#
# Two devices of one mailbox on two Kubo nodes: A (init) and B (key
# restore).  B is mounted on a store whose puts all fail (--fault put=1),
# so its sync round merges A's published head into the live tree and
# journals the merge, and then cannot commit it: the merge is in the
# journal and in no commit.  B is killed there (SIGKILL, after the merge
# is logged), then mounted again without any node: the replay redoes the
# merge from the blocks the merge had made durable in B's own store (a
# gc --keep-last 1 in between keeps them), and the first commit names
# A's head as merged.  Then, both mounted with
# sync, A fast-forwards to B's head (it contains A's), and both hold the
# same names and bytes: A's mail, B's mail, the flags and the deletion.
# A runs with -o index_cache=off and commits an index file B's merge
# leaves out (B makes index files cache files then); B's remount after
# the crash has index_cache=off too, and its replay must still leave it
# out, as the merge record says (record.h, "index_local").
# A second round kills B at random moments while it merges, a few times,
# and checks the same: nothing acknowledged on either side is lost.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
ipmd_two_devices

OPTS=commit_delay=200,publish=1,sync=1
ITER=${IPMD_CRASH_MERGE_ITERATIONS:-4}
SEED=${IPMD_CRASH_SEED:-$$}
RANDOM=$SEED
diag "seed=$SEED"

names() { file_names "$1"; }
msg() { printf 'Subject: %s\nMessage-ID: <%s@crash>\n\nbody of %s\n' "$1" "$1" "$1"; }
deliver() { msg "$2" | "$DELIVER" "$1" | sed 's|^new/||'; }
# logged PID TEXT — the daemon PID has logged TEXT
logged() { grep -q "ipmaildir\[$1\]: $2" "$TEST_DIR/ipmaildir.log"; }
mount_a() { ipmd_mount "$A" "$MA" --node "$IPFS_ADDR_1" -o "$OPTS,index_cache=off" && PID_A=$IPMD_PID; }
mount_b() { ipmd_mount "$B" "$MB" "$@" && PID_B=$IPMD_PID; }
umount_a() { IPMD_PID=$PID_A ipmd_umount "$MA"; }
umount_b() { IPMD_PID=$PID_B ipmd_umount "$MB"; }
kill_b() { IPMD_PID=$PID_B ipmd_kill9 "$MB"; }
# published STORE PID — the daemon PID has published STORE's head commit
published() {
	local seq
	seq=$("$IPMD_BIN" status --store "$1" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["head"]["seq"])')
	logged "$2" "published commit $seq "
}
same() { [ "$(names "$MA")" = "$(names "$MB")" ]; }
same_bytes() {
	local f
	while read -r f; do cmp -s "$MA/$f" "$MB/$f" || return 1; done < <(names "$MA")
}

# ------------------------------------------------------------ the devices
mount_a || bail "mount of A failed"
base=$(deliver "$MA" base)
flagged=$(deliver "$MA" flagged)
gone=$(deliver "$MA" gone)
poll 60 published "$A" "$PID_A" || bail "A did not publish"
mount_b --node "$IPFS_ADDR_2" -o "$OPTS" || bail "mount of B failed"
poll 120 test -e "$MB/new/$gone" || bail "B did not take A's head"
# B's own changes, then B goes away cleanly (its head published).
for i in 1 2 3; do deliver "$MB" "b-$i" >/dev/null; done
mv "$MB/new/$flagged" "$MB/cur/$flagged:2,F"
rm "$MB/new/$gone"
poll 60 published "$B" "$PID_B" || not_ok "B published its head"
umount_b || bail "unmount of B failed"
# A takes B's head, then moves on alone: B's next round must merge.
check "A follows B's head" poll 120 bash -c "[ ! -e '$MA/new/$gone' ]"
a_names=()
for i in 1 2 3; do a_names+=("$(deliver "$MA" "a-$i")"); done
mv "$MA/cur/$flagged:2,F" "$MA/cur/$flagged:2,FS"
printf 'index of A\n' >"$MA/dovecot.index.log" # committed: index_cache=off
check "A publishes its new head" poll 60 published "$A" "$PID_A"
# B, offline (no node, no sync): a commit of its own A does not have.
mount_b || bail "mount of B without a node failed"
b4=$(deliver "$MB" b-4)
umount_b || bail "unmount of B failed"
head_b() {
	"$IPMD_BIN" status --store "$B" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["head"]["cid"])'
}
before=$(head_b)
# B with its node, all of its puts failing: the merge is journaled and
# applied, its commit fails.
mount_b --node "$IPFS_ADDR_2" --fault put=1 -o "$OPTS" || bail "mount of B with --fault failed"
check "B merges A's head into its tree (logged)" poll 120 logged "$PID_B" "merged commit"
kill_b
is "$(head_b)" "$before" "… and is killed before any commit could name the merge"
nrec=$("$IPMD_BIN" status --store "$B" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["journal"]["records"])')
check "the merge waits in B's journal ($nrec records)" test "$nrec" -gt 0
# gc between the crash and the remount, keeping as little as it may: it
# must keep what the journaled merge is redone from (A's line, the base).
check "gc --keep-last 1 runs on B after the crash" \
	"$IPMD_BIN" gc --store "$B" --keep-last 1

# ------------------------------------------------------------ replayed
# Without a node: the merge's inputs (commits, directory nodes) must be in
# B's own store, and the mail it took in too (fetched before merging).
mount_b -o index_cache=off ||
	bail "B does not mount after the crash: $(tail -3 "$TEST_DIR/ipmaildir.log")"
check "the mount without a node redid the merge from B's own blocks" \
	logged "$PID_B" "replayed [0-9]* journal records"
missing=0
for n in "${a_names[@]}" "$b4"; do [ -e "$MB/new/$n" ] || missing=$((missing + 1)); done
is "$missing" 0 "A's three messages and B's own are there after the replay"
check "… and A's read without a node (fetched before the merge)" \
	grep -q '^Subject: a-2$' "$MB/new/${a_names[1]}"
is "$(ls "$MB/cur" | grep -F "$flagged")" "$flagged:2,FS" "the flag A added since is there"
check "the deletion made on B holds" test ! -e "$MB/new/$gone"
check "A's index file stays out, as the merge left it out (index_cache=off now)" \
	test ! -e "$MB/dovecot.index.log"
check "the replay's commit is B's head now" test "$(head_b)" != "$before"
umount_b || not_ok "unmount of B"
ffs() { grep -c "ipmaildir\[$PID_A\]: fast-forwarded" "$TEST_DIR/ipmaildir.log"; }
ff0=$(ffs)
mount_b --node "$IPFS_ADDR_2" -o "$OPTS" || bail "mount of B with its node failed"
check "both converge" poll 180 same
check "… A by a fast-forward: B's commit named A's head as merged" \
	test "$(ffs)" -gt "$ff0"
check "… to the same bytes" same_bytes
is "$(find "$MA/new" "$MA/cur" -type f | wc -l)" 9 "9 messages: base, flagged, a-1…3, b-1…4"

# ------------------------------------------------------------ random kills
# Each iteration: both deliver, B is killed at a random moment while its
# rounds merge (0 … 2.5 s after its deliveries), B mounts again; at the
# end both converge and hold every message either side acknowledged.
acked=$TEST_DIR/acked
names "$MA" | sed -nE 's@^\./(new|cur)/([^:]*).*@\2@p' >"$acked"
for it in $(seq "$ITER"); do
	for i in 1 2 3; do deliver "$MA" "ra-$it-$i" >>"$acked" || true; done
	for i in 1 2 3; do deliver "$MB" "rb-$it-$i" >>"$acked" || true; done
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	kill_b
	mount_b --node "$IPFS_ADDR_2" -o "$OPTS" ||
		{ not_ok "B mounts again after kill $it"; break; }
done
check "after $ITER kills, both converge" poll 240 same
check "… to the same bytes" same_bytes
lost=0
while read -r u; do
	[ -z "$u" ] && continue
	ls "$MA/new" "$MA/cur" | grep -qF "$u" || { lost=$((lost + 1)); diag "lost: $u"; }
done <"$acked"
is "$lost" 0 "every acknowledged delivery of either side is there ($(wc -l <"$acked"))"
check "the deletion still holds" bash -c "! ls -R '$MA' '$MB' | grep -qF '$gone'"
if "$IPMD_BIN" fsck --help >/dev/null 2>&1; then
	umount_b
	"$IPMD_BIN" fsck --store "$B" >"$TEST_DIR/fsck.out" 2>&1
	rc=$?
	is "$rc" 0 "fsck finds B's store consistent after the kills"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$TEST_DIR/fsck.out" | head -8
fi
umount_a
done_testing
