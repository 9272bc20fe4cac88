# tests/integration/ipfs-lib.sh — real IPFS nodes for the integration
# scripts (source after lib.sh).  The nodes live in $TEST_DIR/ipfs and are
# stopped by pid in the EXIT trap.
#
# IPMD_IPFS_NODE picks the node (set it before sourcing, or in the script):
#   js    js-ipfs 0.66.1 (tests/ipfs-node/install.sh, start-nodes.sh) —
#         the default for now
#   kubo  Kubo (tests/ipfs-node/kubo-install.sh, kubo-start.sh): the same
#         variables, plus IPFS_BIN, and ipfs_cli below
#
#   ipfs_require          install the test node or skip_all — except under
#                         CI=true, where a node that can't be installed is
#                         a failure (bail)
#   ipfs_start N          start N connected nodes; sets IPFS_API_i,
#                         IPFS_ADDR_i, IPFS_PEER_i … (nodes.env)
#   ipfs_stop_node i      stop node i (by pid)       ipfs_restart_node i
#   ipfs_cli i ARGS…      (kubo) node i's own CLI: `ipfs ARGS…` with its
#                         IPFS_PATH, through its running daemon
#   ipfs_in i CMD…        (kubo) CMD in node i's network namespace
#                         (kubo-start.sh's NETNS; none: CMD as is), where
#                         its API address is reachable
#   ipfs_has API CID      block/stat within 2 s: 0 present, 1 not
#   raw_cid FILE          CIDv1 raw sha2-256 of a file, base32, computed
#                         here (sha256sum + base32), not by ipmaildir
#   outbox_pending STORE  pending entries of STORE/outbox.log (cache/outbox.h)
#   ipfs_all_blocks API STORE  every block file of STORE is on the node
#                         (one python process, keep-alive, 8 in parallel);
#                         diag "N blocks, M missing"
#   ipfs_proxy_start PORT a misbehaving proxy in front of the API on PORT
#                         (ipfs_proxy.py); sets PROXY_ADDR, PROXY_CTL (write
#                         pass | corrupt | delay MS | dhtfail CID |
#                         record FILE | fakepin to it), PROXY_EVENTS

IPFS_NODE_DIR=${IPMD_TOP:-$PWD}/tests/ipfs-node
IPFS_BASE=$TEST_DIR/ipfs
IPMD_IPFS_NODE=${IPMD_IPFS_NODE:-js}

# ipfs_script WHAT — the script of the chosen node: install | start
ipfs_script() {
	case "$IPMD_IPFS_NODE:$1" in
	js:install) echo "$IPFS_NODE_DIR/install.sh" ;;
	js:start) echo "$IPFS_NODE_DIR/start-nodes.sh" ;;
	kubo:install) echo "$IPFS_NODE_DIR/kubo-install.sh" ;;
	kubo:start) echo "$IPFS_NODE_DIR/kubo-start.sh" ;;
	*) bail "IPMD_IPFS_NODE=$IPMD_IPFS_NODE: js or kubo" ;;
	esac
}

ipfs_require() {
	command -v curl >/dev/null || skip_all "curl is not installed"
	if ! "$(ipfs_script install)" >"$TEST_DIR/ipfs-install.log" 2>&1; then
		if [ "${CI:-}" = true ]; then
			cat "$TEST_DIR/ipfs-install.log" >&2
			bail "the IPFS test node cannot be installed (tests/ipfs-node/install.sh)"
		fi
		skip_all "no IPFS test node: $(tail -1 "$TEST_DIR/ipfs-install.log")"
	fi
}

ipfs_start() {
	on_cleanup "'$IPFS_NODE_DIR/stop-nodes.sh' '$IPFS_BASE'"
	"$(ipfs_script start)" "$1" "$IPFS_BASE" >"$TEST_DIR/ipfs-start.log" 2>&1 ||
		{ cat "$TEST_DIR/ipfs-start.log" >&2; bail "IPFS nodes did not start"; }
	# shellcheck disable=SC1091
	. "$IPFS_BASE/nodes.env"
}

ipfs_stop_node() { "$IPFS_NODE_DIR/stop-nodes.sh" "$IPFS_BASE" "$1"; }
ipfs_restart_node() { "$(ipfs_script start)" --restart "$1" "$IPFS_BASE" >>"$TEST_DIR/ipfs-start.log" 2>&1; }
ipfs_cli() {
	local p="IPFS_PATH_$1" i=$1
	shift
	[ -n "${IPFS_BIN:-}" ] || bail "ipfs_cli: only for IPMD_IPFS_NODE=kubo"
	IPFS_PATH=${!p} IPFS_TELEMETRY=off ipfs_in "$i" "$IPFS_BIN" "$@"
}
ipfs_in() {
	local ns="IPFS_NETNS_$1"
	shift
	if [ -n "${!ns:-}" ]; then nsenter "--net=/run/netns/${!ns}" "$@"; else "$@"; fi
}

ipfs_has() { curl -sf -m 5 -X POST "$1/block/stat?arg=$2&timeout=2s" >/dev/null; }

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
