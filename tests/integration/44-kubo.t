#!/usr/bin/env bash
# 44-kubo.t — the mount on real Kubo nodes (tests/ipfs-node/kubo-start.sh,
# Kubo 0.43.1 from kubo-install.sh, two nodes on 127.0.0.1, a DHT between
# them), checked with Kubo's own CLI:
#  1. 100 deliveries through a mount with --node on Kubo node A, published
#     under the mailbox's IPNS name (routing/put of a record ipmaildir
#     signs); the outbox drains; every block is on A (`ipfs block stat`);
#  2. the local blocks wiped, remount on A: every message reads back
#     byte-exact (cold reads from A);
#  3. node B, connected to A (`ipfs swarm connect`), resolves the mailbox's
#     name with its own resolver (`ipfs name resolve /ipns/k51…`) to the
#     head commit: Kubo accepts the record ipmaildir signed;
#  4. a read-only mount on B by mailbox id and read capability
#     (--from-node): every message byte-exact, fetched from A over bitswap.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
IPMD_IPFS_NODE=kubo
. "$here/ipfs-lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "needs ipmaildir mounts"
[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN"
DELIVER=$IPMD_TOOLS/maildir_deliver
[ -x "$DELIVER" ] || bail "no $DELIVER (make)"
ipfs_require
TOPOLOGY=none ROUTING=dhtserver ipfs_start 2
diag "$("$IPFS_BIN" version) at $IPFS_BIN"

N=${IPMD_NODE_MSGS:-100}
STORE=$TEST_DIR/store
MNT=$TEST_DIR/mnt
MNT_B=$TEST_DIR/mnt-b
CACHE_B=$TEST_DIR/cache-b
mount_a() { ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" "$@"; }

# wait_drained STORE SECONDS — until the outbox log says nothing is pending
wait_drained() {
	local i
	for i in $(seq $(($2 * 5))); do
		[ "$(outbox_pending "$1")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
# sums DIR — sha256 of every message under DIR, sorted
sums() { (cd "$1" && find new cur -type f -exec sha256sum {} + | cut -c1-64 | sort); }

# ------------------------------------------------------------ 1. node A
ipmd_init "$STORE" || bail "init failed"
mount_a -o commit_delay=200,publish=1 || bail "mount --node on Kubo failed"
mkdir -p "$TEST_DIR/msgs"
python3 - "$TEST_DIR/msgs" "$N" <<'PY'
import random, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    r = random.Random(i)
    size = r.choice([300, 3000, 30000, 200000 if i % 25 == 0 else 5000])
    body = "".join(r.choice("abcdefghij klmnop\n") for _ in range(size))
    with open(f"{d}/{i}", "w") as f:
        f.write(f"Subject: kubo {i}\nMessage-ID: <{i}@kubo>\n\n{body}\n")
PY
failed=0
for i in $(seq "$N"); do "$DELIVER" "$MNT" <"$TEST_DIR/msgs/$i" >/dev/null || failed=$((failed + 1)); done
is "$failed" 0 "$N deliveries through a mount on Kubo node A"
check "the outbox drains to zero" wait_drained "$STORE" 60
sums "$MNT" >"$TEST_DIR/mount.sums"
ipmd_umount "$MNT" || bail "unmount of A failed"
sha256sum "$TEST_DIR"/msgs/* | cut -c1-64 | sort >"$TEST_DIR/source.sums"
check "the mount held every message byte-exact" cmp -s "$TEST_DIR/mount.sums" "$TEST_DIR/source.sums"
check "the publication was logged" grep -q 'published commit' "$TEST_DIR/ipmaildir.log"
grep -i 'publish' "$TEST_DIR/ipmaildir.log" | tail -2 | while read -r l; do diag "$l"; done

find "$STORE/blocks" -type f -printf '%f\n' | sort >"$TEST_DIR/local.cids"
nloc=$(wc -l <"$TEST_DIR/local.cids")
# Kubo's CLI, through A's daemon, offline: a block A lacks is an error,
# never a fetch.  One CID a call (block stat takes exactly one), 4 at once.
IPFS_PATH=$IPFS_PATH_1 IPFS_TELEMETRY=off xargs -P 4 -n 1 -a "$TEST_DIR/local.cids" \
	"$IPFS_BIN" block stat --offline --timeout=60s >"$TEST_DIR/stat.out" 2>"$TEST_DIR/stat.err"
rc=$?
nstat=$(grep -c '^Key: ' "$TEST_DIR/stat.out")
check "every block is on A: ipfs block stat names $nstat of $nloc (rc $rc)" \
	test "$rc" = 0 -a "$nstat" = "$nloc" -a "$nloc" -gt "$N"
[ "$rc" = 0 ] || diag "$(head -3 "$TEST_DIR/stat.err")"
sed -n 's/^Key: //p' "$TEST_DIR/stat.out" | sort >"$TEST_DIR/stat.cids"
check "… under the CIDs ipmaildir named them" cmp -s "$TEST_DIR/stat.cids" "$TEST_DIR/local.cids"
npin=$(ipfs_cli 1 pin ls --type=all --quiet 2>/dev/null | sort | comm -12 - "$TEST_DIR/local.cids" | wc -l)
is "$npin" "$nloc" "A pinned every block"

head=$("$IPMD_BIN" log --store "$STORE" --json -n 1 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cid"])')
check "the head commit's CID ($head)" test -n "$head"
mid=$("$IPMD_BIN" status --store "$STORE" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["mailbox"])')
check "the mailbox id is an IPNS name ($mid)" grep -q '^k51' <<<"$mid"
"$IPMD_BIN" key export --read-only --store "$STORE" >"$TEST_DIR/cap" ||
	not_ok "key export --read-only"
chmod 600 "$TEST_DIR/cap"

# ------------------------------------------------------------ 2. cold reads
find "$STORE/blocks" -type f -delete
is "$(find "$STORE/blocks" -type f | wc -l)" 0 "the local block store is empty"
mount_a -o node_timeout=10000 ||
	bail "mount over a wiped cache failed: $(tail -3 "$TEST_DIR/ipmaildir.log")"
sums "$MNT" >"$TEST_DIR/cold.sums"
check "every message reads back byte-exact from A ($(wc -l <"$TEST_DIR/cold.sums"))" \
	cmp -s "$TEST_DIR/cold.sums" "$TEST_DIR/source.sums"
n=$(find "$STORE/blocks" -type f | wc -l)
check "the cache refilled from A ($n blocks)" test "$n" -gt "$N"
ipmd_umount "$MNT" || bail "unmount of A failed"

# ------------------------------------------------------------ 3. node B
out=$(ipfs_cli 2 swarm connect "$IPFS_SWARM_1" 2>&1)
check "B connects to A: $out" grep -q 'success' <<<"$out"
t0=$SECONDS
res=$(ipfs_cli 2 name resolve --nocache --dht-record-count=1 --dht-timeout=30s "/ipns/$mid" 2>&1)
is "$res" "/ipfs/$head" "B's own resolver names the head commit ($((SECONDS - t0)) s)"

# ------------------------------------------------------------ 4. mount on B
ipmd_mount "$CACHE_B" "$MNT_B" --from-node "$mid" --capability "$TEST_DIR/cap" \
	--node "$IPFS_ADDR_2" -o node_timeout=10000 ||
	bail "mount --from-node on B failed: $(tail -3 "$TEST_DIR/ipmaildir.log")"
check "B mounted the head A published" grep -q "mounted commit .*($head)" "$TEST_DIR/ipmaildir.log"
sums "$MNT_B" >"$TEST_DIR/b.sums"
check "every message reads back byte-exact on B ($(wc -l <"$TEST_DIR/b.sums"))" \
	cmp -s "$TEST_DIR/b.sums" "$TEST_DIR/source.sums"
nb=$(find "$CACHE_B/blocks" -type f 2>/dev/null | wc -l)
check "… fetched through node B ($nb blocks)" test "$nb" -gt "$N"
b_has() { ipfs_cli 2 block stat --offline "$1" >/dev/null; }
check "B's node holds what it fetched over bitswap" \
	b_has "$(find "$CACHE_B/blocks" -type f -printf '%f\n' | head -1)"
check "a write on B is refused" bash -c "! (echo x >'$MNT_B/new/x') 2>/dev/null"
ipmd_umount "$MNT_B" || not_ok "unmount of B"
done_testing
