#!/usr/bin/env bash
# bench/node.sh — ipmaildir and a real IPFS node (Kubo from
# tests/ipfs-node/kubo-install.sh, on 127.0.0.1): upload throughput of the outbox and
# cold-read throughput from the node, beside local writes and warm reads
# of the same corpus in the same run.  (Delivery rates on a node against
# the local store are the "node" column of the mail workloads.)
#
#   bench/node.sh [--quick]       run as root (FUSE mounts)
#
# 1. write: the corpus copied into cur/ of a mount without a node;
# 2. upload: the same store mounted with --node, whose outbox then queues
#    every block (a store that never had a node): time until the outbox log
#    says nothing is pending — blocks/s and MB/s of sealed blocks;
# 3. cold read: every local block deleted, remounted on the node, every
#    message read (cat) — each block fetched from the node, re-hashed and
#    opened; 4. warm read: the same again, now from the local cache.
# Prints one line per figure and a headline; exit 0 when all ran.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
BIN=${IPMAILDIR_BIN:-$BUILD/ipmaildir}
NODE_DIR=$TOP/tests/ipfs-node
quick=0
[ "${1:-}" = --quick ] && quick=1
N=2000
[ "$quick" = 1 ] && N=300

die() { echo "node.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no $BIN (make)"
[ "$(id -u)" = 0 ] || die "run as root (FUSE mounts)"

W=$(mktemp -d "${TMPDIR:-/tmp}/ipmd-bench-node.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && { fusermount3 -u "$W/mnt" 2>/dev/null; wait "$PID" 2>/dev/null; }
	"$NODE_DIR/stop-nodes.sh" "$W/ipfs" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
export IPMAILDIR_CONFIG_NOSYSTEM=1 XDG_CONFIG_HOME=$W/config

"$NODE_DIR/kubo-start.sh" 1 "$W/ipfs" >"$W/ipfs.log" 2>&1 ||
	die "the Kubo node did not start: $(tail -3 "$W/ipfs.log")"
# shellcheck disable=SC1091 # written by kubo-start.sh
. "$W/ipfs/nodes.env"

# A corpus of mixed sizes (most small, some large), as mail is.
python3 - "$W/corpus" "$N" <<'PY'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
r = random.Random(7)
words = "mail block node outbox commit chunk folder message reply".split()
for i in range(n):
    size = r.choice([2000, 4000, 8000, 16000, 30000, 60000, 250000])
    body = " ".join(r.choice(words) + str(r.randrange(10**6)) for _ in range(size // 9))
    with open(f"{d}/{i}.bench:2,S", "w") as f:
        f.write(f"Subject: bench {i}\nMessage-ID: <{i}@bench>\n\n{body[:size]}\n")
PY
mkdir -p "$W/mnt"
"$BIN" init --store "$W/store" --no-passphrase >/dev/null || die "init failed"

mount_it() {
	"$BIN" mount -f --store "$W/store" "$@" "$W/mnt" 2>>"$W/daemon.log" &
	PID=$!
	for _ in $(seq 300); do mountpoint -q "$W/mnt" && return 0; sleep 0.1; done
	die "mount failed: $(tail -3 "$W/daemon.log")"
}
umount_it() {
	fusermount3 -u "$W/mnt" && wait "$PID"
	PID=
}
pending() {
	python3 - "$W/store/outbox.log" <<'PY'
import sys
p = set()
try:
    d = open(sys.argv[1], 'rb').read()
except FileNotFoundError:
    print(-1); sys.exit()
for i in range(0, len(d) - len(d) % 33, 33):
    op, dg = d[i:i+1], d[i+1:i+33]
    if op == b'+': p.add(dg)
    elif op == b'-': p.discard(dg)
print(len(p))
PY
}
now() { date +%s.%N; }
rate() { awk -v a="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? a / s : 0) }'; }

mail_bytes=$(du -sb "$W/corpus" | cut -f1)
mail_mb=$(awk -v b="$mail_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "corpus: $N messages, $mail_mb MB; node: $("$IPFS_BIN" version) on 127.0.0.1"

# 1. local write
mount_it
t0=$(now)
cp "$W/corpus/"* "$W/mnt/cur/" && sync -f "$W/mnt/cur"
t1=$(now)
umount_it
wsec=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
blocks=$(find "$W/store/blocks" -type f | wc -l)
block_bytes=$(find "$W/store/blocks" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
block_mb=$(awk -v b="$block_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "write (local store, no node): $(rate "$mail_mb" "$wsec") MB/s of mail ($wsec s)"

# 2. upload
t0=$(now)
mount_it --node "$IPFS_ADDR_1"
for _ in $(seq 6000); do
	p=$(pending)
	[ "$p" = 0 ] && break
	sleep 0.2
done
t1=$(now)
[ "$p" = 0 ] || die "the outbox did not drain in 20 min ($p pending)"
usec=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
umount_it
echo "upload to the node: $(rate "$blocks" "$usec") blocks/s, $(rate "$block_mb" "$usec") MB/s ($blocks blocks, $block_mb MB, $usec s)"

# 3. cold read
find "$W/store/blocks" -type f -delete
mount_it --node "$IPFS_ADDR_1" -o node_timeout=30000
t0=$(now)
cat "$W/mnt/cur/"* | cksum >"$W/cold.sum"
t1=$(now)
csec=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
echo "cold read from the node: $(rate "$mail_mb" "$csec") MB/s of mail, $(rate "$blocks" "$csec") blocks/s ($csec s)"

# 4. warm read (local cache), same mount after a remount (no page cache)
umount_it
mount_it --node "$IPFS_ADDR_1"
t0=$(now)
cat "$W/mnt/cur/"* | cksum >"$W/warm.sum"
t1=$(now)
umount_it
hsec=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
cat "$W/corpus/"* | cksum >"$W/src.sum"
same=no
cmp -s "$W/cold.sum" "$W/src.sum" && cmp -s "$W/warm.sum" "$W/src.sum" && same=yes
echo "read from the local cache: $(rate "$mail_mb" "$hsec") MB/s of mail ($hsec s)"
echo "cold and cached reads byte-exact: $same"
[ "$same" = yes ] || exit 1
echo "upload $(rate "$block_mb" "$usec") MB/s ($(rate "$blocks" "$usec") blocks/s), cold read $(rate "$mail_mb" "$csec") MB/s, cached $(rate "$mail_mb" "$hsec") MB/s"
