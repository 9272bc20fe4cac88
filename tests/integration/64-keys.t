#!/usr/bin/env bash
# 64-keys.t — key handling: `key backup` prints a checksummed form of the
# master secret; `key restore` makes a working key file from it (and
# refuses a typo, another mailbox's key, an existing key file); `key
# passwd` changes the passphrase without touching the mail, the old one no
# longer opens it; `init` warns that losing the key loses the mail.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own commands"

S=$TEST_DIR/store M=$TEST_DIR/mnt
(umask 077; printf 'first pass\n' > "$TEST_DIR/p1"; printf 'second pass\n' > "$TEST_DIR/p2")
"$IPMD_BIN" init --store "$S" --passphrase-file "$TEST_DIR/p1" >"$TEST_DIR/id" 2>"$TEST_DIR/init.err"
is "$?" 0 "init with a passphrase"
check "init warns plainly that losing the key loses the mail" grep -q "lose it (or its passphrase) and the mail is lost" "$TEST_DIR/init.err"
ipmd_mount "$S" "$M" --passphrase-file "$TEST_DIR/p1" || bail "mount failed"
gen_message keys 20000 > "$M/new/1.M1.host"
cp "$M/new/1.M1.host" "$TEST_DIR/msg"
ipmd_umount "$M" || bail "unmount failed"
blocks_before=$(find "$S/blocks" -type f | sort | sha256sum)

# Backup.
"$IPMD_BIN" key backup --store "$S" --passphrase-file "$TEST_DIR/p1" >"$TEST_DIR/backup" 2>"$TEST_DIR/backup.err"
is "$?" 0 "key backup exits 0"
is "$(head -1 "$TEST_DIR/backup")" "ipmaildir-key-backup-v1" "backup starts with its header"
is "$(sed 1d "$TEST_DIR/backup" | grep -cE '^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$')" 4 "four lines of four groups of base32"
check "backup names the mailbox it belongs to" grep -q "$(cat "$TEST_DIR/id")" "$TEST_DIR/backup.err"
"$IPMD_BIN" key backup --store "$S" --passphrase-file "$TEST_DIR/p2" >/dev/null 2>&1
is "$?" 1 "backup with a wrong passphrase fails"

# Restore into a copy of the store without its key file: the mail reads.
S2=$TEST_DIR/store2
cp -a "$S" "$S2" && rm "$S2/key"
"$IPMD_BIN" key restore --store "$S2" --no-new-passphrase "$TEST_DIR/backup" 2>"$TEST_DIR/restore.err"
is "$?" 0 "key restore exits 0"
check "the restored key file is mode 0600" test "$(stat -c %a "$S2/key")" = 600
ipmd_mount "$S2" "$TEST_DIR/mnt2" || bail "mount with the restored key failed"
check "the mail reads with the restored key" cmp "$TEST_DIR/msg" "$TEST_DIR/mnt2/new/1.M1.host"
ipmd_umount "$TEST_DIR/mnt2"
"$IPMD_BIN" key restore --store "$S2" --no-new-passphrase "$TEST_DIR/backup" 2>"$TEST_DIR/exists.err"
is "$?" 1 "restore never replaces a key file"
check "…and says so" grep -q "exists" "$TEST_DIR/exists.err"
# Lenient: lower case, no dashes, no header, from standard input.
S3=$TEST_DIR/store3
sed 1d "$TEST_DIR/backup" | tr 'A-Z' 'a-z' | tr -d '-' |
	"$IPMD_BIN" key restore --store "$S3" --new-passphrase-file "$TEST_DIR/p2" 2>/dev/null
is "$?" 0 "restore from standard input, lower case, no dashes, new passphrase"
check "…gives the same mailbox id" grep -q "$(cat "$TEST_DIR/id")" <("$IPMD_BIN" key backup --store "$S3" --passphrase-file "$TEST_DIR/p2" 2>&1 >/dev/null)
# A typo is caught.
sed '2s/^\(.\)./\1Q/' "$TEST_DIR/backup" > "$TEST_DIR/typo"
cmp -s "$TEST_DIR/typo" "$TEST_DIR/backup" && sed -i '2s/^\(.\)./\1R/' "$TEST_DIR/typo"
"$IPMD_BIN" key restore --store "$TEST_DIR/store4" --no-new-passphrase "$TEST_DIR/typo" 2>"$TEST_DIR/typo.err"
is "$?" 1 "a mistyped backup is refused"
check "…by its checksum" grep -q "checksum does not match" "$TEST_DIR/typo.err"
check "…and no key file is written" test ! -e "$TEST_DIR/store4/key"
# Another mailbox's key is refused for this store.
"$IPMD_BIN" init --store "$TEST_DIR/other" --no-passphrase >/dev/null 2>&1
"$IPMD_BIN" key backup --store "$TEST_DIR/other" > "$TEST_DIR/other.bk" 2>/dev/null
S5=$TEST_DIR/store5; cp -a "$S" "$S5" && rm "$S5/key"
"$IPMD_BIN" key restore --store "$S5" --no-new-passphrase "$TEST_DIR/other.bk" 2>"$TEST_DIR/wrong.err"
is "$?" 1 "another mailbox's key is refused"
check "…saying it is not this mailbox's key" grep -q "not the key of the mailbox" "$TEST_DIR/wrong.err"

# passwd: new passphrase works, old one doesn't, blocks untouched.
"$IPMD_BIN" key passwd --store "$S" --passphrase-file "$TEST_DIR/p1" --new-passphrase-file "$TEST_DIR/p2" 2>"$TEST_DIR/passwd.err"
is "$?" 0 "key passwd exits 0"
check "…and says the mail was not re-encrypted" grep -q "not re-encrypted" "$TEST_DIR/passwd.err"
is "$(find "$S/blocks" -type f | sort | sha256sum)" "$blocks_before" "no block changed"
check "no stray copy of the key file is left in the store" test "$(ls "$S" | grep -c key)" = 1
"$IPMD_BIN" key backup --store "$S" --passphrase-file "$TEST_DIR/p1" >/dev/null 2>&1
is "$?" 1 "the old passphrase no longer opens the key"
ipmd_mount "$S" "$M" --passphrase-file "$TEST_DIR/p2" || bail "mount with the new passphrase failed"
check "the mail reads with the new passphrase" cmp "$TEST_DIR/msg" "$M/new/1.M1.host"
ipmd_umount "$M"
is "$("$IPMD_BIN" key backup --store "$S" --passphrase-file "$TEST_DIR/p2" 2>/dev/null)" "$(cat "$TEST_DIR/backup")" "the master secret is unchanged (same backup)"
# Passphrase sources for every command that takes one (its --help names
# --passphrase-command): a command's first output line, and standard
# input with --passphrase-file -.  A wrong one fails each command, the
# right one opens the key: so each really read it.
PS=$TEST_DIR/pp-store PM=$TEST_DIR/pp-mnt PMD=$TEST_DIR/pp-md
mkdir -p "$PM" "$PMD/cur" "$PMD/new" "$PMD/tmp"
GOOD="echo 'a long passphrase'"
"$IPMD_BIN" init --store "$PS" --passphrase-command "$GOOD" >/dev/null 2>"$TEST_DIR/init3.err"
rc=$?; is "$rc" 0 "init --passphrase-command"; [ "$rc" = 0 ] || diag "$(cat "$TEST_DIR/init3.err")"
check "…no short-passphrase warning for 17 characters" bash -c "! grep -q 'warning' '$TEST_DIR/init3.err'"
# run_with CMD SOURCE-OPTION... — one use of command CMD that needs the key.
run_with() {
	local c=$1; shift
	case $c in
	init) rm -rf "$TEST_DIR/pp-new"
		"$IPMD_BIN" init --store "$TEST_DIR/pp-new" "$@" ;;
	log) "$IPMD_BIN" log --store "$PS" -n 1 "$@" ;;
	status|fsck) "$IPMD_BIN" "$c" --store "$PS" "$@" ;;
	gc) "$IPMD_BIN" gc --store "$PS" --dry-run "$@" ;;
	import) "$IPMD_BIN" import --store "$PS" "$@" "$PMD" ;;
	export) rm -rf "$TEST_DIR/pp-out"; "$IPMD_BIN" export --store "$PS" "$@" "$TEST_DIR/pp-out" ;;
	key) "$IPMD_BIN" key backup --store "$PS" "$@" ;;
	object) "$IPMD_BIN" object put --store "$PS" "$@" "$TEST_DIR/p1" ;;
	share) "$IPMD_BIN" share --store "$PS" "$@" /new ;;
	mount|archive)
		"$IPMD_BIN" "$c" --store "$PS" "$@" "$PM" || return
		_mounts+=("$PM")
		mountpoint -q "$PM" && "$IPMD_BIN" umount "$PM" ;;
	*) echo "no use of '$c' in 64-keys.t: add one"; return 99 ;;
	esac
}
cmds=$("$IPMD_BIN" --help 2>&1 | sed -nE 's/^ +ipmaildir ([a-z]+).*/\1/p' | sort -u)
takers=
for c in $cmds; do
	"$IPMD_BIN" "$c" --help 2>&1 | grep -q -- --passphrase-command && takers="$takers $c"
done
check "several commands take a passphrase ($takers)" test "$(wc -w <<<"$takers")" -ge 10
for c in $takers; do
	[ "$c" = init ] && continue # a new key: anything opens it
	run_with "$c" --passphrase-command "echo wrong" >/dev/null 2>"$TEST_DIR/pc.err" </dev/null
	rc=$?
	check "$c --passphrase-command: a wrong one fails ($rc)" grep -q "wrong passphrase" "$TEST_DIR/pc.err"
	# Every error line names the command as it was run, verb and all.
	case $c in key) say="key backup" ;; object) say="object put" ;; *) say=$c ;; esac
	is "$(grep -vc "^ipmaildir $say: " "$TEST_DIR/pc.err")/$(grep -c . "$TEST_DIR/pc.err")" \
		"0/$(grep -c . "$TEST_DIR/pc.err")" "$c: each error line starts 'ipmaildir $say:'"
	# share answers 1 for /new (a directory), after opening the key.
	run_with "$c" --passphrase-command "$GOOD" >/dev/null 2>"$TEST_DIR/pc.err" </dev/null
	rc=$?
	check "$c --passphrase-command: the right one opens the key ($rc)" \
		bash -c "! grep -q 'passphrase\|no use of' '$TEST_DIR/pc.err'"
	printf 'a long passphrase\n' | run_with "$c" --passphrase-file - >/dev/null 2>"$TEST_DIR/pf.err"
	check "$c --passphrase-file -: read from standard input" \
		bash -c "! grep -q 'passphrase\|no use of' '$TEST_DIR/pf.err'"
done

# A new passphrase under 8 characters is taken, with one warning.
printf 'short\n' | "$IPMD_BIN" init --store "$TEST_DIR/pp-short" --passphrase-file - >/dev/null 2>"$TEST_DIR/short.err"
is "$?" 0 "init with a 5-character passphrase works"
is "$(grep -c 'warning: the passphrase has fewer than 8 characters' "$TEST_DIR/short.err")" 1 "…with one warning"
"$IPMD_BIN" key passwd --store "$PS" --passphrase-command "$GOOD" --new-passphrase-command "echo 'ça été'" >/dev/null 2>"$TEST_DIR/short2.err"
is "$?" 0 "key passwd to 'ça été' (6 characters, 8 bytes)"
is "$(grep -c 'warning: the passphrase has fewer than 8 characters' "$TEST_DIR/short2.err")" 1 "…warns once"
"$IPMD_BIN" key passwd --store "$PS" --passphrase-command "echo 'ça été'" --new-passphrase-command "$GOOD" >/dev/null 2>"$TEST_DIR/long.err"
is "$?" 0 "key passwd back to a long one"
check "…without a warning" bash -c "! grep -q warning '$TEST_DIR/long.err'"
done_testing
