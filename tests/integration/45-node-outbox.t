#!/usr/bin/env bash
# 45-node-outbox.t — a mount on a real IPFS node (js-ipfs, Kubo RPC API):
#  1. deliveries with the node up: every local block reaches the node, the
#     same bytes under the same CID (checked with sha256sum + base32 here),
#     and no block holds plaintext;
#  2. the node stopped: deliveries still succeed, cached reads succeed, an
#     uncached read fails with EIO within the bound, the mount never hangs;
#  3. the node back: the outbox drains to zero, every block is on the node;
#  4. the local copy of a block gone, remount: it is read back from the node
#     byte-exact (a cold read);
#  5. uploads pin every block (pin/ls); gc --node unpins the blocks it frees
#     and only those;
#  6. the whole local block store wiped, remount on the node: every message
#     reads back byte-exact (cold reads from the node), the cache refills.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN"
DELIVER=$IPMD_TOOLS/maildir_deliver
[ -x "$DELIVER" ] || bail "no $DELIVER (make)"
ipfs_require
ipfs_start 1

N=${IPMD_NODE_MSGS:-500}
STORE=$TEST_DIR/store
MNT=$TEST_DIR/mnt
MARK=ipmd-plaintext-marker-7c1e
ipmd_init "$STORE" || bail "init failed"
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,node_timeout=2000 ||
	bail "mount --node failed"

# wait_drained STORE SECONDS — until the outbox log says nothing is pending
wait_drained() {
	local i
	for i in $(seq $(($2 * 5))); do
		[ "$(outbox_pending "$1")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
# all_on_node API — every block file of the store is on the node
all_on_node() { ipfs_all_blocks "$1" "$STORE"; }
# pinned API — the node's pinned CIDs, base32, sorted, one a line
pinned() {
	curl -sf -m 30 -X POST "$1/pin/ls?cid-base=base32" |
		python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin)["Keys"])))'
}
local_blocks() { find "$STORE/blocks" -type f -printf '%f\n' | sort; }

# ------------------------------------------------------------ 1. node up
# gen_msgs DIR FIRST LAST SIZE SUBJECT — distinct pseudo-random messages,
# one python process for all (one per message is far too slow).
gen_msgs() {
	python3 - "$@" <<'PY'
import random, sys
d, first, last, size, subj = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
words = "mail block node outbox commit chunk folder message reply thread".split()
for i in range(first, last + 1):
    r = random.Random(i)
    body = []
    n = 0
    while n < size:
        w = r.choice(words) + str(r.randrange(1000))
        body.append(w)
        n += len(w) + 1
    with open(f"{d}/{i}", "w") as f:
        f.write(f"Subject: {subj} {i}\nMessage-ID: <{i}@test>\n\n")
        f.write(" ".join(body)[:size] + "\n")
PY
}
mkdir -p "$TEST_DIR/msgs"
gen_msgs "$TEST_DIR/msgs" 1 "$N" 3000 "$MARK"
failed=0
for i in $(seq "$N"); do "$DELIVER" "$MNT" <"$TEST_DIR/msgs/$i" >/dev/null || failed=$((failed + 1)); done
is "$failed" 0 "$N deliveries through the mount on the node"
check "the outbox drains to zero" wait_drained "$STORE" 60
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
failed=0
t0=$SECONDS
gen_msgs "$TEST_DIR/msgs" 1001 1040 2000 down
for i in $(seq 1001 1040); do
	"$DELIVER" "$MNT" <"$TEST_DIR/msgs/$i" >/dev/null || failed=$((failed + 1))
done
is "$failed" 0 "40 deliveries with the node stopped all succeed"
check "… without waiting for it ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -lt 30
sleep 1
pend=$(outbox_pending "$STORE")
check "they wait in the outbox ($pend blocks pending)" test "$pend" -gt 0
got=$(cat "$MNT"/new/* | grep -c "^Subject: down ")
is "$got" 40 "cached reads work with the node down"

# An uncached block: a message whose only local copy we remove, remounted
# (so no memory cache holds it) with the node still down.
ipmd_umount "$MNT" || bail "unmount failed"
gen_msgs "$TEST_DIR" 7 7 100000 cold && mv "$TEST_DIR/7" "$TEST_DIR/cold"
# Deliver it with the node up later; for now, with node down, find its block.
before=$(find "$STORE/blocks" -type f | sort)
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,node_timeout=2000 || bail "remount failed"
"$DELIVER" "$MNT" <"$TEST_DIR/cold" >/dev/null || not_ok "cold message delivered"
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
check "the outbox drains once the node is back" wait_drained "$STORE" 60
check "every local block is on the node again" all_on_node "$IPFS_API_1"
ipmd_umount "$MNT" || bail "unmount failed"

# ------------------------------------------------------------ 5. pins, gc
pinned "$IPFS_API_1" >"$TEST_DIR/pins.before"
local_blocks >"$TEST_DIR/local.before"
unpinned=$(comm -23 "$TEST_DIR/local.before" "$TEST_DIR/pins.before" | wc -l)
is "$unpinned" 0 "uploads pinned every local block ($(wc -l <"$TEST_DIR/local.before") blocks)"
gc_out=$("$IPMD_BIN" gc --store "$STORE" --keep-last 1 --node "$IPFS_ADDR_1" 2>&1)
is "$?" 0 "gc --keep-last 1 --node exits 0"
diag "$gc_out"
local_blocks >"$TEST_DIR/local.after"
comm -23 "$TEST_DIR/local.before" "$TEST_DIR/local.after" >"$TEST_DIR/freed"
check "gc freed blocks ($(wc -l <"$TEST_DIR/freed"))" test -s "$TEST_DIR/freed"
pinned "$IPFS_API_1" >"$TEST_DIR/pins.after"
is "$(comm -12 "$TEST_DIR/freed" "$TEST_DIR/pins.after" | wc -l)" 0 \
	"every freed block is unpinned on the node"
is "$(comm -23 "$TEST_DIR/local.after" "$TEST_DIR/pins.after" | wc -l)" 0 \
	"every block gc kept is still pinned"
check "gc said what it unpinned" grep -q "unpinned $(wc -l <"$TEST_DIR/freed") of" <<<"$gc_out"

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
(cd "$MNT" && find new cur -type f -exec sha256sum {} + | cut -c1-64 | sort) >"$TEST_DIR/mount.sums"
sha256sum "$TEST_DIR"/msgs/* "$TEST_DIR/cold" | cut -c1-64 | sort >"$TEST_DIR/source.sums"
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
done_testing
