#!/usr/bin/env bash
# 58-status.t — ipmaildir status tells the truth: the mailbox id, the head
# as log sees it, the journal a crash left, the store's block count, whether
# the mailbox is mounted and whether the key is wrapped.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the mount itself"
command -v python3 >/dev/null || skip_all "python3 not installed"

S=$TEST_DIR/store M=$TEST_DIR/mnt
st() { "$IPMD_BIN" status --store "$S" --json "$@" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))' "$Q"; }
ipmd_init "$S" || bail "init failed"
ipmd_mount "$S" "$M" || bail "mount failed"
for i in 1 2; do printf 'Subject: %s\n\nbody\n' "$i" | "$IPMD_TOOLS/maildir_deliver" "$M" >/dev/null; done
Q=mounted; is "$(st)" True "status while mounted: mounted"
"$IPMD_BIN" status --store "$S" >"$TEST_DIR/text" 2>&1
is "$?" 0 "status (text) exits 0 while mounted"
check "text says mounted: yes" grep -q '^mounted: *yes' "$TEST_DIR/text"
check "... and names the mount point" grep -qx "mounted: *yes (read-write) on $M" "$TEST_DIR/text"
Q=mountpoint; is "$(st)" "$M" "--json names the mount point"
ipmd_umount "$M"
Q=mountpoint; is "$(st)" None "... and none once unmounted"

Q=mounted; is "$(st)" False "status after unmount: not mounted"
id=$("$IPMD_BIN" status --store "$S" | sed -n 's/^mailbox: *//p')
check "the mailbox id is an IPNS name (k51…)" grep -qE '^k51[a-z0-9]{50,}$' <<<"$id"
Q='head["seq"]'; seq=$(st)
is "$seq" "$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])')" "head seq is log's newest"
Q='head["messages"]'; is "$(st)" 2 "head: 2 messages"
check "text: '2 messages, 0 folders'" \
	grep -qE '^head: +commit [0-9]+, .*, 2 messages, 0 folders$' <<<"$("$IPMD_BIN" status --store "$S")"
ipmd_mount "$S" "$M" || bail "mount failed"
rm "$(ls "$M"/new/* "$M"/cur/* 2>/dev/null | head -1)"
ipmd_umount "$M"
check "one message: '1 message', not '1 messages'" \
	grep -qE '^head: +commit [0-9]+, .*, 1 message, 0 folders$' <<<"$("$IPMD_BIN" status --store "$S")"
Q='head["seq"]'; seq=$(st)
Q='journal["records"]'; is "$(st)" 0 "no journal pending after a clean unmount"
Q=blocks; is "$(st)" "$(find "$S/blocks" -type f -name 'bafk*' | wc -l)" "block count matches the store"
Q=key_wrapped; is "$(st)" False "key not wrapped (--no-passphrase)"
Q=outbox; is "$(st)" None "no outbox without a node"

# A crash leaves records in the journal: status counts them.
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
printf 'Subject: j\n\nj\n' | "$IPMD_TOOLS/maildir_deliver" "$M" >/dev/null
ipmd_kill9 "$M"
Q='journal["records"] > 0 and journal["bytes"] > 0'; is "$(st)" True "a crash's journal is pending"
Q='head["seq"]'; is "$(st)" "$seq" "the head did not move"

# A damaged head: said so, with the repair, not "nothing committed yet"
# (the --json output carries it as the state problem).
cp "$S/head" "$TEST_DIR/head.good"
flip_byte "$S/head"
run "$IPMD_BIN" status --store "$S"
says "a damaged head: status says STORE/head is damaged" "^head: *STORE/head is damaged"
says "... and names fsck --repair" "^head: .*run ipmaildir fsck --repair"
check "... not 'nothing committed yet'" test "$(grep -c 'nothing committed' <<<"$out")" = 0
cp "$TEST_DIR/head.good" "$S/head"

# A wrapped key.
W=$TEST_DIR/wrapped
(umask 077; printf 'secret words\n' >"$TEST_DIR/pass")
"$IPMD_BIN" init --store "$W" --passphrase-file "$TEST_DIR/pass" >/dev/null 2>&1 || bail "init wrapped"
out=$("$IPMD_BIN" status --store "$W" --passphrase-file "$TEST_DIR/pass" 2>&1)
check "a wrapped key: key: wrapped" grep -q '^key: *wrapped with a passphrase' <<<"$out"
check "a new mailbox: nothing committed yet" grep -q '^head: *nothing committed yet' <<<"$out"
"$IPMD_BIN" status --store "$TEST_DIR/nothing" >/dev/null 2>&1
is "$?" 1 "status of a store that isn't there: exit 1"
done_testing
