#!/usr/bin/env bash
# 67-two-devices-offline.t — two devices of one mailbox, cut off from each
# other (issue 17, "Offline"): A (init) and B (key restore), each mounted
# read-write on its own Kubo node with -o sync=2, share four messages;
# then the link between the two nodes is cut (each node's swarm filters
# refuse the other's address, the connection is closed) and both work
# alone: deliveries, flags (S on A, F on B for one message), a deletion on
# each side, a move new/ → cur/ on B.  Neither sees the other's mail while
# cut.  The link comes back: both converge by the rules — every delivery
# on both, ":2,FS", both deletions held, the move held — with the same
# names and bytes.  Waits are polls with generous bounds.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
. "$here/offline-lib.sh"
ipmd_two_devices

# cut | mend — the swarm link between the two nodes
link() {
	local i verb=$1
	for i in 1 2; do
		ipfs_cli "$i" swarm filters "$verb" /ip4/127.0.0.1/ipcidr/32 >/dev/null ||
			return 1
	done
}
peers() { ipfs_cli 2 swarm peers 2>/dev/null | grep -c .; }

ipmd_mount "$A" "$MA" --node "$IPFS_ADDR_1" -o "$OPTS" || bail "mount of A failed"
PID_A=$IPMD_PID
offline_share
ipmd_mount "$B" "$MB" --node "$IPFS_ADDR_2" -o "$OPTS" || bail "mount of B failed"
PID_B=$IPMD_PID
offline_taken

# ------------------------------------------------------------ cut
check "the link is cut (swarm filters on both nodes)" link add
ipfs_cli 2 swarm disconnect "$IPFS_SWARM_1" >/dev/null 2>&1
check "… node B has no peer left" poll 30 test "$(peers)" = 0
offline_work
offline_apart
check "… still 0 peers on B" test "$(peers)" = 0

# ------------------------------------------------------------ mended
check "the link comes back" link rm
ipfs_cli 2 swarm connect "$IPFS_SWARM_1" >/dev/null 2>&1
offline_converged
offline_unmount
done_testing
