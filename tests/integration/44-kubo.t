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
#     (--from-node): every message byte-exact, fetched from A over bitswap;
#  5. has() (tests/tools/kubo_has, ipmaildir's own Kubo store) asks A about
#     its own store only (block/stat offline): a block A holds is 1; one
#     only B holds, although A could fetch it, is 0, and A does not fetch
#     it; one nowhere is 0, an answer, not a timeout (node_timeout 30 s).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
node_test_require

N=${IPMD_NODE_MSGS:-100}
MNT_B=$TEST_DIR/mnt-b
CACHE_B=$TEST_DIR/cache-b
mount_a() { ipmd_mount "$STORE" "$MNT" --node "$IPFS_ADDR_1" "$@"; }

# ------------------------------------------------------------ 1. node A
TOPOLOGY=none ROUTING=dhtserver node_start 2 "$STORE" "$MNT" -o commit_delay=200,publish=1
diag "$("$IPFS_BIN" version) at $IPFS_BIN"
node_msgs kubo 1 "$N" mixed
is "$(deliver_n kubo 1 "$N")" 0 "$N deliveries through a mount on Kubo node A"
check "the outbox drains to zero" outbox_drained "$STORE" 60
maildir_sums "$MNT" >"$TEST_DIR/mount.sums"
ipmd_umount "$MNT" || bail "unmount of A failed"
sha256sum "$TEST_DIR"/m/* | cut -c1-64 | sort >"$TEST_DIR/source.sums"
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

head=$(store_head "$STORE")
check "the head commit's CID ($head)" test -n "$head"
mid=$(store_mailbox "$STORE")
check "the mailbox id is an IPNS name ($mid)" grep -q '^k51' <<<"$mid"
read_cap "$STORE" "$TEST_DIR/cap" || not_ok "key export --read-only"

# ------------------------------------------------------------ 2. cold reads
find "$STORE/blocks" -type f -delete
is "$(find "$STORE/blocks" -type f | wc -l)" 0 "the local block store is empty"
mount_a -o node_timeout=10000 ||
	bail "mount over a wiped cache failed: $(tail -3 "$TEST_DIR/ipmaildir.log")"
maildir_sums "$MNT" >"$TEST_DIR/cold.sums"
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
maildir_sums "$MNT_B" >"$TEST_DIR/b.sums"
check "every message reads back byte-exact on B ($(wc -l <"$TEST_DIR/b.sums"))" \
	cmp -s "$TEST_DIR/b.sums" "$TEST_DIR/source.sums"
nb=$(find "$CACHE_B/blocks" -type f 2>/dev/null | wc -l)
check "… fetched through node B ($nb blocks)" test "$nb" -gt "$N"
b_has() { ipfs_cli 2 block stat --offline "$1" >/dev/null; }
check "B's node holds what it fetched over bitswap" \
	b_has "$(find "$CACHE_B/blocks" -type f -printf '%f\n' | head -1)"
check "a write on B is refused" bash -c "! (echo x >'$MNT_B/new/x') 2>/dev/null"
ipmd_umount "$MNT_B" || not_ok "unmount of B"

# ------------------------------------------------------------ 5. has()
HAS=$IPMD_TOOLS/kubo_has
[ -x "$HAS" ] || bail "no $HAS (make)"
echo "only on B $$ $RANDOM" >"$TEST_DIR/only-b"
echo "nowhere $$ $RANDOM" >"$TEST_DIR/nowhere"
on_b=$(ipfs_cli 2 block put --cid-codec=raw <"$TEST_DIR/only-b")
check "B holds a block of its own ($on_b)" ipfs_cli 2 block stat --offline "$on_b"
is "$("$HAS" "$IPFS_ADDR_1" 30000 "$head")" 1 "has(): A holds the head commit"
is "$("$HAS" "$IPFS_ADDR_1" 30000 "$on_b" 2>&1)" 0 \
	"has(): a block only B holds is not on A, although A could fetch it"
a_lacks() { ! ipfs_cli 1 block stat --offline "$1" >/dev/null 2>&1; }
check "… and asking did not fetch it to A" a_lacks "$on_b"
is "$("$HAS" "$IPFS_ADDR_1" 30000 "$(raw_cid "$TEST_DIR/nowhere")" 2>&1)" 0 \
	"has(): a block no node holds is absent (an answer, not a timeout)"
ipfs_cli 1 block get --timeout=30s "$on_b" >/dev/null ||
	not_ok "A fetches B's block"
is "$("$HAS" "$IPFS_ADDR_1" 30000 "$on_b" 2>&1)" 1 "has(): once A fetched it, A holds it"
done_testing
