#!/usr/bin/env bash
# tests/ipfs-node/stop-nodes.sh — stop the nodes kubo-start.sh started
# in BASE_DIR: SIGTERM each daemon by its pid, SIGKILL after 15 s.
# usage: stop-nodes.sh BASE_DIR [i]   (i: only node i)
set -u
BASE_DIR=${1:?usage: stop-nodes.sh BASE_DIR [i]}
pat="node*"
[ -n "${2:-}" ] && pat="node$2"
pids=()
for pf in "$BASE_DIR"/$pat/daemon.pid; do
	[ -f "$pf" ] || continue
	pid=$(cat "$pf")
	if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" && pids+=("$pid"); fi
	rm -f "$pf"
done
for pid in "${pids[@]}"; do
	for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
done
exit 0
