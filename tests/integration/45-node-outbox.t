#!/usr/bin/env bash
# 45-node-outbox.t — a mount on a real IPFS node (Kubo):
#  1. deliveries with the node up: every local block reaches the node, the
#     same bytes under the same CID (checked with sha256sum + base32 here),
#     and no block holds plaintext;
#  2. the node stopped: deliveries still succeed, cached reads succeed, an
#     uncached read fails with EIO within the bound, the mount never hangs;
#  3. the node back: the outbox drains to zero, every block is on the node;
#  4. the local copy of a block gone, remount: it is read back from the node
#     byte-exact (a cold read);
#  5. uploads pin every block (pin/ls); gc --node unpins the blocks it frees
#     and only those, and says how many it unpinned, exactly, when some of
#     them were not pinned (every third block unpinned by hand first);
#  6. the whole local block store wiped, remount on the node: every message
#     reads back byte-exact (cold reads from the node), the cache refills;
#  7. over a wiped cache again, gc --node while mounted (its daemon reads
#     what is not here and unpins through the mount's node): it frees and
#     unpins, every message kept reads back byte-exact, fsck against the
#     node alone is clean; before it, gc --node naming another node (one
#     that does not answer) goes to that node, not the mount's: it fails
#     with one line, frees nothing, queues nothing for the mount's node
#     (whose pins it did not touch) and no pin on the mount's node goes;
#  8. every pin removed by hand: pin/ls lists none (ipfs_pins: no line).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
node_test_require

N=${IPMD_NODE_MSGS:-500}
MARK=ipmd-plaintext-marker-7c1e
# all_on_node API — every block file of the store is on the node
all_on_node() { ipfs_all_blocks "$1" "$STORE"; }
local_blocks() { find "$STORE/blocks" -type f -printf '%f\n' | sort; }

# ------------------------------------------------------------ 1. node up
node_start 1 "$STORE" "$MNT" -o commit_delay=200,node_timeout=2000
node_msgs "$MARK" 1 "$N" 3000
is "$(deliver_n "$MARK" 1 "$N")" 0 "$N deliveries through the mount on the node"
check "the outbox drains to zero" outbox_drained "$STORE" 60
check "every local block is on the node (block/stat)" all_on_node "$IPFS_API_1"

f=$(find "$STORE/blocks" -type f | head -1)
c=$(basename "$f")
is "$(raw_cid "$f")" "$c" "a block's file name is its CID (sha256sum + base32, computed here)"
curl -sf -X POST "$IPFS_API_1/block/get?arg=$c" -o "$TEST_DIR/fromnode" || true
check "the node holds the same bytes under that CID" cmp -s "$f" "$TEST_DIR/fromnode"
is "$(raw_cid "$TEST_DIR/fromnode")" "$c" "the node's bytes hash to the CID"
check "no block holds plaintext" bash -c "! grep -rqa '$MARK' '$STORE/blocks'"

# ------------------------------------------------------------ 2. node down
ipfs_stop_node 1
node_msgs down 1001 1040 2000
t0=$SECONDS
is "$(deliver_n down 1001 1040)" 0 "40 deliveries with the node stopped all succeed"
check "… without waiting for it ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -lt 30
sleep 1
pend=$(outbox_pending "$STORE")
check "they wait in the outbox ($pend blocks pending)" test "$pend" -gt 0
got=$(cat "$MNT"/new/* | grep -c "^Subject: down ")
is "$got" 40 "cached reads work with the node down"

# An uncached block: a message whose only local copy we remove, remounted
# (so no memory cache holds it) with the node still down.
ipmd_umount "$MNT" || bail "unmount failed"
node_msgs cold 7 7 100000 && cp "$TEST_DIR/m/cold.7" "$TEST_DIR/cold"
# Deliver it with the node up later; for now, with node down, find its block.
before=$(find "$STORE/blocks" -type f | sort)
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,node_timeout=2000 || bail "remount failed"
is "$(deliver_n cold 7 7)" 0 "the cold message delivered"
cold_name=$(grep -l "^Subject: cold 7" "$MNT"/new/* | head -1)
ipmd_umount "$MNT" || bail "unmount failed"
size=$(stat -c %s "$TEST_DIR/cold")
cold_blk=$(comm -13 <(echo "$before") <(find "$STORE/blocks" -type f | sort) |
	while read -r f; do [ "$(stat -c %s "$f")" = "$(chunk_block_size "$size")" ] && echo "$f"; done | head -1)
check "found the cold message's block (one chunk: padme(size) + 40)" test -n "$cold_blk"
cp "$cold_blk" "$TEST_DIR/cold.blk"

# ------------------------------------------------------------ 3. node back
check "node restarted" ipfs_restart_node 1
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,node_timeout=2000 || bail "remount failed"
check "the outbox drains once the node is back" outbox_drained "$STORE" 60
check "every local block is on the node again" all_on_node "$IPFS_API_1"
ipmd_umount "$MNT" || bail "unmount failed"

# ------------------------------------------------------------ 5. pins, gc
ipfs_pins "$IPFS_API_1" >"$TEST_DIR/pins.before"
local_blocks >"$TEST_DIR/local.before"
unpinned=$(comm -23 "$TEST_DIR/local.before" "$TEST_DIR/pins.before" | wc -l)
is "$unpinned" 0 "uploads pinned every local block ($(wc -l <"$TEST_DIR/local.before") blocks)"
# Every third block unpinned by hand: some of what gc frees is not pinned,
# in the middle of its batches (Kubo's pin/rm of several, one not pinned,
# unpins those before it and fails: gc must still unpin the rest and count
# exactly what it unpinned).
awk 'NR % 3 == 0' "$TEST_DIR/local.before" >"$TEST_DIR/by-hand"
xargs -a "$TEST_DIR/by-hand" -n 50 env IPFS_PATH="$IPFS_PATH_1" IPFS_TELEMETRY=off \
	"$IPFS_BIN" pin rm >/dev/null
is "$(ipfs_pins "$IPFS_API_1" | comm -12 - "$TEST_DIR/by-hand" | wc -l)" 0 \
	"$(wc -l <"$TEST_DIR/by-hand") of them unpinned by hand"
gc_out=$("$IPMD_BIN" gc --store "$STORE" --keep-last 1 --node "$IPFS_ADDR_1" 2>&1)
is "$?" 0 "gc --keep-last 1 --node exits 0"
diag "$gc_out"
local_blocks >"$TEST_DIR/local.after"
comm -23 "$TEST_DIR/local.before" "$TEST_DIR/local.after" >"$TEST_DIR/freed"
check "gc freed blocks ($(wc -l <"$TEST_DIR/freed"))" test -s "$TEST_DIR/freed"
freed_pinned=$(comm -23 "$TEST_DIR/freed" "$TEST_DIR/by-hand" | wc -l)
check "… some of them pinned ($freed_pinned), some not" \
	test "$freed_pinned" -gt 0 -a "$freed_pinned" -lt "$(wc -l <"$TEST_DIR/freed")"
ipfs_pins "$IPFS_API_1" >"$TEST_DIR/pins.after"
is "$(comm -12 "$TEST_DIR/freed" "$TEST_DIR/pins.after" | wc -l)" 0 \
	"every freed block is unpinned on the node"
is "$(comm -23 "$TEST_DIR/local.after" "$TEST_DIR/by-hand" | comm -23 - "$TEST_DIR/pins.after" | wc -l)" 0 \
	"every block gc kept is still pinned (but those unpinned by hand)"
check "gc said it unpinned exactly the $freed_pinned that were pinned" \
	grep -q "unpinned $freed_pinned of $(wc -l <"$TEST_DIR/freed") blocks" <<<"$gc_out"

# ------------------------------------------------------------ 4. cold reads
rm -f "$cold_blk"
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,node_timeout=2000 || bail "remount failed"
check "a block missing here is read from the node, byte-exact" cmp -s "$TEST_DIR/cold" "$MNT/new/${cold_name##*/}"
check "… and kept as cache" cmp -s "$cold_blk" "$TEST_DIR/cold.blk"
ipmd_umount "$MNT" || bail "unmount failed"

rm -f "$cold_blk"
ipfs_stop_node 1
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,node_timeout=2000 || bail "remount failed"
t0=$(date +%s%N)
err=$(timeout 30 cat "$MNT/new/${cold_name##*/}" 2>&1 >/dev/null)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "an uncached read with the node down fails (rc $rc: $err)" test "$rc" = 1
check "… with EIO" grep -q "Input/output error" <<<"$err"
check "… within the bound (${ms} ms; node_timeout=2000)" test "$ms" -lt 10000
check "the mount still answers" test -n "$(ls "$MNT/new")"
check "the daemon logged why" grep -q "could not give it" "$TEST_DIR/ipmaildir.log"
ipmd_umount "$MNT"

# ------------------------------------------------------------ 6. cache wiped
check "node restarted" ipfs_restart_node 1
find "$STORE/blocks" -type f -delete
is "$(find "$STORE/blocks" -type f | wc -l)" 0 "the local block store is empty"
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o node_timeout=10000 ||
	bail "mount over a wiped cache failed: $(tail -3 "$TEST_DIR/ipmaildir.log")"
maildir_sums "$MNT" >"$TEST_DIR/mount.sums"
sha256sum "$TEST_DIR"/m/* | cut -c1-64 | sort >"$TEST_DIR/source.sums"
is "$(wc -l <"$TEST_DIR/mount.sums")" "$(wc -l <"$TEST_DIR/source.sums")" \
	"every message is listed over the wiped cache ($(wc -l <"$TEST_DIR/source.sums"))"
check "every message reads back byte-exact from the node" cmp -s "$TEST_DIR/mount.sums" "$TEST_DIR/source.sums"
n=$(find "$STORE/blocks" -type f | wc -l)
check "the cache refilled from the node ($n blocks)" test "$n" -gt "$N"
ipmd_umount "$MNT"
find "$STORE/blocks" -type f -delete
out=$("$IPMD_BIN" fsck --store "$STORE" 2>&1)
is "$?" 4 "fsck without the node: the blocks are missing (exit 4)"
out=$("$IPMD_BIN" fsck --store "$STORE" --node "$IPFS_ADDR_1" 2>&1)
is "$?" 0 "fsck against the node: clean (exit 0)"
diag "$(tail -2 <<<"$out")"
is "$(find "$STORE/blocks" -type f | wc -l)" 0 "… and fsck wrote nothing into the store"

# ------------------------------------------------ 7. gc through the mount
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,node_timeout=10000 ||
	bail "mount over a wiped cache failed: $(tail -3 "$TEST_DIR/ipmaildir.log")"
# Every message read once (cold reads, kept as cache): the chunks of
# those deleted next are here, dead, for gc to free and unpin.
maildir_sums "$MNT" >/dev/null
seq0=$(ipmd_seqs "$STORE" 1)
(cd "$MNT/new" && ls | sort | awk 'NR % 2 == 0' | xargs rm -f)
seq_moved() { [ "$(ipmd_seqs "$STORE" 1)" != "$seq0" ]; }
check "half the messages deleted, committed" poll 60 seq_moved
maildir_sums "$MNT" >"$TEST_DIR/kept.sums"
# Pins read with no upload under way (a listing taken while the outbox
# pins may miss a key).
check "the outbox drains" outbox_drained "$STORE" 60
ipfs_pins "$IPFS_API_1" >"$TEST_DIR/pins.other"
local_blocks >"$TEST_DIR/blocks.before"
log_size() { stat -c %s "$STORE/outbox.log"; }
log0=$(log_size)
gc_out=$("$IPMD_BIN" gc --store "$STORE" --keep-last 1 --node /ip4/127.0.0.1/tcp/1 2>"$TEST_DIR/gc.err")
rc=$?
diag "$gc_out"
diag "$(cat "$TEST_DIR/gc.err")"
check "gc --node naming another node while mounted: that node is asked (it is down: rc $rc)" \
	test "$rc" -ne 0
check "… it named that node" grep -q "127.0.0.1:1/" "$TEST_DIR/gc.err"
is "$(wc -l <"$TEST_DIR/gc.err")" 1 "… in one line on stderr"
check "… which says nothing was unpinned and the next gc does it" \
	grep -q "gc: unpinning on the node: .*(0 of [1-9][0-9]* blocks unpinned); the next gc unpins and frees the other [1-9]" \
	"$TEST_DIR/gc.err"
check "… nothing freed here" cmp -s "$TEST_DIR/blocks.before" <(local_blocks)
# The batch that failed counts as unpinned (a refused connection may be
# the retry of a pin/rm the node ran), and an address cannot tell the
# mount's node from another: its blocks, still here, go up again.
check "… the batch that failed queued for upload again (outbox.log grew)" \
	test "$(log_size)" -gt "$log0"
check "the outbox drains" outbox_drained "$STORE" 60
ipfs_pins "$IPFS_API_1" | comm -23 "$TEST_DIR/pins.other" - >"$TEST_DIR/pins.went"
is "$(wc -l <"$TEST_DIR/pins.went")" 0 "… and no pin on the mount's node went"
diag "$(head -3 "$TEST_DIR/pins.went")"
gc_out=$("$IPMD_BIN" gc --store "$STORE" --keep-last 1 --node "$IPFS_ADDR_1" 2>&1)
is "$?" 0 "gc --keep-last 1 --node while mounted exits 0"
diag "$gc_out"
check "… it freed blocks and unpinned them on the node" \
	grep -q "^gc: unpinned [1-9][0-9]* of" <<<"$gc_out"
maildir_sums "$MNT" >"$TEST_DIR/kept.after"
check "every message kept reads back byte-exact" cmp -s "$TEST_DIR/kept.sums" "$TEST_DIR/kept.after"
check "the outbox drains" outbox_drained "$STORE" 60
ipfs_pins "$IPFS_API_1" >"$TEST_DIR/pins.live"
is "$(local_blocks | comm -23 - "$TEST_DIR/by-hand" | comm -23 - "$TEST_DIR/pins.live" | wc -l)" 0 \
	"every block gc kept here is still pinned (but those unpinned by hand)"
ipmd_umount "$MNT" || bail "unmount failed"
find "$STORE/blocks" -type f -delete
out=$("$IPMD_BIN" fsck --store "$STORE" --node "$IPFS_ADDR_1" 2>&1)
is "$?" 0 "fsck against the node alone after that gc: clean (exit 0)"
diag "$(tail -2 <<<"$out")"

# ------------------------------------------------ 8. a node with no pins
# Kubo's own pin too, the empty directory init pins: a CIDv0, which pin rm
# takes by that name only (not ipfs_pins's base32 CIDv1 of it).
env IPFS_PATH="$IPFS_PATH_1" IPFS_TELEMETRY=off "$IPFS_BIN" pin ls --type=recursive --quiet \
	>"$TEST_DIR/pins.end"
check "pins are left to remove ($(wc -l <"$TEST_DIR/pins.end"))" test -s "$TEST_DIR/pins.end"
xargs -a "$TEST_DIR/pins.end" -n 50 env IPFS_PATH="$IPFS_PATH_1" IPFS_TELEMETRY=off \
	"$IPFS_BIN" pin rm >/dev/null
ipfs_pins "$IPFS_API_1" >"$TEST_DIR/pins.none" 2>&1
is "$?" 0 "every pin removed by hand: ipfs_pins succeeds"
is "$(wc -l <"$TEST_DIR/pins.none")" 0 "… and lists none (no line, no error)"
[ -s "$TEST_DIR/pins.none" ] && diag "$(head -3 "$TEST_DIR/pins.none")"
done_testing
