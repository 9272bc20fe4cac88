#!/usr/bin/env bash
# 59-archive.t — ipmaildir archive: every retained commit is a directory
# named by its UTC time (same-second commits as TIME-SEQ), plus latest ->
# the newest; each holds exactly that commit's files; ls, grep and diff -r
# work; nothing can be written; it runs beside the live mount, and gc waits
# for it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests the mount itself"
command -v python3 >/dev/null || skip_all "python3 not installed"

S=$TEST_DIR/store M=$TEST_DIR/mnt R=$TEST_DIR/archive
ipmd_init "$S" || bail "init failed"
for i in 1 2 3; do gen_message "ar$i" $((1000 + 200000 * (i - 1))) >"$TEST_DIR/m$i.eml"; done
for i in 1 2 3; do
	ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
	"$IPMD_TOOLS/maildir_deliver" "$M" <"$TEST_DIR/m$i.eml" >"$TEST_DIR/n$i" || bail "deliver"
	[ "$i" = 3 ] && rm "$M/$(cat "$TEST_DIR/n1")"
	ipmd_umount "$M"
done
ipmd_mount "$S" "$M" || bail "mount failed"
mkdir -p "$R"
"$IPMD_BIN" archive --store "$S" "$R" 2>"$TEST_DIR/archive.err" || bail "archive failed: $(cat "$TEST_DIR/archive.err")"
_cleanups+=("fusermount3 -u '$R'")

# The expected names, from log --json.
"$IPMD_BIN" log --store "$S" --json | python3 -c '
import json, sys, datetime, collections
cs = json.load(sys.stdin)
sec = lambda c: c["time_ns"] // 10**9
n = collections.Counter(sec(c) for c in cs)
for c in cs:
    t = datetime.datetime.fromtimestamp(sec(c), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(c["seq"], t + ("-%d" % c["seq"] if n[sec(c)] > 1 else ""))
' >"$TEST_DIR/names"
is "$(cut -d' ' -f2 "$TEST_DIR/names" | LC_ALL=C sort | tr '\n' ' ')" "$(ls "$R" | grep -v '^latest$' | LC_ALL=C sort | tr '\n' ' ')" \
	"one directory per commit, named by its UTC time"
newest=$(head -n 1 "$TEST_DIR/names" | cut -d' ' -f2)
is "$(readlink "$R/latest")" "$newest" "latest -> the newest commit"
dir_of() { awk -v s="$1" '$1 == s { print $2 }' "$TEST_DIR/names"; }
# Commit 1 is the new mailbox; each session adds one commit.
s2=$(dir_of 2) s3=$(dir_of 3) s4=$(dir_of 4)
check "commit 2: message 1 byte-exact" cmp "$TEST_DIR/m1.eml" "$R/$s2/$(cat "$TEST_DIR/n1")"
check "commit 2: no message 2 yet" test ! -e "$R/$s2/$(cat "$TEST_DIR/n2")"
check "commit 3: messages 1 and 2" cmp "$TEST_DIR/m2.eml" "$R/$s3/$(cat "$TEST_DIR/n2")"
check "commit 4 (latest): message 3, message 1 deleted" sh -c "cmp -s '$TEST_DIR/m3.eml' '$R/latest/$(cat "$TEST_DIR/n3")' && test ! -e '$R/latest/$(cat "$TEST_DIR/n1")'"
diff -r "$R/$s3" "$R/$s4" >"$TEST_DIR/diff" 2>&1
check "diff -r between two commits shows exactly the change" test "$(grep -c '^Only in' "$TEST_DIR/diff")" = 2
check "grep -r finds a message in every commit that has it" test "$(grep -rl 'ar2' "$R"/2* 2>/dev/null | wc -l)" -ge 2
is "$(ls "$R/$s2/new" | wc -l)" 1 "ls of a commit's new/"
if touch "$R/latest/new/x" 2>/dev/null; then not_ok "the archive refuses writes"; else ok "the archive refuses writes"; fi
check "the live mount still takes deliveries meanwhile" sh -c "'$IPMD_TOOLS/maildir_deliver' '$M' <'$TEST_DIR/m1.eml' >/dev/null"
ipmd_umount "$M"
out=$("$IPMD_BIN" gc --store "$S" 2>&1)
is "$?" 1 "gc refuses while the archive is mounted"
check "fusermount3 -u unmounts the archive" fusermount3 -u "$R"

# The mountpoint must be an empty directory, as for mount (-o nonempty
# overrides); a file is refused too.
echo keep >"$R/mine"
"$IPMD_BIN" archive --store "$S" "$R" 2>"$TEST_DIR/nonempty.err"
is "$?" 1 "archive over a non-empty directory: refused"
is "$(cat "$TEST_DIR/nonempty.err")" "ipmaildir archive: $R is not empty: the mount would hide what it holds (-o nonempty to mount there anyway)" \
	"...with one line saying why and how to override"
check "...and nothing was mounted there" sh -c "! mountpoint -q '$R'"
"$IPMD_BIN" archive --store "$S" "$R/mine" 2>"$TEST_DIR/file.err"
is "$?" 1 "archive over a file: refused"
"$IPMD_BIN" archive --store "$S" -o nonempty "$R" 2>"$TEST_DIR/nonempty2.err"
is "$?" 0 "-o nonempty mounts there anyway"
check "...the archive is there" test -L "$R/latest"
check "fusermount3 -u unmounts it" fusermount3 -u "$R"
check "...and what the directory held is back" test "$(cat "$R/mine")" = keep
rm "$R/mine"

# No open, flush or release per file read (the kernel's no-open, as the
# mount has it: 17-no-open.t): counted in libfuse's debug trace.
LOG=$TEST_DIR/archive-debug.log
"$IPMD_BIN" archive --store "$S" -f -o debug "$R" >"$LOG" 2>&1 &
track_pid $!
poll 30 test -L "$R/latest" || bail "archive -f -o debug did not come up"
calls() { grep -cE "opcode: (OPEN|FLUSH|RELEASE) " "$LOG"; }
for i in 1 2 3; do cat "$R"/*/new/* "$R"/*/cur/* >/dev/null 2>&1; done
reads=$(find "$R"/ -mindepth 3 -type f | wc -l)
sleep 1 # a release is sent after close returns: let any arrive
check "three passes over the archive's $reads files: at most one open and one flush reached the daemon ($(calls))" test "$(calls)" -le 2
check "...and they read byte-exact" cmp "$TEST_DIR/m2.eml" "$R/$s3/$(cat "$TEST_DIR/n2")"
fusermount3 -u "$R"
done_testing
