#!/usr/bin/env bash
# 55-dag.t — a merged history (two devices' lines and a merge commit, made
# by tests/tools/dag_commit as a mount's sync will make them) read by every
# reader of history: log lists each commit once, highest seq first, the
# merge marked with its other parent; mount --at CID|SEQ|TIME mounts each
# state; fsck checks every commit and edge, and names a broken one; archive
# shows every commit with inode numbers of its own; gc (dry run and real)
# frees nothing the other line still needs.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the store itself"
command -v python3 >/dev/null || skip_all "python3 not installed"

S=$TEST_DIR/store M=$TEST_DIR/mnt A=$TEST_DIR/at R=$TEST_DIR/archive
DAG=$IPMD_TOOLS/dag_commit
logjson() { "$IPMD_BIN" log --store "$S" --json "$@"; }
# py EXPR — EXPR over the commits of log --json (a list, as l).
py() { logjson | python3 -c "import json,sys; l=json.load(sys.stdin); print($1)"; }
nblocks() { find "$S/blocks" -type f -name 'bafk*' | wc -l; }
# has DIR NAME... — each message NAME is in DIR/cur, as dagstore wrote it.
has() { local d=$1 n; shift; for n; do grep -q "^Subject: $n\$" "$d/cur/$n" || return 1; done; }
lacks() { local d=$1 n; shift; for n; do [ ! -e "$d/cur/$n" ] || return 1; done; }

ipmd_init "$S" || bail "init failed"
ipmd_mount "$S" "$M" || bail "mount failed"
gen_message base 3000 >"$TEST_DIR/base.eml"
cp "$TEST_DIR/base.eml" "$M/cur/base:2,S"
ipmd_umount "$M" || bail "unmount failed"

# This device: a-1, a-2; another device (inode range 1): o-1 … o-5; the
# merge of o-5 into a-2 is the head.
dag_two_lines "$S"
a2=${aline[1]} o3=${oline[2]} o4=${oline[3]} o5=${oline[4]}
total=$(py 'len(l)')

# ---------------------------------------------------------------- log
"$IPMD_BIN" log --store "$S" >"$TEST_DIR/log" 2>&1
is "$?" 0 "log exits 0 on a merged history"
check "log marks the merge" grep -q "^[0-9]* .* $m (merge)\$" "$TEST_DIR/log"
check "and names its other parent on the next line" grep -A1 "$m (merge)" "$TEST_DIR/log" | grep -q "^ *merged $o5\$"
is "$(py 'sorted(c["cid"] for c in l) == sorted(set(c["cid"] for c in l))')" True "log --json: each commit once"
is "$(py '[c["seq"] for c in l] == sorted((c["seq"] for c in l), reverse=True)')" True "log --json: highest seq first"
is "$(py 'l[0]["cid"] + " " + ",".join(l[0]["merged"]) + " " + l[0]["parent"]')" "$m $o5 $a2" \
	"log --json: the merge first, merged [o-5], parent a-2"
is "$(py 'sum(1 for c in l if c["merged"])')" 1 "log --json: one merge, the rest with merged []"
is "$(logjson | python3 -c 'import json,sys; l=json.load(sys.stdin); print(sum(1 for c in l if c["cid"] in sys.argv[1:]))' "${aline[@]}" "${oline[@]}")" 7 \
	"log --json: both lines' commits are listed ($total commits)"
is "$("$IPMD_BIN" log --store "$S" -n 2 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2 "log -n 2 counts in that order"

# ---------------------------------------------------------------- --at
ipmd_mount "$S" "$A" --at "$m" || bail "mount --at the merge failed"
check "--at the merge: both lines' messages and the base" has "$A" a-1 a-2 o-1 o-2 o-3 o-4 o-5
check "--at the merge: the base message byte-exact" cmp "$TEST_DIR/base.eml" "$A/cur/base:2,S"
ipmd_umount "$A"
ipmd_mount "$S" "$A" --at "$o4" || bail "mount --at o-4 failed"
check "--at o-4 (the other line): o-1 … o-4, no o-5, no a-*" sh -c "$(declare -f has lacks); has '$A' o-1 o-4 && lacks '$A' o-5 a-1"
ipmd_umount "$A"
seq_a2=$(py "next(c['seq'] for c in l if c['cid'] == '$a2')")
is "$(py "sum(1 for c in l if c['seq'] == $seq_a2)")" 2 "two commits share seq $seq_a2 (one per line)"
ipmd_mount "$S" "$A" --at "$seq_a2" || bail "mount --at $seq_a2 failed"
check "--at SEQ takes the first-parent line's: a-2, no o-*" sh -c "$(declare -f has lacks); has '$A' a-1 a-2 && lacks '$A' o-1"
ipmd_umount "$A"
t3=$(py "next(c['time_ns'] for c in l if c['cid'] == '$o3')")
iso=$(python3 -c 'import sys,datetime; ns=int(sys.argv[1]); print(datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (ns % 10**9))' "$t3")
ipmd_mount "$S" "$A" --at "$iso" || bail "mount --at $iso failed"
check "--at TIME finds the other line's commit (o-3)" sh -c "$(declare -f has lacks); has '$A' o-3 && lacks '$A' o-4 a-1"
ipmd_umount "$A"

# ---------------------------------------------------------------- fsck
"$IPMD_BIN" fsck --store "$S" --deep >"$TEST_DIR/fsck1" 2>&1
is "$?" 0 "fsck --deep is clean on a merged store"
check "it counts every commit and the merge" grep -q "history: $total commits (1 merge)" "$TEST_DIR/fsck1"
is "$(grep -c '^fsck: commit [0-9]* (' "$TEST_DIR/fsck1")" "$total" "--deep checks the tree of every commit"

# ---------------------------------------------------------------- archive
mkdir -p "$R"
"$IPMD_BIN" archive --store "$S" "$R" 2>"$TEST_DIR/archive.err" || bail "archive failed: $(cat "$TEST_DIR/archive.err")"
_cleanups+=("fusermount3 -u '$R'")
# The names and message counts expected, by archive.h's rule.
logjson | python3 -c '
import json, sys, datetime, collections
cs = json.load(sys.stdin)
sec = lambda c: c["time_ns"] // 10**9
n = collections.Counter(sec(c) for c in cs)
ns = collections.Counter((sec(c), c["seq"]) for c in cs)
for c in cs:
    t = datetime.datetime.fromtimestamp(sec(c), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if ns[(sec(c), c["seq"])] > 1: t += "-%d-%s" % (c["seq"], c["cid"][-8:])
    elif n[sec(c)] > 1: t += "-%d" % c["seq"]
    print(t, c["messages"])
' >"$TEST_DIR/names"
is "$(cut -d' ' -f1 "$TEST_DIR/names" | LC_ALL=C sort | tr '\n' ' ')" "$(ls "$R" | grep -v '^latest$' | LC_ALL=C sort | tr '\n' ' ')" \
	"archive: one directory per commit of the DAG, each name once"
bad=0
while read -r d want; do
	got=$(ls "$R/$d/cur" "$R/$d/new" | grep -vc -e '^$' -e ':$')
	[ "$got" = "$want" ] || { bad=$((bad + 1)); diag "$d: $got messages, log says $want"; }
done <"$TEST_DIR/names"
is "$bad" 0 "archive: every commit's directory holds its messages"
check "archive: every message of every commit reads" sh -c "cat '$R'/*/cur/* >/dev/null"
is "$(find "$R"/ -mindepth 1 -printf '%i\n' | sort | uniq -d | wc -l)" 0 \
	"archive: no inode number twice (the other device's range is mapped)"
check "archive: latest is the merge" has "$R/latest" a-2 o-5
fusermount3 -u "$R"

# ---------------------------------------------------------------- gc
before=$(nblocks)
"$IPMD_BIN" gc --store "$S" >"$TEST_DIR/gc1" 2>&1
is "$?" 0 "gc keeping every commit exits 0"
"$IPMD_BIN" fsck --store "$S" --deep >/dev/null 2>&1
is "$?" 0 "fsck --deep clean after it: every line's blocks stayed"
out=$("$IPMD_BIN" gc --store "$S" --keep-last 3 --dry-run 2>&1)
is "$?" 0 "gc --keep-last 3 --dry-run exits 0"
check "it keeps three commits ($(head -n 1 <<<"$out"))" grep -q "keeping 3 of $total commits" <<<"$out"
after_dry=$(nblocks)
is "$(py 'len(l)')" "$total" "--dry-run drops no commit"
out=$("$IPMD_BIN" gc --store "$S" --keep-last 3 2>&1)
is "$?" 0 "gc --keep-last 3 exits 0"
freed=$(sed -nE 's/^gc: freed ([0-9]+) blocks.*/\1/p' <<<"$out")
check "it freed blocks ($freed of $after_dry)" test "${freed:-0}" -gt 0
is "$(py '" ".join(c["cid"] for c in l)')" "$m $o5 $o4" "the history is the merge, o-5 and o-4"
check "log says older commits were freed by gc" sh -c "'$IPMD_BIN' log --store '$S' | grep -q 'freed by ipmaildir gc'"
"$IPMD_BIN" fsck --store "$S" --deep >"$TEST_DIR/fsck2" 2>&1
is "$?" 0 "fsck --deep is clean after gc: the boundary ends both lines normally"
check "fsck says older ones were freed by gc" grep -q "older ones freed by gc" "$TEST_DIR/fsck2"
ipmd_mount "$S" "$A" --at "$m" || bail "mount --at the merge after gc failed"
check "after gc the merge still holds every message (the dropped a-line's too)" \
	sh -c "$(declare -f has); has '$A' a-1 a-2 o-1 o-2 o-3 o-4 o-5 && cmp -s '$TEST_DIR/base.eml' '$A/cur/base:2,S'"
ipmd_umount "$A"
ipmd_mount "$S" "$A" --at "$o4" || bail "mount --at o-4 after gc failed"
check "after gc the other line's oldest kept commit reads (o-4)" sh -c "$(declare -f has lacks); has '$A' o-1 o-4 && lacks '$A' o-5"
ipmd_umount "$A"
mkdir -p "$A"
run_mount --store "$S" --at "$a2" "$A"
mountpoint -q "$A" && fusermount3 -u "$A"
is "$rc" 1 "mount --at a commit gc dropped fails (exit 1)"
says "with a clear reason" "no such commit among those gc kept"
"$IPMD_BIN" archive --store "$S" "$R" 2>"$TEST_DIR/archive.err" || bail "archive after gc failed: $(cat "$TEST_DIR/archive.err")"
is "$(ls "$R" | grep -vc '^latest$')" 3 "archive after gc: the three kept commits"
check "archive after gc: every message reads" sh -c "cat '$R'/*/cur/* >/dev/null"
fusermount3 -u "$R"

# ---------------------------------------------------------------- broken edges
seq_m=$(py 'l[0]["seq"]')
bad=$("$DAG" "$S" merge "$o4" "$m" 0 "$seq_m") || bail "dag_commit merge (forged seq) failed"
"$DAG" "$S" head "$bad" || bail "dag_commit head failed"
out=$("$IPMD_BIN" fsck --store "$S" 2>&1)
is "$?" 4 "fsck: a merge not above its merged parent is damage (exit 4)"
check "named as the merged parent's edge" grep -q "DAMAGE: commit chain broken below commit $seq_m: its merged parent $m has seq $seq_m, not below its child's $seq_m" <<<"$out"
"$IPMD_BIN" log --store "$S" >/dev/null 2>"$TEST_DIR/log.err"
is "$?" 1 "log stops there too (exit 1)"
check "and says where" grep -q "history breaks at commit $m (merged into $bad)" "$TEST_DIR/log.err"
"$DAG" "$S" head "$m" || bail "dag_commit head failed"
rm -f "$(find "$S/blocks" -name "$o5")"
out=$("$IPMD_BIN" fsck --store "$S" 2>&1)
is "$?" 4 "fsck: a merged parent missing from the store (exit 4)"
check "named" grep -q "its merged parent $o5 missing from the store" <<<"$out"
done_testing
