#!/usr/bin/env bash
# 93-crash-fsync.t — many fsyncs at once, each waiting for a slow sync:
# the daemon still answers other requests meanwhile, every fsync returns 0,
# and a SIGKILL right after they return loses nothing they covered.
#
# The store's syncs are delayed (--fault delay_sync=1: 8 s each) and each
# file holds a block too big for the journal, so every fsync waits for a
# store sync.  WRITERS (16: 12 of them, more than libfuse's 10 FUSE
# workers, fsync in cur/) write a file each and fsync it at once; every
# fourth writes in tmp/ instead, and once the probe is done renames it
# into new/ and fsyncs new/ (a delivery).  While the cur/ fsyncs wait, a
# probe looks up a missing name, creates a file and lists cur/: it must
# be done before the first of them returns (a worker waiting for
# durability used to hold its FUSE thread, and with every thread waiting
# the probe waited for the syncs).  A delivery's fsync in tmp/ waits for
# no sync (its rename makes it durable, fs/fuse/ops_durable.c): it must
# return before the first cur/ fsync does.  The renames wait for the
# probe: a rename waiting for its sync holds tmp/ locked in the kernel,
# and a create there waits for it.  Then SIGKILL, remount without
# faults, and every file must be there, byte-exact.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only "needs an ipmaildir mount"

WRITERS=${IPMD_FSYNC_WRITERS:-16}
ipmd_own_store
# No commit before the kill: what the fsyncs covered comes back from the
# journal alone.
ipmd_mount "$S" "$M" --fault "delay_sync=1,delay_ms=8000" \
	-o commit_delay=600000 || bail "mount failed"

cat >"$W/fsyncs.py" <<'PY'
# fsyncs.py MNT N — N writers fsync at once while a probe runs; prints
# one JSON object: each writer's result and when its fsync returned, and
# when the probe was done.
import json, os, sys, threading, time
from expect_files import fill
mnt, n = sys.argv[1], int(sys.argv[2])
SIZE = 200 * 1024  # one chunk over the journal's 64 KiB embedding limit

def data(i):
    return fill(("writer %04d " % i).encode() * 8 + b"\n", SIZE)

started = threading.Semaphore(0)
probed = threading.Event()
res = [None] * n

def writer(i):
    r = {"i": i}
    try:
        deliver = i % 4 == 0
        path = os.path.join(mnt, "tmp" if deliver else "cur", "f%02d" % i)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, data(i))
        started.release()
        os.fsync(fd)
        r["fsync_done"] = time.monotonic()
        os.close(fd)
        if deliver:
            probed.wait()
            os.rename(path, os.path.join(mnt, "new", "f%02d" % i))
            dfd = os.open(os.path.join(mnt, "new"), os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(dfd)
            os.close(dfd)
        r["ok"] = True
    except OSError as e:
        started.release()
        r["error"] = str(e)
    res[i] = r

threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for _ in range(n):
    started.acquire()
time.sleep(1)  # let the last fsyncs reach the daemon
probe = {}
try:
    probe["missing"] = not os.path.exists(os.path.join(mnt, "cur", "no-such-name"))
    with open(os.path.join(mnt, "probe"), "wb") as f:
        f.write(b"probe\n")
    probe["listed"] = len(os.listdir(os.path.join(mnt, "cur")))
    probe["done"] = time.monotonic()
except OSError as e:
    probe["error"] = str(e)
probed.set()
for t in threads:
    t.join()
print(json.dumps({"writers": res, "probe": probe}))
PY

cat >"$W/check.py" <<'PY'
# check.py RESULT MNT N — what the writers were told, and what is there.
import json, sys
import expect_files as ef
out, mnt, n = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
def data(i):
    return ef.fill(("writer %04d " % i).encode() * 8 + b"\n", 200 * 1024)
mode = sys.argv[4]
bad = []
if mode == "told":
    for r in out["writers"]:
        if not r or not r.get("ok"):
            bad.append("writer %s: %s" % (r and r["i"], r and r.get("error")))
    p = out["probe"]
    if "done" not in p or not p.get("missing"):
        bad.append("probe failed: %s" % p)
    else:
        first = min(r["fsync_done"] for r in out["writers"]
                    if r and r["i"] % 4 != 0 and "fsync_done" in r)
        if p["done"] >= first:
            bad.append("the probe was done %.2f s after the first fsync returned"
                       % (p["done"] - first))
        for r in out["writers"]:
            if r and r["i"] % 4 == 0 and r.get("fsync_done", first) >= first:
                bad.append("writer %d's fsync in tmp/ waited for the sync" % r["i"])
else:
    bad += ef.check(mnt, {"%s/f%02d" % ("new" if i % 4 == 0 else "cur", i):
                          data(i) for i in range(n)})
sys.exit(ef.report(bad, most=20))
PY

ipmd_py "$W/fsyncs.py" "$M" "$WRITERS" >"$W/result.json"
check "the $WRITERS writers ran" test -s "$W/result.json"
check "every fsync, rename and fsync of new/ returned 0, the probe was answered while the cur/ fsyncs waited, and the tmp/ fsyncs did not wait" \
	ipmd_py "$W/check.py" "$W/result.json" "$M" "$WRITERS" told

ipmd_kill9 "$M"
check "remount after SIGKILL" ipmd_mount "$S" "$M"
check "every fsynced file is there, byte-exact, under its acknowledged name" \
	ipmd_py "$W/check.py" "$W/result.json" "$M" "$WRITERS" there
check "unmount" ipmd_umount "$M"
done_testing
