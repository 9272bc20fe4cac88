#!/usr/bin/env bash
# 94-write-fault.t — an appender whose line crosses a chunk end while the
# store fails every put (`mount --fault put=1`: a full disk, a node gone).
#   1. A file is written up to 544 bytes short of the 256 KiB chunk end
#      (committed, no faults); remounted with every put failing, 20 more
#      80-byte lines are appended, each written whole, and fsync'ed.  The
#      chunk the 7th line fills cannot be sealed: that is no failure of
#      the write (the bytes are in the mount's buffer), so every write
#      and the fsync (journaled, no put) succeed, and the file reads as
#      exactly those lines: no zeros where a failed write left its size.
#   2. Unmounted (its last commit's puts fail: the log counts them),
#      remounted without faults: the journal rebuilds the same file byte
#      for byte, and fsck finds the store consistent.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ipmd_store_only "faults need an ipmaildir store"
ipmd_own_store

# lines.py FILE FIRST COUNT — append lines FIRST … FIRST+COUNT-1 (80 bytes
# each, one write each, O_APPEND), then fsync; prints how many writes
# returned their whole length and "fsync ok" or the error.
cat >"$W/lines.py" <<'PY'
import os, sys
path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
n = 0
try:
    for i in range(first, first + count):
        line = b"%08d " % i + b"uidlist line".ljust(70, b".") + b"\n"
        if os.write(fd, line) != len(line):
            break
        n += 1
    os.fsync(fd)
    print(n, "fsync ok")
except OSError as e:
    print(n, "error", e.strerror)
PY
# want.py FILE COUNT — FILE is exactly lines 0 … COUNT-1?
cat >"$W/want.py" <<'PY'
import os, sys
import expect_files as ef
path, count = sys.argv[1], int(sys.argv[2])
want = b"".join(b"%08d " % i + b"uidlist line".ljust(70, b".") + b"\n"
                for i in range(count))
sys.exit(ef.report(ef.check(os.path.dirname(path),
                            {os.path.basename(path): want})))
PY

CHUNK=$((256 * 1024))
HEAD=$(((CHUNK - 544) / 80)) # 3270 lines: the 7th appended crosses
F=dovecot-uidlist

ipmd_mount "$S" "$M" || bail "mount"
out=$(python3 "$W/lines.py" "$M/$F" 0 "$HEAD")
is "$out" "$HEAD fsync ok" "$HEAD lines written, no faults"
ipmd_umount "$M" || bail "umount"

# 1. Every put failing (the mount itself puts nothing: its first commit
# is made above).
ipmd_mount "$S" "$M" --fault put=1 || bail "mount with every put failing"
out=$(python3 "$W/lines.py" "$M/$F" "$HEAD" 20)
is "$out" "20 fsync ok" \
	"20 lines over the chunk end: every write and the fsync succeed"
check "the file reads as exactly those lines" \
	ipmd_py "$W/want.py" "$M/$F" $((HEAD + 20))

# 2. Unmounted: the last commit's seal fails (the log counts the puts the
# fault layer refused, at exit), and the journal keeps the lines.
ipmd_umount "$M"
check "the fault layer refused puts" \
	grep -q 'fault injection: .*failed (put [1-9]' "$TEST_DIR/ipmaildir.log"
ipmd_mount "$S" "$M" || bail "remount without faults"
check "without faults: the same lines, byte for byte" \
	ipmd_py "$W/want.py" "$M/$F" $((HEAD + 20))
ipmd_umount "$M" || bail "umount"
ipmd_fsck_exits 0 "fsck: the store is consistent"

done_testing
