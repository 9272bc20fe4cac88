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
ipmd_two_devices

OPTS=commit_delay=200,publish=1,sync=2
msg() { printf 'Subject: %s\nMessage-ID: <%s@offline>\n\nbody of %s\n' "$1" "$1" "$1"; }
deliver() { msg "$2" | "$DELIVER" "$1" | sed 's|^new/||'; }
count() { find "$1/new" "$1/cur" -type f | wc -l; }
subjects() { grep -h '^Subject: ' -r "$1/new" "$1/cur" | sort | tr '\n' ' '; }
same() { [ "$(file_names "$MA")" = "$(file_names "$MB")" ]; }
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
m1=$(deliver "$MA" m1)
m2=$(deliver "$MA" m2)
m3=$(deliver "$MA" m3)
m4=$(deliver "$MA" m4)
ipmd_mount "$B" "$MB" --node "$IPFS_ADDR_2" -o "$OPTS" || bail "mount of B failed"
PID_B=$IPMD_PID
check "B takes the four messages A has" poll 120 test -e "$MB/new/$m4"
check "… and both agree" poll 60 same

# ------------------------------------------------------------ cut
check "the link is cut (swarm filters on both nodes)" link add
ipfs_cli 2 swarm disconnect "$IPFS_SWARM_1" >/dev/null 2>&1
check "… node B has no peer left" poll 30 test "$(peers)" = 0
for i in 1 2 3 4 5; do deliver "$MA" "a-$i" >/dev/null; done
for i in 1 2 3 4 5; do deliver "$MB" "b-$i" >/dev/null; done
mv "$MA/new/$m1" "$MA/cur/$m1:2,S"
mv "$MB/new/$m1" "$MB/cur/$m1:2,F"
rm "$MA/new/$m2"
rm "$MB/new/$m3"
mv "$MB/new/$m4" "$MB/cur/$m4:2,R"
# Several rounds of each side's sync pass while cut.
sleep 8
is "$(count "$MA")" 8 "cut off, A has its own 8 messages (4 - 1 + 5)"
is "$(count "$MB")" 8 "… and B its own 8"
check "… neither has the other's mail" \
	bash -c "! grep -rqs '^Subject: b-' '$MA/new' && ! grep -rqs '^Subject: a-' '$MB/new'"
check "… still 0 peers on B" test "$(peers)" = 0

# ------------------------------------------------------------ mended
check "the link comes back" link rm
ipfs_cli 2 swarm connect "$IPFS_SWARM_1" >/dev/null 2>&1
converged() { same && [ "$(count "$MA")" = 12 ]; }
check "both converge: 12 messages on each, the same names" poll 300 converged ||
	{ diag "A: $(file_names "$MA" | tr '\n' ' ')"; diag "B: $(file_names "$MB" | tr '\n' ' ')"; }
is "$(subjects "$MA")" "$(subjects "$MB")" "the same messages on both"
is "$(grep -rh '^Subject: [ab]-' "$MA/new" "$MA/cur" | wc -l)" 10 \
	"every delivery made while cut, from both sides"
is "$(ls "$MA/cur" | grep -F "$m1")" "$m1:2,FS" "S on A and F on B while cut: :2,FS"
check "A's deletion holds" bash -c "! ls -R '$MA' '$MB' | grep -qF '$m2'"
check "B's deletion holds" bash -c "! ls -R '$MA' '$MB' | grep -qF '$m3'"
is "$(ls "$MA/cur" | grep -F "$m4")" "$m4:2,R" "B's move to cur/ with R holds on A"
bad=0
while read -r f; do cmp -s "$MA/$f" "$MB/$f" || bad=$((bad + 1)); done < <(file_names "$MA")
is "$bad" 0 "every file has the same bytes on both"

IPMD_PID=$PID_A
ipmd_umount "$MA" || not_ok "unmount of A"
IPMD_PID=$PID_B
ipmd_umount "$MB" || not_ok "unmount of B"
done_testing
