#!/usr/bin/env bash
# bench/kubo.sh — ipmaildir on Kubo beside Kubo's own tools, in one run:
#
#   upload      the outbox draining a store's blocks to a fresh node, against
#               `ipfs dag import` of the same blocks into a fresh node (every
#               block a root, pinned: the same work; and unpinned, a
#               ceiling); 3 rounds (--quick 1), the order alternating, medians
#   cold read   every message read through a mount whose local blocks were
#               wiped (each block fetched from node 1, re-hashed, opened),
#               against Kubo's block/get of the same blocks from node 1
#               (the RPC call `ipfs block get` makes, over 1 and over 4
#               keep-alive connections, ipmaildir's pool; and the CLI, one
#               process a block, on a sample of 300)
#   delivery    a plain directory, ipmaildir on its local store, ipmaildir
#               on a Kubo node, and Kubo's own FUSE mount of its MFS (`ipfs
#               mount` with Mounts.MFS) — each with dovecot-lda, with the
#               qmail/maildrop-style deliverer (tmp/, fsync, link to new/,
#               unlink) and with it renaming instead (tests/tools/
#               maildir_deliver), then `ls -l` and a read-back of every
#               message; what fails on a target is counted and recorded,
#               never a reason to stop
#
#   bench/kubo.sh [--quick] [--csv FILE] [--md FILE]      run as root
#
# Prints one line per figure; --csv and --md write them (the md with the
# machine's load average before and after: figures from a busy machine are
# only comparable within one run).  Exit 0 when every step ran (failures on
# the MFS target are results, not errors), 1 otherwise.
set -uo pipefail
export LC_ALL=C
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
BIN=${IPMAILDIR_BIN:-$BUILD/ipmaildir}
export IPMD_TOP=$TOP IPMD_TOOLS=${IPMD_TOOLS:-$BUILD/tests/tools}
NODE_DIR=$TOP/tests/ipfs-node
quick=0 csv= md=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--csv) csv=$2; shift ;;
	--md) md=$2; shift ;;
	*) echo "usage: bench/kubo.sh [--quick] [--csv FILE] [--md FILE]" >&2; exit 2 ;;
	esac
	shift
done
N=2000 D=500
[ "$quick" = 1 ] && N=300 D=60

die() { echo "kubo.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no $BIN (make)"
[ "$(id -u)" = 0 ] || die "run as root (FUSE mounts, a test user for dovecot-lda)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

W=$(mktemp -d "${TMPDIR:-/var/tmp}/ipmd-bench-kubo.XXXXXX") || die "no scratch directory"
chmod 755 "$W"
TEST_DIR=$W
PIDS=() MNTS=()
cleanup() {
	local m p
	for m in "${MNTS[@]}"; do mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -u -z "$m"; }; done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	"$NODE_DIR/stop-nodes.sh" "$W/ipfs" >/dev/null 2>&1
	grep -q " $W[/ ]" /proc/mounts && { echo "kubo.sh: something is still mounted below $W: kept" >&2; return; }
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
export IPMAILDIR_CONFIG_NOSYSTEM=1 XDG_CONFIG_HOME=$W/config
skip_all() { die "$*"; }
bail() { die "$*"; }
# shellcheck source=tests/integration/mail-env.sh
. "$TOP/tests/integration/mail-env.sh"
# outbox_pending STORE
# shellcheck source=tests/integration/ipfs-lib.sh
. "$TOP/tests/integration/ipfs-lib.sh"
menv_user
menv_deliverer

TOPOLOGY=none "$NODE_DIR/kubo-start.sh" 3 "$W/ipfs" >"$W/ipfs.log" 2>&1 ||
	die "the Kubo nodes did not start: $(tail -3 "$W/ipfs.log")"
# shellcheck disable=SC1091 # written by kubo-start.sh
. "$W/ipfs/nodes.env"
ipfs_n() { local p="IPFS_PATH_$1"; shift; IPFS_PATH=${!p} IPFS_TELEMETRY=off "$IPFS_BIN" "$@"; }

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b }'; }
ROWS=()
# fig SECTION WHAT VALUE UNIT [NOTE]
fig() {
	printf '%-10s %-58s %10s %-8s %s\n' "$1" "$2" "$3" "$4" "${5:-}"
	ROWS+=("$1|$2|$3|$4|${5:-}")
}

mount_ipmd() { # STORE MNT [args]: a foreground mount as our child
	local store=$1 mnt=$2 i
	shift 2
	mkdir -p "$mnt"
	"$BIN" mount -f --store "$store" -o allow_other "$@" "$mnt" 2>>"$W/daemon.log" &
	PIDS+=($!) MNTS+=("$mnt")
	for i in $(seq 600); do mountpoint -q "$mnt" && return 0; sleep 0.1; done
	die "mount of $store failed: $(tail -3 "$W/daemon.log")"
}
umount_ipmd() { # MNT: unmount, wait for the daemon (the last started)
	fusermount3 -u "$1" || return 1
	wait "${PIDS[-1]}" 2>/dev/null
	unset 'PIDS[-1]'
}
# ---------------------------------------------------------------- corpus
# Messages as dovecot-lda and a user's MUA see them (genmail's mail mix).
menv_gen_many "$W/corpus" bench "$N" mail >/dev/null || die "genmail failed"
chmod -R a+rX "$W/corpus"
ls "$W/corpus" | head -n "$D" | sed "s#^#$W/corpus/#" >"$W/deliver.list"
mail_bytes=$(du -sb "$W/corpus" | cut -f1)
echo "corpus: $N messages, $mail_bytes bytes; $D of them for each delivery; $("$IPFS_BIN" version)"

# ---------------------------------------------------------------- upload
"$BIN" init --store "$W/store" --no-passphrase >/dev/null 2>&1 || die "init failed"
mount_ipmd "$W/store" "$W/mnt"
mkdir -p "$W/mnt/cur" "$W/mnt/new" "$W/mnt/tmp"
cp "$W/corpus/"* "$W/mnt/cur/" || die "copy into the mount failed"
umount_ipmd "$W/mnt"
# The store as written, never mounted on a node: each round uploads a copy.
cp -a "$W/store" "$W/store.written"
find "$W/store/blocks" -type f -printf '%f\n' | sort >"$W/cids"
blocks=$(wc -l <"$W/cids")
block_bytes=$(find "$W/store/blocks" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
block_mb=$(awk -v b="$block_bytes" 'BEGIN { printf "%.2f", b / 1e6 }')

# The same blocks as one CAR, every block a root (what the outbox's
# dag/import bodies hold), for Kubo's own import.
python3 - "$W/store/blocks" "$W/cids" "$W/all.car" <<'PY' || die "CAR failed"
import base64, os, sys
blocks, cids, out = sys.argv[1:]
def varint(n):
    b = bytearray()
    while True:
        x = n & 0x7f; n >>= 7
        b.append(x | (0x80 if n else 0))
        if not n: return bytes(b)
def cid_bytes(t):
    s = t[1:].upper(); return base64.b32decode(s + '=' * (-len(s) % 8))
names = open(cids).read().split()
def arr(n): return bytes([0x80 | n]) if n < 24 else b'\x99' + n.to_bytes(2, 'big') if n < 65536 else b'\x9a' + n.to_bytes(4, 'big')
def tag42(cb): v = b'\x00' + cb; return b'\xd8\x2a\x58' + bytes([len(v)]) + v
hdr = b'\xa2\x65roots' + arr(len(names)) + b''.join(tag42(cid_bytes(c)) for c in names) + b'\x67version\x01'
with open(out, 'wb') as f:
    f.write(varint(len(hdr)) + hdr)
    for c in names:
        d = open(os.path.join(blocks, c[-3:-1], c), 'rb').read()
        cb = cid_bytes(c)
        f.write(varint(len(cb) + len(d)) + cb + d)
PY

# upload_to STORE ADDR: mounted on the node ADDR until its outbox is
# empty, then unmounted; the seconds from mount to empty in UP_LAST.
UP_LAST=
upload_to() {
	local t0 p
	t0=$(now)
	mount_ipmd "$1" "$W/mnt" --node "$2"
	for _ in $(seq 12000); do
		p=$(outbox_pending "$1")
		[ "$p" = 0 ] && break
		sleep 0.1
	done
	UP_LAST=$(since "$t0")
	[ "$p" = 0 ] || die "the outbox of $1 did not drain ($p pending)"
	umount_ipmd "$W/mnt"
}

# One round: fresh nodes (a for the outbox, b for dag import pinned, c
# unpinned), each way timed; the order alternates between rounds so a
# noisy moment does not always hit the same one.
up_round() {
	local r=$1 R=$W/ipfs-up$1 first t0
	TOPOLOGY=none "$NODE_DIR/kubo-start.sh" 3 "$R" >"$W/ipfs.log" 2>&1 ||
		die "the Kubo nodes did not start: $(tail -3 "$W/ipfs.log")"
	local A B C
	A=$(. "$R/nodes.env" && echo "$IPFS_ADDR_1")
	B=$(. "$R/nodes.env" && echo "$IPFS_PATH_2")
	C=$(. "$R/nodes.env" && echo "$IPFS_PATH_3")
	rm -rf "$W/store.up" && cp -a "$W/store.written" "$W/store.up"
	for first in ipmd import; do
		if [ $(((r + 1) % 2)) = 1 ]; then [ "$first" = ipmd ] && first=import || first=ipmd; fi
		if [ "$first" = ipmd ]; then
			upload_to "$W/store.up" "$A"
			UP_S+=("$UP_LAST")
		else
			t0=$(now)
			IPFS_PATH=$B IPFS_TELEMETRY=off "$IPFS_BIN" dag import --pin-roots=true --stats "$W/all.car" \
				>"$W/import.out" 2>&1 || die "dag import failed: $(tail -2 "$W/import.out")"
			IMP_S+=("$(since "$t0")")
		fi
	done
	t0=$(now)
	IPFS_PATH=$C IPFS_TELEMETRY=off "$IPFS_BIN" dag import --pin-roots=false --stats "$W/all.car" \
		>"$W/import.out" 2>&1 || die "dag import failed: $(tail -2 "$W/import.out")"
	IMP0_S+=("$(since "$t0")")
	pinned=$(IPFS_PATH=$B IPFS_TELEMETRY=off "$IPFS_BIN" pin ls --type=recursive --quiet | sort | comm -12 - "$W/cids" | wc -l)
	[ "$pinned" = "$blocks" ] || die "dag import pinned $pinned of $blocks blocks"
	"$NODE_DIR/stop-nodes.sh" "$R" >/dev/null 2>&1
	rm -rf "$R"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
UP_S=() IMP_S=() IMP0_S=()
ROUNDS=3
[ "$quick" = 1 ] && ROUNDS=1
for r in $(seq "$ROUNDS"); do up_round "$r"; done
up_s=$(median "${UP_S[@]}") imp_s=$(median "${IMP_S[@]}") imp0_s=$(median "${IMP0_S[@]}")
up=$(rate "$block_mb" "$up_s")
imp=$(rate "$block_mb" "$imp_s")
fig upload "ipmaildir outbox -> fresh node ($blocks blocks, $block_mb MB)" "$up" MB/s "median of ${UP_S[*]} s (mount to outbox empty), $(rate "$blocks" "$up_s") blocks/s"
fig upload "ipfs dag import, every block a root, pinned" "$imp" MB/s "median of ${IMP_S[*]} s"
fig upload "ipfs dag import, no pins: a ceiling" "$(rate "$block_mb" "$imp0_s")" MB/s "median of ${IMP0_S[*]} s"
fig upload "ratio ipmaildir / dag import pinned (goal >= 0.8)" "$(ratio "$up" "$imp")" x "rounds alternate which goes first"

# The store on node 1 for the reads below.
upload_to "$W/store" "$IPFS_ADDR_1"

# ---------------------------------------------------------------- cold read
# get_rpc CONNECTIONS: block/get of every block from node 1; seconds
get_rpc() {
	local t0
	t0=$(now)
	python3 - "$IPFS_API_1" "$W/cids" "$1" <<'PY' || die "block/get failed"
import http.client, sys, threading, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
cids = open(sys.argv[2]).read().split()
it, lock, bad = iter(cids), threading.Lock(), []
def w():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    while True:
        with lock:
            x = next(it, None)
        if x is None: return
        c.request('POST', f'{u.path}/block/get?arg={x}')
        r = c.getresponse(); r.read()
        if r.status != 200: bad.append(x)
ts = [threading.Thread(target=w) for _ in range(int(sys.argv[3]))]
[t.start() for t in ts]; [t.join() for t in ts]
sys.exit(1 if bad else 0)
PY
	since "$t0"
}
get1_s=$(get_rpc 1)
get4_s=$(get_rpc 4)
# The CLI starts a process per block: a sample is enough to know its rate.
head -n 300 "$W/cids" >"$W/cids.sample"
t0=$(now)
IPFS_PATH=$IPFS_PATH_1 IPFS_TELEMETRY=off xargs -P 4 -n 1 -a "$W/cids.sample" "$IPFS_BIN" block get >/dev/null 2>"$W/cli.err" ||
	die "ipfs block get failed: $(head -2 "$W/cli.err")"
cli_s=$(since "$t0")
cli_n=$(wc -l <"$W/cids.sample")

find "$W/store/blocks" -type f -delete
mount_ipmd "$W/store" "$W/mnt" --node "$IPFS_ADDR_1" -o node_timeout=30000
t0=$(now)
cat "$W/mnt/cur/"* | cksum >"$W/cold.sum"
cold_s=$(since "$t0")
umount_ipmd "$W/mnt"
cat "$W/corpus/"* | cksum >"$W/src.sum"
cmp -s "$W/cold.sum" "$W/src.sum" || die "cold reads differ from the corpus"
cold=$(rate "$blocks" "$cold_s")
fig "cold read" "ipmaildir mount, blocks from node 1, every message" "$cold" blocks/s "$cold_s s, $(rate "$mail_bytes" "$cold_s" | awk '{ printf "%.1f", $1 / 1e6 }') MB/s of mail, byte-exact"
fig "cold read" "block/get of the same blocks, RPC, 1 connection" "$(rate "$blocks" "$get1_s")" blocks/s "$get1_s s"
fig "cold read" "block/get of the same blocks, RPC, 4 connections" "$(rate "$blocks" "$get4_s")" blocks/s "$get4_s s"
fig "cold read" "ipfs block get (CLI), one process a block, 4 at once" "$(rate "$cli_n" "$cli_s")" blocks/s "$cli_n of them in $cli_s s"
fig "cold read" "ratio ipmaildir / block/get RPC, 1 connection" "$(ratio "$cold" "$(rate "$blocks" "$get1_s")")" x "cat reads one file after another"
fig "cold read" "ratio ipmaildir / block/get RPC, 4 connections" "$(ratio "$cold" "$(rate "$blocks" "$get4_s")")" x

# ---------------------------------------------------------------- delivery
# Targets: plain directory, ipmaildir (local store), ipmaildir on node 1,
# Kubo's MFS mount of node 3 (Mounts.MFS, FUSE, allow_other).
mkdir -p "$W/t/plain/new" "$W/t/plain/cur" "$W/t/plain/tmp"
"$BIN" init --store "$W/t/local.store" --no-passphrase >/dev/null 2>&1 &&
	"$BIN" init --store "$W/t/node.store" --no-passphrase >/dev/null 2>&1 || die "init failed"
mount_ipmd "$W/t/local.store" "$W/t/local"
mount_ipmd "$W/t/node.store" "$W/t/node" --node "$IPFS_ADDR_1"
mkdir -p "$W/mfs/ipfs" "$W/mfs/ipns" "$W/mfs/mnt"
ipfs_n 3 config Mounts.IPFS "$W/mfs/ipfs" && ipfs_n 3 config Mounts.IPNS "$W/mfs/ipns" &&
	ipfs_n 3 config Mounts.MFS "$W/mfs/mnt" && ipfs_n 3 config --json Mounts.FuseAllowOther true ||
	die "Kubo mount config failed"
MNTS+=("$W/mfs/ipfs" "$W/mfs/ipns" "$W/mfs/mnt")
mfs_note=
if ! ipfs_n 3 mount >"$W/mfs.log" 2>&1; then
	mfs_note="ipfs mount failed: $(tail -1 "$W/mfs.log")"
	echo "kubo.sh: $mfs_note" >&2
fi
declare -A DIR=([plain]=$W/t/plain [local]=$W/t/local [node]=$W/t/node [mfs]=$W/mfs/mnt/Maildir)
TARGETS=(plain local node mfs)
[ -z "$mfs_note" ] || TARGETS=(plain local node)
for t in "${TARGETS[@]}"; do
	mkdir -p "${DIR[$t]}/new" "${DIR[$t]}/cur" "${DIR[$t]}/tmp"
	chown -R "$MAIL_UID:$MAIL_GID" "${DIR[$t]}" 2>/dev/null
	menv_dovecot_conf "$W/dovecot-$t" "${DIR[$t]}"
	eval "DCONF_$t=\$DOVECOT_CONF"
done
label() {
	case $1 in plain) echo "plain directory" ;; local) echo "ipmaildir, local store" ;;
	node) echo "ipmaildir on Kubo node 1" ;; mfs) echo "Kubo MFS mount (ipfs mount)" ;; esac
}

# deliver KIND T: the D messages into T one after the other; sets OKS, BAD
# and SECS; the first failure's words in $W/err.T.KIND
deliver() {
	local kind=$1 t=$2 conf t0 out
	conf=DCONF_$t
	t0=$(now)
	if [ "$kind" = lda ]; then
		# shellcheck disable=SC2016 # expanded by the user's shell
		out=$(menv_as_user bash -c 'ok=0 bad=0; while IFS= read -r f; do
			if "$@" <"$f"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
		done; echo "$ok $bad"' _ "$DOVECOT_LIBEXEC/dovecot-lda" -c "${!conf}" -e \
			-f sender@example.org -a "$MAIL_USER@localhost" <"$W/deliver.list" 2>"$W/err.$t.$kind")
	else
		local how=()
		[ "$kind" = rename ] && how=(--rename)
		# shellcheck disable=SC2016
		out=$(menv_as_user bash -c 'ok=0 bad=0; while IFS= read -r f; do
			if "${@:1}" <"$f" >/dev/null; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
		done; echo "$ok $bad"' _ "$MAIL_DELIVER" "${how[@]}" "${DIR[$t]}" <"$W/deliver.list" 2>"$W/err.$t.$kind")
	fi

	SECS=$(since "$t0")
	read -r OKS BAD <<<"$out"
}
declare -A OK_OF
KINDS=(lda link rename)
if [ ! -x "$DOVECOT_LIBEXEC/dovecot-lda" ]; then
	KINDS=(link rename)
	fig delivery "dovecot-lda" "-" - "not run: no $DOVECOT_LIBEXEC/dovecot-lda"
fi
for kind in "${KINDS[@]}"; do
	for t in "${TARGETS[@]}"; do
		deliver "$kind" "$t"
		case $kind in
		lda) what="dovecot-lda" ;;
		link) what="maildrop-style link delivery" ;;
		rename) what="rename delivery (tmp/ -> new/)" ;;
		esac
		note="$OKS delivered, $BAD failed, $SECS s"
		[ "$BAD" = 0 ] || note="$note; errors: $(grep -v '^$' "$W/err.$t.$kind" | sed 's/ *\[[0-9: -]*\]$//; s/[0-9]\{6,\}[^ :]*/N/g' | sort | uniq -c | sort -rn | head -2 | cut -c1-200 | tr '\n' ';')"
		# dovecot-lda says why in its own log
		[ "$BAD" = 0 ] || [ "$kind" != lda ] ||
			note="$note dovecot.log: $(grep -h -m1 'Error' "$W/dovecot-$t/dovecot.log" | sed 's/^.*Error: //' | cut -c1-200)"
		fig delivery "$what: $(label "$t")" "$(rate "$OKS" "$SECS")" msg/s "$note"
		OK_OF[$t]=$((${OK_OF[$t]:-0} + OKS))
	done
done
for t in "${TARGETS[@]}"; do
	t0=$(now)
	n=$(ls -l "${DIR[$t]}/new" "${DIR[$t]}/cur" 2>"$W/ls.$t" | grep -c '^-')
	s=$(since "$t0")
	fig "ls -l" "new/ and cur/: $(label "$t")" "$s" s "$n files listed, ${OK_OF[$t]} delivered"
done
for t in "${TARGETS[@]}"; do
	t0=$(now)
	bytes=$(find "${DIR[$t]}/new" "${DIR[$t]}/cur" -maxdepth 1 -type f -exec cat {} + 2>"$W/read.$t" | wc -c)
	s=$(since "$t0")
	# Each message must end with its original (an MDA adds headers above).
	miss=$(python3 - "${DIR[$t]}" "$W/deliver.list" <<'PY'
import os, sys
d, lst = sys.argv[1], sys.argv[2]
got = []
for sub in ('new', 'cur'):
    try: names = os.listdir(os.path.join(d, sub))
    except OSError: continue
    for n in names:
        try: got.append(open(os.path.join(d, sub, n), 'rb').read())
        except OSError: pass
orig = [open(p.strip(), 'rb').read() for p in open(lst)]
# every delivery of each message must be there
need = {}
for o in orig: need[o] = need.get(o, 0) + 3
for g in got:
    for o in list(need):
        if g.endswith(o) and need[o] > 0:
            need[o] -= 1; break
print(sum(need.values()))
PY
)
	fig "read-back" "every message: $(label "$t")" "$(rate "$bytes" "$s" | awk '{ printf "%.1f", $1 / 1e6 }')" MB/s "$bytes bytes in $s s; $miss of $((3 * D)) deliveries missing or different"
done
[ -z "$mfs_note" ] || fig delivery "Kubo MFS mount" "-" - "$mfs_note"
for t in local node; do fusermount3 -u "${DIR[$t]}"; done
[ -z "$mfs_note" ] && { fusermount3 -u "$W/mfs/mnt"; fusermount3 -u "$W/mfs/ipfs"; fusermount3 -u "$W/mfs/ipns"; }
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average: $LOAD_BEFORE before, $LOAD_AFTER after ($(nproc) CPUs)"
if [ -n "$csv" ]; then
	{
		echo "section,figure,value,unit,note"
		for r in "${ROWS[@]}"; do
			IFS='|' read -r a b c d e <<<"$r"
			printf '%s,"%s",%s,%s,"%s"\n' "$a" "${b//\"/\'}" "$c" "$d" "${e//\"/\'}"
		done
	} >"$csv"
fi
if [ -n "$md" ]; then
	{
		echo "# ipmaildir on Kubo beside Kubo's own tools (bench/kubo.sh$([ "$quick" = 1 ] && echo ' --quick'))"
		echo
		echo "- when: $(date -u +%Y-%m-%dT%H:%M:%SZ); revision $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)"
		echo "- machine: $(nproc) CPUs, kernel $(uname -r); **load average $LOAD_BEFORE before, $LOAD_AFTER after**"
		echo "- $("$IPFS_BIN" version); nodes by tests/ipfs-node/kubo-start.sh (test profile, 127.0.0.1)"
		echo "- corpus: $N messages, $mail_bytes bytes (genmail mail mix); $D delivered per target and MDA"
		echo
		echo "| section | figure | value | unit | note |"
		echo "|---|---|---:|---|---|"
		for r in "${ROWS[@]}"; do
			IFS='|' read -r a b c d e <<<"$r"
			echo "| $a | $b | $c | $d | ${e//|/\\|} |"
		done
	} >"$md"
fi
echo "upload $(ratio "$up" "$imp")x of dag import, cold read $(ratio "$cold" "$(rate "$blocks" "$get4_s")")x of block/get (4 connections)"
