#!/usr/bin/env bash
# 47-node-hosts.t — two hosts with a real network between them: two network
# namespaces (`ip netns`) joined by a veth pair, 10.47.0.1 and 10.47.0.2,
# nothing else (no route out of either).  Host A runs Kubo node A (swarm on
# its veth address, API on its own loopback) and the read-write mount
# (--node, publish=1); host B runs Kubo node B and a read-only mount of the
# mailbox by its id (--from-node, the read capability only).  The two
# nodes keep each other in Peering.Peers, as two fixed hosts would.  The
# mounts are made through `nsenter --net` (network namespace only), so
# both FUSE mounts are in this mount namespace, where dovecot-lda delivers
# into A as the test user and B is read.
#  1. deliveries on A show on B: the same file names and bytes, every
#     message once (B mounts the head A published, found through B's DHT);
#  2. the link is taken down (`ip link set … down`) while a batch of mail
#     with 2 MiB messages is being delivered and uploaded: every delivery
#     on A succeeds, B can't reach A, B's mount still reads what it read;
#     the link stays down until both nodes have dropped their connection;
#     back up, A's outbox drains, the nodes find each other again
#     (Peering), and B's next mount by id has everything;
#  3. node A stopped (by pid) under the live mount: deliveries succeed and
#     wait in the outbox; node A started again on the same repo and ports:
#     the outbox drains and B has everything;
#  4. node B stopped, mail delivered on A meanwhile, node B started again:
#     B's next mount by id has everything.
# Before a mount on B, the script waits (a poll) until node B's routing/get
# answers A's head: Kubo's routing/get prefers the WAN DHT's answer, which
# without public peers is B's own stored copy, so B sees a head only once
# a publication of A reached B — after a restart or a partition, A's next
# periodic republication (fs/mount/publish.h).
# Waits are polls with generous bounds; nothing here measures time.
# Root is needed (ip netns, nsenter); without it, or where the kernel
# refuses a namespace, the script skips — under CI=true it fails instead.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/ipfs-lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "needs ipmaildir mounts"
[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN"

netns_hosts 10.47.0

ipfs_require
. "$here/mail-env.sh"
menv_require "$DOVECOT_LIBEXEC/dovecot-lda" setpriv python3
menv_user

NETNS="$NS_A $NS_B" SWARM_IP="$IP_A $IP_B" TOPOLOGY=star ROUTING=dhtserver ipfs_start 2
diag "$("$IPFS_BIN" version): node A $IPFS_SWARM_1 in $NS_A, node B $IPFS_SWARM_2 in $NS_B"
netns_peering

STORE=$TEST_DIR/store
MNT_A=$TEST_DIR/mnt-a
CACHE_B=$TEST_DIR/cache-b
MNT_B=$TEST_DIR/mnt-b
LOG=$TEST_DIR/ipmaildir.log

# poll SECONDS CMD… — until CMD succeeds, every 0.2 s, at most SECONDS
poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# mount_a / umount_a, mount_b / umount_b: each mount's daemon runs in its
# host's network namespace; IPMD_PID is lib.sh's, kept per mount here.
mount_a() {
	netns_mount "$NS_A" "$STORE" "$MNT_A" --node "$IPFS_ADDR_1" \
		-o allow_other,commit_delay=200,publish=1 || return 1
	PID_A=$IPMD_PID
}
umount_a() { IPMD_PID=$PID_A ipmd_umount "$MNT_A"; }
mount_b() {
	netns_mount "$NS_B" "$CACHE_B" "$MNT_B" --from-node "$MID" \
		--capability "$TEST_DIR/cap" --node "$IPFS_ADDR_2" -o node_timeout=10000 ||
		return 1
	PID_B=$IPMD_PID
}
umount_b() { IPMD_PID=$PID_B ipmd_umount "$MNT_B"; }

# deliver DIR OUT — dovecot-lda, as the test user, for every DIR/*.eml
# into A, one "rc file" line each in OUT
deliver() {
	menv_as_user bash -c 'for f in "$0"/*.eml; do "$@" <"$f"; echo "$? ${f##*/}"; done' \
		"$1" "$DOVECOT_LIBEXEC/dovecot-lda" -c "$DOVECOT_CONF" -e \
		-f sender@example.org -a "$MAIL_USER@localhost" >"$2" 2>>"$TEST_DIR/lda.err"
}
# delivered_ok DIR OUT — every message of DIR delivered, each exit 0
delivered_ok() {
	[ "$(wc -l <"$2")" = "$(find "$1" -name '*.eml' | wc -l)" ] &&
		[ "$(awk '$1 != 0' "$2" | wc -l)" = 0 ]
}

# settled — A's journal is in its head and its outbox is empty; sets
# HEAD_A (the head commit's CID) and SEQ_A
settled() {
	local out
	out=$("$IPMD_BIN" status --store "$STORE" --json 2>/dev/null) || return 1
	read -r HEAD_A SEQ_A < <(python3 -c '
import json, sys
s = json.loads(sys.argv[1])
ok = s.get("head") and (s.get("journal") or {}).get("records") == 0 and \
     (s.get("outbox") or {}).get("pending") == 0
print(s["head"]["cid"] + " " + str(s["head"]["seq"]) if ok else "- -")' "$out")
	[ "$HEAD_A" != - ]
}
# b_serves CID — node B's routing/get (what a mount by id asks) answers a
# record for the mailbox's name that names CID
b_serves() {
	local v
	v=$(ipfs_cli 2 routing get "/ipns/$MID" 2>/dev/null |
		ipfs_cli 2 name inspect --enc=json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["Entry"]["Value"])' 2>/dev/null)
	[ "$v" = "/ipfs/$1" ]
}
# connected — each node lists the other among its peers, at its veth
# address; apart — neither does
a_lists_b() { ipfs_cli 1 swarm peers 2>/dev/null | grep -qxF "$IPFS_SWARM_2"; }
b_lists_a() { ipfs_cli 2 swarm peers 2>/dev/null | grep -qxF "$IPFS_SWARM_1"; }
connected() { a_lists_b && b_lists_a; }
apart() { ! a_lists_b && ! b_lists_a; }
# b_reaches_a — a TCP connection from host B to node A's swarm port opens
# (within 5 s: a dropped SYN is retried for longer); b_cut_off: it doesn't
port_a=${IPFS_SWARM_1#/ip4/*/tcp/} port_a=${port_a%%/*}
b_reaches_a() { ipfs_in 2 timeout 5 bash -c "exec 3<>/dev/tcp/$IP_A/$port_a" 2>/dev/null; }
b_cut_off() { ! b_reaches_a; }
# a_same_address — node A's addresses include the swarm address it had
a_same_address() { ipfs_cli 1 id -f '<addrs>' | grep -qxF "$IPFS_SWARM_1"; }
# files DIR — "sha256  path" of every file under DIR, sorted
# Dovecot's index files are local cache on A (docs/ARCHITECTURE.md, "Local
# cache files"), never committed, so B cannot list them: compare the rest.
files() { (cd "$1" && find . -type f ! -name 'dovecot.index*' \
	! -name 'dovecot.list.index*' -exec sha256sum {} + | sort -k2); }

# b_catches_up WHAT MSGDIR… — A settles, B's node serves the record of
# A's head, B mounts it by id: B holds A's files, names and bytes, and every
# message of the MSGDIRs once, byte-exact
b_catches_up() {
	local what=$1 d n summary t0
	shift
	check "$what: A's journal is committed and its outbox drains" poll 300 settled ||
		return 1
	files "$MNT_A" >"$TEST_DIR/a.files"
	t0=$SECONDS
	check "… node B serves the record of A's head, commit $SEQ_A" poll 600 b_serves "$HEAD_A" ||
		{ diag "B's resolver: $(ipfs_cli 2 name resolve --nocache --dht-timeout=15s "/ipns/$MID" 2>&1)"; return 1; }
	diag "B served it after $((SECONDS - t0)) s"
	mount_b || { not_ok "… B mounts the mailbox by id: $(tail -2 "$LOG")"; return 1; }
	check "… B mounts that commit by id" grep -q "mounted commit $SEQ_A ($HEAD_A)" "$LOG"
	files "$MNT_B" >"$TEST_DIR/b.files"
	n=$(wc -l <"$TEST_DIR/a.files")
	is "$(diff <(awk '{print $2}' "$TEST_DIR/a.files") <(awk '{print $2}' "$TEST_DIR/b.files") | wc -l)" 0 \
		"… B lists the same $n files as A"
	check "… and each has A's bytes" cmp -s "$TEST_DIR/a.files" "$TEST_DIR/b.files"
	rm -rf "$TEST_DIR/all" && mkdir "$TEST_DIR/all"
	for d in "$@"; do cp "$d"/*.eml "$TEST_DIR/all/"; done
	summary=$(menv_match "$TEST_DIR/all" "$MNT_B")
	check "… every message delivered so far is on B once, byte-exact ($summary)" test $? = 0
}

# ------------------------------------------------ 1. A delivers, B shows
ipmd_init "$STORE" || bail "init failed"
mount_a || bail "mount --node on host A failed: $(tail -3 "$LOG")"
chown "$MAIL_UID:$MAIL_GID" "$MNT_A" "$MNT_A/cur" "$MNT_A/new" "$MNT_A/tmp"
mkdir -p "$TEST_DIR/home" && chown "$MAIL_UID:$MAIL_GID" "$TEST_DIR/home"
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT_A"
MID=$("$IPMD_BIN" status --store "$STORE" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["mailbox"])')
"$IPMD_BIN" key export --read-only --store "$STORE" >"$TEST_DIR/cap" || bail "key export"
chmod 600 "$TEST_DIR/cap"

check "the nodes are connected over the veth pair" connected
check "B reaches A's swarm port across the link" b_reaches_a
menv_gen_many "$TEST_DIR/m1" one 40 small
deliver "$TEST_DIR/m1" "$TEST_DIR/lda1.log"
check "40 deliveries on A, each exit 0 (dovecot-lda)" delivered_ok "$TEST_DIR/m1" "$TEST_DIR/lda1.log"
b_catches_up "1. B shows A's mail" "$TEST_DIR/m1"

# ------------------------------------------------ 2. the link goes down
# 30 small messages and 4 of 2 MiB, delivered in the background; the link
# goes down once a few are in, while the rest are written and uploaded.
menv_gen_many "$TEST_DIR/m2" two 30 small
menv_gen_many "$TEST_DIR/m2" big 4 $((2 * 1024 * 1024))
i=0
for f in "$TEST_DIR"/m2/big-*.eml; do # among the small ones, in glob order
	i=$((i + 7))
	mv "$f" "$TEST_DIR/m2/$(printf 'two-%05d.5.eml' "$i")"
done
is "$(find "$TEST_DIR/m2" -name '*.eml' -size +1M | wc -l)" 4 "4 messages of about 2 MiB among 30 small"
in_a() { [ "$(find "$MNT_A/new" "$MNT_A/cur" -type f | wc -l)" -ge "$1" ]; }
deliver "$TEST_DIR/m2" "$TEST_DIR/lda2.log" &
lda_pid=$!
track_pid "$lda_pid"
poll 300 in_a 46 || diag "the deliveries did not start"
ip -n "$NS_A" link set "$VETH_A" down || bail "cannot take the link down"
diag "link down with $(find "$MNT_A/new" -type f | wc -l) messages in A, $(outbox_pending "$STORE") blocks in its outbox"
check "B can't reach A's swarm port across the link" b_cut_off
wait "$lda_pid"
check "34 deliveries on A with the link down (2 MiB ones too), each exit 0" \
	delivered_ok "$TEST_DIR/m2" "$TEST_DIR/lda2.log"
check "the mount on A answers" test -n "$(ls "$MNT_A/new")"
files "$MNT_B" >"$TEST_DIR/b-down.files"
check "B's mount still reads what it had, byte-exact" cmp -s "$TEST_DIR/b.files" "$TEST_DIR/b-down.files"
umount_b || not_ok "unmount of B"
# The link stays down until both nodes have given their connection up, so
# that what follows is a reconnection, not a stall the link outlived.
t0=$SECONDS
check "the nodes drop their connection across the cut link" poll 600 apart
diag "dropped after $((SECONDS - t0)) s"
ip -n "$NS_A" link set "$VETH_A" up || bail "cannot bring the link back"
t0=$SECONDS
check "the link back: the nodes find each other again (Peering)" poll 600 connected
diag "reconnected after $((SECONDS - t0)) s"
b_catches_up "2. after the partition" "$TEST_DIR/m1" "$TEST_DIR/m2"
umount_b || not_ok "unmount of B"

# ------------------------------------------------ 3. node A restarts
ipfs_stop_node 1
menv_gen_many "$TEST_DIR/m3" three 15 small
deliver "$TEST_DIR/m3" "$TEST_DIR/lda3.log"
check "15 deliveries on A with node A stopped, each exit 0" \
	delivered_ok "$TEST_DIR/m3" "$TEST_DIR/lda3.log"
pend=$(outbox_pending "$STORE")
check "… they wait in A's outbox ($pend blocks)" test "$pend" -gt 0
check "node A starts again on its repo and ports" ipfs_restart_node 1
check "… at the same swarm address" a_same_address
check "… and the nodes are connected again" poll 600 connected
b_catches_up "3. after node A's restart" "$TEST_DIR/m1" "$TEST_DIR/m2" "$TEST_DIR/m3"
umount_b || not_ok "unmount of B"

# ------------------------------------------------ 4. node B restarts
ipfs_stop_node 2
menv_gen_many "$TEST_DIR/m4" four 15 small
deliver "$TEST_DIR/m4" "$TEST_DIR/lda4.log"
check "15 deliveries on A with node B stopped, each exit 0" \
	delivered_ok "$TEST_DIR/m4" "$TEST_DIR/lda4.log"
check "node B starts again on its repo and ports" ipfs_restart_node 2
check "… and the nodes are connected again" poll 600 connected
b_catches_up "4. after node B's restart" "$TEST_DIR/m1" "$TEST_DIR/m2" "$TEST_DIR/m3" "$TEST_DIR/m4"
umount_b || not_ok "unmount of B"

umount_a || not_ok "unmount of A"
is "$(outbox_pending "$STORE")" 0 "nothing left in A's outbox"
is "$(wc -l <"$TEST_DIR/lda.err")" 0 "dovecot-lda wrote nothing to stderr"
done_testing
