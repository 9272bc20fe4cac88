#!/usr/bin/env bash
# 03-test-lib.t — the scripts' own library (lib.sh): its EXIT trap stops
# the processes a script tracked, and never one that took a tracked pid
# after that process ended; tests/ipfs-node/stop-nodes.sh the same for
# the Kubo nodes.  Pids wrap around fast on a machine running
# several suites (32768 of them), and the suite runs as root: a stale pid
# can name any process of the machine — the likely end of the one
# `ipmaildir object get` whose status made 05-cli.t's "object get with a
# wrong key exits 1" fail once (every path of that command exits 1 for
# that input, and it never failed in hundreds of runs since).  The reuse is made on purpose in a pid namespace of its own
# (ns_last_pid).  No mount, no binary: seconds.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v unshare >/dev/null || skip_all "unshare is not installed"
unshare -pf --mount-proc true 2>/dev/null ||
	skip_all "no pid namespace here (needs root or user namespaces)"

# In a pid namespace: a script tracks process X, X ends, Y takes X's pid,
# the script exits.  Prints what became of Y (and of a live tracked Z).
cat >"$TEST_DIR/inner.sh" <<'INNER'
. "$1/lib.sh"
sleep 0.2 & x=$!
track_pid "$x"
wait "$x"
echo $((x - 1)) >/proc/sys/kernel/ns_last_pid
sleep 60 & y=$!
[ "$y" = "$x" ] || { echo "no-reuse $x $y"; kill "$y"; exit 0; }
sleep 60 & z=$!
track_pid "$z"
( _cleanup ) >/dev/null 2>&1
kill -0 "$y" 2>/dev/null && echo "y-alive" || echo "y-killed"
kill -0 "$z" 2>/dev/null && [ "$(ps -o stat= -p "$z")" != Z ] &&
	echo "z-alive" || echo "z-stopped"
kill "$y" "$z" 2>/dev/null
wait
INNER
out=$(TMPDIR=$TEST_DIR unshare -pf --mount-proc bash "$TEST_DIR/inner.sh" "$here" 2>&1)
case $out in
no-reuse*) skip_all "the pid namespace did not reuse the pid ($out)" ;;
esac
check "a process that took a tracked pid is left alone" grep -q '^y-alive$' <<<"$out" ||
	diag "inner script: ${out//$'\n'/ | }"
check "a tracked process still running is stopped" grep -q '^z-stopped$' <<<"$out" ||
	diag "inner script: ${out//$'\n'/ | }"
# stop-nodes.sh (tests/ipfs-node) the same: a node whose pid another
# process took (its start time differs from daemon.start) is left alone,
# a running one is stopped.
NODES=$TEST_DIR/nodes
mkdir -p "$NODES/node1" "$NODES/node2"
sleep 60 & other=$!
sleep 60 & daemon=$!
echo "$other" >"$NODES/node1/daemon.pid"
echo 1 >"$NODES/node1/daemon.start" # started at another time
echo "$daemon" >"$NODES/node2/daemon.pid"
pid_start "$daemon" >"$NODES/node2/daemon.start"
"$here/../ipfs-node/stop-nodes.sh" "$NODES"
wait "$daemon" 2>/dev/null
check "stop-nodes.sh leaves a process that took a node's pid alone" kill -0 "$other"
check "… and stops a node that runs" bash -c "! kill -0 $daemon 2>/dev/null"
kill "$other"
wait "$other" 2>/dev/null
done_testing
