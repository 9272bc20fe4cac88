#!/usr/bin/env bash
# 67-two-devices-hosts.t — two devices of one mailbox on two hosts, and the
# real link between them cut (issue 17, "Offline"; 67-two-devices-offline.t
# cuts it with swarm filters on one host).  The hosts are two network
# namespaces joined by a veth pair (ipfs-lib.sh's netns_hosts, as
# 47-node-hosts.t): host A runs Kubo node A and the read-write mount of
# store A (init), host B node B and the mount of store B (key restore),
# each with -o sync=2; the nodes keep each other in Peering.  They share
# four messages; then the veth pair is taken down and both work alone:
# deliveries, S on A and F on B for one message, a deletion on each side,
# a move new/ → cur/ on B.  Neither sees the other's mail while cut.  The
# link comes back up: the nodes find each other again (Peering) and the
# devices converge by the rules — every delivery on both, ":2,FS", both
# deletions held, the move held — with the same names and bytes.  Waits
# are polls with generous bounds.  Root is needed (ip netns, nsenter):
# without it the script skips, under CI=true it fails.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
. "$here/offline-lib.sh"
node_test_require
netns_hosts 10.67.0
NETNS="$NS_A $NS_B" SWARM_IP="$IP_A $IP_B" TOPOLOGY=star ROUTING=dhtserver ipfs_start 2
netns_peering
ipmd_two_stores
a_lists_b() { ipfs_cli 1 swarm peers 2>/dev/null | grep -qxF "$IPFS_SWARM_2"; }
b_lists_a() { ipfs_cli 2 swarm peers 2>/dev/null | grep -qxF "$IPFS_SWARM_1"; }
apart() { ! a_lists_b && ! b_lists_a; }
connected() { a_lists_b && b_lists_a; }
port_a=${IPFS_SWARM_1#/ip4/*/tcp/} port_a=${port_a%%/*}
cut_off() { ! ipfs_in 2 timeout 5 bash -c "exec 3<>/dev/tcp/$IP_A/$port_a" 2>/dev/null; }

netns_mount "$NS_A" "$A" "$MA" --node "$IPFS_ADDR_1" -o "$OPTS" || bail "mount of A on host A failed"
PID_A=$IPMD_PID
offline_share
netns_mount "$NS_B" "$B" "$MB" --node "$IPFS_ADDR_2" -o "$OPTS" || bail "mount of B on host B failed"
PID_B=$IPMD_PID
offline_taken

# ------------------------------------------------------------ cut
check "the link is taken down" netns_link down
check "… host B cannot reach node A" cut_off
check "… and the nodes have dropped each other" poll 120 apart
offline_work
offline_apart
check "… and the link is still down" apart

# ------------------------------------------------------------ mended
check "the link comes back up" netns_link up
check "… the nodes find each other again (Peering)" poll 180 connected
offline_converged
offline_unmount
done_testing
