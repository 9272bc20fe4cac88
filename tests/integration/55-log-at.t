#!/usr/bin/env bash
# 55-log-at.t — every commit is a past state: ipmaildir log lists them
# newest first with what changed, and mount --at SEQ|CID|TIME mounts each
# one read-only with exactly the contents it had — beside the live mount.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the mount itself"
command -v python3 >/dev/null || skip_all "python3 not installed"

S=$TEST_DIR/store M=$TEST_DIR/mnt A=$TEST_DIR/at
deliver() { "$IPMD_TOOLS/maildir_deliver" "$M" <"$1"; }
logjson() { "$IPMD_BIN" log --store "$S" --json "$@"; }
# field SEQ KEY — a field of commit SEQ from log --json.
field() { logjson | python3 -c 'import json,sys; print(next(c[sys.argv[2]] for c in json.load(sys.stdin) if c["seq"] == int(sys.argv[1])))' "$1" "$2"; }
ipmd_init "$S" || bail "init failed"
for i in 1 2 3 4; do gen_message "la$i" $((2000 + 150000 * i)) >"$TEST_DIR/m$i.eml"; done

# State A: two messages.
# A long commit delay: each session is exactly one commit, at unmount.
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
n1=$(deliver "$TEST_DIR/m1.eml") && n2=$(deliver "$TEST_DIR/m2.eml") || bail "deliver"
ipmd_umount "$M"
seqA=$(logjson -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')
# State B: a third, m1 read (new/ -> cur/), m2 deleted.
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
n3=$(deliver "$TEST_DIR/m3.eml") || bail "deliver"
c1="cur/$(basename "$n1"):2,S"
mv "$M/$n1" "$M/$c1"
rm "$M/$n2"
ipmd_umount "$M"
seqB=$(logjson -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')
# State C (live): a folder and a fourth message.
ipmd_mount "$S" "$M" || bail "mount failed"
mkdir -p "$M/.Sent/cur" "$M/.Sent/new" "$M/.Sent/tmp"
n4=$(deliver "$TEST_DIR/m4.eml") || bail "deliver"
ipmd_umount "$M"
ipmd_mount "$S" "$M" || bail "mount failed"

"$IPMD_BIN" log --store "$S" >"$TEST_DIR/log" 2>&1
is "$?" 0 "log exits 0 while the mailbox is mounted"
check "log has a header line" grep -q '^SEQ  *TIME (UTC)  *MESSAGES' "$TEST_DIR/log"
is "$(logjson | python3 -c 'import json,sys; s=[c["seq"] for c in json.load(sys.stdin)]; print(s == sorted(s, reverse=True) and s[-1] == 1 and s == list(range(s[0], 0, -1)))')" True \
	"log --json: every seq from the newest down to 1, newest first"
is "$(logjson -n 2 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2 "log -n 2 shows two commits"
is "$(field "$seqA" messages)" 2 "state A has 2 messages"
is "$(field "$seqB" messages)" 2 "state B has 2 messages"
is "$(field "$seqB" added) $(field "$seqB" removed) $(field "$seqB" renamed)" "1 1 1" \
	"state B: 1 added, 1 removed, 1 renamed"
newest=$(logjson -n 1 | python3 -c 'import json,sys; c=json.load(sys.stdin)[0]; print(c["seq"], c["folders"], c["messages"])')
check "the newest commit counts the folder and 3 messages ($newest)" test "${newest#* }" = "1 3"
check "each commit names its parent" sh -c "'$IPMD_BIN' log --store '$S' --json | python3 -c 'import json,sys; l=json.load(sys.stdin); assert all(a[\"parent\"] == b[\"cid\"] for a, b in zip(l, l[1:])) and l[-1][\"parent\"] is None'"

# mount --at SEQ: state A, beside the live mount.
ipmd_mount "$S" "$A" --at "$seqA" || bail "mount --at $seqA failed"
check "--at $seqA (seq): m1 in new/ as delivered" cmp "$TEST_DIR/m1.eml" "$A/$n1"
check "--at $seqA: m2 there" cmp "$TEST_DIR/m2.eml" "$A/$n2"
check "--at $seqA: no m3 yet" test ! -e "$A/$n3"
if printf x 2>/dev/null >"$A/new/x"; then not_ok "a past state refuses writes"; else ok "a past state refuses writes"; fi
check "the live mount still takes deliveries meanwhile" sh -c "'$IPMD_TOOLS/maildir_deliver' '$M' <'$TEST_DIR/m1.eml' >/dev/null"
ipmd_umount "$A"

# mount --at CID: state B.
cidB=$(field "$seqB" cid)
ipmd_mount "$S" "$A" --at "$cidB" || bail "mount --at CID failed"
check "--at CID: m1 read, in cur/ with its flags" cmp "$TEST_DIR/m1.eml" "$A/$c1"
check "--at CID: m2 deleted" test ! -e "$A/$n2"
check "--at CID: m3 there" cmp "$TEST_DIR/m3.eml" "$A/$n3"
check "--at CID: no .Sent yet" test ! -e "$A/.Sent"
ipmd_umount "$A"

# mount --at TIME: the exact time of B gives B; whole-second times too.
tB=$(field "$seqB" time_ns)
iso=$(python3 -c 'import sys,datetime; ns=int(sys.argv[1]); print(datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (ns % 10**9))' "$tB")
ipmd_mount "$S" "$A" --at "$iso" || bail "mount --at $iso failed"
check "--at $iso (B's time): B's contents" test -e "$A/$n3" -a ! -e "$A/$n2" -a ! -e "$A/.Sent"
ipmd_umount "$A"
ipmd_mount "$S" "$A" --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" || bail "mount --at now failed"
check "--at now: the newest commit (has .Sent and m4)" cmp "$TEST_DIR/m4.eml" "$A/$n4"
ipmd_umount "$A"

# Errors are clear and leave nothing mounted.
mkdir -p "$A"
# A time before the first commit and a seq past the last name no commit
# (the store's refusal, exit 1); a word that is no seq, CID or time is a
# usage error (exit 2).
for bad in 2001-01-01:1 999:1 yesterday:2; do
	run_mount --store "$S" --at "${bad%:*}" "$A"
	mountpoint -q "$A" && fusermount3 -u "$A"
	is "$rc" "${bad#*:}" "--at ${bad%:*} is refused, exit ${bad#*:}: $(head -n 1 <<<"$out")"
done
check "nothing is mounted after the refusals" sh -c "! mountpoint -q '$A'"
run_mount --store "$S" --at yesterday "$A"
check "--at yesterday: saying what --at takes, and a hint" \
	grep -q "^ipmaildir mount: --at wants a commit's seq" <<<"$out"
is "$(wc -l <<<"$out")" 2 "... in one line and the hint"
"$IPMD_BIN" log --store "$S" -n 0 >/dev/null 2>&1
is "$?" 2 "log -n 0: exit 2"
done_testing
