#!/usr/bin/env bash
# 61-import-export.t — `ipmaildir import` of a plain Maildir with Maildir++
# folders, then `ipmaildir export` back to a plain Maildir: byte-exact, with
# names (flags), modes and mtimes kept; tmp/ contents left out; re-import
# skips what is there; import refuses a mounted mailbox; export refuses a
# non-empty target; export works beside a mount (last commit); import
# refuses what is not a Maildir unless --force, keeps a symlink as a link
# and leaves a FIFO unopened.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own commands"

S=$TEST_DIR/store SRC=$TEST_DIR/src OUT=$TEST_DIR/out M=$TEST_DIR/mnt
ipmd_init "$S" || bail "init failed"

# A Maildir with two folders, flags in names, a big message, dovecot files,
# a symlink, odd mtimes and something in tmp/ (not mail: must stay out).
mkdir -p "$SRC"/{cur,new,tmp} "$SRC"/.Work/{cur,new,tmp} "$SRC"/.Lists.ipfs/{cur,new,tmp}
python3 "$IPMD_TOP/tests/integration/genmail.py" --many "$TEST_DIR/g1" a 120 small
python3 "$IPMD_TOP/tests/integration/genmail.py" --many "$TEST_DIR/g2" b 30 mail
n=0
for f in "$TEST_DIR"/g1/*.eml; do
	n=$((n + 1))
	case $((n % 3)) in
	0) mv "$f" "$SRC/cur/$n.M1P1.host:2,S" ;;
	1) mv "$f" "$SRC/.Work/cur/$n.M1P1.host:2,RS" ;;
	2) mv "$f" "$SRC/new/$n.M1P1.host" ;;
	esac
done
for f in "$TEST_DIR"/g2/*.eml; do n=$((n + 1)); mv "$f" "$SRC/.Lists.ipfs/cur/$n.M2P2.host:2,FS"; done
python3 "$IPMD_TOP/tests/integration/genmail.py" big 3000000 > "$SRC/cur/big.M3P3.host:2,"
touch "$SRC/.Work/maildirfolder" "$SRC/.Lists.ipfs/maildirfolder"
printf '3 V1700000000 N200 G0\n' > "$SRC/dovecot-uidlist"
printf 'Work\nLists.ipfs\n' > "$SRC/subscriptions"
chmod 600 "$SRC/subscriptions"
ln -s cur "$SRC/link"
echo "half a delivery" > "$SRC/tmp/1.inprogress"
i=0
find "$SRC" -type f ! -path "$SRC/tmp/*" | while read -r f; do
	i=$((i + 1)); touch -m -d "@$((1500000000 + i * 7919)).$((i * 37 % 1000))123" "$f"; done
touch -h -d '@1400000000' "$SRC/link"
for d in "$SRC"/.Work/cur "$SRC"/.Work "$SRC"/cur "$SRC"; do touch -d '@1300000000.5' "$d"; done
nfiles=$(find "$SRC" -type f ! -path "$SRC/tmp/*" | wc -l)
nnames=$(find "$SRC" ! -type d ! -path "$SRC/tmp/*" | wc -l) # files and the symlink

"$IPMD_BIN" import --store "$S" "$SRC" >"$TEST_DIR/imp.out" 2>"$TEST_DIR/imp.err"
is "$?" 0 "import exits 0"
check "import prints a summary with the count" grep -q "^import: $nfiles files" "$TEST_DIR/imp.err"
# log's ADDED counts messages: files in a cur/ or new/, each once.
nmsgs=$(find "$SRC" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l)
is "$("$IPMD_BIN" log --store "$S" --json | python3 -c 'import json,sys; print(sum(c["added"] for c in json.load(sys.stdin)))')" \
	"$nmsgs" "log: the import's commits added $nmsgs messages (not every file, not twice)"

"$IPMD_BIN" export --store "$S" "$OUT" 2>"$TEST_DIR/exp.err"
is "$?" 0 "export exits 0"
check "export prints a summary" grep -q "^export: $nfiles files" "$TEST_DIR/exp.err"
diff -r --no-dereference "$SRC" "$OUT" >"$TEST_DIR/diff" 2>&1
is "$(cat "$TEST_DIR/diff")" "Only in $SRC/tmp: 1.inprogress" "export is byte-exact but for tmp/ contents"
check "tmp/ itself is there (empty)" test -d "$OUT/tmp" -a -z "$(ls -A "$OUT/tmp")"
# listing: every path with type, mode, size and mtime to the nanosecond.
listing() { (cd "$1" && find . ! -path './tmp/*' -printf '%p %y %m %s %T@\n' | sort); }
listing "$SRC" > "$TEST_DIR/l.src"
listing "$OUT" > "$TEST_DIR/l.out"
if cmp -s "$TEST_DIR/l.src" "$TEST_DIR/l.out"; then ok "names, types, modes, sizes and mtimes (ns) are kept"
else not_ok "names, types, modes, sizes and mtimes (ns) are kept"; diff "$TEST_DIR/l.src" "$TEST_DIR/l.out" | head -5 | while read -r l; do diag "$l"; done; fi
is "$(readlink "$OUT/link")" "cur" "symlink target kept"

# The mount shows the same mailbox.
ipmd_mount "$S" "$M" || bail "mount failed"
check "the mount shows the imported folder" test -f "$M/.Work/maildirfolder"
check "a big message reads back through the mount" cmp "$SRC/cur/big.M3P3.host:2," "$M/cur/big.M3P3.host:2,"

# Import refuses a mounted mailbox, naming the mount point.
"$IPMD_BIN" import --store "$S" "$SRC" >/dev/null 2>"$TEST_DIR/busy.err"
is "$?" 1 "import into a mounted mailbox fails"
check "…saying it is mounted and where" grep -q "mounted on $M" "$TEST_DIR/busy.err"

# Export beside the mount: the last commit, and a note saying so.
echo "new one" > "$M/new/late.msg"
"$IPMD_BIN" export --store "$S" "$TEST_DIR/out2" 2>"$TEST_DIR/exp2.err"
is "$?" 0 "export while mounted works"
check "…and says it exports the last commit" grep -q "mounted: exporting its last commit" "$TEST_DIR/exp2.err"
# jq FILE EXPR — python EXPR over the JSON object in FILE (as d).
jq() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
"$IPMD_BIN" export --store "$S" --json "$TEST_DIR/out2j" >"$TEST_DIR/exp2.json" 2>/dev/null
is "$?" 0 "export --json while mounted works"
is "$(jq "$TEST_DIR/exp2.json" 'd["files"], d["mounted"], d["exit"], d["dir"]')" \
	"$nfiles True 0 $TEST_DIR/out2j" "... one JSON object: the files written, mounted, exit 0"
check "…which has the imported mail" cmp "$SRC/cur/big.M3P3.host:2," "$TEST_DIR/out2/cur/big.M3P3.host:2,"
ipmd_umount "$M" || bail "unmount failed"

# Re-import: nothing new, everything skipped and counted; one new file.
echo "one more" > "$SRC/new/new.M9P9.host"
"$IPMD_BIN" import --store "$S" "$SRC" 2>"$TEST_DIR/imp2.err"
is "$?" 0 "re-import exits 0"
check "re-import imports only the new file" grep -q "^import: 1 files" "$TEST_DIR/imp2.err"
check "re-import reports the rest as skipped" grep -q "$nnames skipped" "$TEST_DIR/imp2.err"
"$IPMD_BIN" import --store "$S" --json "$SRC" >"$TEST_DIR/imp3.json" 2>"$TEST_DIR/imp3.err"
is "$?" 0 "import --json exits 0"
is "$(jq "$TEST_DIR/imp3.json" 'd["imported"], d["skipped"], d["exit"], d["store"]')" \
	"0 $((nnames + 1)) 0 $S" "... one JSON object: nothing new, everything skipped, the store"
check "... and nothing on stderr (no progress, no summary)" test ! -s "$TEST_DIR/imp3.err"
"$IPMD_BIN" export --store "$S" "$TEST_DIR/out3" 2>/dev/null
check "after re-import the mailbox has the new file and the late one" \
	test -f "$TEST_DIR/out3/new/new.M9P9.host" -a -f "$TEST_DIR/out3/new/late.msg"

# Export never overwrites.
"$IPMD_BIN" export --store "$S" "$OUT" 2>"$TEST_DIR/exp3.err"
is "$?" 1 "export into a non-empty directory fails"
check "…with a clear reason" grep -q "not empty" "$TEST_DIR/exp3.err"
"$IPMD_BIN" export --store "$S" --json "$OUT" >"$TEST_DIR/exp3.json" 2>/dev/null
is "$?" 1 "export --json into a non-empty directory fails"
check "...the object says why" grep -q "not empty" <<<"$(jq "$TEST_DIR/exp3.json" 'd["error"]')"
# Bad input.
"$IPMD_BIN" import --store "$S" "$TEST_DIR/nonexistent" 2>"$TEST_DIR/bad.err"
is "$?" 1 "import of a missing directory fails"
check "…naming it" grep -q "nonexistent" "$TEST_DIR/bad.err"
"$IPMD_BIN" import --store "$S" 2>/dev/null
is "$?" 2 "import without MAILDIR is a usage error"

# Not a Maildir: `import /etc` as root used to take all of /etc.  Refused
# in one line unless --force.
S2=$TEST_DIR/store2 E=$TEST_DIR/etc-like
ipmd_init "$S2" || bail "init store2"
mkdir -p "$E/ssl"; echo 'root:x:0:0' > "$E/passwd"; echo '[req]' > "$E/ssl/openssl.cnf"
"$IPMD_BIN" import --store "$S2" "$E" >/dev/null 2>"$TEST_DIR/etc.err"
is "$?" 1 "import of a directory that is not a Maildir fails"
is "$(wc -l <"$TEST_DIR/etc.err")" 1 "...in one line"
"$IPMD_BIN" import --store "$S2" --json "$E" >"$TEST_DIR/etc.json" 2>/dev/null
is "$(jq "$TEST_DIR/etc.json" 'd["exit"], d["imported"], "not a Maildir" in d["error"]')" "1 0 True" \
	"...and with --json, an object with the error"
check "...saying it is not a Maildir and naming --force" grep -q "$E is not a Maildir.*--force" "$TEST_DIR/etc.err"
"$IPMD_BIN" export --store "$S2" "$TEST_DIR/out-etc" 2>/dev/null
is "$(find "$TEST_DIR/out-etc" -type f | wc -l)" 0 "...and imports nothing"
"$IPMD_BIN" import --store "$S2" --force "$E" >/dev/null 2>"$TEST_DIR/etc2.err"
is "$?" 0 "import --force takes it anyway"
check "...all of it" grep -q "^import: 2 files" "$TEST_DIR/etc2.err"
PP=$TEST_DIR/plusplus
mkdir -p "$PP/.Sent/cur" "$PP/.Sent/new"; echo 'Subject: s' > "$PP/.Sent/cur/1.M1P1.h:2,S"
"$IPMD_BIN" import --store "$S2" "$PP" >/dev/null 2>"$TEST_DIR/pp.err"
is "$?" 0 "a directory of Maildir++ folders alone is a Maildir"

# A symlink to a file outside and a FIFO in cur/: the symlink is kept as a
# link (never read through), the FIFO is not opened (no hang), and the
# summary counts both.
S3=$TEST_DIR/store3 F=$TEST_DIR/odd
ipmd_init "$S3" || bail "init store3"
mkdir -p "$F"/{cur,new,tmp}
echo 'Subject: fine' > "$F/cur/1.M1P1.h:2,S"
echo 'root:secret-shadow-line' > "$TEST_DIR/shadow"; chmod 600 "$TEST_DIR/shadow"
ln -s "$TEST_DIR/shadow" "$F/cur/2.M2P2.h:2,S"
mkfifo "$F/cur/3.M3P3.h:2,S"
timeout 60 "$IPMD_BIN" import --store "$S3" "$F" >/dev/null 2>"$TEST_DIR/odd.err"
is "$?" 0 "import with a symlink and a FIFO in cur/ finishes"
check "...reporting the FIFO as left out" grep -q "1 not files (sockets, fifos, devices: left out)" "$TEST_DIR/odd.err"
check "...and the symlink as kept, not followed" grep -q "1 symlinks (kept as links, not followed)" "$TEST_DIR/odd.err"
"$IPMD_BIN" export --store "$S3" "$TEST_DIR/out-odd" 2>/dev/null
check "the symlink comes back as a symlink" test -L "$TEST_DIR/out-odd/cur/2.M2P2.h:2,S"
check "no copy of the outside file's bytes in the export" test -z "$(find "$TEST_DIR/out-odd" -type f -exec grep -l secret-shadow-line {} +)"
check "the FIFO is not in the mailbox" test ! -e "$TEST_DIR/out-odd/cur/3.M3P3.h:2,S"
done_testing
