#!/usr/bin/env bash
# 05-cli.t — the command line without a mail server: help and usage errors,
# init and the key file, passphrases, objects (round trip, wrong key,
# damaged blocks), what the store reveals, and the mount(8) helper.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own command line"
[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN (run make)"

B=$IPMD_BIN
OUT=$TEST_DIR/out ERR=$TEST_DIR/err
# run ARGS... — run ipmaildir, stdout to $OUT, stderr to $ERR; sets RC.
run() { "$B" "$@" >"$OUT" 2>"$ERR"; RC=$?; }
# err_has REGEX NAME — the last command's stderr matches REGEX.
err_has() {
	if grep -qiE -- "$1" "$ERR"; then ok "$2"; else
		not_ok "$2"; diag "stderr: $(head -c 500 "$ERR")"; fi
}
# refute NAME COMMAND... — ok if the command fails.
refute() { local name=$1; shift; if "$@"; then not_ok "$name"; else ok "$name"; fi; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# flip_byte FILE OFFSET — invert one byte in place.
flip_byte() {
	python3 - "$1" "$2" <<'EOF'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
EOF
}

# --- help and usage -------------------------------------------------------
run --help
is "$RC" 0 "--help exits 0"
for c in init mount key object; do
	check "--help lists '$c'" grep -qE "^ +ipmaildir $c( |$)" "$OUT"
done
for c in init mount key object; do
	run "$c" --help
	is "$RC" 0 "$c --help exits 0"
done
run frobnicate
is "$RC" 2 "an unknown command exits 2"
err_has "unknown command" "... and says so"
run
is "$RC" 2 "no command at all exits 2"
run init --bogus-option
is "$RC" 2 "an unknown option exits 2"
run key export
is "$RC" 2 "key export without --read-only exits 2"

# --- init and the key file ------------------------------------------------
S=$TEST_DIR/store P1=$TEST_DIR/pass1 P2=$TEST_DIR/pass2
(umask 077; echo 'correct horse battery staple' >"$P1"; echo 'a second, newer passphrase' >"$P2")
run init --store "$S" --passphrase-file "$P1"
is "$RC" 0 "init with --passphrase-file"
check "init prints the mailbox id (k51...)" grep -qE '^k51[0-9a-z]+$' "$OUT"
is "$(stat -c %a "$S/key")" 600 "the key file is mode 0600"
key_sum=$(sha "$S/key")
run init --store "$S" --no-passphrase
is "$RC" 1 "init again on the same store exits 1"
err_has "already exists" "... saying the key file already exists"
is "$(sha "$S/key")" "$key_sum" "... and the key file is unchanged"

run key export --read-only --store "$S" --passphrase-file "$P1"
is "$RC" 0 "key export --read-only with the passphrase file"
check "... prints one read capability line" grep -qE '^ipmaildir-read-v1:[A-Za-z0-9_-]+$' "$OUT"
readcap=$(cat "$OUT")
run key export --read-only --store "$S" --passphrase-file "$P2"
is "$RC" 1 "a wrong passphrase file exits 1"
err_has "wrong passphrase" "... saying 'wrong passphrase'"
check "... and prints no capability" test ! -s "$OUT"

chmod 0644 "$S/key"
run key export --read-only --store "$S" --passphrase-file "$P1"
is "$RC" 1 "a key file readable by others (0644) exits 1"
err_has "chmod|permission|readable by" "... naming the permissions"
chmod 0600 "$S/key"

T=$TEST_DIR/store-trunc
mkdir -m 700 "$T"
head -c 100 "$S/key" >"$T/key"
chmod 0600 "$T/key"
run key export --read-only --store "$T" --passphrase-file "$P1"
is "$RC" 1 "a truncated key file exits 1"
err_has "truncated" "... saying 'truncated'"

# --- where the passphrase comes from -------------------------------------
# A passphrase file is checked like the key file; a missing one says so
# (not "no terminal"); "-" is standard input; --passphrase-command runs a
# command (restic's --password-command, gocryptfs's -extpass).
P3=$TEST_DIR/pass-open
cp "$P1" "$P3"; chmod 0644 "$P3"
run key export --read-only --store "$S" --passphrase-file "$P3"
is "$RC" 1 "a passphrase file readable by others (0644) exits 1"
is "$(grep -c "^ipmaildir key export: --passphrase-file $P3 is readable by other users (chmod 600 it)\$" "$ERR")/$(wc -l <"$ERR")" 1/1 "... in one line naming the file, as for the key file"
check "... and prints no capability" test ! -s "$OUT"
run key export --read-only --store "$S" --passphrase-file "$TEST_DIR/no-such-pass"
is "$RC" 1 "a missing passphrase file exits 1"
err_has "no-such-pass: No such file or directory" "... naming the file and ENOENT (not 'no terminal')"
"$B" key export --read-only --store "$S" --passphrase-file - <"$P1" >"$OUT" 2>"$ERR"
is "$?" 0 "--passphrase-file - reads standard input"
is "$(cat "$OUT")" "$readcap" "... and opens the key"
run key export --read-only --store "$S" --passphrase-command "cat '$P1'"
is "$RC" 0 "--passphrase-command CMD"
is "$(cat "$OUT")" "$readcap" "... takes the first line CMD prints"
run key export --read-only --store "$S" --passphrase-command "printf 'correct horse battery staple\nmore\n'; exit 0"
is "$RC" 0 "... also when it prints more lines"
run key export --read-only --store "$S" --passphrase-command "echo its-own-words >&2; exit 3"
is "$RC" 1 "a failing --passphrase-command exits 1"
is "$(grep -c '^ipmaildir key export:' "$ERR")" 1 "... with one line of ours"
err_has "^ipmaildir key export: --passphrase-command failed" "... saying it failed"
err_has "^its-own-words\$" "... after the command's own stderr"
check "... and prints no capability" test ! -s "$OUT"
run key export --read-only --store "$S" --passphrase-command true
is "$RC" 1 "a --passphrase-command that prints nothing exits 1"
err_has "printed no passphrase" "... saying so"
run key export --read-only --store "$S" --passphrase-command "cat '$P1'" --passphrase-file "$P1"
is "$RC" 2 "--passphrase-file and --passphrase-command together: usage"
IPMAILDIR_PASSPHRASE_COMMAND="cat '$P1'" "$B" key export --read-only --store "$S" >"$OUT" 2>"$ERR"
is "$(cat "$OUT")" "$readcap" "passphrase-command is a config key too (IPMAILDIR_PASSPHRASE_COMMAND)"
run status --store "$S" --passphrase-command "cat '$P2'"
is "$RC" 1 "status with a command printing the wrong passphrase exits 1"
err_has "wrong passphrase" "... 'wrong passphrase' (the history's key load uses it too)"
run key passwd --store "$S" --passphrase-command "cat '$P1'" --new-passphrase-command "echo 'a third one'"
is "$RC" 0 "key passwd --passphrase-command / --new-passphrase-command"
run key passwd --store "$S" --passphrase-command "echo 'a third one'" --new-passphrase-file - <"$P1"
is "$RC" 0 "... and back, the new one from standard input"
run key export --read-only --store "$S" --passphrase-file "$P1"
is "$(cat "$OUT")" "$readcap" "... which opens the key again"
PI=$TEST_DIR/store-stdin
echo 'from standard input' | "$B" init --store "$PI" --passphrase-file - >/dev/null 2>&1
is "$?" 0 "init --passphrase-file - takes the new passphrase from stdin"
run status --store "$PI" --passphrase-command "echo 'from standard input'"
is "$RC" 0 "... and it opens the key"

# --- objects --------------------------------------------------------------
head -c 3000000 /dev/urandom >"$TEST_DIR/big"
run object put --store "$S" --passphrase-file "$P1" "$TEST_DIR/big"
is "$RC" 0 "object put of a 3 MB file"
cap=$(cat "$OUT")
check "... prints a capability (ipmaildir:CID?size=N&depth=D#KEY)" \
	grep -qE '^ipmaildir:b[a-z2-7]+\?size=3000000&depth=[0-9]+#[A-Za-z0-9_-]+$' "$OUT"
"$B" object get --store "$S" "$cap" >"$TEST_DIR/big.out" 2>"$ERR"
is "$?" 0 "object get of that capability"
check "... returns the same bytes" cmp -s "$TEST_DIR/big" "$TEST_DIR/big.out"
run object put --store "$S" --passphrase-file "$P1" "$TEST_DIR/big"
is "$RC" 0 "object put of the same file again"
[ "$(cat "$OUT")" != "$cap" ] && ok "... is another object (its own convergence scope)" ||
	not_ok "... is another object (its own convergence scope)"
cap_m=$(IPMAILDIR_CONVERGENCE=mailbox "$B" object put --store "$S" --passphrase-file "$P1" "$TEST_DIR/big" 2>"$ERR")
is "$(IPMAILDIR_CONVERGENCE=mailbox "$B" object put --store "$S" --passphrase-file "$P1" "$TEST_DIR/big" 2>"$ERR")" \
	"$cap_m" "convergence = mailbox: the same file again gives the same capability"

# Flip the first character of the key (base64url): every bit of it counts.
k=${cap#*#}
c=${k:0:1}; [ "$c" = A ] && n=B || n=A
bad="${cap%%#*}#$n${k:1}"
run object get --store "$S" "$bad"
is "$RC" 1 "object get with a wrong key exits 1"
err_has "damaged|tamper|verif" "... with a clear message"
is "$(stat -c %s "$OUT")" 0 "... and writes no bytes of the file"
run object get --store "$S" "ipmaildir:not-a-capability"
is "$RC" 2 "a malformed capability exits 2"

# One damaged block in a store of its own (so it is this object's).
D=$TEST_DIR/store-damage
"$B" init --store "$D" --no-passphrase >/dev/null 2>&1 || bail "init $D"
run object put --store "$D" "$TEST_DIR/big"
dcap=$(cat "$OUT")
blk=$(find "$D/blocks" -type f -size +100k | sort | sed -n 3p)
if [ -n "$blk" ]; then
	flip_byte "$blk" $(($(stat -c %s "$blk") / 2))
	run object get --store "$D" "$dcap"
	is "$RC" 1 "object get over a block with one flipped byte exits 1"
	err_has "damaged|tampered" "... saying damaged or tampered"
	refute "... and does not return the file" cmp -s "$TEST_DIR/big" "$OUT"
	flip_byte "$blk" $(($(stat -c %s "$blk") / 2))
	run object get --store "$D" "$dcap"
	is "$RC" 0 "control: with that byte flipped back it reads again"
	rm -f "$blk"
	run object get --store "$D" "$dcap"
	is "$RC" 1 "object get with that block missing exits 1"
	err_has "missing" "... saying a block is missing"
else
	not_ok "the 3 MB object has block files in $D/blocks"
fi

# --- nothing under the store is plaintext --------------------------------
marker=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)
is "${#marker}" 32 "a 32-character marker"
h1="Subject: quarterly figures $marker"
h2="Message-ID: <$marker@example.org>"
h3="X-Original-To: someone-$(tr -dc 'a-z' </dev/urandom | head -c 20)@example.org"
{
	printf '%s\n%s\n%s\nFrom: a@example.org\n\n' "$h1" "$h2" "$h3"
	printf 'Dear reader, the marker is %s.\n' "$marker"
} >"$TEST_DIR/small.eml"
{
	cat "$TEST_DIR/small.eml"
	for i in $(seq 12000); do printf 'line %05d of the long body, %s\n' "$i" "$marker"; done
} >"$TEST_DIR/long.eml"
caps=()
for m in small long; do
	run object put --store "$S" --passphrase-file "$P1" "$TEST_DIR/$m.eml"
	is "$RC" 0 "object put of the $m message with the marker"
	caps+=("$(cat "$OUT")")
done
"$B" object get --store "$S" "${caps[1]}" >"$TEST_DIR/long.out" 2>/dev/null
check "control: the marker is in what object get returns" grep -qF "$marker" "$TEST_DIR/long.out"
leaks=0
for needle in "$marker" "$h1" "$h2" "$h3"; do
	if grep -r -a -F -l -- "$needle" "$S" >"$TEST_DIR/leak"; then
		leaks=$((leaks + 1)); diag "'$needle' found in $(head -n 3 "$TEST_DIR/leak" | tr '\n' ' ')"
	fi
done
is "$leaks" 0 "grep -r -a finds neither the marker nor the 3 header lines under the store"
check "control: the store does hold blocks" test -n "$(find "$S/blocks" -type f | head -n 1)"

# --- key passwd -------------------------------------------------------------
run key passwd --store "$S" --passphrase-file "$P1" --new-passphrase-file "$P2"
is "$RC" 0 "key passwd from one passphrase file to another"
is "$(stat -c %a "$S/key")" 600 "... the key file stays mode 0600"
run key export --read-only --store "$S" --passphrase-file "$P1"
is "$RC" 1 "the old passphrase no longer opens the key"
err_has "wrong passphrase" "... 'wrong passphrase'"
run key export --read-only --store "$S" --passphrase-file "$P2"
is "$RC" 0 "the new passphrase opens it"
is "$(cat "$OUT")" "$readcap" "... and the mailbox key is the same (same read capability)"
is "$(IPMAILDIR_CONVERGENCE=mailbox "$B" object put --store "$S" --passphrase-file "$P2" "$TEST_DIR/big" 2>"$ERR")" \
	"$cap_m" "... and objects still seal the same way (convergence = mailbox)"

# --- mount.ipmaildir, as mount(8) runs it ----------------------------------
if ! [ -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	diag "no FUSE here: skipping the mount helper"
	done_testing
	exit
fi
H=$TEST_DIR/mount.ipmaildir
ln -s "$B" "$H"
M=$TEST_DIR/mnt
mkdir "$M"
other=allow_other
[ "$(id -u)" = 0 ] || grep -qs '^user_allow_other' /etc/fuse.conf || other=default_permissions
# helper_gone STORE — after an unmount, wait until the daemon let go.
helper_gone() {
	local i
	for i in $(seq 300); do
		! mountpoint -q "$M" && flock -n "$1/lock" true && return 0
		sleep 0.1
	done
	return 1
}
# helper_umount STORE — unmount what the helper mounted, wait for its daemon.
helper_umount() {
	mountpoint -q "$M" && fusermount3 -u "$M"
	helper_gone "$1"
}

Sm=$TEST_DIR/store-m
"$B" init --store "$Sm" --no-passphrase >/dev/null 2>&1 || bail "init $Sm"
on_cleanup helper_umount "$Sm"
# A relative store: the daemon leaves the directory it started in.
(cd "$TEST_DIR" && ./mount.ipmaildir store-m mnt -o "rw,$other") 2>"$ERR"
is "$?" 0 "mount.ipmaildir STORE MNT -o rw,$other exits 0"
check "... and the mount is there when it returns" mountpoint -q "$M"
is "$(ls "$M" 2>/dev/null | tr '\n' ' ')" "cur new tmp " "... showing cur/ new/ tmp/"
grep -F " $M " /proc/mounts >"$TEST_DIR/mounts"
check "... as type fuse.ipmaildir" grep -q " fuse.ipmaildir " "$TEST_DIR/mounts"
refute "... by a daemon that holds the store's lock" flock -n "$Sm/lock" true
head_sum=$(sha "$Sm/head")
printf 'From: a@example.org\nSubject: via the helper\n\nhello\n' >"$TEST_DIR/m1"
cp "$TEST_DIR/m1" "$M/tmp/1.helper" && mv "$M/tmp/1.helper" "$M/new/1.helper"
check "a delivery through the helper's mount" cmp -s "$TEST_DIR/m1" "$M/new/1.helper"
fusermount3 -u "$M"
check "fusermount3 -u ends it: unmounted and the store's lock free" helper_gone "$Sm"
refute "... after the daemon committed the delivery (a new head)" test "$(sha "$Sm/head")" = "$head_sum"

"$H" "$Sm" "$M" -f -o rw 2>"$ERR"
is "$?" 0 "mount.ipmaildir -f (fake) exits 0"
refute "... and mounts nothing" mountpoint -q "$M"

# mount(8)-only options dropped, passphrase_file= taken out of -o.
"$H" "$S" "$M" -o "ro,defaults,noauto,nofail,_netdev,passphrase_file=$P2" 2>"$ERR"
is "$?" 0 "mount.ipmaildir -o ro,defaults,noauto,nofail,_netdev,passphrase_file=F"
check "... mounted" mountpoint -q "$M"
check "... read-only" grep -qE " $M fuse.ipmaildir ro[, ]" /proc/mounts
refute "... writing fails" touch "$M/new/x" 2>/dev/null
check "... unmounted again" helper_umount "$S"

"$H" "$S" "$M" -o "passphrase_file=$P1" 2>"$ERR"
is "$?" 1 "mount.ipmaildir with the old passphrase file exits 1"
err_has "wrong passphrase" "... saying 'wrong passphrase'"
refute "... and mounts nothing" mountpoint -q "$M"

"$H" "$Sm" "$M" -o "ro" 2>"$ERR"
is "$?" 0 "mount.ipmaildir with an absolute store, read-only"
check "... the message delivered before is there" cmp -s "$TEST_DIR/m1" "$M/new/1.helper"
check "... unmounted again" helper_umount "$Sm"

"$H" "$Sm" 2>"$ERR"
is "$?" 2 "mount.ipmaildir without a mount point exits 2"

done_testing
