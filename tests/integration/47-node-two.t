#!/usr/bin/env bash
# 47-node-two.t — two real IPFS nodes on loopback (js-ipfs, connected, a
# DHT between them): the mailbox is written through a mount on node A,
# which publishes its head under the mailbox's IPNS name; on B, with only
# the read capability (`key export --read-only`), a read-only mount by
# mailbox id (and by commit CID) reads every message byte-exact, its blocks
# fetched from A over bitswap.  New mail on A is seen by B's next mount;
# an old head replayed over IPNS is refused as a rollback.  Also: writes on
# B are refused (EROFS); another mailbox's capability, a mailbox id of
# another key, a capability readable by others are refused with one line;
# an unknown commit fails within the bound.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "needs ipmaildir mounts"
[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN"
DELIVER=$IPMD_TOOLS/maildir_deliver
[ -x "$DELIVER" ] || bail "no $DELIVER (make)"
ipfs_require
ROUTING=dhtserver ipfs_start 2

N=${IPMD_NODE_MSGS:-120}
STORE=$TEST_DIR/store
MNT=$TEST_DIR/mnt
MNT_B=$TEST_DIR/mnt-b
CACHE_B=$TEST_DIR/cache-b
ipmd_init "$STORE" || bail "init failed"
ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" -o commit_delay=200,publish=1 ||
	bail "mount --node on A failed"

# Mail of several sizes (one chunk, many chunks), a folder, flag renames.
python3 - "$TEST_DIR/msgs" "$N" <<'PY'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(1, n + 1):
    r = random.Random(i)
    size = r.choice([300, 3000, 30000, 300000 if i % 20 == 0 else 4000])
    body = "".join(r.choice("abcdefghij klmnop\n") for _ in range(size))
    with open(f"{d}/{i}", "w") as f:
        f.write(f"Subject: two nodes {i}\nMessage-ID: <{i}@two>\n\n{body}\n")
PY
failed=0
for i in $(seq "$N"); do "$DELIVER" "$MNT" <"$TEST_DIR/msgs/$i" >/dev/null || failed=$((failed + 1)); done
is "$failed" 0 "$N deliveries through a mount on node A"
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
head=$("$IPMD_BIN" log --store "$STORE" --json -n 1 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cid"])')
check "the head commit's CID ($head)" test -n "$head"
"$IPMD_BIN" key export --read-only --store "$STORE" >"$TEST_DIR/cap" ||
	not_ok "key export --read-only"
chmod 600 "$TEST_DIR/cap"
mid=$("$IPMD_BIN" status --store "$STORE" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["mailbox"])')

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
head2=$("$IPMD_BIN" log --store "$STORE" --json -n 1 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cid"])')
seq1=$("$IPMD_BIN" log --store "$STORE" --json |
	python3 -c 'import json,sys; print([c["seq"] for c in json.load(sys.stdin) if c["cid"] == sys.argv[1]][0])' "$head")
ipmd_mount "$CACHE_B" "$MNT_B" --from-node "$mid" --capability "$TEST_DIR/cap" \
	--node "$IPFS_ADDR_2" -o node_timeout=10000 || not_ok "remount by id on B"
is "$(grep -l '^Subject: later' "$MNT_B"/new/* 2>/dev/null | wc -l)" 5 \
	"B's next mount by id shows the 5 messages delivered on A since"
check "… at A's new head" grep -q "mounted commit .*($head2)" "$TEST_DIR/ipmaildir.log"
ipmd_umount "$MNT_B"

# An old record replayed (validly signed, older sequence): refused.
"$IPMD_TOOLS/ipns_record" "$STORE" "$head" "$seq1" >"$TEST_DIR/old.rec" ||
	not_ok "ipns_record"
peer=$(python3 -c '
import sys
a = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
k = sys.argv[1]; assert k.startswith("k")
n = 0
for ch in k[1:]: n = n * 36 + "0123456789abcdefghijklmnopqrstuvwxyz".index(ch)
b = n.to_bytes((n.bit_length() + 7) // 8, "big")[2:]  # drop 0x01 0x72
out = ""
n = int.from_bytes(b, "big")
while n: n, r = divmod(n, 58); out = a[r] + out
print("1" * (len(b) - len(b.lstrip(b"\0"))) + out)' "$mid")
curl -sf -X POST -F "file=@$TEST_DIR/old.rec" "$IPFS_API_1/dht/put?arg=/ipns/$peer" >/dev/null ||
	not_ok "dht/put of the old record"
out=$("$IPMD_BIN" mount -f --store "$CACHE_B" --node "$IPFS_ADDR_2" --from-node "$mid" \
	--capability "$TEST_DIR/cap" "$MNT_B" 2>&1)
check "an old head replayed over IPNS is refused as a rollback: $out" grep -q 'refusing a rollback' <<<"$out"
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
from_b() { "$IPMD_BIN" mount -f --store "$CACHE_B" --node "$IPFS_ADDR_2" -o node_timeout=3000 "$@" "$MNT_B" 2>&1; }
out=$(timeout 60 bash -c "$(declare -f from_b); IPMD_BIN='$IPMD_BIN' CACHE_B='$CACHE_B' IPFS_ADDR_2='$IPFS_ADDR_2' MNT_B='$MNT_B' from_b --from-node '$head' --capability '$TEST_DIR/cap-other'")
rc=$?
check "another mailbox's capability: refused (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "… saying it does not open: $out" grep -q 'does not open\|not signed' <<<"$out"
out=$(from_b --from-node "$mid" --capability "$TEST_DIR/cap-other")
check "a mailbox id of another key: refused before asking the node: $out" \
	grep -q 'capability is for another mailbox' <<<"$out"
chmod 644 "$TEST_DIR/cap"
out=$(from_b --from-node "$head" --capability "$TEST_DIR/cap")
check "a capability readable by others: refused: $out" grep -q 'readable by others' <<<"$out"
chmod 600 "$TEST_DIR/cap"
out=$(from_b --from-node "$head" --capability "$STORE/key")
check "a key file is not a capability: $out" grep -q 'not a read capability' <<<"$out"
out=$(from_b --from-node "$head" --capability "$TEST_DIR/cap" --store "$STORE")
check "a mailbox's own store is not a cache: $out" grep -q 'holds a mailbox of its own' <<<"$out"
gone=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
t0=$SECONDS
out=$(from_b --from-node "$gone" --capability "$TEST_DIR/cap")
check "a commit nobody has: refused within the bound ($((SECONDS - t0)) s): $out" \
	grep -q 'could not be fetched' <<<"$out"
check "… and nothing is left mounted" bash -c "! mountpoint -q '$MNT_B'"
done_testing
