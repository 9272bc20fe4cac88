#!/usr/bin/env bash
# 46-node-faults.t — a mount on a real IPFS node (Kubo) that misbehaves:
#  1. wrong bytes: a proxy in front of the node flips a byte of every
#     block/get answer; a block missing locally then reads as EIO, nothing
#     of it is served or cached, the log says why; honest again, it reads
#     back byte-exact;
#  2. the node killed (SIGKILL) and restarted while deliveries go on: no
#     delivery fails, the outbox drains afterwards, every block is on it;
#  3. the node slow (the proxy delays every request 3 s): deliveries and
#     listings don't wait for it, an uncached read fails within its bound,
#     the uploads still get through.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
node_test_require

OPTS=commit_delay=200,node_timeout=2000
node_msgs before 1 20 1500
node_msgs during 1 400 1500
node_msgs after 1 20 1500
node_msgs slow 1 15 1500
node_msgs cold 1 1 60000

# ------------------------------------------------------------ 1. wrong bytes
node_start --proxy 1 "$STORE" "$MNT" -o "$OPTS"
before=$(find "$STORE/blocks" -type f | sort)
cp "$TEST_DIR/m/cold.1" "$TEST_DIR/cold"
is "$(deliver_n cold 1 1)" 0 "the cold message delivered"
cold_name=$(grep -l "^Subject: cold 1" "$MNT"/new/* | head -1)
cold_name=${cold_name##*/}
check "the outbox drains through the honest proxy" outbox_drained "$STORE" 60
ipmd_umount "$MNT" || bail "unmount failed"
size=$(stat -c %s "$TEST_DIR/cold")
cold_blk=$(comm -13 <(echo "$before") <(find "$STORE/blocks" -type f | sort) |
	while read -r f; do [ "$(stat -c %s "$f")" = "$(chunk_block_size "$size")" ] && echo "$f"; done | head -1)
check "found the message's block (one chunk: padme(size) + 40)" test -n "$cold_blk"
cold_cid=$(basename "$cold_blk")
check "the block is on the node" ipfs_has "$IPFS_API_1" "$cold_cid"

rm -f "$cold_blk"
echo corrupt >"$PROXY_CTL"
ipmd_mount "$STORE" "$MNT" --node "$PROXY_ADDR" -o "$OPTS" || bail "remount failed"
err=$(timeout 30 cat "$MNT/new/$cold_name" 2>&1 >"$TEST_DIR/served")
rc=$?
check "a block the node corrupts fails the read (rc $rc: $err)" test "$rc" = 1
check "… with EIO" grep -q "Input/output error" <<<"$err"
check "… the proxy did corrupt it" grep -q "^corrupt $cold_cid" "$PROXY_EVENTS"
check "… nothing of the message was served" bash -c "! grep -q 'cold 1' '$TEST_DIR/served'"
check "… nor kept as cache" test ! -e "$cold_blk"
check "… and the daemon logged why" grep -q "sent wrong bytes (rejected)" "$LOG"
check "the mount still answers" test -n "$(ls "$MNT/new")"
echo pass >"$PROXY_CTL"
check "the node honest again: the block reads back byte-exact" \
	cmp -s "$TEST_DIR/cold" "$MNT/new/$cold_name"
check "… and is kept as cache" test -e "$cold_blk"
ipmd_umount "$MNT" || bail "unmount failed"

# ------------------------------------------------- 2. killed and restarted
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o "$OPTS" || bail "remount failed"
is "$(deliver_n before 1 20)" 0 "20 deliveries with the node up"
npid=$(cat "$IPFS_BASE/node1/daemon.pid")
kill -9 "$npid"
for i in $(seq 100); do kill -0 "$npid" 2>/dev/null || break; sleep 0.1; done
ipfs_restart_node 1 &
rpid=$!
failed=0 n=0
while kill -0 "$rpid" 2>/dev/null; do
	[ "$n" -lt 400 ] || break
	n=$((n + 1))
	f=$(deliver_n during "$n" "$n")
	failed=$((failed + f))
	[ "$n" = 5 ] && pend=$(outbox_pending "$STORE")
done
wait "$rpid"
rrc=$?
check "the node came back (restart rc $rrc)" test "$rrc" = 0
is "$failed" 0 "$n deliveries while the node was killed and restarting all succeed"
check "… they waited in the outbox (${pend:-?} pending after 5)" test "${pend:-0}" -gt 0
is "$(deliver_n after 1 20)" 0 "20 deliveries after the restart"
check "the outbox drains to zero" outbox_drained "$STORE" 90
check "every local block is on the node" ipfs_all_blocks "$IPFS_API_1" "$STORE"
got=$(grep -l "^Subject: \(before\|during\|after\) " "$MNT"/new/* | wc -l)
is "$got" $((40 + n)) "every message is in the mailbox"
ipmd_umount "$MNT" || bail "unmount failed"

# ------------------------------------------------------------ 3. slow node
ipmd_mount "$STORE" "$MNT" --node "$PROXY_ADDR" -o "$OPTS,upload_wait=8" || bail "remount failed"
echo "delay 3000" >"$PROXY_CTL"
t0=$SECONDS
is "$(deliver_n slow 1 15)" 0 "15 deliveries with the node answering in 3 s"
dt=$((SECONDS - t0))
check "… without waiting for it (${dt} s for 15)" test "$dt" -lt 20
t0=$(date +%s%N)
n_ls=$(ls "$MNT/new" | wc -l)
ms=$((($(date +%s%N) - t0) / 1000000))
check "a listing answers at once (${ms} ms, $n_ls entries)" test "$ms" -lt 2000
check "a cached read works" grep -q "^Subject: slow 15" <(cat "$MNT"/new/*)
t0=$SECONDS
ipmd_umount "$MNT" || bail "unmount failed"
check "unmount waits for a slow node's uploads no longer than upload_wait ($((SECONDS - t0)) s)" \
	test $((SECONDS - t0)) -le 15
rm -f "$cold_blk"
ipmd_mount "$STORE" "$MNT" --node "$PROXY_ADDR" -o "$OPTS" || bail "remount failed"
t0=$(date +%s%N)
err=$(timeout 30 cat "$MNT/new/$cold_name" 2>&1 >/dev/null)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "an uncached read from the slow node fails (rc $rc)" test "$rc" = 1
check "… within the bound (${ms} ms; node_timeout=2000)" test "$ms" -lt 10000
check "the proxy did delay requests" grep -q "^delay .*block/" "$PROXY_EVENTS"
echo pass >"$PROXY_CTL"
check "uploads get through once it is fast again" outbox_drained "$STORE" 90
check "every local block is on the node" ipfs_all_blocks "$IPFS_API_1" "$STORE"
ipmd_umount "$MNT"
done_testing
