#!/usr/bin/env bash
# tests/ipfs-node/kubo-start.sh — start N Kubo nodes on 127.0.0.1 for a
# test, and connect them (tests/integration/ipfs-lib.sh, bench/).
#
# usage: kubo-start.sh N BASE_DIR
#   node i lives in BASE_DIR/node$i, its own IPFS_PATH, made by
#   `ipfs init --profile test`: API and swarm on 127.0.0.1, port 0 (the node
#   picks; the API address is read from $IPFS_PATH/api, the swarm address
#   from `id`), no bootstrap, no mDNS, no AutoConf, no AutoTLS, gateway off,
#   telemetry off.  The ports of the first start are kept in node$i/ports
#   and written into the config of a restart.
# env:
#   TOPOLOGY   star (default: node i>1 connects to node 1) | mesh | none
#   ROUTING    Routing.Type: dhtserver (default: a DHT among these nodes) |
#              none | any Kubo routing type
#   READY_TIMEOUT seconds to wait for each API (default 90)
#   IPMD_KUBO  the ipfs binary (default: what kubo-install.sh provides)
#   NETNS      network namespaces (`ip netns`), the i-th word for node i
#              ("-" or none: this one): the daemon, its readiness checks
#              and its swarm/connect run inside it (nsenter --net), so its
#              API on 127.0.0.1 is that namespace's loopback
#   SWARM_IP   swarm addresses, the i-th word for node i (default
#              127.0.0.1), e.g. the namespace's veth address
#   Both are kept in node$i/host for a restart.
# Writes BASE_DIR/nodes.env: IPFS_API_i (http://127.0.0.1:P/api/v0),
# IPFS_ADDR_i (/ip4/127.0.0.1/tcp/P), IPFS_PEER_i, IPFS_SWARM_i
# (/ip4/SWARM_IP/tcp/P/p2p/ID), IPFS_PID_i, IPFS_PATH_i, IPFS_NETNS_i
# (empty: none), IPFS_N, IPFS_BIN.  Restart one stopped node (same ports,
# repo and namespace): kubo-start.sh --restart i BASE_DIR.  Stop with
# stop-nodes.sh BASE_DIR (by pid and start time, pid.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/pid.sh"

RESTART=0
if [ "${1:-}" = --restart ]; then RESTART=1; shift; fi
[ $# -eq 2 ] || { echo "usage: kubo-start.sh [--restart] N BASE_DIR" >&2; exit 2; }
N=$1
mkdir -p "$2" && BASE_DIR=$(cd "$2" && pwd)
TOPOLOGY=${TOPOLOGY:-star}
READY_TIMEOUT=${READY_TIMEOUT:-90}
ROUTING=${ROUTING:-dhtserver}

command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }
IPFS=$("$HERE/kubo-install.sh") || exit 1
# No report to the telemetry endpoint from a test node.
export IPFS_TELEMETRY=off

# host_of i — node i's namespace and swarm address, from NETNS/SWARM_IP
# the first time, from node$i/host after: sets IN (the command prefix that
# enters the namespace, empty for none), HOST_NS and HOST_IP.
host_of() {
	local R="$BASE_DIR/node$1" ns ip nss ips
	if [ -f "$R/host" ]; then
		read -r ns ip <"$R/host"
	else
		read -r -a nss <<<"${NETNS:-}"
		read -r -a ips <<<"${SWARM_IP:-}"
		ns=${nss[$1 - 1]:--} ip=${ips[$1 - 1]:-127.0.0.1}
		echo "$ns $ip" >"$R/host"
	fi
	IN=()
	[ "$ns" = - ] || IN=(nsenter "--net=/run/netns/$ns")
	HOST_NS=${ns#-} HOST_IP=$ip
}

# configure i — the test node's config (JSON edited in one process)
configure() {
	local R=$1 api=0 sw=0
	[ -f "$R/ports" ] && read -r api sw <"$R/ports"
	python3 - "$R/config" "$api" "$sw" "$ROUTING" "$HOST_IP" <<'PY'
import json, sys
f, api, sw, routing, ip = sys.argv[1:]
c = json.load(open(f))
a = c.setdefault("Addresses", {})
a["API"] = f"/ip4/127.0.0.1/tcp/{api}"
a["Gateway"] = []
a["Swarm"] = [f"/ip4/{ip}/tcp/{sw}"]
a["Announce"] = []
a["AppendAnnounce"] = []
a["NoAnnounce"] = []
c["Bootstrap"] = []
c.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
c.setdefault("AutoConf", {})["Enabled"] = False
c.setdefault("AutoTLS", {})["Enabled"] = False
s = c.setdefault("Swarm", {})
s["DisableNatPortMap"] = True
s.setdefault("RelayClient", {})["Enabled"] = False
s.setdefault("RelayService", {})["Enabled"] = False
r = c.setdefault("Routing", {})
r["Type"] = routing
r["LoopbackAddressesOnLanDHT"] = True
r["DelegatedRouters"] = []
c.setdefault("Ipns", {})["DelegatedPublishers"] = []
c.setdefault("DNS", {})["Resolvers"] = {}
pl = c.get("Plugins") or {}
pp = pl.get("Plugins") or {}
pp["telemetry"] = {"Config": {"Mode": "off"}}
pl["Plugins"] = pp
c["Plugins"] = pl
json.dump(c, open(f, "w"), indent=2)
PY
}

# start_one i — (re)start node i
start_one() {
	local i=$1 R="$BASE_DIR/node$1"
	if node_alive "$R"; then
		echo "node$i already running (pid $(cat "$R/daemon.pid"))" >&2; return 1
	fi
	if [ ! -f "$R/config" ]; then
		IPFS_PATH="$R" "$IPFS" init --profile test --empty-repo >"$R/init.log" 2>&1 ||
			{ cat "$R/init.log" >&2; return 1; }
	fi
	host_of "$i"
	configure "$R"
	rm -f "$R/api" "$R/repo.lock" # left by a daemon killed with SIGKILL
	IPFS_PATH="$R" nohup "${IN[@]}" "$IPFS" daemon --migrate=false >>"$R/daemon.log" 2>&1 &
	echo $! >"$R/daemon.pid"
	pid_start $! >"$R/daemon.start" || rm -f "$R/daemon.start"
}

# wait_ready i — until $IPFS_PATH/api exists and POST id answers; keeps the
# ports in node$i/ports; prints "API_PORT SWARM_PORT PEER_ID"
wait_ready() {
	local i=$1 R="$BASE_DIR/node$1" deadline=$((SECONDS + READY_TIMEOUT)) api id out
	host_of "$i"
	until [ -s "$R/api" ] && api=$(sed -n 's#^/ip4/127\.0\.0\.1/tcp/\([0-9]*\)$#\1#p' "$R/api") &&
		[ -n "$api" ] &&
		out=$("${IN[@]}" curl -sf -m 5 -X POST "http://127.0.0.1:$api/api/v0/id" 2>/dev/null); do
		if ! node_alive "$R"; then
			echo "node$i died; log:" >&2; tail -20 "$R/daemon.log" >&2; return 1
		fi
		[ $SECONDS -ge "$deadline" ] && { echo "node$i not ready after ${READY_TIMEOUT}s" >&2; return 1; }
		sleep 0.2
	done
	python3 -c '
import json, re, sys
j, ip = json.loads(sys.argv[1]), sys.argv[3]
sw = [m.group(1) for a in j.get("Addresses") or []
      for m in [re.match(r"/ip4/" + re.escape(ip) + r"/tcp/(\d+)/p2p/", a)] if m]
if not sw: sys.exit(f"no swarm address on {ip}/tcp in " + sys.argv[1])
print(sys.argv[2], sw[0], j["ID"])' "$out" "$api" "$HOST_IP"
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
	read -r api sw ID < <(wait_ready "$i") || exit 1
	[ -n "${ID:-}" ] || exit 1
	echo "$api $sw" >"$R/ports"
	host_of "$i"
	{
		echo "IPFS_API_$i=http://127.0.0.1:$api/api/v0"
		echo "IPFS_ADDR_$i=/ip4/127.0.0.1/tcp/$api"
		echo "IPFS_PEER_$i=$ID"
		echo "IPFS_SWARM_$i=/ip4/$HOST_IP/tcp/$sw/p2p/$ID"
		echo "IPFS_PID_$i=$(cat "$R/daemon.pid")"
		echo "IPFS_PATH_$i=$R"
		echo "IPFS_NETNS_$i=$HOST_NS"
	} >>"$ENVF"
done
{ echo "IPFS_N=$N"; echo "IPFS_BIN=$IPFS"; } >>"$ENVF"

# shellcheck disable=SC1090
. "$ENVF"
connect() { # node $1 -> node $2
	local api="IPFS_API_$1" addr="IPFS_SWARM_$2"
	host_of "$1"
	"${IN[@]}" curl -sf -m 30 -X POST "${!api}/swarm/connect?arg=${!addr}" >/dev/null ||
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
