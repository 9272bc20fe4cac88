#!/usr/bin/env bash
# tests/ipfs-node/start-nodes.sh — start N real IPFS nodes (js-ipfs 0.66.1,
# Kubo-compatible RPC API) on 127.0.0.1 for a test, and connect them.
#
# usage: start-nodes.sh N BASE_DIR
#   node i lives in BASE_DIR/node$i (the test's temp dir); every port (API,
#   swarm, gateway) is picked free on 127.0.0.1 at start.  Bootstrap,
#   discovery, preload, DHT and pubsub are off; loopback-guard.cjs refuses
#   any non-loopback traffic from inside the node; tcp-nodelay.cjs turns
#   Nagle off (bitswap over loopback: ~25 ms a block instead of ~270 ms).
# env:
#   TOPOLOGY   star (default: node i>1 connects to node 1) | mesh | none
#   ROUTING    Routing.Type: none (default) | dhtserver (DHT among these nodes)
#   READY_TIMEOUT seconds to wait for each API (default 90)
# Writes BASE_DIR/nodes.env: IPFS_API_i (http://127.0.0.1:P/api/v0),
# IPFS_ADDR_i (/ip4/127.0.0.1/tcp/P), IPFS_PEER_i, IPFS_SWARM_i, IPFS_PID_i,
# IPFS_PATH_i, IPFS_N.  Restart one stopped node (same ports and repo):
#   start-nodes.sh --restart i BASE_DIR
# Stop with stop-nodes.sh BASE_DIR (by pid).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

RESTART=0
if [ "${1:-}" = --restart ]; then RESTART=1; shift; fi
[ $# -eq 2 ] || { echo "usage: start-nodes.sh [--restart] N BASE_DIR" >&2; exit 2; }
N=$1
mkdir -p "$2" && BASE_DIR=$(cd "$2" && pwd)
TOPOLOGY=${TOPOLOGY:-star}
READY_TIMEOUT=${READY_TIMEOUT:-90}
ROUTING=${ROUTING:-none}

command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }
NODE=$("$HERE/install.sh") || exit 1
CLI="$HERE/node_modules/ipfs/src/cli.js"

# Every js-ipfs process: NODE_ENV=test turns preload off by default.
export NODE_ENV=test
export NODE_OPTIONS="--require $HERE/loopback-guard.cjs --require $HERE/tcp-nodelay.cjs"

free_port() {
	"$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_one i — (re)start node i; its ports are kept in node$i/ports
start_one() {
	local i=$1 R="$BASE_DIR/node$1" api sw gw
	if [ -f "$R/daemon.pid" ] && kill -0 "$(cat "$R/daemon.pid")" 2>/dev/null; then
		echo "node$i already running (pid $(cat "$R/daemon.pid"))" >&2; return 1
	fi
	if [ ! -f "$R/config" ]; then
		IPFS_PATH="$R" "$NODE" "$CLI" init --profile test -e >/dev/null
	fi
	if [ -f "$R/ports" ]; then
		read -r api sw gw <"$R/ports"
	else
		api=$(free_port); sw=$(free_port); gw=$(free_port)
		echo "$api $sw $gw" >"$R/ports"
	fi
	rm -rf "$R/repo.lock" # left by a daemon killed with SIGKILL
	"$NODE" -e '
		const fs = require("fs"); const [f, api, sw, gw, routing] = process.argv.slice(1)
		const c = JSON.parse(fs.readFileSync(f, "utf8"))
		c.Addresses.API = `/ip4/127.0.0.1/tcp/${api}`
		c.Addresses.Gateway = `/ip4/127.0.0.1/tcp/${gw}`
		c.Addresses.Swarm = [`/ip4/127.0.0.1/tcp/${sw}`]
		c.Addresses.RPC = ""
		c.Addresses.Delegates = []
		c.Addresses.Announce = []; c.Addresses.NoAnnounce = []
		c.Bootstrap = []
		c.Discovery = { MDNS: { Enabled: false, Interval: 10 }, webRTCStar: { Enabled: false } }
		c.Swarm = Object.assign(c.Swarm || {}, { DisableNatPortMap: true })
		c.Routing = { Type: routing }
		c.Pubsub = Object.assign(c.Pubsub || {}, { Enabled: false })
		fs.writeFileSync(f, JSON.stringify(c, null, 2))
	' "$R/config" "$api" "$sw" "$gw" "$ROUTING"
	IPFS_PATH="$R" nohup "$NODE" "$CLI" daemon --enable-preload=false >>"$R/daemon.log" 2>&1 &
	echo $! >"$R/daemon.pid"
}

# wait_ready i — until POST /api/v0/id answers; prints the peer id
wait_ready() {
	local i=$1 R="$BASE_DIR/node$1" api id deadline=$((SECONDS + READY_TIMEOUT))
	read -r api _ <"$R/ports"
	until id=$(curl -sf -m 5 -X POST "http://127.0.0.1:$api/api/v0/id" 2>/dev/null |
		"$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{process.stdout.write(JSON.parse(s).ID)}catch{process.exit(1)}})'); do
		if ! kill -0 "$(cat "$R/daemon.pid")" 2>/dev/null; then
			echo "node$i died; log:" >&2; tail -20 "$R/daemon.log" >&2; return 1
		fi
		[ $SECONDS -ge "$deadline" ] && { echo "node$i not ready after ${READY_TIMEOUT}s" >&2; return 1; }
		sleep 0.3
	done
	echo "$id"
}

if [ "$RESTART" = 1 ]; then
	start_one "$N"
	wait_ready "$N" >/dev/null
	exit 0
fi

for i in $(seq 1 "$N"); do mkdir -p "$BASE_DIR/node$i"; start_one "$i"; done
ENVF="$BASE_DIR/nodes.env"
: >"$ENVF"
for i in $(seq 1 "$N"); do
	R="$BASE_DIR/node$i"
	ID=$(wait_ready "$i")
	read -r api sw _ <"$R/ports"
	{
		echo "IPFS_API_$i=http://127.0.0.1:$api/api/v0"
		echo "IPFS_ADDR_$i=/ip4/127.0.0.1/tcp/$api"
		echo "IPFS_PEER_$i=$ID"
		echo "IPFS_SWARM_$i=/ip4/127.0.0.1/tcp/$sw/p2p/$ID"
		echo "IPFS_PID_$i=$(cat "$R/daemon.pid")"
		echo "IPFS_PATH_$i=$R"
	} >>"$ENVF"
done
echo "IPFS_N=$N" >>"$ENVF"

# shellcheck disable=SC1090
. "$ENVF"
connect() { # node $1 -> node $2
	local api="IPFS_API_$1" addr="IPFS_SWARM_$2"
	curl -sf -m 30 -X POST "${!api}/swarm/connect?arg=${!addr}" >/dev/null ||
		{ echo "swarm/connect node$1 -> node$2 failed" >&2; return 1; }
}
if [ "$N" -gt 1 ]; then
	case "$TOPOLOGY" in
	star) for i in $(seq 2 "$N"); do connect "$i" 1; done ;;
	mesh) for i in $(seq 1 "$N"); do for j in $(seq $((i + 1)) "$N"); do connect "$j" "$i"; done; done ;;
	none) ;;
	*) echo "unknown TOPOLOGY=$TOPOLOGY" >&2; exit 1 ;;
	esac
fi
