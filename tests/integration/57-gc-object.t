#!/usr/bin/env bash
# 57-gc-object.t — `object put` stores an object that no commit names:
# gc frees it (the design keeps only what the history, the journal and the
# outbox name; docs/ARCHITECTURE.md, "History, fsck, gc"), and says so
# where a user looks first: gc --help, object --help, and ipmaildir(1) at
# object put.  The mailbox itself is untouched by that.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only
command -v mandoc >/dev/null || skip_all "mandoc is not installed"

S=$TEST_DIR/store M=$TEST_DIR/mnt
ipmd_init "$S" || bail "init failed"
ipmd_mount "$S" "$M" || bail "mount failed"
printf 'Subject: kept\n\nin the mailbox\n' | ipmd_deliver "$M"
ipmd_umount "$M" || bail "unmount failed"
head -c 300000 /dev/urandom >"$TEST_DIR/obj"
cap=$("$IPMD_BIN" object put --store "$S" "$TEST_DIR/obj" 2>/dev/null)
check "object put prints a capability" grep -q '^ipmaildir:' <<<"$cap"
"$IPMD_BIN" object get --store "$S" "$cap" 2>/dev/null | cmp -s - "$TEST_DIR/obj"
is "$?" 0 "object get reads it back before gc"

out=$("$IPMD_BIN" gc --store "$S" --dry-run 2>&1)
would=$(sed -nE 's/^gc: would free ([0-9]+) blocks.*/\1/p' <<<"$out")
check "gc --dry-run counts the object's blocks as freed ($would)" test "${would:-0}" -ge 2
"$IPMD_BIN" gc --store "$S" >/dev/null 2>&1
is "$?" 0 "gc exits 0"
"$IPMD_BIN" object get --store "$S" "$cap" >/dev/null 2>"$TEST_DIR/get.err"
is "$?" 1 "after gc, object get fails"
check "…saying a block is missing" grep -q "missing from the store" "$TEST_DIR/get.err"
out=$("$IPMD_BIN" fsck --store "$S" 2>&1)
is "$?" 0 "the mailbox checks clean after it"
"$IPMD_BIN" export --store "$S" "$TEST_DIR/out" >/dev/null 2>&1
check "…and its message is there" grep -rq "in the mailbox" "$TEST_DIR/out/new"

# Said where a user looks.
check "gc --help says it frees 'object put' objects" \
	bash -c '"$1" gc --help 2>&1 | grep -q "object put'"'"' objects"' _ "$IPMD_BIN"
check "object --help says gc frees the object" \
	bash -c '"$1" object --help 2>&1 | grep -q "the next gc frees it"' _ "$IPMD_BIN"
page=$(mandoc -Tascii "$IPMD_TOP/man/ipmaildir.1" 2>/dev/null | sed 's/.\x08//g' | tr -s ' \n' '  ')
check "ipmaildir(1) warns at object put" grep -q "The object is no part of the mailbox: no commit names it, so the next gc frees its blocks" <<<"$page"
done_testing
