#!/usr/bin/env bash
# 67-two-devices.t — one mailbox, two devices, both read-write (issue 17):
# two Kubo nodes on loopback (a DHT between them), store A made by init and
# store B by `key restore` of A's `key backup` (the same key, a device
# number of its own), each mounted read-write with its own node and
# -o sync=2.  Then, on both at once:
#   - 20 messages delivered on each side: 40 on both;
#   - the same message flagged S on A and F on B: ":2,FS" on both;
#   - a message deleted on B: gone on both, and it stays gone;
#   - a flag set on A: held on both;
#   - a FIFO made on A, a socket and (root) a device on B: on both;
# and at the end both mounts hold the same names with the same bytes.
# Every wait is a poll with a generous bound; nothing is timed.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
ipmd_two_devices

N=${IPMD_TWO_MSGS:-20}
OPTS=commit_delay=200,publish=1,sync=2

names() { file_names "$1"; }
# count MNT — messages in new/ and cur/
count() { find "$1/new" "$1/cur" -type f | wc -l; }
same_names() { [ "$(names "$MA")" = "$(names "$MB")" ]; }
has() { [ -n "$(ls "$1" 2>/dev/null | grep -F -- "$2")" ]; }
msg() { printf 'Subject: %s\nMessage-ID: <%s@two>\n\nbody of %s\n' "$1" "$1" "$1"; }
deliver() { msg "$2" | "$DELIVER" "$1" | sed 's|^new/||'; }

# ------------------------------------------------------------ two stores
check "key restore makes B a new device: $(tail -1 "$TEST_DIR/restore.err")" \
	grep -q 'a new device of the mailbox' "$TEST_DIR/restore.err"
dev_b=$("$IPMD_BIN" status --store "$B" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin).get("device"))')
check "B's device number is not A's 0 ($dev_b)" test "$dev_b" != 0 -a "$dev_b" != None

ipmd_mount "$A" "$MA" --node "$IPFS_ADDR_1" -o "$OPTS" || bail "mount of A failed"
PID_A=$IPMD_PID
shared=$(deliver "$MA" shared)
gone=$(deliver "$MA" gone)
flag_a=$(deliver "$MA" flag-a)
check "three messages on A before B mounts" test -n "$shared" -a -n "$gone" -a -n "$flag_a"
check "A published its head" poll 60 grep -q 'published commit' "$TEST_DIR/ipmaildir.log"

ipmd_mount "$B" "$MB" --node "$IPFS_ADDR_2" -o "$OPTS" || bail "mount of B failed"
PID_B=$IPMD_PID
b_has_three() { [ "$(count "$MB")" = 3 ]; }
check "B takes A's head: the three messages appear on B" poll 120 b_has_three ||
	diag "B: $(names "$MB" | tr '\n' ' ')"
check "… byte-exact" cmp -s "$MA/new/$shared" "$MB/new/$shared"

# ------------------------------------------------------------ both at once
(for i in $(seq "$N"); do deliver "$MA" "a-$i" >/dev/null || echo fail; done) >"$TEST_DIR/a.fail" &
pa=$!
(for i in $(seq "$N"); do deliver "$MB" "b-$i" >/dev/null || echo fail; done) >"$TEST_DIR/b.fail" &
pb=$!
mv "$MA/new/$shared" "$MA/cur/$shared:2,S"
mv "$MB/new/$shared" "$MB/cur/$shared:2,F"
rm "$MB/new/$gone"
mv "$MA/new/$flag_a" "$MA/cur/$flag_a:2,R"
# Special files are "other files" to a merge: one made on each side.
mkfifo -m 640 "$MA/queue.fifo"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$MB/control.sock"
[ "$(id -u)" = 0 ] && mknod -m 620 "$MB/tty" c 136 4
wait "$pa" "$pb"
is "$(cat "$TEST_DIR/a.fail" "$TEST_DIR/b.fail")" "" "$N deliveries on each side"

want=$((2 * N + 2))
check "both sides converge to $want messages (40 new, 'gone' deleted)" \
	poll 300 bash -c "[ \$(find '$MA/new' '$MA/cur' -type f | wc -l) = $want ] &&
		[ \$(find '$MB/new' '$MB/cur' -type f | wc -l) = $want ]"
check "… with the same names on both" poll 120 same_names
is "$(count "$MA")" "$want" "A holds $want messages"
is "$(ls "$MA/new" | grep -c '^')" "$((2 * N))" "A has the $((2 * N)) new deliveries"
is "$(ls "$MB/new" | grep -c '^')" "$((2 * N))" "B has the $((2 * N)) new deliveries"
is "$(ls "$MA/cur" | grep -F "$shared")" "$shared:2,FS" "S on A and F on B: :2,FS on A"
is "$(ls "$MB/cur" | grep -F "$shared")" "$shared:2,FS" "… and on B"
check "the message deleted on B is gone on A" bash -c "! ls -R '$MA' | grep -qF '$gone'"
check "… and on B" bash -c "! ls -R '$MB' | grep -qF '$gone'"
is "$(ls "$MB/cur" | grep -F "$flag_a")" "$flag_a:2,R" "the flag set on A holds on B"
is "$(ls "$MA/cur" | grep -F "$flag_a")" "$flag_a:2,R" "… and on A"
bad=0
while read -r f; do cmp -s "$MA/$f" "$MB/$f" || bad=$((bad + 1)); done < <(names "$MA")
is "$bad" 0 "every file has the same bytes on both ($(names "$MA" | wc -l) files)"

kinds() { stat -c '%n %F %a %t:%T' "$1/queue.fifo" "$1/control.sock" 2>/dev/null; [ "$(id -u)" = 0 ] && stat -c '%n %F %a %t:%T' "$1/tty" 2>/dev/null; }
special_both() { [ "$(cd "$MA" && kinds .)" = "$(cd "$MB" && kinds .)" ] && [ -p "$MA/queue.fifo" ] && [ -S "$MA/control.sock" ]; }
check "special files made on one side are on both (FIFO from A, socket and device from B)" poll 120 special_both ||
	diag "A: $(cd "$MA" && kinds .) / B: $(cd "$MB" && kinds .)"
[ "$(id -u)" = 0 ] && is "$(stat -c '%F %t:%T' "$MA/tty" 2>&1)" "character special file 88:4" "… the device with its number, 136,4"

# A round later nothing comes back: the deletion and the flags hold.
sleep 5
check "the deletion holds a while later" bash -c "! ls -R '$MA' '$MB' | grep -qF '$gone'"
check "the names still agree" same_names

# ------------------------------------------------------------ what it says
check "a merge was logged" grep -q 'merged commit' "$TEST_DIR/ipmaildir.log"
how=$("$IPMD_BIN" status --store "$B" --json |
	python3 -c 'import json,sys; h=json.load(sys.stdin)["peers_head"]; print(h["how"] if h else "none")')
check "status shows the peers' head B last saw (how: $how)" \
	grep -qE '^(contained|fast-forward|merged)$' <<<"$how"
"$IPMD_BIN" status --store "$A" | grep -E '^(device|peers):' | while read -r l; do diag "$l"; done

IPMD_PID=$PID_A
ipmd_umount "$MA" || not_ok "unmount of A"
IPMD_PID=$PID_B
ipmd_umount "$MB" || not_ok "unmount of B"
grep -E 'merged commit|fast-forwarded|sync:' "$TEST_DIR/ipmaildir.log" | tail -6 |
	while read -r l; do diag "$l"; done
done_testing
