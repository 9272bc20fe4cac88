#!/usr/bin/env bash
# 02-layering.t — the source tree keeps the room map's rule
# (tests/layering.py): includes run one way, cli → tools | fuse → mount →
# store → model → cache → ipfs | crypto → util, no module cycle, every
# source file in a room.  Then the checker itself, on small made-up trees:
# each kind of breach is caught, and a clean tree passes.  No mount, no
# binary: seconds.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TOP=$(cd "$here/../.." && pwd)
CHECK="$TOP/tests/layering.py"
command -v python3 >/dev/null || skip_all "python3 is not installed"

# The tree itself.
name="the source tree keeps the direction, has no cycle, no stray file"
if "$CHECK" --root "$TOP" >"$TEST_DIR/out" 2>&1; then
	ok "$name"
else
	not_ok "$name"
	while IFS= read -r l; do diag "$l"; done <"$TEST_DIR/out"
fi
diag "$(tail -n 1 "$TEST_DIR/out")"

# mktree NAME FILE:INCLUDE... — a made-up tree, each FILE including
# INCLUDE (or nothing when INCLUDE is empty).
mktree() {
	local t="$TEST_DIR/$1" spec f inc
	shift
	for spec in "$@"; do
		f=${spec%%:*} inc=${spec#*:}
		mkdir -p "$t/$(dirname "$f")"
		[ -n "$inc" ] && printf '#include "%s"\n' "$inc" >>"$t/$f"
		touch "$t/$f"
	done
	echo "$t"
}

# caught NAME WANT TREE — the checker fails on TREE and says WANT.
caught() {
	local out
	out=$("$CHECK" --root "$3" 2>&1)
	if [ $? -eq 1 ] && grep -qF -- "$2" <<<"$out"; then
		ok "$1"
	else
		not_ok "$1"
		while IFS= read -r l; do diag "$l"; done <<<"$out"
	fi
}

t=$(mktree clean fs/cli/main.c:fs/tools/import.h \
	fs/tools/import.h:fs/mount/mount.h fs/fuse/ops.c:fs/mount/mount.h \
	fs/mount/mount.h:fs/store/head.h fs/store/head.h:fs/model/tree.h \
	fs/model/tree.h:cache/lru.h cache/lru.h:ipfs/cid.h \
	ipfs/cid.h:util/msgbuf.h crypto/seal.c:util/msgbuf.h util/msgbuf.h: \
	fs/mount/mount.c:fs/mount/mount.h)
passes() { "$CHECK" --root "$1" >/dev/null; }
check "a tree that keeps the rule passes" passes "$t"

t=$(mktree up fs/model/tree.c:fs/mount/mount.h fs/mount/mount.h:)
caught "an include upward is refused" \
	"fs/model/tree.c:1: fs/model may not include fs/mount/mount.h (fs/mount is above it)" "$t"

t=$(mktree peers fs/tools/gc.c:fs/fuse/ops.h fs/fuse/ops.h:)
caught "an include between peers (tools, fuse) is refused" \
	"fs/tools/gc.c:1: fs/tools may not include fs/fuse/ops.h (fs/fuse is beside it)" "$t"

t=$(mktree lowest util/msgbuf.c:crypto/keys.h crypto/keys.h:)
caught "util includes nothing of the project" \
	"util/msgbuf.c:1: util may not include crypto/keys.h" "$t"

t=$(mktree cycle fs/mount/a.c:fs/mount/b.h fs/mount/b.c:fs/mount/c.h \
	fs/mount/c.c:fs/mount/a.h fs/mount/a.h: fs/mount/b.h: fs/mount/c.h:)
caught "a module cycle inside a room is refused" \
	"module cycle: fs/mount/a <-> fs/mount/b <-> fs/mount/c" "$t"

t=$(mktree stray fs/loose.c: fs/attic/old.c: fs/cli/main.c:fs/loose.h)
caught "a file directly in fs/ is refused" "fs/loose.c: not in a room" "$t"
caught "a folder of fs/ that is no room is refused" \
	"fs/attic/old.c: not in a room" "$t"
caught "an include of a file in no room is refused" \
	"fs/cli/main.c:1: includes fs/loose.h, which is in no room" "$t"

done_testing
