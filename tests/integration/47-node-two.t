#!/usr/bin/env bash
# 47-node-two.t — two real IPFS nodes on loopback (Kubo, connected, a
# DHT between them): the mailbox is written through a mount on node A,
# which publishes its head under the mailbox's IPNS name; on B, with only
# the read capability (`key export --read-only`), a read-only mount by
# mailbox id (and by commit CID) reads every message byte-exact, its blocks
# fetched from A over bitswap.  New mail on A is seen by B's next mount;
# an old head replayed over IPNS does not displace the newer one, and
# served alone is refused as a rollback.  Also: writes on
# B are refused (EROFS); another mailbox's capability, a mailbox id of
# another key, a capability readable by others are refused with one line;
# an unknown commit fails within the bound.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
node_test_require

N=${IPMD_NODE_MSGS:-120}
MNT_B=$TEST_DIR/mnt-b
CACHE_B=$TEST_DIR/cache-b
ROUTING=dhtserver node_start 2 "$STORE" "$MNT" -o commit_delay=200,publish=1

# Mail of several sizes (one chunk, many chunks), a folder, flag renames.
node_msgs two 1 "$N" mixed
is "$(deliver_n two 1 "$N")" 0 "$N deliveries through a mount on node A"
mkdir -p "$MNT/.Archive/cur" "$MNT/.Archive/new" "$MNT/.Archive/tmp"
n=0
for f in "$MNT"/new/*; do
	n=$((n + 1))
	[ $((n % 3)) = 0 ] && mv "$f" "$MNT/cur/${f##*/}:2,S"
	[ $((n % 7)) = 0 ] && [ -e "$f" ] && mv "$f" "$MNT/.Archive/cur/${f##*/}:2,"
done
mkdir -p "$TEST_DIR/ref"
(cd "$MNT" && find . -type f | sort >"$TEST_DIR/ref.list" && cp -a . "$TEST_DIR/ref/")
ipmd_umount "$MNT" || bail "unmount of A failed"
# Every block of the store on A before anything is asked of B.
check "the outbox drained to A" test "$(outbox_pending "$STORE")" = 0
head=$(store_head "$STORE")
check "the head commit's CID ($head)" test -n "$head"
read_cap "$STORE" "$TEST_DIR/cap" || not_ok "key export --read-only"
mid=$(store_mailbox "$STORE")

check "A published the head over IPNS" grep -q 'published commit' "$TEST_DIR/ipmaildir.log"

# ------------------------------------------------ a read-only mount on B
ipmd_mount "$CACHE_B" "$MNT_B" --from-node "$mid" --capability "$TEST_DIR/cap" \
	--node "$IPFS_ADDR_2" -o node_timeout=10000 ||
	bail "mount --from-node on B failed: $(tail -3 "$TEST_DIR/ipmaildir.log")"
check "B mounted the head A published ($mid)" grep -q "mounted commit .*($head)" "$TEST_DIR/ipmaildir.log"
(cd "$MNT_B" && find . -type f | sort >"$TEST_DIR/b.list")
is "$(diff "$TEST_DIR/ref.list" "$TEST_DIR/b.list" | wc -l)" 0 \
	"B lists every file of the mailbox ($(wc -l <"$TEST_DIR/ref.list"))"
bad=0
while read -r f; do cmp -s "$TEST_DIR/ref/$f" "$MNT_B/$f" || bad=$((bad + 1)); done <"$TEST_DIR/ref.list"
is "$bad" 0 "every file reads back byte-exact on B"
nb=$(find "$CACHE_B/blocks" -type f 2>/dev/null | wc -l)
check "… through B's cache ($nb blocks fetched from node B)" test "$nb" -gt "$N"
check "B's node holds what it fetched over bitswap" \
	ipfs_has "$IPFS_API_2" "$(basename "$(find "$CACHE_B/blocks" -type f | head -1)")"
check "B's cache holds no key" test ! -e "$CACHE_B/key"
# status and fsck on the cache: what it is, no device, and never the
# advice to restore a key into it (the next mount would refuse the cache).
out=$("$IPMD_BIN" status --store "$CACHE_B" 2>&1)
check "status on B's cache: exit 0, a --from-node cache: $out" \
	grep -q 'the cache of a read-only mount --from-node' <<<"$out"
check "… device: none" grep -q '^device: *none' <<<"$out"
check "… mounted read-only where it is" grep -qF "read-only on $(realpath "$MNT_B")" <<<"$out"
dev=$("$IPMD_BIN" status --json --store "$CACHE_B" |
	python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["device"], j["from_node_cache"], j["blocks"] > 0)')
is "$dev" "None True True" "status --json on B's cache: device null, a cache with blocks"
out=$("$IPMD_BIN" fsck --store "$CACHE_B" 2>&1)
rc=$?
check "fsck on B's cache says it is a --from-node cache, no mailbox (exit $rc): $out" \
	grep -q 'cache of a read-only mount --from-node.*not a mailbox' <<<"$out"
check "… and not to restore a key" bash -c "! grep -q 'restore it' <<<'$out'"
check "a new file is refused" bash -c "! (echo x >'$MNT_B/new/x') 2>/dev/null"
err=$(mv "$MNT_B/cur/$(ls "$MNT_B/cur" | head -1)" "$MNT_B/cur/renamed" 2>&1)
check "a rename is refused: read-only file system" grep -qi 'read-only' <<<"$err"
ipmd_umount "$MNT_B" || not_ok "unmount of B"

# New mail on A: B's next mount by id sees it.
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,publish=1 ||
	bail "remount on A failed"
for i in 1 2 3 4 5; do
	printf 'Subject: later %s\n\nbody %s\n' "$i" "$i" | "$DELIVER" "$MNT" >/dev/null
done
ipmd_umount "$MNT" || bail "unmount of A failed"
head2=$(store_head "$STORE")
seq1=$("$IPMD_BIN" log --store "$STORE" --json |
	python3 -c 'import json,sys; print([c["seq"] for c in json.load(sys.stdin) if c["cid"] == sys.argv[1]][0])' "$head")
ipmd_mount "$CACHE_B" "$MNT_B" --from-node "$mid" --capability "$TEST_DIR/cap" \
	--node "$IPFS_ADDR_2" -o node_timeout=10000 || not_ok "remount by id on B"
is "$(grep -l '^Subject: later' "$MNT_B"/new/* 2>/dev/null | wc -l)" 5 \
	"B's next mount by id shows the 5 messages delivered on A since"
check "… at A's new head" grep -q "mounted commit .*($head2)" "$TEST_DIR/ipmaildir.log"
ipmd_umount "$MNT_B"

# An old record replayed (validly signed, older sequence).  Into the DHT:
# Kubo's routing/put takes it (200) and B's next mount still takes the
# newest record it finds.  Served alone (a proxy in front of B answers
# routing/get with it, as a node or DHT that hides the newer one would):
# refused as a rollback, B having seen the newer commit.
"$IPMD_TOOLS/ipns_record" "$STORE" "$head" "$seq1" >"$TEST_DIR/old.rec" ||
	not_ok "ipns_record"
out=$(ipfs_cli 1 routing put --allow-offline "/ipns/$mid" "$TEST_DIR/old.rec" 2>&1)
check "Kubo's routing/put takes the old record: $out" test "$?" = 0
logged=$(wc -l <"$TEST_DIR/ipmaildir.log")
ipmd_mount "$CACHE_B" "$MNT_B" --from-node "$mid" --capability "$TEST_DIR/cap" \
	--node "$IPFS_ADDR_2" -o node_timeout=10000 || not_ok "remount by id on B"
check "… B's next mount by id still takes A's newest head" \
	grep -q "mounted commit .*($head2)" <(tail -n +$((logged + 1)) "$TEST_DIR/ipmaildir.log")
ipmd_umount "$MNT_B"
ipfs_proxy_start "${IPFS_ADDR_2##*/}" || bail "proxy did not start"
echo "record $TEST_DIR/old.rec" >"$PROXY_CTL"
run_mount_via 60 "$IPMD_BIN" mount -f --store "$CACHE_B" --node "$PROXY_ADDR" --from-node "$mid" \
	--capability "$TEST_DIR/cap" "$MNT_B"
is "$rc" 1 "an old head replayed over IPNS is refused (exit 1)"
check "… as a rollback: $out" grep -q 'refusing a rollback' <<<"$out"
check "… the proxy served the old record" grep -q '^record' "$PROXY_EVENTS"
echo pass >"$PROXY_CTL"
ipmd_mount "$CACHE_B" "$MNT_B" --from-node "$head" --capability "$TEST_DIR/cap" \
	--node "$IPFS_ADDR_2" || not_ok "mount of the old commit by CID"
is "$(ls "$MNT_B/new" | wc -l)" "$(ls "$TEST_DIR/ref/new" | wc -l)" \
	"… while that old commit mounts when named by CID on purpose"
ipmd_umount "$MNT_B"

# A second mount reads from the cache: stop A, B still has it all.
ipfs_stop_node 1
ipmd_mount "$CACHE_B" "$MNT_B" --from-node "$head" --capability "$TEST_DIR/cap" \
	--node "$IPFS_ADDR_2" -o node_timeout=3000 ||
	not_ok "remount on B with A stopped"
bad=0
while read -r f; do cmp -s "$TEST_DIR/ref/$f" "$MNT_B/$f" || bad=$((bad + 1)); done <"$TEST_DIR/ref.list"
is "$bad" 0 "with A stopped, B reads every file again (cached)"
ipmd_umount "$MNT_B"
ipfs_restart_node 1

# ------------------------------------------------------------ refusals
other=$TEST_DIR/other
ipmd_init "$other"
"$IPMD_BIN" key export --read-only --store "$other" >"$TEST_DIR/cap-other"
chmod 600 "$TEST_DIR/cap-other"
# from_b ARG... — B's mount from the node (run_mount: $out, $rc, bounded).
from_b() { run_mount_via 60 "$IPMD_BIN" mount -f --store "$CACHE_B" --node "$IPFS_ADDR_2" -o node_timeout=3000 "$@" "$MNT_B"; }
from_b --from-node "$head" --capability "$TEST_DIR/cap-other"
is "$rc" 1 "another mailbox's capability: refused (exit 1)"
check "… saying it does not open: $out" grep -q 'does not open\|not signed' <<<"$out"
from_b --from-node "$mid" --capability "$TEST_DIR/cap-other"
check "a mailbox id of another key: refused before asking the node: $out" \
	grep -q 'capability is for another mailbox' <<<"$out"
chmod 644 "$TEST_DIR/cap"
from_b --from-node "$head" --capability "$TEST_DIR/cap"
check "a capability readable by others: refused: $out" grep -q 'readable by others' <<<"$out"
chmod 600 "$TEST_DIR/cap"
from_b --from-node "$head" --capability "$STORE/key"
check "a key file is not a capability: $out" grep -q 'not a read capability' <<<"$out"
from_b --from-node "$head" --capability "$TEST_DIR/cap" --store "$STORE"
check "a mailbox's own store is not a cache: $out" grep -q 'holds a mailbox of its own' <<<"$out"
gone=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
t0=$SECONDS
from_b --from-node "$gone" --capability "$TEST_DIR/cap"
check "a commit nobody has: refused within the bound ($((SECONDS - t0)) s): $out" \
	grep -q 'could not be fetched' <<<"$out"
check "… and nothing is left mounted" bash -c "! mountpoint -q '$MNT_B'"
done_testing
