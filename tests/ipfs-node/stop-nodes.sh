#!/usr/bin/env bash
# tests/ipfs-node/stop-nodes.sh — stop the nodes kubo-start.sh started
# in BASE_DIR: SIGTERM each daemon by its pid, SIGKILL after 15 s.
# usage: stop-nodes.sh BASE_DIR [i]   (i: only node i)
set -u
. "$(dirname "$0")/pid.sh"
BASE_DIR=${1:?usage: stop-nodes.sh BASE_DIR [i]}
pat="node*"
[ -n "${2:-}" ] && pat="node$2"
pids=()
starts=()
for pf in "$BASE_DIR"/$pat/daemon.pid; do
	[ -f "$pf" ] || continue
	# Only the daemon itself: a node that died may have left its pid to
	# another process (pid.sh).
	if node_alive "${pf%/*}"; then
		pid=$(cat "$pf")
		start=$(pid_start "$pid") && kill -TERM "$pid" &&
			pids+=("$pid") && starts+=("$start")
	fi
	rm -f "$pf" "${pf%/*}/daemon.start"
done
for k in "${!pids[@]}"; do
	pid=${pids[$k]} start=${starts[$k]}
	for _ in $(seq 1 150); do pid_is "$pid" "$start" || break; sleep 0.1; done
	if pid_is "$pid" "$start"; then kill -KILL "$pid"; fi
done
exit 0
