#!/usr/bin/env bash
# The mount itself: a new mailbox is a Maildir; files survive unmount,
# remount, and a crash (journal replay); errors are clear.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the mount itself"

S=$TEST_DIR/store M=$TEST_DIR/mnt
ipmd_init "$S" || bail "init failed"
check "mount a new mailbox" ipmd_mount "$S" "$M"
is "$(cd "$M" && ls -d cur new tmp | tr '\n' ' ')" "cur new tmp " "new mailbox has cur/ new/ tmp/"

# A delivery the Maildir way, and a few shapes of content.
printf 'From: a@example.org\nSubject: hello\n\nbody\n' > "$TEST_DIR/m1"
head -c 1000000 /dev/urandom > "$TEST_DIR/big"
cp "$TEST_DIR/m1" "$M/tmp/1.x.host" && ln "$M/tmp/1.x.host" "$M/new/1.x.host" && rm "$M/tmp/1.x.host"
check "delivered message reads back" cmp "$TEST_DIR/m1" "$M/new/1.x.host"
cp "$TEST_DIR/big" "$M/cur/big:2,S"
check "1 MB file reads back" cmp "$TEST_DIR/big" "$M/cur/big:2,S"
mv "$M/new/1.x.host" "$M/cur/1.x.host:2,S"
check "rename new/ -> cur/" test -f "$M/cur/1.x.host:2,S" -a ! -e "$M/new/1.x.host"
touch -d '2020-01-02 03:04:05' "$M/cur/1.x.host:2,S"
mtime_before=$(stat -c %Y "$M/cur/1.x.host:2,S")
mkdir -p "$M/.Sent/cur" "$M/.Sent/new" "$M/.Sent/tmp"
echo data > "$M/.Sent/maildirfolder"
ln -s cur "$M/link-to-cur"
listing() { (cd "$M" && find . -printf '%p %y %s %T@ %m\n' | sort && find . -type f -exec sha256sum {} + | sort); }
before=$(listing)

check "unmount" ipmd_umount "$M"
check "remount" ipmd_mount "$S" "$M"
after=$(listing)
is "$after" "$before" "names, types, sizes, mtimes, modes and contents survive a remount"
is "$(stat -c %Y "$M/cur/1.x.host:2,S")" "$mtime_before" "utimens mtime kept exactly"
is "$(readlink "$M/link-to-cur")" "cur" "symlink kept"

# Crash: kill -9 right after deliveries; the journal must bring them back.
for i in 1 2 3 4 5; do
	printf 'Subject: crash %s\n\n%s\n' "$i" "$(head -c 3000 /dev/urandom | base64)" > "$TEST_DIR/c$i"
	"$IPMD_TOOLS/maildir_deliver" "$M" < "$TEST_DIR/c$i" > "$TEST_DIR/c$i.name" 2>/dev/null ||
		{ cp "$TEST_DIR/c$i" "$M/tmp/c$i" && sync "$M/tmp/c$i" && mv "$M/tmp/c$i" "$M/new/c$i" && echo "new/c$i" > "$TEST_DIR/c$i.name"; }
done
ipmd_kill9 "$M"
check "remount after kill -9" ipmd_mount "$S" "$M"
lost=0
for i in 1 2 3 4 5; do
	name=$(cat "$TEST_DIR/c$i.name")
	cmp -s "$TEST_DIR/c$i" "$M/$name" || { lost=$((lost + 1)); diag "lost c$i ($name)"; }
done
is "$lost" 0 "every acknowledged delivery is back after a crash"
# The replayed journal's commit counts what it holds, as the mount would
# have: five messages added (tmp/ -> new/).
for _ in $(seq 50); do
	added=$("$IPMD_BIN" log --store "$S" --json -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["added"])')
	[ "$added" = 5 ] && break; sleep 0.1
done
is "$added" 5 "log: the commit of the replayed journal added 5 messages"
is "$(listing | grep -c '^\./cur/big:2,S f 1000000')" 1 "earlier files intact after a crash"

check "unmount again" ipmd_umount "$M"

# Crash before any commit and before the store synced its block files:
# the journal carries the blocks (fs/store/wal_store.h).  Losing every block
# file written since the last commit must lose nothing acknowledged.
ipmd_mount "$S" "$M" -o commit_delay=600000
sleep 1.1 # the block files below must be newer than the head, by mtime
for i in 1 2 3; do
	printf 'Subject: wal %s\n\n%s\n' "$i" "$(head -c 5000 /dev/urandom | base64)" > "$TEST_DIR/w$i"
	"$IPMD_TOOLS/maildir_deliver" "$M" < "$TEST_DIR/w$i" > "$TEST_DIR/w$i.name"
done
ipmd_kill9 "$M"
gone=$(find "$S/blocks" -type f -newer "$S/head" | wc -l)
find "$S/blocks" -type f -newer "$S/head" -delete
check "block files written since the commit were there to lose ($gone)" test "$gone" -ge 3
check "remount after losing them" ipmd_mount "$S" "$M"
lost=0
for i in 1 2 3; do cmp -s "$TEST_DIR/w$i" "$M/$(cat "$TEST_DIR/w$i.name")" || lost=$((lost + 1)); done
is "$lost" 0 "every acknowledged delivery came back from the journal"
check "unmount after the journal restored them" ipmd_umount "$M"

# Read-only: reads work, every write is refused with EROFS.
ipmd_mount "$S" "$M" -o ro
check "read-only mount reads" cmp "$TEST_DIR/big" "$M/cur/big:2,S"
out=$(touch "$M/new/nope" 2>&1); rc=$?
case "$rc:$out" in 1:*"Read-only file system"*) ok "read-only mount refuses writes (EROFS)";; *) not_ok "EROFS"; diag "$rc $out";; esac
ipmd_umount "$M"

# SIGTERM: the daemon seals, commits, unmounts and exits 0.
ipmd_mount "$S" "$M"
echo "written just before SIGTERM" > "$M/new/term"
kill -TERM "$IPMD_PID"; wait "$IPMD_PID"; rc=$?
is "$rc" 0 "SIGTERM: the daemon exits 0"
check "SIGTERM: the mount is gone" bash -c "! mountpoint -q '$M'"
ipmd_mount "$S" "$M"
is "$(cat "$M/new/term" 2>&1)" "written just before SIGTERM" "SIGTERM: the last write was committed"
ipmd_umount "$M"

# Rollback: a head file swapped for an older (valid) copy is refused.
cp "$S/head" "$TEST_DIR/head.old"
ipmd_mount "$S" "$M"; echo newer > "$M/new/newer"; ipmd_umount "$M"
cp "$TEST_DIR/head.old" "$S/head"
run_mount -f --store "$S" "$M"
is "$rc" 1 "an older head than already seen: mount fails"
case "$out" in *"rollback"*) ok "and says it refuses a rollback";; *) not_ok "rollback message"; diag "$out";; esac
# seen is sealed as its own kind: copied over the head it is no head.
cp "$S/seen" "$S/head"
run_mount -f --store "$S" "$M"
is "$rc" 1 "seen copied over head: mount fails"
case "$out" in *"fsck --repair"*) ok "and names fsck --repair";; *) not_ok "fsck --repair message"; diag "$out";; esac
"$IPMD_BIN" fsck --repair --store "$S" >/dev/null 2>&1
check "the newest head mounts again after fsck --repair" ipmd_mount "$S" "$M"
is "$(cat "$M/new/newer")" "newer" "with the newest change"
ipmd_umount "$M"

# A damaged head commit is refused with a clear message, not mounted.
head_cid=$(ls -t "$S"/blocks/*/* | head -1)
cp "$head_cid" "$TEST_DIR/commit.bak"
printf '\xff' | dd of="$head_cid" bs=1 seek=40 count=1 conv=notrunc 2>/dev/null
run_mount -f --store "$S" "$M"
is "$rc" 1 "a damaged head commit: mount fails"
case "$out" in *"commit"*) ok "and the message names the commit";; *) not_ok "clear message"; diag "$out";; esac
cp "$TEST_DIR/commit.bak" "$head_cid"
check "restored commit mounts again" ipmd_mount "$S" "$M"
ipmd_umount "$M"
# A second mount of the same store is refused while one runs.
ipmd_mount "$S" "$M"
mkdir -p "$TEST_DIR/other" # a mount point as it must be: empty, so the store is what fails
run_mount -f --store "$S" "$TEST_DIR/other"
is "$rc" 1 "a second mount of one store fails"
case "$out" in *"in use"*) ok "and says the store is in use";; *) not_ok "clear message"; diag "$out";; esac
ipmd_umount "$M"

# A passphrase-protected mailbox: asked on the terminal (a pty here).
P=$TEST_DIR/pstore PM=$TEST_DIR/pmnt
mkdir -p "$PM"
(umask 077; printf 'correct horse\n' > "$TEST_DIR/pass")
"$IPMD_BIN" init --store "$P" --passphrase-file "$TEST_DIR/pass" >/dev/null 2>&1
# The passphrase is typed once the prompt is up: the prompt flushes what
# was typed ahead (TCSAFLUSH), and under valgrind it comes up late.
pw=1; [ -n "${IPMD_WRAPPER:-}" ] && pw=15
(sleep "$pw"; printf 'wrong horse\n'; sleep 1) |
	script -qec "'$IPMD_BIN' mount --store '$P' '$PM'" /dev/null > "$TEST_DIR/prompt.out" 2>&1; rc=$?
is "$rc" 1 "a wrong passphrase at the prompt: mount fails"
grep -q "wrong passphrase" "$TEST_DIR/prompt.out" && ok "and says so" || { not_ok "says wrong passphrase"; diag "$(cat "$TEST_DIR/prompt.out")"; }
(sleep "$pw"; printf 'correct horse\n'; sleep 1) |
	script -qec "'$IPMD_BIN' mount --store '$P' '$PM'" /dev/null > "$TEST_DIR/prompt.out" 2>&1; rc=$?
is "$rc" 0 "the right passphrase at the prompt mounts (and daemonizes)"
check "the prompted mount is live" mountpoint -q "$PM"
fusermount3 -u "$PM"
for _ in $(seq $((50 * pw))); do flock -n "$P/lock" true && break; sleep 0.1; done
run_mount_via 30 setsid -w "$IPMD_BIN" mount -f --store "$P" "$PM" </dev/null
is "$rc" 1 "no terminal and no passphrase file: mount fails"
case "$out" in *passphrase*) ok "and asks for a passphrase file";; *) not_ok "clear message"; diag "$out";; esac

# Chunk padding: on by default (Padmé buckets), off with -o pad=none; a
# mount reads both kinds of block.
Z=$TEST_DIR/padstore
ZM=$TEST_DIR/padmnt
ipmd_init "$Z" || bail "init $Z"
gen_message pad1 5000 >"$TEST_DIR/pad1"
gen_message pad2 5000 >"$TEST_DIR/pad2"
blocks_of() { find "$Z/blocks" -type f -size "$1"c | wc -l; }
check "mount -o pad=none" ipmd_mount "$Z" "$ZM" -o pad=none
cp "$TEST_DIR/pad1" "$ZM/new/1.pad1.host"
check "unmount (pad=none)" ipmd_umount "$ZM"
n1=$(stat -c %s "$TEST_DIR/pad1")
is "$(blocks_of $((n1 + 40)))" 1 "pad=none: the $n1-byte message is a block of $((n1 + 40))"
check "mount (padded, the default)" ipmd_mount "$Z" "$ZM"
cp "$TEST_DIR/pad2" "$ZM/new/2.pad2.host"
check "unmount (padded)" ipmd_umount "$ZM"
n2=$(stat -c %s "$TEST_DIR/pad2")
is "$(blocks_of "$(chunk_block_size "$n2")")" 1 "padded: the $n2-byte message is a block of $(chunk_block_size "$n2")"
check "mount -o ro" ipmd_mount "$Z" "$ZM" -o ro
check "the unpadded message reads back" cmp "$TEST_DIR/pad1" "$ZM/new/1.pad1.host"
check "the padded message reads back" cmp "$TEST_DIR/pad2" "$ZM/new/2.pad2.host"
check "unmount (ro)" ipmd_umount "$ZM"
run_mount -f --store "$Z" -o pad=bucket "$ZM"
is "$rc" 2 "-o pad=bucket: a usage error"
case "$out" in *"pad=bucket"*) ok "naming the option";; *) not_ok "names the option"; diag "$out";; esac

run_mount -f --store "$TEST_DIR/nothing" "$M"
is "$rc" 1 "mount of a missing store fails"
case "$out" in *"ipmaildir init"*) ok "and says to run init";; *) not_ok "clear message"; diag "$out";; esac

done_testing
