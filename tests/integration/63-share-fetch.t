#!/usr/bin/env bash
# 63-share-fetch.t — `ipmaildir share` prints a capability for one message
# (through the mount, or offline with --store) that reads that message and
# nothing else; `ipmaildir fetch` verifies, decrypts and delivers it the
# qmail way into another Maildir — from the local store, and across two
# IPFS nodes (sender's node stores it, the receiver's pulls it by bitswap).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ipfs-lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own commands"

S=$TEST_DIR/store M=$TEST_DIR/mnt R=$TEST_DIR/recv
ipmd_init "$S" || bail "init failed"
mkdir -p "$R"/{cur,new,tmp}
ipmd_mount "$S" "$M" || bail "mount failed"
gen_message share1 5000 > "$TEST_DIR/m1"
gen_message share2 900000 > "$TEST_DIR/m2"    # several chunks: an index
gen_message secret 3000 > "$TEST_DIR/m3"
cp "$TEST_DIR/m1" "$M/new/1.M1P1.host"
cp "$TEST_DIR/m2" "$M/cur/2.M2P2.host:2,S"
cp "$TEST_DIR/m3" "$M/cur/3.M3P3.host:2,S"

cap1=$("$IPMD_BIN" share "$M/new/1.M1P1.host" 2>"$TEST_DIR/share.err")
is "$?" 0 "share of a file in the mount exits 0"
check "it prints a capability" grep -qE '^ipmaildir:bafkrei[a-z2-7]{52}\?size=[0-9]+&depth=0#[A-Za-z0-9_-]{43}$' <<<"$cap1"
cap2=$("$IPMD_BIN" share "$M/cur/2.M2P2.host:2,S")
check "a multi-chunk message has depth 1" grep -q 'depth=1#' <<<"$cap2"
is "$("$IPMD_BIN" share "$M/new/1.M1P1.host")" "$cap1" "sharing twice gives the same capability"

# A file still being written is sealed first: the capability is its
# content now.
exec 7>"$M/tmp/open.partial"; printf 'partial\n' >&7
capp=$("$IPMD_BIN" share "$M/tmp/open.partial")
exec 7>&-
is "$("$IPMD_BIN" object get --store "$S" "$capp")" "partial" "an open file is sealed before sharing"

"$IPMD_BIN" share "$M/cur" 2>"$TEST_DIR/dir.err"
is "$?" 1 "sharing a directory fails"
check "…saying so" grep -q "directory" "$TEST_DIR/dir.err"
# Only the owner (or root) gets a capability.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	chmod 755 "$M" "$M/cur"; chmod 644 "$M/cur/3.M3P3.host:2,S"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$IPMD_BIN" share "$M/cur/3.M3P3.host:2,S" >"$TEST_DIR/other.out" 2>"$TEST_DIR/other.err"
	# (without allow_other, the kernel keeps other users out entirely)
	check "another user gets no capability" test ! -s "$TEST_DIR/other.out"
else
	ok "# SKIP needs root and setpriv"
fi

# Fetch from the local store into another Maildir.
out=$("$IPMD_BIN" fetch --store "$S" --into "$R" "$cap1")
is "$?" 0 "fetch --into exits 0"
check "it prints the delivered file's name in new/" test -f "$out"
case $out in "$R"/new/*) ok "the message is in new/" ;; *) not_ok "the message is in new/ ($out)" ;; esac
check "delivered byte for byte" cmp "$TEST_DIR/m1" "$out"
check "tmp/ is left empty (qmail way: tmp, link, unlink)" test -z "$(ls -A "$R/tmp")"
out2=$("$IPMD_BIN" fetch --store "$S" --into "$R" "$cap2")
check "a multi-chunk message too" cmp "$TEST_DIR/m2" "$out2"
check "two fetches, two unique names" test "$out" != "$out2"
"$IPMD_BIN" fetch --store "$S" "$cap1" > "$TEST_DIR/stdout.msg"
check "without --into: standard output" cmp "$TEST_DIR/m1" "$TEST_DIR/stdout.msg"

# The capability kept off the command line (where ps and /proc show it to
# every local user): from a private file, or from standard input.
"$IPMD_BIN" fetch --store "$S" "$cap1" 2>"$TEST_DIR/argv.err" >/dev/null
check "a capability as an argument still works, with a warning" grep -q "visible to other local users" "$TEST_DIR/argv.err"
(umask 077; printf '%s\n' "$cap1" > "$TEST_DIR/cap1")
"$IPMD_BIN" fetch --store "$S" --capability-file "$TEST_DIR/cap1" >"$TEST_DIR/file.msg" 2>"$TEST_DIR/file.err"
is "$?" 0 "fetch --capability-file FILE exits 0"
check "...delivers that message" cmp "$TEST_DIR/m1" "$TEST_DIR/file.msg"
check "...without a warning" test ! -s "$TEST_DIR/file.err"
out3=$(printf '%s\n' "$cap2" | "$IPMD_BIN" fetch --store "$S" --into "$R" --capability-file - 2>"$TEST_DIR/stdin.err")
is "$?" 0 "fetch --capability-file - reads standard input"
check "...and delivers that message" cmp "$TEST_DIR/m2" "$out3"
chmod 644 "$TEST_DIR/cap1"
"$IPMD_BIN" fetch --store "$S" --capability-file "$TEST_DIR/cap1" >"$TEST_DIR/open.msg" 2>"$TEST_DIR/open.err"
is "$?" 1 "a capability file readable by others is refused"
check "...saying so in one line" test "$(grep -c 'readable by other users' "$TEST_DIR/open.err")" = 1
check "...and printing nothing" test ! -s "$TEST_DIR/open.msg"
"$IPMD_BIN" fetch --store "$S" --capability-file "$TEST_DIR/nocap" 2>"$TEST_DIR/nocap.err" >/dev/null
is "$?" 1 "a missing capability file fails"
check "...naming the file and ENOENT" grep -q "$TEST_DIR/nocap: No such file or directory" "$TEST_DIR/nocap.err"

# The capability reads that message and nothing else: a wrong key (any
# other message's) fails verification and delivers nothing.
key3=$("$IPMD_BIN" share "$M/cur/3.M3P3.host:2,S" | sed 's/.*#//')
forged="${cap1%#*}#$key3"
n_before=$(ls "$R/new" | wc -l)
"$IPMD_BIN" fetch --store "$S" --into "$R" "$forged" 2>"$TEST_DIR/forged.err"
is "$?" 1 "a capability with another message's key fails"
check "…as a verification failure" grep -q "does not verify" "$TEST_DIR/forged.err"
is "$(ls "$R/new" | wc -l)" "$n_before" "…and nothing is delivered"
check "…and tmp/ is clean" test -z "$(ls -A "$R/tmp")"
check "the capability holds no mailbox key material" test "$(grep -cF -e "$("$IPMD_BIN" key export --read-only --store "$S" | sed 's/.*://')" <<<"$cap1")" = 0
"$IPMD_BIN" fetch --store "$S" --into "$R" "ipmaildir:nonsense" 2>/dev/null
is "$?" 2 "a malformed capability is a usage error"
"$IPMD_BIN" fetch --store "$S" --into "$TEST_DIR/nope" "$cap1" 2>/dev/null
is "$?" 1 "fetch into a missing Maildir fails"
# A directory that is no Maildir yet becomes one (as maildirmake would),
# and a failure there is named as what it is, not as a missing block.
mkdir -p "$TEST_DIR/bare"
out5=$("$IPMD_BIN" fetch --store "$S" --into "$TEST_DIR/bare" "$cap1" 2>"$TEST_DIR/bare.err")
is "$?" 0 "fetch --into a directory without cur/ new/ tmp/: exit 0"
check "... makes them and delivers into new/" cmp "$TEST_DIR/m1" "$out5"
check "... cur/ and tmp/ are there too" test -d "$TEST_DIR/bare/cur" -a -d "$TEST_DIR/bare/tmp"
mkdir -p "$TEST_DIR/ro"
touch "$TEST_DIR/ro/tmp" # a file where tmp/ must be
"$IPMD_BIN" fetch --store "$S" --into "$TEST_DIR/ro" "$cap1" 2>"$TEST_DIR/ro.err"
is "$?" 1 "fetch --into a directory whose tmp is a file: exit 1"
check "... naming tmp/, not a missing block" \
	bash -c "grep -q 'fetch: tmp/: Not a directory' '$TEST_DIR/ro.err' && ! grep -q 'not in the store' '$TEST_DIR/ro.err'"

ipmd_umount "$M" || bail "unmount failed"
# Offline: the path inside the mailbox.
is "$("$IPMD_BIN" share --store "$S" new/1.M1P1.host)" "$cap1" "offline share (--store, path in the mailbox) gives the same capability"
"$IPMD_BIN" share --store "$S" new/missing 2>/dev/null
is "$?" 1 "offline share of a missing name fails"
"$IPMD_BIN" share "$TEST_DIR/m1" 2>"$TEST_DIR/notmount.err"
is "$?" 2 "share of a file outside any mount, without --store, is a usage error"

# Two nodes: the sender's mount writes to node 1, the receiver fetches from
# node 2, which gets the blocks from node 1 over bitswap.
if "$IPFS_NODE_DIR/kubo-install.sh" >"$TEST_DIR/ipfs-install.log" 2>&1; then
	S2=$TEST_DIR/store2 M2=$TEST_DIR/mnt2
	node_start 2 "$S2" "$M2"
	gen_message twonodes 400000 > "$TEST_DIR/m4"
	cp "$TEST_DIR/m4" "$M2/tmp/4.x" && mv "$M2/tmp/4.x" "$M2/new/4.M4P4.host"
	cap4=$("$IPMD_BIN" share "$M2/new/4.M4P4.host")
	ipmd_umount "$M2" || bail "unmount 2 failed"   # flushes the outbox
	root4=$(sed 's/^ipmaildir:\([a-z0-9]*\)?.*/\1/' <<<"$cap4")
	check "the sender's node has the message's root block" ipfs_has "$IPFS_API_1" "$root4"
	out4=$("$IPMD_BIN" fetch --node "$IPFS_ADDR_2" --into "$R" "$cap4" 2>"$TEST_DIR/fetch4.err")
	is "$?" 0 "fetch --node from the receiver's node exits 0"
	check "the message arrives byte for byte across two nodes" cmp "$TEST_DIR/m4" "$out4"
	# Nothing was ever put to node 2: it has the block because it pulled it.
	check "the receiver's node now holds the root block (pulled)" ipfs_has "$IPFS_API_2" "$root4"
else
	ok "# SKIP no Kubo: $(tail -1 "$TEST_DIR/ipfs-install.log")"
fi
done_testing
