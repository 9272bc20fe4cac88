#!/usr/bin/env bash
# 92-tamper.t — a store changed behind the daemon's back is caught, said
# clearly, and never served as valid data:
#   a flipped byte in a chunk, in an index block, in each directory node;
#   two blocks swapped; a block opened as another kind; a garbled and a
#   truncated journal; a store holding another mailbox's key; a head
#   commit re-encoded (same JSON meaning and signature, other bytes).
# Reads of damaged content fail with EIO (never other bytes) and the mount
# logs which inode; damage the mount can't work around refuses the mount
# (exit 1, a one-line reason); fsck (when built) exits 4.  Each damage is
# undone afterwards and the mailbox must read back byte-exact again.
# (A damaged head commit and a rolled-back head file are in 10-mount.t;
# forged signatures and read-only keys committing are in test_tamper.)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "needs an ipmaildir store"

S=$TEST_DIR/store
M=$TEST_DIR/mnt
LOG=$TEST_DIR/ipmaildir.log
ipmd_init "$S" || bail "init"
have_fsck=0
"$IPMD_BIN" fsck --help >/dev/null 2>&1 && have_fsck=1

# flip FILE OFFSET — xor one byte with 0x01 (twice restores it).
flip() {
	python3 - "$1" "$2" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 1]))
EOF
}
blockfile() { local c=$1; echo "$S/blocks/${c:${#c}-3:2}/$c"; }
cap_cid() { sed -n 's/^ipmaildir:\([a-z0-9]*\)?.*/\1/p'; }
size_of() { stat -c %s "$1"; }

# What the mailbox holds, and what each file must read back as.
gen_message 1 3000 >"$TEST_DIR/small"
head -c 700000 /dev/urandom >"$TEST_DIR/big"
gen_message 2 1500 >"$TEST_DIR/other"
ipmd_mount "$S" "$M" || bail "mount"
cp "$TEST_DIR/small" "$M/new/1.small.host"
cp "$TEST_DIR/big" "$M/cur/2.big.host:2,S"
mkdir -p "$M/.Sent/cur" "$M/.Sent/new" "$M/.Sent/tmp"
cp "$TEST_DIR/other" "$M/.Sent/cur/3.other.host:2,S"
check "unmount the mailbox" ipmd_umount "$M"

# all_intact — mount read-only and compare every file; 0 if all match.
all_intact() {
	ipmd_mount "$S" "$M" -o ro || return 1
	local r=0
	cmp -s "$TEST_DIR/small" "$M/new/1.small.host" || r=1
	cmp -s "$TEST_DIR/big" "$M/cur/2.big.host:2,S" || r=1
	cmp -s "$TEST_DIR/other" "$M/.Sent/cur/3.other.host:2,S" || r=1
	ipmd_umount "$M" || r=1
	return $r
}
check "the untouched mailbox reads back" all_intact

# Which block is which: an offline share names a message's own blocks
# (`object put` of the same bytes would not: each message is its own
# convergence scope).
small_cid=$("$IPMD_BIN" share --store "$S" new/1.small.host | cap_cid)
big_cap=$("$IPMD_BIN" share --store "$S" "cur/2.big.host:2,S")
big_idx=$(echo "$big_cap" | cap_cid)
small_blk=$(blockfile "$small_cid")
idx_blk=$(blockfile "$big_idx")
check "the small message's chunk is a block file" test -f "$small_blk"
check "the big message's index is a block file" test -f "$idx_blk"
chunk_blks=()
for f in "$S"/blocks/*/*; do
	[ "$(size_of "$f")" -eq $((262144 + 40)) ] && chunk_blks+=("$f")
done
is "${#chunk_blks[@]}" 2 "the big message has two full chunks"
# Chunk blocks are padded (Padmé, fs/model/object.h): a block shows the size's
# bucket, not the size.  256 KiB is a bucket of its own (above).
small_size=$(size_of "$TEST_DIR/small")
is "$(size_of "$small_blk")" "$(chunk_block_size "$small_size")" \
	"the small message's chunk block is padme($small_size) + 40"
tail_want=$(chunk_block_size $((700000 - 2 * 262144)))
tail_blks=0
for f in "$S"/blocks/*/*; do
	[ "$(size_of "$f")" -eq "$tail_want" ] && tail_blks=$((tail_blks + 1))
done
is "$tail_blks" 1 "the big message's 175712-byte tail is a block of $tail_want"

# expect_eio FILE-IN-MOUNT WHAT — reading fails with EIO, nothing served.
expect_eio() {
	local path=$1 what=$2 out err rc
	: >"$LOG"
	ipmd_mount "$S" "$M" -o ro || { not_ok "$what: mount"; return; }
	out=$TEST_DIR/read.out
	err=$(cat "$path" 2>&1 >"$out")
	rc=$?
	case "$rc:$err" in
	[1-9]*:*"Input/output error"*) ok "$what: read fails with EIO" ;;
	*) not_ok "$what: read fails with EIO"; diag "rc=$rc $err" ;;
	esac
	# Whatever came out before the error must be a prefix of the truth.
	local n; n=$(size_of "$out")
	local want=$TEST_DIR/small
	case "$path" in *big*) want=$TEST_DIR/big ;; esac
	if cmp -s -n "$n" "$out" "$want"; then
		ok "$what: no wrong byte served ($n good bytes before the error)"
	else
		not_ok "$what: wrong bytes served"
	fi
	grep -q "failed verification\|is missing" "$LOG" &&
		ok "$what: the mount logs the damaged read" ||
		{ not_ok "$what: log line"; diag "$(tail -3 "$LOG")"; }
	ipmd_umount "$M"
}

# fsck_finds WHAT — fsck (read-only check) reports errors left: exit 4.
fsck_finds() {
	[ "$have_fsck" = 1 ] || return 0
	local rc
	"$IPMD_BIN" fsck --store "$S" >"$TEST_DIR/fsck.out" 2>&1
	rc=$?
	is "$rc" 4 "$1: fsck finds it (exit 4)"
}

# 1. A flipped byte in a chunk.
flip "$small_blk" 100
expect_eio "$M/new/1.small.host" "flipped chunk byte"
fsck_finds "flipped chunk byte"
flip "$small_blk" 100
check "chunk restored: all intact" all_intact

# 2. A flipped byte in an index block (the tag, then the ciphertext).
for off in $(( $(size_of "$idx_blk") - 1 )) 30; do
	flip "$idx_blk" "$off"
	expect_eio "$M/cur/2.big.host:2,S" "flipped index byte at $off"
	flip "$idx_blk" "$off"
done
fsck_finds_ok() { [ "$have_fsck" = 1 ] || return 0; "$IPMD_BIN" fsck --store "$S" >/dev/null 2>&1; }
check "index restored: all intact" all_intact
check "index restored: fsck clean" fsck_finds_ok

# 3. Two blocks swapped (same size, both valid blocks of this mailbox).
a=${chunk_blks[0]} b=${chunk_blks[1]}
cp "$a" "$TEST_DIR/a.orig"; cp "$b" "$TEST_DIR/b.orig"
cp "$TEST_DIR/b.orig" "$a"; cp "$TEST_DIR/a.orig" "$b"
expect_eio "$M/cur/2.big.host:2,S" "two chunks swapped"
fsck_finds "two chunks swapped"
cp "$TEST_DIR/a.orig" "$a"; cp "$TEST_DIR/b.orig" "$b"
check "swap undone: all intact" all_intact

# 4. A block opened as another kind: a capability naming the index block
#    as a single chunk, and a chunk as an index.  The AEAD binds the kind.
small_cap=$("$IPMD_BIN" object put --store "$S" "$TEST_DIR/small")
as_chunk=$(echo "$big_cap" | sed 's/depth=1/depth=0/')
as_index=$(echo "$small_cap" | sed 's/size=[0-9]*/size=700000/; s/depth=0/depth=1/')
for c in "$as_chunk" "$as_index"; do
	"$IPMD_BIN" object get --store "$S" "$c" >"$TEST_DIR/get.out" 2>"$TEST_DIR/get.err"
	rc=$?
	out=$(size_of "$TEST_DIR/get.out")
	[ "$rc" = 1 ] && [ "$out" = 0 ] && [ -s "$TEST_DIR/get.err" ] &&
		ok "a block read as another kind is refused (exit 1, no bytes): $(head -1 "$TEST_DIR/get.err")" ||
		{ not_ok "kind confusion refused"; diag "rc=$rc bytes=$out $(cat "$TEST_DIR/get.err")"; }
done

# 5. Every other block (directory nodes, the chunks not named above, the
#    blocks of older commits), one at a time: a flip either stops the mount
#    with a one-line reason (a node of the head's tree), or the mount comes
#    up and each file reads either byte-exact or fails with EIO (a damaged
#    chunk, or a block only an older commit uses).  Never other names or
#    other bytes.
known=" $small_blk $idx_blk ${chunk_blks[*]} "
for c in $("$IPMD_BIN" log --store "$S" --json 2>/dev/null | grep -o '"cid":"[a-z0-9]*"' | cut -d'"' -f4); do
	known+=" $(blockfile "$c") "
done
files=("new/1.small.host" "cur/2.big.host:2,S" ".Sent/cur/3.other.host:2,S")
truth=("$TEST_DIR/small" "$TEST_DIR/big" "$TEST_DIR/other")
# probe — mount read-only in the background; print "EXIT n" with the
# daemon's words, or one word per file: same, eio or WRONG.
probe() {
	"$IPMD_BIN" mount -f --store "$S" -o ro "$M" 2>"$TEST_DIR/probe.err" &
	local pid=$! i
	for _ in $(seq 50); do
		mountpoint -q "$M" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if ! mountpoint -q "$M"; then
		wait $pid
		echo "EXIT $? $(grep 'mount:' "$TEST_DIR/probe.err" | head -1)"
		return
	fi
	for i in 0 1 2; do
		if cat "$M/${files[$i]}" >"$TEST_DIR/probe.out" 2>"$TEST_DIR/probe.cat"; then
			cmp -s "$TEST_DIR/probe.out" "${truth[$i]}" && echo same || echo WRONG
		elif grep -q "Input/output error" "$TEST_DIR/probe.cat" &&
			cmp -s -n "$(size_of "$TEST_DIR/probe.out")" "$TEST_DIR/probe.out" "${truth[$i]}"; then
			echo eio
		else
			echo WRONG
		fi
	done
	fusermount3 -u "$M"
	wait $pid
}
refused=0 eio=0 harmless=0 bad=0 reason=
for f in "$S"/blocks/*/*; do
	case "$known" in *" $f "*) continue ;; esac
	flip "$f" $(( $(size_of "$f") / 2 ))
	out=$(probe)
	case "$out" in
	"EXIT 1 "*"mount:"*) refused=$((refused + 1)); reason=${out#EXIT 1 } ;;
	*WRONG*|EXIT*) bad=$((bad + 1)); diag "$f: $out" ;;
	*eio*) eio=$((eio + 1)) ;;
	*) harmless=$((harmless + 1)) ;;
	esac
	flip "$f" $(( $(size_of "$f") / 2 ))
done
diag "other blocks flipped: $refused refused the mount, $eio gave EIO, $harmless unused by the head"
check "a flipped directory node of the head's tree refuses the mount" test "$refused" -ge 4
is "$bad" 0 "no flipped block mounts with wrong names or serves wrong bytes"
diag "reason given: ${reason:-none}"
check "blocks restored: all intact" all_intact

# 6. The journal: deliveries that only the journal holds (no commit), then
#    the daemon killed.
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount"
for i in 1 2 3 4 5; do gen_message "j$i" 800 >"$M/new/j$i.host"; done
sync -f "$M/new" 2>/dev/null || true
for i in 1 2 3 4 5; do mv "$M/new/j$i.host" "$M/cur/j$i.host:2,S"; done
ipmd_kill9 "$M"
jnl=$(ls "$S"/journal/*.jnl | tail -1)
cp "$jnl" "$TEST_DIR/jnl.good"
jsize=$(size_of "$jnl")
check "the journal holds the uncommitted deliveries ($jsize bytes)" test "$jsize" -gt 1000

# 6a. Garbled in the middle: the mount refuses, says where; nothing lost.
flip "$jnl" $((jsize / 2))
run_mount --store "$S" "$M"
is "$rc" 1 "garbled journal: mount fails"
case "$out" in *journal*damaged*offset*) ok "and names the journal and offset: $out" ;;
*) not_ok "journal message"; diag "$out" ;; esac
fsck_finds "garbled journal"
flip "$jnl" $((jsize / 2))
check "garbled journal: the refused mount changed nothing on disk" cmp -s "$jnl" "$TEST_DIR/jnl.good"

# 6b. Truncated (a torn final record): mounts, logs the cut, keeps the rest.
# A read-only mount first: it cuts nothing, and says so.
truncate -s $((jsize - 5)) "$jnl"
: >"$LOG"
check "truncated journal: a read-only mount mounts" ipmd_mount "$S" "$M" -o ro
ipmd_umount "$M"
grep -qE "journal: an unfinished write at the end of the journal \([0-9]+ bytes\): a crash stopped it before its call returned; left in place, the next read-write mount cuts it off" "$LOG" &&
	ok "truncated journal, read-only: the write is said to be left for the next read-write mount" ||
	{ not_ok "read-only unfinished write log line"; diag "$(cat "$LOG")"; }
check "… not that it was cut off" bash -c '! grep -qE "cut off|cut its" "$1"' _ "$LOG"
is "$(size_of "$jnl")" $((jsize - 5)) "… and the journal is left as it was"
: >"$LOG"
check "truncated journal: mounts" ipmd_mount "$S" "$M"
grep -qE "journal: cut off an unfinished write at the end of the journal \([0-9]+ bytes\)" "$LOG" &&
	ok "truncated journal: the cut is logged, in fsck's words" ||
	{ not_ok "unfinished write log line"; diag "$(cat "$LOG")"; }
n=0
for i in 1 2 3 4; do cmp -s "$M/cur/j$i.host:2,S" <(gen_message "j$i" 800) && n=$((n + 1)); done
is "$n" 4 "truncated journal: the records before the cut are all there"
bad=0
for f in "$M"/cur/* "$M"/new/*; do
	case "$f" in *j[1-5].host*)
		b=${f##*/}; b=${b%%.host*}
		cmp -s "$f" <(gen_message "$b" 800) || bad=$((bad + 1)) ;;
	esac
done
is "$bad" 0 "truncated journal: no partial message"
check "unmount" ipmd_umount "$M"
[ "$have_fsck" = 1 ] && { "$IPMD_BIN" fsck --store "$S" >/dev/null 2>&1; is "$?" 0 "fsck clean after the torn tail was cut"; }

# 7. Another mailbox's key in the store: refused, says why, changes nothing.
ipmd_init "$TEST_DIR/other-store" || bail "init other"
cp "$S/key" "$TEST_DIR/key.good"
cp "$TEST_DIR/other-store/key" "$S/key"
run_mount --store "$S" "$M"
is "$rc" 1 "another mailbox's key: mount fails"
case "$out" in *"not written with this key"*|*"this mailbox"*) ok "and says the key does not fit: $out" ;;
*) not_ok "wrong-key message"; diag "$out" ;; esac
cp "$TEST_DIR/key.good" "$S/key"
check "the right key mounts again" ipmd_mount "$S" "$M"
check "with every message" cmp -s "$TEST_DIR/big" "$M/cur/2.big.host:2,S"
check "unmount" ipmd_umount "$M"

# 8. The head commit re-encoded: its signed JSON with one more space, sealed
#    again under the manifest key (what a read-capability holder can do).
#    Same meaning, same signature, a new CID: every reader refuses it.
cp "$S/head" "$TEST_DIR/head.good"
nblocks() { find "$S/blocks" -type f | wc -l; }
before=$(nblocks)
check "a re-encoded head commit is written" "$IPMD_TOOLS/forge_commit" --reencode "$S"
is "$(nblocks)" "$((before + 1))" "re-encoded: a block with a new CID"
run_mount --store "$S" "$M"
is "$rc" 1 "re-encoded head commit: mount fails"
check "and says the head commit is tampered with: $out" grep -q "the head commit does not open (damaged or tampered with)" <<<"$out"
mountpoint -q "$M" && fusermount3 -u "$M"
out=$("$IPMD_BIN" log --store "$S" 2>&1); rc=$?
check "re-encoded head commit: log fails ($rc)" test "$rc" != 0
check "saying the head does not open: $out" grep -q "(the head): it does not open" <<<"$out"
"$IPMD_BIN" export --store "$S" "$TEST_DIR/exp.re" >"$TEST_DIR/exp.out" 2>&1; rc=$?
check "re-encoded head commit: export fails ($rc)" test "$rc" != 0
check "and exports no message" test -z "$(find "$TEST_DIR/exp.re" -type f 2>/dev/null)"
fsck_finds "re-encoded head commit"
cp "$TEST_DIR/head.good" "$S/head"
check "head restored: all intact" all_intact
done_testing
