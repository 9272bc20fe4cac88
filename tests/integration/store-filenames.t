#!/usr/bin/env bash
# store-filenames.t — a block in the local store hashes, with an independent
# sha256 and base32 encoding, to its own file name.
#
# Blocks are written by `ipmaildir object put FILE --store DIR`; then, for
# every file under DIR/blocks/*/, the CID is rebuilt with coreutils alone:
# 01 55 12 20 ‖ sha256(file), base32 (RFC 4648, lower case, no padding),
# prefix "b" — and must equal the file's name, in the shard named by the two
# characters before the last one (flatfs next-to-last/2).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

command -v basenc >/dev/null && command -v sha256sum >/dev/null ||
	skip_all "needs coreutils basenc and sha256sum"
if [ ! -x "$IPMD_BIN" ]; then
	not_ok "no ipmaildir binary at $IPMD_BIN (run make)"
	done_testing
	exit 1
fi

STORE=$TEST_DIR/store
# Nothing is reported until both commands are known to exist, so that a
# skip is the whole output.
"$IPMD_BIN" init --store "$STORE" --no-passphrase >/dev/null 2>"$TEST_DIR/init.err"
init_rc=$?
[ "$init_rc" -eq 2 ] &&
	skip_all "'ipmaildir init' is not available yet (exit 2: $(head -c 200 "$TEST_DIR/init.err"))"

# Sizes: one tiny chunk, a middling one, and a file of several chunks (so
# an index block is stored too).
sizes=(1 70000 700000)
put_rc=()
for s in "${sizes[@]}"; do
	head -c "$s" /dev/urandom >"$TEST_DIR/in-$s"
	"$IPMD_BIN" object put "$TEST_DIR/in-$s" --store "$STORE" \
		>"$TEST_DIR/cap-$s" 2>"$TEST_DIR/put-$s.err"
	put_rc+=($?)
	[ "${put_rc[-1]}" -eq 2 ] &&
		skip_all "'ipmaildir object put' is not available yet (exit 2: $(head -c 200 "$TEST_DIR/put-$s.err"))"
done

is "$init_rc" 0 "init a store"
for i in "${!sizes[@]}"; do
	is "${put_rc[$i]}" 0 "object put of ${sizes[$i]} bytes"
done

# The CID text of a file's bytes, from coreutils alone.
cid_of_file() {
	local hex prefix
	hex=$(sha256sum <"$1") || return 1
	hex=${hex:0:64}
	# printf turns "\x01\x55…" into bytes: the multicodec prefix and digest.
	prefix='\x01\x55\x12\x20'
	printf "b%s" "$(printf "$prefix$(printf '%s' "$hex" | sed 's/../\\x&/g')" |
		basenc --base32 | tr -d '=\n' | tr 'A-Z' 'a-z')"
}

# Sanity of the helper itself: the empty block's well-known CID.
: >"$TEST_DIR/empty"
is "$(cid_of_file "$TEST_DIR/empty")" \
	"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" \
	"the shell CID of the empty block is the well-known one"

n=0
while IFS= read -r -d '' f; do
	n=$((n + 1))
	name=${f##*/}
	shard=${f%/*}
	shard=${shard##*/}
	want=$(cid_of_file "$f")
	is "$name" "$want" "file $shard/$name is named by its sha256"
	is "$shard" "${want: -3:2}" "and lives in shard ${want: -3:2}"
done < <(find "$STORE/blocks" -mindepth 2 -maxdepth 2 -type f -print0 | sort -z)

# Each put of distinct random bytes stores at least one block of its own.
check "the store holds blocks ($n files)" test "$n" -ge "${#sizes[@]}"
strays=$(find "$STORE/blocks" -type f ! -path "$STORE/blocks/*/*" | wc -l)
is "$strays" 0 "no file outside a shard directory"

done_testing
