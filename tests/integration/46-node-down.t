#!/usr/bin/env bash
# 46-node-down.t — a writable mount whose IPFS node is not running (a
# port nothing listens on: no Kubo needed) mounts anyway, and its sync
# and its outbox say so in words a user acts on: the node is not running,
# or not reachable at the address the mount uses — not "Connection
# refused".
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "needs an ipmaildir mount"

S=$TEST_DIR/store M=$TEST_DIR/mnt LOG=$TEST_DIR/ipmaildir.log
ipmd_init "$S" || bail "init failed"
port=$(free_port)
check "a mount with its node down starts anyway" \
	ipmd_mount "$S" "$M" --node "/ip4/127.0.0.1/tcp/$port" -o sync=1
check "… its sync says the node is not running or not reachable, and where" \
	poll 60 grep -q "sync: the IPFS node is not running, or not reachable at http://127.0.0.1:$port/" "$LOG"
check "… in one line, once" test "$(grep -c 'sync: ' "$LOG")" = 1
check "… never as the bare errno" bash -c "! grep -q 'sync: .*Connection refused' '$LOG'"
# A delivery gives the outbox something to upload: it says the same.
printf 'Subject: held\n\nwaits in the outbox\n' >"$M/new/1.held" ||
	not_ok "a delivery while the node is down"
check "… the outbox says the node is not running or not reachable, and where" \
	poll 60 grep -q "uploads to the node fail (the IPFS node is not running, or not reachable at http://127.0.0.1:$port/" "$LOG"
check "… never as the bare errno" bash -c "! grep -q 'uploads to the node fail (Connection refused' '$LOG'"
check "unmount" ipmd_umount "$M"
done_testing
