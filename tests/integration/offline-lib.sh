# tests/integration/offline-lib.sh — the two-device offline scenario
# (issue 17, "Offline") shared by 67-two-devices-offline.t (the link cut
# with swarm filters on one host) and 67-two-devices-hosts.t (a veth pair
# between two network namespaces taken down).  Sourced after lib.sh and
# ipfs-lib.sh; the test mounts A on $MA and B on $MB, sets PID_A and
# PID_B, and cuts and mends the link its own way between the steps:
#   offline_share        four messages on A, taken by B (m1 … m4)
#   offline_work         alone: 5 deliveries each, S on A and F on B for
#                        m1, m2 deleted on A and m3 on B, m4 moved to
#                        cur/ with R on B; some sync rounds pass
#   offline_apart        neither has the other's mail
#   offline_converged    mended: both converge by the rules, same bytes
#   offline_unmount
# Waits are polls with generous bounds.

OPTS=commit_delay=200,publish=1,sync=2
offline_msg() { printf 'Subject: %s\nMessage-ID: <%s@offline>\n\nbody of %s\n' "$1" "$1" "$1"; }
# offline_deliver MNT NAME — one message; its file name on stdout
offline_deliver() { offline_msg "$2" | "$DELIVER" "$1" | sed 's|^new/||'; }
offline_count() { find "$1/new" "$1/cur" -type f | wc -l; }
offline_subjects() { grep -h '^Subject: ' -r "$1/new" "$1/cur" | sort | tr '\n' ' '; }
offline_same() { [ "$(file_names "$MA")" = "$(file_names "$MB")" ]; }

offline_share() {
	m1=$(offline_deliver "$MA" m1)
	m2=$(offline_deliver "$MA" m2)
	m3=$(offline_deliver "$MA" m3)
	m4=$(offline_deliver "$MA" m4)
}

offline_taken() {
	check "B takes the four messages A has" poll 180 test -e "$MB/new/$m4"
	check "… and both agree" poll 60 offline_same
}

offline_work() {
	local i
	for i in 1 2 3 4 5; do offline_deliver "$MA" "a-$i" >/dev/null; done
	for i in 1 2 3 4 5; do offline_deliver "$MB" "b-$i" >/dev/null; done
	mv "$MA/new/$m1" "$MA/cur/$m1:2,S"
	mv "$MB/new/$m1" "$MB/cur/$m1:2,F"
	rm "$MA/new/$m2"
	rm "$MB/new/$m3"
	mv "$MB/new/$m4" "$MB/cur/$m4:2,R"
	# Several rounds of each side's sync pass while cut (sync=2).
	sleep 8
}

offline_apart() {
	is "$(offline_count "$MA")" 8 "cut off, A has its own 8 messages (4 - 1 + 5)"
	is "$(offline_count "$MB")" 8 "… and B its own 8"
	check "… neither has the other's mail" \
		bash -c "! grep -rqs '^Subject: b-' '$MA/new' && ! grep -rqs '^Subject: a-' '$MB/new'"
}

offline_converged() {
	local bad=0 f
	_offline_12() { offline_same && [ "$(offline_count "$MA")" = 12 ]; }
	check "both converge: 12 messages on each, the same names" poll 300 _offline_12 ||
		{ diag "A: $(file_names "$MA" | tr '\n' ' ')"; diag "B: $(file_names "$MB" | tr '\n' ' ')"; }
	is "$(offline_subjects "$MA")" "$(offline_subjects "$MB")" "the same messages on both"
	is "$(grep -rh '^Subject: [ab]-' "$MA/new" "$MA/cur" | wc -l)" 10 \
		"every delivery made while cut, from both sides"
	is "$(ls "$MA/cur" | grep -F "$m1")" "$m1:2,FS" "S on A and F on B while cut: :2,FS"
	check "A's deletion holds" bash -c "! ls -R '$MA' '$MB' | grep -qF '$m2'"
	check "B's deletion holds" bash -c "! ls -R '$MA' '$MB' | grep -qF '$m3'"
	is "$(ls "$MA/cur" | grep -F "$m4")" "$m4:2,R" "B's move to cur/ with R holds on A"
	while read -r f; do cmp -s "$MA/$f" "$MB/$f" || bad=$((bad + 1)); done < <(file_names "$MA")
	is "$bad" 0 "every file has the same bytes on both"
}

offline_unmount() {
	IPMD_PID=$PID_A ipmd_umount "$MA" || not_ok "unmount of A"
	IPMD_PID=$PID_B ipmd_umount "$MB" || not_ok "unmount of B"
}
