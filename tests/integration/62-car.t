#!/usr/bin/env bash
# 62-car.t — `ipmaildir export --car FILE`: a CARv1 whose root is the head
# commit and which holds every block of the mailbox's states.  Checked by
# two readers that are not ipmaildir's: a small Python parser here
# (varints, dag-cbor header, sha2-256 of every section against its CID)
# and Kubo's (`dag/import` on a real Kubo node must accept it, name the
# head as its root and count the same blocks; `ipfs repo verify` re-hashes
# every one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ipfs-lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own commands"

S=$TEST_DIR/store M=$TEST_DIR/mnt CAR=$TEST_DIR/box.car
ipmd_init "$S" || bail "init failed"
ipmd_mount "$S" "$M" || bail "mount failed"
mkdir -p "$M"/.Work/{cur,new,tmp}
python3 "$IPMD_TOP/tests/integration/genmail.py" --many "$TEST_DIR/g" m 40 small
for f in "$TEST_DIR"/g/*.eml; do cp "$f" "$M/cur/$(basename "$f" .eml):2,S"; done
python3 "$IPMD_TOP/tests/integration/genmail.py" big 700000 > "$M/.Work/cur/big:2,"
ipmd_umount "$M" || bail "unmount failed"
ipmd_mount "$S" "$M" || bail "remount failed"
rm "$M/cur/m-00001:2,S"   # a second state, without one message
ipmd_umount "$M" || bail "unmount failed"

head_cid=$("$IPMD_BIN" log --store "$S" -n 1 | awk 'NR == 2 { print $NF }')
check "log names the head commit" test -n "$head_cid"

"$IPMD_BIN" export --store "$S" --car "$CAR" 2>"$TEST_DIR/car.err"
is "$?" 0 "export --car exits 0"
check "the CAR is not empty" test -s "$CAR"
"$IPMD_BIN" export --store "$S" --json --car "$TEST_DIR/j.car" >"$TEST_DIR/car.json" 2>/dev/null
is "$?" 0 "export --json --car FILE exits 0"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["root"], d["bytes"], d["exit"])' "$TEST_DIR/car.json")" \
	"$head_cid $(stat -c %s "$TEST_DIR/j.car") 0" "... one JSON object: the root, the CAR's size"
"$IPMD_BIN" export --store "$S" --json --car - >/dev/null 2>&1
is "$?" 2 "--json with --car - (both on stdout): usage error"

# An independent reader: CARv1 by the spec, sections hashed here.
python3 - "$CAR" "$S/blocks" >"$TEST_DIR/py.out" 2>&1 <<'PY'
import base64, hashlib, os, sys
data = open(sys.argv[1], 'rb').read()
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if c < 0x80: return v, i
def b32(cid):
    return 'b' + base64.b32encode(cid).decode().lower().rstrip('=')
# dag-cbor, just what a CARv1 header holds
def cbor(b, i):
    ib = b[i]; i += 1
    mt, ai = ib >> 5, ib & 31
    if ai < 24: n = ai
    elif ai == 24: n = b[i]; i += 1
    elif ai == 25: n = int.from_bytes(b[i:i+2], 'big'); i += 2
    else: raise SystemExit('unexpected cbor length form')
    if mt == 0: return n, i
    if mt == 2: return bytes(b[i:i+n]), i + n
    if mt == 3: return b[i:i+n].decode(), i + n
    if mt == 4:
        out = []
        for _ in range(n):
            x, i = cbor(b, i); out.append(x)
        return out, i
    if mt == 5:
        out = {}
        for _ in range(n):
            k, i = cbor(b, i); v, i = cbor(b, i); out[k] = v
        return out, i
    if mt == 6:
        x, i = cbor(b, i)
        assert n == 42 and x[0] == 0, 'only CID tags'
        return ('cid', x[1:]), i
    raise SystemExit('unexpected cbor type %d' % mt)
hlen, i = varint(data, 0)
hdr, end = cbor(data, i)
assert end == i + hlen, 'header length'
assert sorted(hdr) == ['roots', 'version'] and hdr['version'] == 1, hdr
print('root', b32(hdr['roots'][0][1]))
i = end
n = bad = missing = 0
seen = set()
while i < len(data):
    ln, i = varint(data, i)
    cid, blk = data[i:i+36], data[i+36:i+ln]
    i += ln
    n += 1
    assert cid[:4] == b'\x01\x55\x12\x20', 'raw sha2-256 CIDv1'
    if hashlib.sha256(blk).digest() != cid[4:]: bad += 1
    name = b32(cid)
    if not os.path.exists(os.path.join(sys.argv[2], name[-3:-1], name)): missing += 1
    seen.add(cid)
print('sections', n)
print('unique', len(seen))
print('bad', bad)
print('notinstore', missing)
PY
is "$?" 0 "the CAR parses (python reader)"
is "$(sed -n 's/^root //p' "$TEST_DIR/py.out")" "$head_cid" "its one root is the head commit"
is "$(sed -n 's/^bad //p' "$TEST_DIR/py.out")" 0 "every section's bytes hash to its CID"
is "$(sed -n 's/^notinstore //p' "$TEST_DIR/py.out")" 0 "every block is one of the store's"
sections=$(sed -n 's/^sections //p' "$TEST_DIR/py.out")
is "$(sed -n 's/^unique //p' "$TEST_DIR/py.out")" "$sections" "no block twice"
# Live = what every retained state needs: here every block of the store
# but journal leftovers; at least the 40 messages, the big one's 3 chunks
# and index, 3 commits and the directory nodes.
check "the CAR has a block for every message, commit and directory ($sections)" test "$sections" -ge 55
# The deleted message's block is still there: an older state needs it.
"$IPMD_BIN" export --store "$S" --car "$TEST_DIR/head.car" --head-only 2>/dev/null
hsz=$(stat -c %s "$TEST_DIR/head.car"); fsz=$(stat -c %s "$CAR")
check "--head-only is smaller (older states left out): $hsz < $fsz" test "$hsz" -lt "$fsz"

"$IPMD_BIN" export --store "$S" --car "$CAR" 2>"$TEST_DIR/car2.err"
is "$?" 1 "export --car never overwrites a file"
check "…and says so" grep -q "exists already" "$TEST_DIR/car2.err"

# A full disk: the error names the file and why, and no summary claims
# success before it.
FULL=$TEST_DIR/full
mkdir -p "$FULL"
if mount -t tmpfs -o size=64k ipmd-test-car-full "$FULL" 2>/dev/null; then
	on_cleanup "umount '$FULL'"
	"$IPMD_BIN" export --store "$S" --car "$FULL/x.car" 2>"$TEST_DIR/full.err"
	is "$?" 1 "export --car onto a full disk: exit 1"
	is "$(cat "$TEST_DIR/full.err")" "ipmaildir export --car: $FULL/x.car: No space left on device" \
		"... one line naming the file and why, no summary before it"
	check "... and no partial CAR left" test ! -e "$FULL/x.car"
	"$IPMD_BIN" export --store "$S" "$FULL/dir" 2>"$TEST_DIR/fulld.err"
	is "$?" 1 "export DIR onto a full disk: exit 1"
	check "... no summary line, only the error" \
		bash -c "! grep -qE '^export: [0-9]+ files' '$TEST_DIR/fulld.err' && grep -q 'No space left' '$TEST_DIR/fulld.err'"
	umount "$FULL"
else
	ok "# SKIP cannot mount a tmpfs"
fi
# A CAR is binary: never onto a terminal.
if command -v script >/dev/null; then
	script -qec "'$IPMD_BIN' export --store '$S' --car -; echo rc=\$?" /dev/null >"$TEST_DIR/tty.out" 2>&1
	check "export --car - on a terminal: refused, exit 2" grep -q 'rc=2' "$TEST_DIR/tty.out"
	check "... saying why" grep -q 'would write binary to the terminal' "$TEST_DIR/tty.out"
else
	ok "# SKIP no script(1) for a terminal"
fi

# Kubo reads it with its own CAR code (go-car): dag/import names the head
# commit as the root and counts the same blocks, and `ipfs repo verify`
# (every block of the node re-hashed) finds each one matching its CID.
if "$IPFS_NODE_DIR/kubo-install.sh" >"$TEST_DIR/ipfs-install.log" 2>&1; then
	ipfs_start 1
	curl -sf -m 120 -X POST -F "file=@$CAR" "$IPFS_API_1/dag/import?stats=true" >"$TEST_DIR/import.json" 2>&1
	is "$?" 0 "Kubo's dag/import accepts the CAR"
	check "…and reports the root" grep -q "$head_cid" "$TEST_DIR/import.json"
	n=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    s = json.loads(l).get("Stats")
    if s: print(s["BlockCount"])' "$TEST_DIR/import.json")
	is "$n" "$sections" "…and counts the same number of blocks"
	out=$(ipfs_cli 1 repo verify 2>&1 | tr '\r' '\n')
	nv=$(grep -c 'blocks processed' <<<"$out")
	check "ipfs repo verify: each of the node's $nv blocks matches its CID" \
		grep -q 'verify complete, all blocks validated' <<<"$out"
	check "…the CAR's $sections among them" test "$nv" -ge "$sections"
	big=$(python3 - "$CAR" <<'PY'
import base64, sys
d = open(sys.argv[1], 'rb').read()
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if c < 0x80: return v, i
h, i = varint(d, 0); i += h
last = None
while i < len(d):
    ln, i = varint(d, i); last = d[i:i+36]; i += ln
print('b' + base64.b32encode(last).decode().lower().rstrip('='))
PY
)
	check "the node has the CAR's blocks (block/stat of the last one)" ipfs_has "$IPFS_API_1" "$big"
	check "…and the head commit" ipfs_has "$IPFS_API_1" "$head_cid"
else
	ok "# SKIP no Kubo: $(tail -1 "$TEST_DIR/ipfs-install.log")"
fi
done_testing
