#!/usr/bin/env bash
# 66-control.t — housekeeping without downtime: gc (--dry-run too), fsck
# (its read-only checks) and status run while the mailbox is mounted
# read-write, through the running daemon's control socket (STORE/control),
# while deliveries go on; each also with --json.  gc while mounted frees
# the blocks of deleted mail and loses nothing: every message byte-exact
# after, fsck clean after the unmount.  fsck --repair while mounted is
# refused in one line.  Another local user is refused (the socket's mode,
# and the daemon's SO_PEERCRED check behind it).  A client that stops
# reading its answer does not stop the mount's commits.  A killed daemon's
# stale socket does not hang the CLI, and a daemon that dies mid-request
# gives its client one line.
#
# The store's key is wrapped with a passphrase that the housekeeping
# commands are not given: offline they could not open the store at all,
# so every answer below came from the daemon.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only

S=$TEST_DIR/store M=$TEST_DIR/mnt PASS=$TEST_DIR/pass ORIG=$TEST_DIR/orig
echo "correct horse battery staple" >"$PASS"
chmod 600 "$PASS"
"$IPMD_BIN" init --store "$S" --passphrase-file "$PASS" >/dev/null 2>&1 || bail "init failed"
ipmd_mount "$S" "$M" --passphrase-file "$PASS" || bail "mount failed"
mkdir -p "$ORIG"

# ipmd: the housekeeping commands, never with the passphrase.
ipmd() { "$IPMD_BIN" "$@" --store "$S" </dev/null; }
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }
head_seq() { "$IPMD_BIN" log --store "$S" --passphrase-file "$PASS" --json -n 1 </dev/null 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["seq"])' 2>/dev/null; }
seq_above() { local s; s=$(head_seq); [ -n "$s" ] && [ "$s" -gt "$1" ]; }

# deliver NAME SIZE — a message of SIZE bytes whose body depends on NAME,
# the Maildir way; a copy kept in $ORIG.
deliver() {
	{ printf 'From: a@example.org\nSubject: %s\n\n' "$1"
	  python3 -c 'import hashlib,sys
n, size = sys.argv[1], int(sys.argv[2])
out, i = b"", 0
while len(out) < size:
	out += hashlib.sha256(("%s %d" % (n, i)).encode()).hexdigest().encode() + b"\n"
	i += 1
sys.stdout.buffer.write(out[:size])' "$1" "$2"; } >"$ORIG/$1"
	cp "$ORIG/$1" "$M/tmp/$1" && mv "$M/tmp/$1" "$M/new/$1"
}

# Mail to keep, mail to delete: one- and many-chunk messages both.
for i in 1 2 3; do deliver keep$i 2000; deliver bigkeep$i 700000; done
for i in 1 2 3; do deliver gone$i 3000; deliver biggone$i 600000; done
poll 30 seq_above 0 || bail "no commit"

# Deliveries go on in the background all through the housekeeping.
STOP=$TEST_DIR/stop
( n=0
  while [ ! -e "$STOP" ] && [ $n -lt 3000 ]; do
	n=$((n + 1))
	deliver bg$n $(( (n % 5) * 90000 + 500 )) || break
  done
  echo "$n" >"$TEST_DIR/bg.count" ) &
BG=$!
track_pid "$BG"

# --- status ---------------------------------------------------------------
exits 0 "status while mounted, without the passphrase" ipmd status
says "... says the mount is read-write" "mounted:   yes (read-write) on $M"
says "... names the head commit" "^head:      commit [0-9]"
run ipmd status --json
is "$rc" 0 "status --json while mounted"
is "$(json_get '["mounted"]' <<<"$out")" True "... parses, mounted: true"
is "$(json_get '["mountpoint"]' <<<"$out")" "$M" "... with the mount point"

# --- fsck -----------------------------------------------------------------
exits 0 "fsck while mounted: clean (exit 0)" ipmd fsck
says "... checked by the mount, between commits" "checked by the mount"
says "... and says it is clean" "^fsck: clean: [0-9]* blocks verified"
run ipmd fsck --json
is "$rc" 0 "fsck --json while mounted"
is "$(json_get '["result"]' <<<"$out")" clean "... parses, result clean"
is "$(json_get '["exit"]' <<<"$out")" 0 "... exit 0 in the object too"
run ipmd fsck --repair
check "fsck --repair while mounted is refused" test "$rc" -ne 0
is "$(wc -l <<<"$out")" 1 "... in one line"
says "... that says why" "mounted: unmount it first"

# A request to the daemon as another client would send it: argv[2] is its
# JSON (v added); prints the answer's frames.
cat >"$TEST_DIR/ask.py" <<'EOF'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
try:
	s.connect(sys.argv[1])
except OSError as e:
	print("connect:", e.strerror); sys.exit(0)
req = {"v": 1}
req.update(json.loads(sys.argv[2]))
req = json.dumps(req).encode()
s.sendall(struct.pack(">I", len(req)) + req)
data = b""
while True:
	b = s.recv(65536)
	if not b: break
	data += b
while data:
	n = struct.unpack(">I", data[:4])[0]
	print(json.loads(data[4:4 + n])); data = data[4 + n:]
EOF

# --- gc -------------------------------------------------------------------
rm "$M"/new/gone* "$M"/new/biggone*
for f in "$ORIG"/gone* "$ORIG"/biggone*; do rm "$f"; done
s0=$(head_seq)
poll 30 seq_above "$s0" || bail "the deletion was not committed"

exits 0 "gc --dry-run while mounted" ipmd gc --dry-run --keep-last 1
says "... says what it would free" "^gc: would free [0-9]* blocks"
run ipmd gc --dry-run --keep-last 1 --json
is "$rc" 0 "gc --dry-run --json while mounted"
is "$(json_get '["dry_run"]' <<<"$out")" True "... parses, dry_run: true"
would=$(json_get '["freed_blocks"]' <<<"$out")
check "... would free blocks ($would)" test "$would" -gt 0

blocks_before=$(ipmd status --json | json_get '["blocks"]')
run ipmd gc --keep-last 1 --json
is "$rc" 0 "gc --json while mounted"
freed=$(json_get '["freed_blocks"]' <<<"$out")
bytes=$(json_get '["freed_bytes"]' <<<"$out")
check "... frees blocks ($freed)" test "$freed" -gt 0
check "... at least the deleted mail's 1.8 MB ($bytes bytes)" test "$bytes" -ge 1800000
is "$(json_get '["dropped_commits"]' <<<"$out" | grep -c '^[1-9]')" 1 "... and drops the older commits"
exits 0 "gc (text) while mounted, again" ipmd gc --keep-last 1
says "... says what it freed" "^gc: freed [0-9]* blocks"

# Another client's request: the command line's ranges hold in the daemon
# too (a keep_within that large overflowed the cutoff in nanoseconds).
for rule in '"keep_within": 100000000000000' '"keep_within": -2' \
	'"keep_last": 4294967296' '"keep_last": -3'; do
	run python3 "$TEST_DIR/ask.py" "$S/control" "{\"cmd\": \"gc\", \"dry_run\": true, $rule}"
	says "a gc request with $rule is refused" "'exit': 2"
done
says "... saying the range" "keep-last must be a count of commits, 1 to"
run python3 "$TEST_DIR/ask.py" "$S/control" '{"cmd": "gc", "dry_run": true, "keep_within": 3600, "keep_last": 2}'
says "one within the ranges runs" "'exit': 0"

touch "$STOP"
wait "$BG"
n=$(cat "$TEST_DIR/bg.count")
check "deliveries went on during it ($n)" test "$n" -ge 1
# The last background message may still be in tmp/ if it stopped there.
bad=0
for f in "$ORIG"/*; do
	name=${f##*/}
	cmp -s "$f" "$M/new/$name" || { bad=$((bad + 1)); diag "differs or lost: $name"; }
done
is "$bad" 0 "every message byte-exact after gc, the background ones too"
is "$(ls "$M/new" | grep -c 'gone')" 0 "the deleted mail stays deleted"

# --- other users ----------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$TEST_DIR"); then
	as_nobody() { (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$@"); }
	run as_nobody /usr/bin/python3 "$TEST_DIR/ask.py" "$S/control" '{"cmd": "status", "json": false}'
	says "another uid cannot even connect (the socket is 0600 in a 0700 store)" "connect:"
	is "$(stat -c %a "$S/control")" 600 "the socket is 0600"
	# Opened up by hand: the daemon still checks who asks.
	chmod 711 "$S"; chmod 666 "$S/control"
	run as_nobody /usr/bin/python3 "$TEST_DIR/ask.py" "$S/control" '{"cmd": "status", "json": false}'
	says "... opened up by hand, the daemon refuses uid 65534" "only the mailbox's owner may ask its mount"
	says "... with exit status 1" "'exit': 1"
	check "... and tells it nothing of the mailbox" bash -c '! grep -q "mailbox:" <<<"$1"' _ "$out"
	chmod 700 "$S"; chmod 600 "$S/control"
else
	ok "# SKIP another uid: needs root and setpriv"
fi

# --- a client that stops reading ---------------------------------------------
# fsck holds the mount's commit lock while it checks: its output is kept
# and sent after, so a client that reads none of it (`fsck --verbose |
# less`, left open) does not stop the mount's commits.
s0=$(head_seq)
python3 -c 'import os,sys
for i in range(600):
	t = os.path.join(sys.argv[1], "tmp", "many%d" % i)
	with open(t, "w") as f:
		f.write("Subject: many %d\n\nbody %d\n" % (i, i))
	os.rename(t, os.path.join(sys.argv[1], "new", "many%d" % i))' "$M" || bail "delivering many"
# All of them: a commit taken midway leaves the rest in the journal, and
# fsck names only committed blocks (CI, stop 20: 270 lines).
all_committed() { seq_above "$s0" &&
	[ "$(ipmd status --json | json_get '["journal"]["records"]')" = 0 ]; }
poll 60 all_committed || bail "the many messages were not committed"
verbose_lines=$(ipmd fsck --verbose | wc -l)
# Each line a frame of its own: far more than a socket's send buffer holds.
check "fsck --verbose says a line per block ($verbose_lines)" test "$verbose_lines" -gt 400
cat >"$TEST_DIR/mute.py" <<'EOF'
import json, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
req = json.dumps({"v": 1, "cmd": "fsck", "json": False, "deep": False,
		  "verbose": True}).encode()
s.sendall(struct.pack(">I", len(req)) + req)
# Once its answer starts arriving, unread (FIONREAD: bytes queued), the
# daemon is writing it: without the daemon's buffer, from inside fsck.
import array, fcntl, termios
n = array.array("i", [0])
while n[0] == 0:
	time.sleep(0.05)
	fcntl.ioctl(s, termios.FIONREAD, n)
print("answering", flush=True)
time.sleep(600)
EOF
python3 "$TEST_DIR/mute.py" "$S/control" >"$TEST_DIR/mute.out" &
MUTE=$!
track_pid "$MUTE"
answering() { grep -q answering "$TEST_DIR/mute.out"; }
poll 60 answering || diag "the mute client got no answer"
s0=$(head_seq)
deliver during-mute 2000
poll 60 seq_above "$s0"
is "$?" 0 "a client that reads none of fsck --verbose: the mount still commits"
cmp -s "$ORIG/during-mute" "$M/new/during-mute"
is "$?" 0 "... the message delivered meanwhile is there"
kill "$MUTE"
wait "$MUTE" 2>/dev/null
exits 0 "... and once that client is gone, the daemon answers the next" ipmd status

# --- a daemon that dies mid-request -----------------------------------------
kill -STOP "$IPMD_PID"
"$IPMD_BIN" status --store "$S" </dev/null >"$TEST_DIR/mid.out" 2>"$TEST_DIR/mid.err" &
CL=$!
track_pid "$CL"
# Connected and waiting for the answer (its socket open, itself asleep).
asleep() { ls -l "/proc/$CL/fd" 2>/dev/null | grep -q 'socket:' &&
	[ "$(awk '{print $3}' "/proc/$CL/stat" 2>/dev/null)" = S ]; }
poll 30 asleep || diag "the client did not connect"
kill -9 "$IPMD_PID"
wait "$IPMD_PID" 2>/dev/null
wait "$CL"
is "$?" 1 "a client whose daemon dies mid-request exits 1"
is "$(wc -l <"$TEST_DIR/mid.err")" 1 "... with one line"
check "... that says the daemon ended" grep -q "the mount's daemon ended before it answered" "$TEST_DIR/mid.err"
fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M" 2>/dev/null

# --- a stale socket ---------------------------------------------------------
check "the killed daemon left its socket" test -S "$S/control"
timeout 60 "$IPMD_BIN" status --store "$S" --passphrase-file "$PASS" </dev/null >"$TEST_DIR/stale.out" 2>&1
rc=$?
check "status beside a stale socket does not hang" test "$rc" -ne 124
is "$rc" 0 "... and answers itself (exit 0)"
check "... saying the mailbox is not mounted" grep -q '^mounted:   no' "$TEST_DIR/stale.out"
timeout 60 "$IPMD_BIN" gc --dry-run --store "$S" --passphrase-file "$PASS" </dev/null >/dev/null 2>&1
is "$?" 0 "gc --dry-run beside a stale socket runs offline"

# A new mount replaces it; the unmount removes it.
ipmd_mount "$S" "$M" --passphrase-file "$PASS" || bail "mount again failed"
exits 0 "a new mount serves the socket again" ipmd status
says "... as the mount" "mounted:   yes (read-write)"
ipmd_umount "$M" || bail "umount failed"
check "the unmount removes the socket" test ! -e "$S/control"

exits 0 "fsck clean after the unmount" "$IPMD_BIN" fsck --store "$S" --passphrase-file "$PASS"
says "... the journal too" "^fsck: clean"

done_testing
