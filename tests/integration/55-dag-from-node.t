#!/usr/bin/env bash
# 55-dag-from-node.t — mount --from-node --at over a merged history whose
# other line ends (fs/store/history.h, walk_ends.absent): the line
# another device's gc cut is recorded in that machine's STORE/device,
# which a --from-node view never has, so there a parent the node does not
# have ends its line, as a recorded end does, instead of refusing the
# mount as damage; a commit that must be read is still an error.
# The history (55-dag.t's, by tests/tools/dag_commit): a-1, a-2 on this
# device's line, o-1 … o-5 on another's, the merge of o-5 into a-2 the
# head; o-2's commit block is gone (that device's gc) before the store's
# blocks go to the node.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
node_test_require
ipfs_start 1

S=$STORE M=$MNT V=$TEST_DIR/view CACHE=$TEST_DIR/cache
logjson() { "$IPMD_BIN" log --store "$S" --json; }
has() { local d=$1 n; shift; for n; do [ -e "$d/cur/$n" ] || return 1; done; }
lacks() { local d=$1 n; shift; for n; do [ ! -e "$d/cur/$n" ] || return 1; done; }
# iso CID — the commit's time as --at TIME takes it (its exact ns).
iso() {
	local ns
	ns=$(logjson | python3 -c 'import json,sys; print(next(c["time_ns"] for c in json.load(sys.stdin) if c["cid"] == sys.argv[1]))' "$1")
	python3 -c 'import sys,datetime; ns=int(sys.argv[1]); print(datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (ns % 10**9))' "$ns"
}
# view AT — mount the head from the node as it was at AT.
view() {
	ipmd_mount "$CACHE" "$V" --from-node "$m" --capability "$TEST_DIR/cap" \
		--node "$IPFS_ADDR_1" -o node_timeout=2000 --at "$1"
}

ipmd_init "$S" || bail "init failed"
ipmd_mount "$S" "$M" || bail "mount failed"
printf 'Subject: base\n\nbase\n' >"$M/cur/base:2,S"
ipmd_umount "$M" || bail "unmount failed"
dag_two_lines "$S"
a2=${aline[1]} o2=${oline[1]} o3=${oline[2]} o4=${oline[3]}
at_a2=$(iso "$a2") at_o3=$(iso "$o3") at_o4=$(iso "$o4")
read_cap "$S" "$TEST_DIR/cap" || bail "key export --read-only"

# o-2 freed (the other device's gc), then every block to the node.
rm -f "$(find "$S/blocks" -type f -name "$o2")"
check "o-2's commit block is gone" test -z "$(find "$S/blocks" -type f -name "$o2")"
ipmd_mount "$S" "$M" --node "$IPFS_ADDR_1" -o sync=0 || bail "mount with the node failed"
check "the store's blocks went to the node" outbox_drained "$S" 60
ipmd_umount "$M" || bail "unmount failed"

# --at a-2's time: the walk passes o-5 … o-3 (later) to o-3's parent.
view "$at_a2" || not_ok "--at a-2's time, across the other line's end: $(tail -2 "$TEST_DIR/ipmaildir.log")"
check "--at TIME across the other line's end mounts a-2" \
	sh -c "$(declare -f has lacks); has '$V' a-1 a-2 && lacks '$V' o-1 o-3"
ipmd_umount "$V"
view "$at_o3" || not_ok "--at o-3's time: $(tail -2 "$TEST_DIR/ipmaildir.log")"
check "--at the line's last commit mounts o-3" \
	sh -c "$(declare -f has lacks); has '$V' o-1 o-2 o-3 && lacks '$V' o-4 a-1"
ipmd_umount "$V"
view "$at_o4" || not_ok "--at o-4's time: $(tail -2 "$TEST_DIR/ipmaildir.log")"
check "--at a commit above the end mounts it (o-4)" \
	sh -c "$(declare -f has lacks); has '$V' o-4 && lacks '$V' o-5"
ipmd_umount "$V"
# What the node lacks is still no state to mount.
if view "$o2" 2>/dev/null; then
	not_ok "--at the freed commit o-2 is refused"
	ipmd_umount "$V"
else
	ok "--at the freed commit o-2 is refused"
fi
done_testing
