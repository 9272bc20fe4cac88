#!/usr/bin/env bash
# 47-node-ipns.t — IPNS on Kubo when no DHT peer takes the record, and the
# republication that ends it (fs/mount/publish.h):
#  1. a mount on Kubo node A, which has no peer (DHT on, B not connected):
#     Kubo accepts every routing/put and keeps the record to itself; the
#     mount says so in one line, once, and mail goes on;
#  2. B connects: the unchanged head is put again (A's record is still
#     valid for days: a republication, not a new commit), reaches B, and
#     the mount says so; B's own resolver names the head, and still does
#     once A is stopped — B holds the record the republication gave it;
#  3. A restarted with Routing.Type none (the DHT off): the mount still
#     mounts, takes mail and commits, with the same one line.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
node_test_require

only_line="published on the IPFS node only"
reached_line="the head reached the node's DHT peers"
count() { grep -c -- "$1" "$LOG"; }
logged() { grep -q -- "$1" "$LOG"; }

# ------------------------------------------------------------ 1. no peer
TOPOLOGY=none ROUTING=dhtserver node_start 2 "$STORE" "$MNT" -o commit_delay=200,publish=1
node_msgs ipns 1 6 2000
is "$(deliver_n ipns 1 3)" 0 "3 deliveries on A, which has no DHT peer"
check "the mount says the head is on the node only" poll 30 logged "$only_line"
diag "$(grep -- "$only_line" "$LOG" | head -1)"
is "$(deliver_n ipns 4 6)" 0 "3 more deliveries: mail goes on"
check "the outbox drains to A" outbox_drained "$STORE" 60
published_newest() { grep -q "published commit $(ipmd_seqs "$STORE" 1) " "$LOG"; }
check "… and the newest commit is published, still on A only" poll 30 published_newest
head=$(store_head "$STORE")
is "$(count "$only_line")" 1 "said once, not at every publication"
check "nothing says the publication failed" bash -c "! grep -q 'cannot publish' '$LOG'"

# ------------------------------------------------------------ 2. B connects
mid=$(store_mailbox "$STORE")
out=$(ipfs_cli 2 swarm connect "$IPFS_SWARM_1" 2>&1)
check "B connects to A: $out" grep -q success <<<"$out"
check "the unchanged head is put again and reaches B" poll 30 logged "$reached_line"
diag "$(grep -- "$reached_line" "$LOG" | head -1)"
res=$(ipfs_cli 2 name resolve --nocache --dht-record-count=1 --dht-timeout=20s "/ipns/$mid" 2>&1)
is "$res" "/ipfs/$head" "B's own resolver names the head commit"
ipmd_umount "$MNT" || bail "unmount of A failed"
ipfs_stop_node 1
res=$(ipfs_cli 2 name resolve --nocache --dht-record-count=1 --dht-timeout=10s "/ipns/$mid" 2>&1)
is "$res" "/ipfs/$head" "with A stopped, B still resolves it from the record A put there"

# ------------------------------------------------------------ 3. DHT off
ROUTING=none ipfs_restart_node 1 || bail "node A did not restart"
check "A's routing is off" bash -c "[ \"\$(IPFS_PATH='$IPFS_PATH_1' '$IPFS_BIN' config Routing.Type)\" = none ]"
before=$(count "$only_line")
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,publish=1 ||
	bail "mount on A with the DHT off failed: $(tail -3 "$LOG")"
node_msgs ipns 7 9 2000
is "$(deliver_n ipns 7 9)" 0 "3 deliveries on A with the DHT off"
check "the mount says so in the same one line" poll 30 bash -c "[ \$(grep -c -- '$only_line' '$LOG') -gt $before ]"
check "the outbox drains to A" outbox_drained "$STORE" 60
is "$(find "$MNT/new" -type f | wc -l)" 9 "every message is there"
ipmd_umount "$MNT" || not_ok "unmount of A"
check "… and committed: the store's head moved on" test "$(store_head "$STORE")" != "$head"
done_testing
