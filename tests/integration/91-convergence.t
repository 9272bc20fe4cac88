#!/usr/bin/env bash
# 91-convergence.t — an outsider can't confirm what the mailbox holds.
# Someone who can send the mailbox mail and watch its blocks delivers a
# probe sharing a victim's attachment: under the default convergence scope
# (one message) the probe adds as many blocks as an unrelated message of
# the same size; under -o convergence=mailbox it shares the victim's.
# A message keeps its blocks through what Dovecot and MTAs do to it: the
# rename from tmp/ to new/, hard links (COPY), a rewrite in place, and a
# remount.  import and object put follow the config key.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "needs an ipmaildir store"

CHUNK=$((262144 + 40)) # a full 256 KiB chunk's block (not padded)
# full_chunks STORE — how many full-chunk blocks the store holds.
full_chunks() { find "$1/blocks" -type f -size "${CHUNK}c" | wc -l; }

# victim: a message of five chunks; probe: the same bytes but for a line
# of the same length in the header (the attacker's own headers), so its
# chunks 1-4 are the victim's; other: unrelated, of the same size.
gen_message victim 1200000 >"$TEST_DIR/victim"
size=$(stat -c %s "$TEST_DIR/victim")
cp "$TEST_DIR/victim" "$TEST_DIR/probe"
printf 'X-Probe:' | dd of="$TEST_DIR/probe" bs=1 seek=0 conv=notrunc status=none
gen_message other 1300000 | head -c "$size" >"$TEST_DIR/other"
full=$((size / 262144))
check "the probe shares chunks 1-$((full - 1)) with the victim" \
	cmp -s -i 262144 "$TEST_DIR/victim" "$TEST_DIR/probe"

# deliver STORE MNT FILE NAME — deliver FILE and unmount; echo how many
# full-chunk blocks it added.
deliver() {
	local store=$1 mnt=$2 file=$3 name=$4; shift 4
	local before; before=$(full_chunks "$store")
	ipmd_mount "$store" "$mnt" "$@" || return 1
	cp "$file" "$mnt/new/$name" || return 1
	ipmd_umount "$mnt" || return 1
	echo $(($(full_chunks "$store") - before))
}

for scope in message mailbox; do
	S=$TEST_DIR/store-$scope
	M=$TEST_DIR/mnt-$scope
	opt=()
	[ "$scope" = mailbox ] && opt=(-o convergence=mailbox)
	ipmd_init "$S" || bail "init $S"
	is "$(deliver "$S" "$M" "$TEST_DIR/victim" 1.victim.host "${opt[@]}")" "$full" \
		"$scope scope: the victim adds its $full full chunks"
	probe=$(deliver "$S" "$M" "$TEST_DIR/probe" 2.probe.host "${opt[@]}")
	other=$(deliver "$S" "$M" "$TEST_DIR/other" 3.other.host "${opt[@]}")
	is "$other" "$full" "$scope scope: an unrelated message adds $full"
	if [ "$scope" = message ]; then
		is "$probe" "$other" "message scope: the probe adds as many (nothing confirmed)"
	else
		is "$probe" 1 "mailbox scope: the probe adds only its first chunk (the attack works)"
	fi
	ipmd_mount "$S" "$M" -o ro || bail "mount ro"
	check "$scope scope: all three read back" eval \
		'cmp -s "$TEST_DIR/victim" "$M/new/1.victim.host" &&
		 cmp -s "$TEST_DIR/probe" "$M/new/2.probe.host" &&
		 cmp -s "$TEST_DIR/other" "$M/new/3.other.host"'
	ipmd_umount "$M"
done

# One message, one scope, whatever happens to it (default scope).
S=$TEST_DIR/store-message
M=$TEST_DIR/mnt-message
before=$(full_chunks "$S")
ipmd_mount "$S" "$M" || bail "mount"
cp "$TEST_DIR/victim" "$M/tmp/4.again.host"
sync "$M/tmp/4.again.host"
mv "$M/tmp/4.again.host" "$M/new/4.again.host"
ln "$M/new/4.again.host" "$M/cur/4.again.host:2,S"
ipmd_umount "$M" || bail "umount"
is "$(($(full_chunks "$S") - before))" "$full" \
	"written to tmp/, synced, renamed to new/, hard-linked to cur/ (COPY): $full chunks, once"
ipmd_mount "$S" "$M" || bail "remount"
before=$(full_chunks "$S")
# Rewrite chunk 2 in place with its own bytes, after a remount.
dd if="$TEST_DIR/victim" of="$M/new/4.again.host" bs=1000 skip=600 seek=600 count=10 \
	conv=notrunc status=none
ipmd_umount "$M" || bail "umount"
is "$(full_chunks "$S")" "$before" "a rewrite in place with the same bytes, after a remount: no new block"
ipmd_mount "$S" "$M" -o ro || bail "mount ro"
check "the hard link reads back" cmp -s "$TEST_DIR/victim" "$M/cur/4.again.host:2,S"
ipmd_umount "$M"

# A crash before the commit: the journal's records name the blocks the
# delivery sealed, so replay reads them and seals nothing new.
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount"
cp "$TEST_DIR/other" "$M/new/5.crash.host"
sync "$M/new/5.crash.host"
sealed=$(full_chunks "$S")
ipmd_kill9 "$M"
ipmd_mount "$S" "$M" || bail "mount after kill -9"
check "after kill -9 the delivery is back from the journal" cmp -s "$TEST_DIR/other" "$M/new/5.crash.host"
ipmd_umount "$M" || bail "umount"
is "$(full_chunks "$S")" "$sealed" "replay and the commit after it add no block"

# import and object put: the config key (here its variable) chooses.
for scope in message mailbox; do
	S=$TEST_DIR/imp-$scope
	SRC=$TEST_DIR/src-$scope
	mkdir -p "$SRC/cur" "$SRC/new" "$SRC/tmp"
	cp "$TEST_DIR/victim" "$SRC/cur/1.a.host:2,S"
	cp "$TEST_DIR/victim" "$SRC/cur/2.b.host:2,S"
	ipmd_init "$S" || bail "init $S"
	IPMAILDIR_CONVERGENCE=$scope "$IPMD_BIN" import -q --store "$S" "$SRC" \
		>/dev/null 2>"$TEST_DIR/imp.err" || { diag "$(cat "$TEST_DIR/imp.err")"; }
	want=$((2 * full)); [ "$scope" = mailbox ] && want=$full
	is "$(full_chunks "$S")" "$want" "import, convergence = $scope: two copies are $want full chunks"
	c1=$(IPMAILDIR_CONVERGENCE=$scope "$IPMD_BIN" object put --store "$S" "$TEST_DIR/other")
	c2=$(IPMAILDIR_CONVERGENCE=$scope "$IPMD_BIN" object put --store "$S" "$TEST_DIR/other")
	if [ "$scope" = mailbox ]; then
		is "$c2" "$c1" "object put, convergence = mailbox: the same object twice"
	else
		[ -n "$c1" ] && [ "$c1" != "$c2" ] && ok "object put, convergence = message: two objects" ||
			not_ok "object put, convergence = message: two objects"
	fi
done

run_mount -f --store "$S" -o convergence=folder "$M"
is "$rc" 2 "-o convergence=folder: a usage error"
case "$out" in *"convergence=folder"*) ok "naming the option";; *) not_ok "names the option"; diag "$out";; esac
out=$(IPMAILDIR_CONVERGENCE=folder "$IPMD_BIN" import --store "$S" "$SRC" 2>&1); rc=$?
is "$rc" 2 "IPMAILDIR_CONVERGENCE=folder: a usage error"
case "$out" in *"message or mailbox"*) ok "saying what it takes";; *) not_ok "says what it takes"; diag "$out";; esac

done_testing
