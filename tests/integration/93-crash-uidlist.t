#!/usr/bin/env bash
# 93-crash-uidlist.t — the fsync of a replacement file (NAME.tmp or
# NAME.lock outside cur/ new/ tmp/, written, fsynced and renamed over NAME,
# as Dovecot rewrites dovecot-uidlist and dovecot-keywords) is answered
# once journaled, durable at the next sync and ordered before the rename
# (fs/fuse/ops_durable.c, ops_reply_fsync); every other fsync still waits
# for a sync:
#   - with every store sync held 8 s (--fault delay_sync=1) and a message's
#     fsync waiting for one, two rewrites of dovecot-uidlist through
#     dovecot-uidlist.tmp and one of dovecot-keywords through
#     dovecot-keywords.lock (each 200 KiB: over the journal's embedding
#     limit, so a durable fsync would wait for a store sync too) are done,
#     fsyncs and renames, before that message's fsync returns;
#   - a delivery after them (fsync, rename into new/) is durable on return
#     and carries them: SIGKILL, remount, and dovecot-uidlist is the second
#     rewrite byte for byte, dovecot-keywords the first, no .tmp or .lock
#     is left, both messages are whole.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only "needs an ipmaildir mount"
ipmd_own_store
ipmd_mount "$S" "$M" --fault "delay_sync=1,delay_ms=8000" \
	-o commit_delay=600000 || bail "mount failed"

cat >"$W/rewrite.py" <<'PY'
# rewrite.py MNT — a message's fsync waiting for a held sync while
# dovecot-uidlist is rewritten twice and dovecot-keywords once, then a
# delivery;
# prints one JSON object of what each step was told and when.
import json, os, sys, threading, time
from expect_files import fill
mnt = sys.argv[1]
SIZE = 200 * 1024  # one chunk over the journal's 64 KiB embedding limit

def data(tag):
    return fill(("%s " % tag).encode() * 16 + b"\n", SIZE)

def write_fsync(path, body):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)

out = {}
def message():
    try:
        write_fsync(os.path.join(mnt, "cur", "m1:2,S"), data("message"))
        out["message_fsync_done"] = time.monotonic()
    except OSError as e:
        out["message_error"] = str(e)

t = threading.Thread(target=message)
t.start()
time.sleep(1)  # the message's fsync is waiting for its sync
try:
    for name, via, v in (("dovecot-uidlist", ".tmp", "v1"),
                         ("dovecot-uidlist", ".tmp", "v2"),
                         ("dovecot-keywords", ".lock", "v1")):
        path = os.path.join(mnt, name)
        write_fsync(path + via, data(name + " " + v))
        os.rename(path + via, path)
    out["rewrites_done"] = time.monotonic()
except OSError as e:
    out["rewrite_error"] = str(e)
t.join()
try:
    tmp = os.path.join(mnt, "tmp", "d1")
    write_fsync(tmp, data("delivery"))
    os.rename(tmp, os.path.join(mnt, "new", "d1"))
    out["delivered"] = True
except OSError as e:
    out["delivery_error"] = str(e)
print(json.dumps(out))
PY

cat >"$W/check.py" <<'PY'
# check.py RESULT MNT told|there
import json, sys
import expect_files as ef
out, mnt, mode = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def data(tag):
    return ef.fill(("%s " % tag).encode() * 16 + b"\n", 200 * 1024)
bad = [k + ": " + v for k, v in out.items() if k.endswith("_error")]
if mode == "told":
    if not bad and out.get("rewrites_done", 1e18) >= out.get("message_fsync_done", 0):
        bad.append("the rewrites were done %.2f s after the message's fsync returned"
                   % (out["rewrites_done"] - out["message_fsync_done"]))
    if not out.get("delivered"):
        bad.append("no delivery")
else:
    bad += ef.check(mnt, {"dovecot-uidlist": data("dovecot-uidlist v2"),
                          "dovecot-keywords": data("dovecot-keywords v1"),
                          "cur/m1:2,S": data("message"),
                          "new/d1": data("delivery"),
                          "dovecot-uidlist.tmp": ef.ABSENT,
                          "dovecot-keywords.lock": ef.ABSENT})
sys.exit(ef.report(bad))
PY

ipmd_py "$W/rewrite.py" "$M" >"$W/result.json"
check "the script ran" test -s "$W/result.json"
check "the three rewrites (fsync, rename) were done while a message's fsync waited for its sync; the delivery after them returned" \
	ipmd_py "$W/check.py" "$W/result.json" "$M" told

ipmd_kill9 "$M"
check "remount after SIGKILL" ipmd_mount "$S" "$M"
check "dovecot-uidlist is the second rewrite, dovecot-keywords the first, nothing left behind, both messages are whole" \
	ipmd_py "$W/check.py" "$W/result.json" "$M" there
check "unmount" ipmd_umount "$M"
done_testing
