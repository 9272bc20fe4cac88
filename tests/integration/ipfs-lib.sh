# tests/integration/ipfs-lib.sh — real Kubo nodes for the integration
# scripts (source after lib.sh).  The nodes (tests/ipfs-node/kubo-start.sh,
# Kubo from kubo-install.sh) live in $TEST_DIR/ipfs, on 127.0.0.1, and are
# stopped by pid in the EXIT trap.
#
#   ipfs_require          Kubo, or skip_all — except under CI=true, where
#                         a Kubo that can't be provided is a failure (bail)
#   ipfs_start N          start N nodes (TOPOLOGY, ROUTING: kubo-start.sh);
#                         sets IPFS_API_i, IPFS_ADDR_i, IPFS_PEER_i,
#                         IPFS_SWARM_i, IPFS_PATH_i, IPFS_BIN (nodes.env)
#   ipfs_stop_node i      stop node i (by pid)       ipfs_restart_node i
#   ipfs_cli i ARGS…      node i's own CLI: `ipfs ARGS…` with its
#                         IPFS_PATH, through its running daemon
#   ipfs_in i CMD…        (kubo) CMD in node i's network namespace
#                         (kubo-start.sh's NETNS; none: CMD as is), where
#                         its API address is reachable
#   ipfs_has API CID      block/stat within 2 s: 0 present, 1 not
#   ipfs_pins API         the node's recursive pins, base32, sorted, one a
#                         line (none: no line); Kubo's own, the empty
#                         directory init pins, among them (a CIDv0, shown
#                         as its CIDv1: bafybeiczsscd…)
#   raw_cid FILE          CIDv1 raw sha2-256 of a file, base32, computed
#                         here (sha256sum + base32), not by ipmaildir
#   outbox_pending STORE  pending entries of STORE/outbox.log (cache/outbox.h)
#   outbox_drained STORE SECONDS  until nothing is pending (1: not in time)
#   ipfs_all_blocks API STORE  every block file of STORE is on the node
#                         (one python process, keep-alive, 8 in parallel);
#                         diag "N blocks, M missing"
#   ipfs_proxy_start PORT a misbehaving proxy in front of the API on PORT
#                         (ipfs_proxy.py); sets PROXY_ADDR, PROXY_CTL (write
#                         pass | corrupt | delay MS | dhtfail CID |
#                         record FILE | fakepin to it), PROXY_EVENTS
#
# What every node test shares:
#   node_test_require     an ipmaildir mount target, the binary, DELIVER
#                         (maildir_deliver), python3 and Kubo — or skip/bail;
#                         sets STORE, MNT (in $TEST_DIR) and LOG (the
#                         daemons' log)
#   node_start [--proxy] N STORE MNT [mount args…]
#                         N nodes; with --proxy, ipfs_proxy_start in front
#                         of node 1; NODE_ADDR is node 1's API (or the
#                         proxy's); STORE made (ipmd_init) and mounted on
#                         MNT with --node NODE_ADDR and the args; bails on
#                         any failure
#   node_msgs SUBJECT FIRST LAST SIZE  messages $TEST_DIR/m/SUBJECT.N of
#                         about SIZE bytes, distinct per N; SIZE "mixed":
#                         300 B to 30 kB, every 20th 300 kB (many chunks)
#   deliver_n SUBJECT FIRST LAST  deliver those into $MNT; prints failures
#   maildir_sums DIR      sha256 of every message under DIR/{new,cur}, sorted
#   store_bytes STORE     bytes of STORE's block files
#   store_under STORE BYTES SECONDS  until store_bytes <= BYTES (eviction
#                         runs at the commit after a delivery)
#   store_head STORE      the CID of STORE's newest commit
#   store_mailbox STORE   STORE's mailbox id (its IPNS name, k51…)
#   read_cap STORE FILE   the read capability into FILE (0600)

IPFS_NODE_DIR=${IPMD_TOP:-$PWD}/tests/ipfs-node
IPFS_BASE=$TEST_DIR/ipfs

ipfs_require() {
	command -v curl >/dev/null || skip_all "curl is not installed"
	if ! "$IPFS_NODE_DIR/kubo-install.sh" >"$TEST_DIR/ipfs-install.log" 2>&1; then
		if [ "${CI:-}" = true ]; then
			cat "$TEST_DIR/ipfs-install.log" >&2
			bail "Kubo cannot be provided (tests/ipfs-node/kubo-install.sh)"
		fi
		skip_all "no Kubo: $(tail -1 "$TEST_DIR/ipfs-install.log")"
	fi
}

ipfs_start() {
	on_cleanup "'$IPFS_NODE_DIR/stop-nodes.sh' '$IPFS_BASE'"
	"$IPFS_NODE_DIR/kubo-start.sh" "$1" "$IPFS_BASE" >"$TEST_DIR/ipfs-start.log" 2>&1 ||
		{ cat "$TEST_DIR/ipfs-start.log" >&2; bail "Kubo nodes did not start"; }
	# shellcheck disable=SC1091
	. "$IPFS_BASE/nodes.env"
}

ipfs_stop_node() { "$IPFS_NODE_DIR/stop-nodes.sh" "$IPFS_BASE" "$1"; }
ipfs_restart_node() { "$IPFS_NODE_DIR/kubo-start.sh" --restart "$1" "$IPFS_BASE" >>"$TEST_DIR/ipfs-start.log" 2>&1; }
ipfs_cli() {
	local p="IPFS_PATH_$1" i=$1
	shift
	IPFS_PATH=${!p} IPFS_TELEMETRY=off ipfs_in "$i" "$IPFS_BIN" "$@"
}
ipfs_in() {
	local ns="IPFS_NETNS_$1"
	shift
	if [ -n "${!ns:-}" ]; then nsenter "--net=/run/netns/${!ns}" "$@"; else "$@"; fi
}

ipfs_has() { curl -sf -m 5 -X POST "$1/block/stat?arg=$2&timeout=2s" >/dev/null; }

# One line a pin; none: no line, and success.  Kubo answers a node
# without pins with {} (no "Keys": indexing it failed, a traceback and
# exit 1), an older one with {"Keys":{}} (an empty join printed is one
# empty line, which `wc -l` counts and comm takes for a pin).
ipfs_pins() {
	curl -sf -m 30 -X POST "$1/pin/ls?type=recursive&cid-base=base32" |
		python3 -c 'import json,sys
for k in sorted(json.load(sys.stdin).get("Keys") or ()): print(k)'
}

raw_cid() {
	{ printf '\x01\x55\x12\x20'; sha256sum "$1" | cut -c1-64 | xxd -r -p; } |
		basenc --base32 -w0 | tr 'A-Z' 'a-z' | tr -d '=' | sed 's/^/b/'
}

outbox_pending() {
	python3 - "$1/outbox.log" <<'PY'
import sys
p = set()
d = open(sys.argv[1], 'rb').read()
for i in range(0, len(d) - len(d) % 33, 33):
    op, dg = d[i:i+1], d[i+1:i+33]
    if op == b'+': p.add(dg)
    elif op == b'-': p.discard(dg)
print(len(p))
PY
}

outbox_drained() {
	local i
	for i in $(seq $(($2 * 5))); do
		[ "$(outbox_pending "$1")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}

ipfs_all_blocks() {
	local out
	out=$(find "$2/blocks" -type f | python3 "$IPMD_TOP/tests/integration/ipfs_blocks.py" "$1" -)
	local rc=$?
	diag "$(head -1 <<<"$out" | awk '{print $1 " local blocks, " $2 " missing on the node"}')"
	[ "$rc" = 0 ] && [ "$(head -1 <<<"$out" | cut -d' ' -f1)" -gt 0 ]
}

ipfs_proxy_start() {
	PROXY_CTL=$TEST_DIR/proxy.ctl PROXY_EVENTS=$TEST_DIR/proxy.events
	echo pass >"$PROXY_CTL"
	: >"$PROXY_EVENTS"
	rm -f "$TEST_DIR/proxy.port"
	python3 "$IPMD_TOP/tests/integration/ipfs_proxy.py" "$1" "$PROXY_CTL" \
		"$TEST_DIR/proxy.port" "$PROXY_EVENTS" 2>>"$TEST_DIR/proxy.log" &
	local pid=$! i
	track_pid "$pid"
	for i in $(seq 100); do
		[ -s "$TEST_DIR/proxy.port" ] && break
		sleep 0.05
	done
	[ -s "$TEST_DIR/proxy.port" ] || return 1
	PROXY_ADDR=/ip4/127.0.0.1/tcp/$(cat "$TEST_DIR/proxy.port")
}

node_test_require() {
	[ "$IPMD_TEST_TARGET" = plain ] && skip_all "needs ipmaildir mounts on a node"
	[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN"
	command -v python3 >/dev/null || skip_all "python3 is not installed"
	ipfs_require
	need_tool maildir_deliver # past the skips: a script that skips needs none
	DELIVER=$IPMD_TOOLS/maildir_deliver
	STORE=$TEST_DIR/store MNT=$TEST_DIR/mnt LOG=$TEST_DIR/ipmaildir.log
}

node_start() {
	local proxy=0
	[ "$1" = --proxy ] && { proxy=1; shift; }
	local n=$1 store=$2 mnt=$3
	shift 3
	ipfs_start "$n"
	NODE_ADDR=$IPFS_ADDR_1
	if [ "$proxy" = 1 ]; then
		ipfs_proxy_start "${IPFS_ADDR_1##*/}" || bail "proxy did not start"
		NODE_ADDR=$PROXY_ADDR
	fi
	ipmd_init "$store" || bail "init failed"
	ipmd_mount "$store" "$mnt" --node "$NODE_ADDR" "$@" ||
		bail "mount --node on Kubo failed: $(tail -3 "$TEST_DIR/ipmaildir.log")"
}

node_msgs() {
	mkdir -p "$TEST_DIR/m"
	python3 - "$TEST_DIR/m" "$@" <<'PY'
import random, sys
d, subj, first, last, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
for n in range(first, last + 1):
    r = random.Random(f"{subj}{n}")
    if size == "mixed":
        s = r.choice([300, 3000, 30000, 300000 if n % 20 == 0 else 4000])
    else:
        s = int(size)
    body = " ".join(f"w{r.randrange(10**6)}" for _ in range(s // 8 + 1))[:s]
    with open(f"{d}/{subj}.{n}", "w") as f:
        f.write(f"Subject: {subj} {n}\nMessage-ID: <{n}.{subj}@test>\n\n{body}\n")
PY
}

deliver_n() {
	local i failed=0
	for i in $(seq "$2" "$3"); do
		"$DELIVER" "$MNT" <"$TEST_DIR/m/$1.$i" >/dev/null || failed=$((failed + 1))
	done
	echo "$failed"
}

maildir_sums() { (cd "$1" && find new cur -type f -exec sha256sum {} + | cut -c1-64 | sort); }

store_bytes() { find "$1/blocks" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

store_under() {
	local i
	for i in $(seq $(($3 * 5))); do
		[ "$(store_bytes "$1")" -le "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

store_head() {
	"$IPMD_BIN" log --store "$1" --json -n 1 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cid"])'
}

store_mailbox() {
	"$IPMD_BIN" status --store "$1" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["mailbox"])'
}

read_cap() {
	(umask 077 && "$IPMD_BIN" key export --read-only --store "$1" >"$2")
}

# ipmd_two_devices — the two-device tests' start (issue 17): Kubo required,
# two nodes (dhtserver routing: they find each other's IPNS records), and
# lib.sh's ipmd_two_stores (A, B, MA, MB).
ipmd_two_devices() {
	node_test_require
	ROUTING=dhtserver ipfs_start 2
	ipmd_two_stores
}

# ---- two hosts: network namespaces joined by a veth pair ----

# netns_hosts SUBNET — two hosts with a real network between them, for
# the node tests that cut it: network namespaces NS_A and NS_B (named by
# this shell's pid) joined by the veth pair VETH_A/VETH_B, SUBNET.1 (IP_A)
# and SUBNET.2 (IP_B), loopback up, nothing else (no route out of
# either); removed at cleanup, after the nodes (registered first).  Root,
# ip and nsenter are needed: without them, or where the kernel refuses a
# namespace, the script skips — under CI=true it fails instead (so call
# it before mail-env.sh, which sets CI).  Start the nodes in them with
# NETNS="$NS_A $NS_B" SWARM_IP="$IP_A $IP_B" ipfs_start 2.
netns_hosts() {
	local ci=${CI:-}
	_netns_cannot() { [ "$ci" = true ] && bail "$*"; skip_all "$*"; }
	[ "$(id -u)" = 0 ] || _netns_cannot "not root: ip netns and nsenter need root"
	local c
	for c in ip nsenter; do
		command -v "$c" >/dev/null || _netns_cannot "$c not installed"
	done
	NS_A=ipmd-a-$$ NS_B=ipmd-b-$$
	VETH_A=ipmdva$$ VETH_B=ipmdvb$$
	IP_A=$1.1 IP_B=$1.2
	ip netns add "$NS_A" 2>"$TEST_DIR/netns.err" ||
		_netns_cannot "ip netns is not allowed here: $(head -1 "$TEST_DIR/netns.err")"
	# A namespace whose name is gone lives on until its last process (a
	# mount) exits.
	on_cleanup "ip netns del $NS_A"
	ip netns add "$NS_B" || _netns_cannot "ip netns add $NS_B failed"
	on_cleanup "ip netns del $NS_B"
	ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B" ||
		_netns_cannot "no veth pair"
	ip -n "$NS_A" addr add "$IP_A/24" dev "$VETH_A" &&
		ip -n "$NS_B" addr add "$IP_B/24" dev "$VETH_B" &&
		ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up &&
		ip -n "$NS_A" link set "$VETH_A" up && ip -n "$NS_B" link set "$VETH_B" up ||
		bail "cannot set up the veth pair"
}

# netns_peering — each node keeps the other in Peering.Peers (config, for
# a restart; and now), as two fixed hosts would.
netns_peering() {
	local i j peer sw
	for i in 1 2; do
		j=$((3 - i)) peer="IPFS_PEER_$((3 - i))" sw="IPFS_SWARM_$((3 - i))"
		ipfs_cli "$i" config --json Peering.Peers \
			"[{\"ID\":\"${!peer}\",\"Addrs\":[\"${!sw%/p2p/*}\"]}]" >/dev/null &&
			ipfs_cli "$i" swarm peering add "${!sw}" >/dev/null ||
			bail "peering of node $i with node $j failed"
	done
}

# netns_link up|down — the veth pair between the two hosts
netns_link() { ip -n "$NS_A" link set "$VETH_A" "$1" && ip -n "$NS_B" link set "$VETH_B" "$1"; }

# netns_mount NS STORE MNT ARGS… — ipmd_mount with the daemon in network
# namespace NS (the FUSE mount stays in this mount namespace)
netns_mount() {
	local ns=$1
	shift
	IPMD_WRAPPER="nsenter --net=/run/netns/$ns ${IPMD_WRAPPER:-}" ipmd_mount "$@"
}

