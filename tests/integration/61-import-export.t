#!/usr/bin/env bash
# 61-import-export.t — `ipmaildir import` of a plain Maildir with Maildir++
# folders, then `ipmaildir export` back to a plain Maildir: byte-exact, with
# names (flags), modes and mtimes kept; tmp/ contents left out; re-import
# skips what is there; import refuses a mounted mailbox; export refuses a
# non-empty target; export works beside a mount (last commit).
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
check "…which has the imported mail" cmp "$SRC/cur/big.M3P3.host:2," "$TEST_DIR/out2/cur/big.M3P3.host:2,"
ipmd_umount "$M" || bail "unmount failed"

# Re-import: nothing new, everything skipped and counted; one new file.
echo "one more" > "$SRC/new/new.M9P9.host"
"$IPMD_BIN" import --store "$S" "$SRC" 2>"$TEST_DIR/imp2.err"
is "$?" 0 "re-import exits 0"
check "re-import imports only the new file" grep -q "^import: 1 files" "$TEST_DIR/imp2.err"
check "re-import reports the rest as skipped" grep -q "$nnames skipped" "$TEST_DIR/imp2.err"
"$IPMD_BIN" export --store "$S" "$TEST_DIR/out3" 2>/dev/null
check "after re-import the mailbox has the new file and the late one" \
	test -f "$TEST_DIR/out3/new/new.M9P9.host" -a -f "$TEST_DIR/out3/new/late.msg"

# Export never overwrites.
"$IPMD_BIN" export --store "$S" "$OUT" 2>"$TEST_DIR/exp3.err"
is "$?" 1 "export into a non-empty directory fails"
check "…with a clear reason" grep -q "not empty" "$TEST_DIR/exp3.err"
# Bad input.
"$IPMD_BIN" import --store "$S" "$TEST_DIR/nonexistent" 2>"$TEST_DIR/bad.err"
is "$?" 1 "import of a missing directory fails"
check "…naming it" grep -q "nonexistent" "$TEST_DIR/bad.err"
"$IPMD_BIN" import --store "$S" 2>/dev/null
is "$?" 2 "import without MAILDIR is a usage error"
done_testing
