#!/usr/bin/env bash
# 49-node-trust.t — what a node that lies can and can't do (one Kubo
# node behind tests/integration/ipfs_proxy.py, which makes up answers):
#  1. local_cap_mb: a node that answers dag/import/block/put "stored and
#     pinned" without storing anything: no block is dropped here (eviction
#     asks block/stat first), every message reads back; once the node
#     really has the blocks, the next commit drops them down to the cap.
#  2. mount --from-node: a node whose routing/get fails (not "not found") and
#     whose name/resolve names an old commit is refused — the head comes
#     only from a record signed by the mailbox; a valid record mounts the
#     head; a record of a lower sequence than one seen before, or whose
#     sequence is not its commit's, is refused with one line.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
node_test_require
RECORD=$IPMD_TOOLS/ipns_record
need_tool ipns_record

CAP_MB=1
OPTS=commit_delay=200,node_timeout=2000,local_cap_mb=$CAP_MB
node_msgs big 1 16 120000
node_msgs tick 1 4 200
# big_exact — every "big" message reads back byte-exact
big_exact() {
	local i f bad=0
	for i in $(seq 16); do
		f=$(grep -l "^Message-ID: <$i.big@test>" "$MNT"/new/* | head -1)
		cmp -s "$f" "$TEST_DIR/m/big.$i" 2>/dev/null || bad=$((bad + 1))
	done
	diag "$bad of 16 messages differ or fail"
	[ "$bad" = 0 ]
}

# ------------------------------------- 1. a node that claims false pins
node_start --proxy 1 "$STORE" "$MNT" -o "$OPTS"
echo fakepin >"$PROXY_CTL"
is "$(deliver_n big 1 16)" 0 "16 deliveries of 120 kB (1.9 MB, cap $CAP_MB MiB)"
check "the outbox 'drains' into a node that stores nothing" outbox_drained "$STORE" 60
check "… the proxy made up the node's answers" grep -q '^fakepin' "$PROXY_EVENTS"
nblocks=$(find "$STORE/blocks" -type f | wc -l)
is "$(deliver_n tick 1 1)" 0 "one more delivery (a commit: an eviction pass)"
for _ in $(seq 50); do grep -q 'does not have it although it confirmed' "$LOG" && break; sleep 0.2; done
check "the daemon says the node lacks a block it confirmed" \
	grep -q 'does not have it although it confirmed its upload: kept here, and uploaded again' "$LOG"
b=$(store_bytes "$STORE")
check "nothing was dropped: still over the cap ($b bytes)" test "$b" -gt $((CAP_MB << 20))
check "… every block is still here ($nblocks before)" test "$(find "$STORE/blocks" -type f | wc -l)" -ge "$nblocks"
check "every message reads back byte-exact" big_exact

# The node gets every block for real (straight to it, not through the
# proxy); the next commit's pass finds them there and drops down to 90 %.
# The daemon may still be writing (its commit after the last delivery):
# put what is here until the node holds all of it, a few rounds at most.
put_failed=0 have_all=0
for _ in 1 2 3 4 5; do
	while read -r f; do
		curl -sf -m 30 -X POST -F "file=@$f" \
			"$IPFS_API_1/block/put?format=raw&cid-codec=raw&mhtype=sha2-256&pin=true" >/dev/null ||
			put_failed=$((put_failed + 1))
	done < <(find "$STORE/blocks" -type f)
	ipfs_all_blocks "$IPFS_API_1" "$STORE" && { have_all=1; break; }
	sleep 1
done
is "$put_failed" 0 "block/put of every local block, straight to the node"
echo pass >"$PROXY_CTL"
is "$have_all" 1 "the node has every block now"
is "$(deliver_n tick 2 2)" 0 "one more delivery (a commit)"
store_under "$STORE" $((CAP_MB << 20)) 20
b=$(store_bytes "$STORE")
check "… drops blocks the node has: under the cap ($b bytes)" test "$b" -le $((CAP_MB << 20))
check "… the daemon said what it dropped" grep -q "over its cap.*dropped [0-9]* blocks already on the node" "$LOG"
check "every message still reads back byte-exact (cold ones from the node)" big_exact
ipmd_umount "$MNT" || bail "unmount failed"
check "the outbox drained to the node" test "$(outbox_pending "$STORE")" = 0

# --------------------------------- 2. --from-node: the head is the record's
# A store of its own (the capped one's old commits are on the node only,
# and `log` reads the store): three commits, every block on the node.
STORE=$TEST_DIR/store2
ipmd_init "$STORE" || bail "init failed"
ipmd_mount "$STORE" "$MNT" --node "$PROXY_ADDR" -o commit_delay=100 || bail "mount of store2 failed"
for i in 1 2 3; do
	is "$(deliver_n tick "$i" "$i")" 0 "delivery $i to store2"
	sleep 0.5 # a commit each
done
ipmd_umount "$MNT" || bail "unmount failed"
check "store2's outbox drained to the node" test "$(outbox_pending "$STORE")" = 0
"$IPMD_BIN" log --store "$STORE" --json >"$TEST_DIR/log.json" || bail "log --json"
read -r head hseq old oseq <<<"$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c[0]["cid"], c[0]["seq"], c[-1]["cid"], c[-1]["seq"])' "$TEST_DIR/log.json")"
check "a head ($hseq) and an older commit ($oseq)" test "$oseq" -lt "$hseq"
read_cap "$STORE" "$TEST_DIR/cap" || bail "key export --read-only"
mid=$(store_mailbox "$STORE")
CACHE=$TEST_DIR/cache
MNT_B=$TEST_DIR/mnt-b
lacks() { ! grep -q "$1" <<<"$2"; }
# from_node — mount by mailbox id through the proxy; sets out (what the
# daemon said) and mounted (1/0), and unmounts again.
from_node() {
	local before
	before=$(wc -l <"$LOG")
	if ipmd_mount "$CACHE" "$MNT_B" --from-node "$mid" --capability "$TEST_DIR/cap" \
		--node "$PROXY_ADDR" -o node_timeout=3000 2>/dev/null; then
		mounted=1
		ipmd_umount "$MNT_B"
	else
		mounted=0
	fi
	out=$(tail -n +$((before + 1)) "$LOG")
}

echo "dhtfail $old" >"$PROXY_CTL"
from_node
is "$mounted" 0 "routing/get failing (not 'not found'), name/resolve naming an old commit: not mounted"
check "… one clear line: $(grep -m1 -E "IPNS|refusing" <<<"$out")" \
	grep -q "IPNS lookup failed.*no head is taken without a record signed by the mailbox" <<<"$out"
check "… the old commit was not mounted" lacks 'mounted commit' "$out"
check "… the proxy failed routing/get" grep -q '^dhtfail ' "$PROXY_EVENTS"

"$RECORD" "$STORE" "$head" "$hseq" >"$TEST_DIR/head.rec" || not_ok "ipns_record"
echo "record $TEST_DIR/head.rec" >"$PROXY_CTL"
from_node
is "$mounted" 1 "a record signed by the mailbox, sequence $hseq: mounted"
check "… at the head it names" grep -q "mounted commit $hseq ($head)" <<<"$out"

"$RECORD" "$STORE" "$old" "$oseq" >"$TEST_DIR/old.rec" || not_ok "ipns_record"
echo "record $TEST_DIR/old.rec" >"$PROXY_CTL"
from_node
is "$mounted" 0 "a valid record of a lower sequence ($oseq < $hseq seen): not mounted"
check "… refused as a rollback: $(grep -m1 -E "IPNS|refusing" <<<"$out")" \
	grep -q "has sequence $oseq, but commit $hseq was already seen: refusing a rollback" <<<"$out"

"$RECORD" "$STORE" "$head" "$oseq" >"$TEST_DIR/low.rec" || not_ok "ipns_record"
echo "record $TEST_DIR/low.rec" >"$PROXY_CTL"
from_node
is "$mounted" 0 "a record of a lower sequence ($oseq) naming the head: not mounted"
check "… refused by its sequence: $(grep -m1 -E "IPNS|refusing" <<<"$out")" \
	grep -q "has sequence $oseq, but commit $hseq was already seen" <<<"$out"

"$RECORD" "$STORE" "$head" $((hseq + 5)) >"$TEST_DIR/high.rec" || not_ok "ipns_record"
echo "record $TEST_DIR/high.rec" >"$PROXY_CTL"
from_node
is "$mounted" 0 "a record whose sequence ($((hseq + 5))) is not its commit's ($hseq): not mounted"
check "… refused: $(grep -m1 -E "IPNS|refusing" <<<"$out")" \
	grep -q "has sequence $((hseq + 5)) but names commit $hseq: refusing it" <<<"$out"

echo "record $TEST_DIR/head.rec" >"$PROXY_CTL"
from_node
is "$mounted" 1 "the head's record mounts again (what was seen was not raised by the refusals)"

# A damaged CACHE/seen is not "nothing seen": that would reset the check.
cp "$CACHE/seen" "$TEST_DIR/seen.good"
python3 - "$CACHE/seen" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(30); b = f.read(1); f.seek(30); f.write(bytes([b[0] ^ 0xff]))
PY
echo "record $TEST_DIR/old.rec" >"$PROXY_CTL"
from_node
is "$mounted" 0 "a damaged CACHE/seen and an old record: not mounted"
check "… the cache's seen is named as damaged: $(grep -m1 -E "seen" <<<"$out")" \
	grep -q "seen is damaged" <<<"$out"
cp "$TEST_DIR/seen.good" "$CACHE/seen"
echo pass >"$PROXY_CTL"
done_testing
