#!/usr/bin/env bash
# 93-crash-replace.t — small replacement files (dovecot-uidlist.tmp,
# dovecot-keywords.lock: written whole, fsynced, renamed over NAME, as
# Dovecot does on nearly every flag change) go to the journal as append
# records and are sealed by the commit, not into a block each at their
# fsync and again at the rename (fs/mount/tail.h, "Replacement files"):
#   1. With no commit (commit_delay 10 min), 30 rewrites of dovecot-uidlist
#      through dovecot-uidlist.tmp (2 … 12 KiB each, fsync, rename) and
#      one of dovecot-keywords through .lock put no block in the store;
#      nor do 12 more of dovecot-uidlist of 17 … 116 KiB (several append
#      records each, up to TAIL_JOURNAL_MAX: a 5,000-message mailbox's
#      dovecot-uidlist is about 100 KiB).
#   2. Then, not fsynced: dovecot-keywords.lock written, closed and renamed
#      over dovecot-keywords (the rename seals it), and subscriptions.lock
#      written and closed only; a delivery (durable on return) carries all
#      of it.  SIGKILL, remount: dovecot-uidlist is the last rewrite byte
#      for byte, dovecot-keywords the one renamed last, subscriptions.lock
#      absent, empty or whole (never torn), no .tmp left; fsck of the
#      crashed store is clean.
#   3. The commit at unmount seals what is under the names: fsck is
#      clean and a remount reads the same bytes.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only "crashes need an ipmaildir mount"
ipmd_own_store

cat >"$W/replace.py" <<'PY'
# replace.py MNT rewrites|big|unsynced — the rewrites of step 1, or the
# writes of step 2 and a delivery.
import os, sys
from expect_files import fill
mnt, step = sys.argv[1], sys.argv[2]
def body(name, v, size):
    return fill(("%s v%d " % (name, v)).encode() * 4 + b"\n", size)
def write(path, data, fsync):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
def replace(name, via, v, size, fsync=True):
    path = os.path.join(mnt, name)
    write(path + via, body(name, v, size), fsync)
    os.rename(path + via, path)
if step == "rewrites":
    for v in range(30):
        replace("dovecot-uidlist", ".tmp", v, 2048 + v * 350)
    replace("dovecot-keywords", ".lock", 0, 700)
elif step == "big":
    for v in range(30, 42):
        replace("dovecot-uidlist", ".tmp", v, 17 * 1024 + (v - 30) * 9 * 1024)
else:
    replace("dovecot-keywords", ".lock", 1, 900, fsync=False)
    write(os.path.join(mnt, "subscriptions.lock"),
          body("subscriptions", 0, 300), False)
    tmp = os.path.join(mnt, "tmp", "d1")
    write(tmp, body("delivery", 0, 5000), True)
    os.rename(tmp, os.path.join(mnt, "new", "d1"))
PY
cat >"$W/check.py" <<'PY'
# check.py MNT — what step 2 left, after a crash or a commit:
# subscriptions.lock absent, empty or whole (never torn), no .tmp or
# .lock left.
import sys
import expect_files as ef
def body(name, v, size):
    return ef.fill(("%s v%d " % (name, v)).encode() * 4 + b"\n", size)
sys.exit(ef.report(ef.check(sys.argv[1], {
    "dovecot-uidlist": body("dovecot-uidlist", 41, 116 * 1024),
    "dovecot-keywords": body("dovecot-keywords", 1, 900),
    "new/d1": body("delivery", 0, 5000),
    "subscriptions.lock": ef.one_of(ef.ABSENT, b"",
                                    body("subscriptions", 0, 300)),
    "dovecot-uidlist.tmp": ef.ABSENT,
    "dovecot-keywords.lock": ef.ABSENT})))
PY
blocks() { find "$S/blocks" -type f | wc -l; }

# 1. Rewrites without a commit: the journal alone.
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount failed"
mkdir -p "$M/cur" "$M/new" "$M/tmp"
before=$(blocks)
check "30 rewrites of dovecot-uidlist and one of dovecot-keywords (fsync, rename)" \
	ipmd_py "$W/replace.py" "$M" rewrites
is "$(blocks)" "$before" "no block written by the rewrites (journal records)"
check "12 rewrites of dovecot-uidlist of 17 … 116 KiB (fsync, rename)" \
	ipmd_py "$W/replace.py" "$M" big
is "$(blocks)" "$before" "no block written by the rewrites over 16 KiB (several records each)"

# 2. Unsynced replacements, a delivery, a crash.
check "dovecot-keywords replaced unsynced, subscriptions.lock left, a delivery" \
	ipmd_py "$W/replace.py" "$M" unsynced
ipmd_kill9 "$M"
check "fsck: the crashed store is consistent" ipmd_fsck_ok
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount after the crash"
check "after SIGKILL: the last versions byte for byte, nothing torn or left behind" \
	ipmd_py "$W/check.py" "$M"

# 3. The commit at unmount seals them.
check "unmount (commits)" ipmd_umount "$M"
check "fsck after the commit" ipmd_fsck_ok
ipmd_mount "$S" "$M" -o commit_delay=600000 || bail "mount after the commit"
check "after the commit: the same bytes" ipmd_py "$W/check.py" "$M"
check "unmount" ipmd_umount "$M"
done_testing
