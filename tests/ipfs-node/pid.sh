# tests/ipfs-node/pid.sh — a process by its pid and start time, for the
# scripts that stop what they started (sourced by kubo-start.sh,
# stop-nodes.sh and tests/integration/lib.sh).  Pids wrap around fast on a
# busy machine (32768 of them): a pid whose process ended may name another
# process by the time a script signals it, and the suite runs as root.

# pid_start PID — its start time (field 22 of /proc/PID/stat, after the
# command name, which may hold spaces); nothing and 1 if there is none.
pid_start() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	echo "${20}"
}

# pid_is PID START — PID is still the process that started at START.
pid_is() { [ -n "$2" ] && [ "$(pid_start "$1")" = "$2" ]; }

# node_alive DIR — the daemon of DIR/daemon.pid runs (and, when
# DIR/daemon.start is there, is the process that file names).
node_alive() {
	local pid start
	pid=$(cat "$1/daemon.pid" 2>/dev/null) || return 1
	start=$(cat "$1/daemon.start" 2>/dev/null) || start=
	if [ -n "$start" ]; then pid_is "$pid" "$start"; else kill -0 "$pid" 2>/dev/null; fi
}
