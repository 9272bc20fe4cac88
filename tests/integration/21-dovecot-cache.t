#!/usr/bin/env bash
# 21-dovecot-cache.t — Dovecot's index files as local cache files
# (fs/mount/cache_file.h, docs/ARCHITECTURE.md "Local cache files").
#
# dovecot-lda delivers into the mount; then:
#   - the index files are there and read back what was written, while the
#     mailbox (every message, dovecot-uidlist) is committed as before and
#     the commit, export and the read side show no index file;
#   - the cache files are encrypted on disk: a marker written to one is in
#     no file of the store, nor in the daemon's unnamed cache files, and
#     a flipped byte there reads as EIO, never as other bytes;
#   - a cache file keeps its class: renaming it to another name is EXDEV;
#   - SIGKILL after the deliveries loses only the cache files: every
#     acknowledged message and dovecot-uidlist come back, Dovecot rebuilds
#     its index (the same UIDs, new ones above), and its log has no error;
#   - with -o index_cache=off the index files are ordinary mailbox files:
#     journaled (a SIGKILL loses none), committed (export has them).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "cache files are ipmaildir's"
menv_require "$DOVECOT_LIBEXEC/dovecot-lda" doveadm setpriv python3
N=${IPMD_CACHE_COUNT:-30}
MNT=$TEST_DIR/mnt

menv_user
menv_mount "$MNT"
STORE=$MAIL_STORE
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"
menv_gen_many "$TEST_DIR/msgs" cache "$N" mail
chmod -R a+rX "$TEST_DIR/msgs"

# deliver FILES...: dovecot-lda for each, "rc file" per line in lda.log.
deliver() {
	menv_as_user bash -c 'for f in "$@"; do "$0" -c "'"$DOVECOT_CONF"'" -e \
		-f sender@example.org -a "'"$MAIL_USER"'@localhost" <"$f"; echo "$? $f"; done' \
		"$DOVECOT_LIBEXEC/dovecot-lda" "$@" >>"$TEST_DIR/lda.log" 2>&1
}
first=$(find "$TEST_DIR/msgs" -name '*.eml' | sort | head -n $((N - 5)))
last=$(find "$TEST_DIR/msgs" -name '*.eml' | sort | tail -n 5)
# shellcheck disable=SC2086 # one file name per word
deliver $first
is "$(awk '$1 != 0' "$TEST_DIR/lda.log" | wc -l)" 0 "dovecot-lda exited 0 for $((N - 5)) messages"
check "dovecot.index.log is in the Maildir" test -s "$MNT/dovecot.index.log"
check "dovecot-uidlist is in the Maildir" test -s "$MNT/dovecot-uidlist"
is "$(menv_doveadm mailbox status messages INBOX 2>&1)" "INBOX messages=$((N - 5))" \
	"doveadm reads its index: $((N - 5)) messages"
validity=$(menv_doveadm mailbox status uidvalidity INBOX 2>&1)

# ---- kept across a clean unmount ----
sums() { (cd "$MNT" && md5sum dovecot.index* dovecot.list.index* 2>/dev/null); }
before=$(sums)
check "unmounts" ipmd_umount "$MNT"
check "STORE/cache holds the kept files and their catalog" test -s "$STORE/cache/catalog"
check "... none holds the marker of a Subject in the clear" \
	sh -c "! grep -r -q -a -F -- \"\$(grep -h -m1 '^Subject:' $(echo $first | cut -d' ' -f1) | cut -c10-40)\" '$STORE/cache'"
ipmd_mount "$STORE" "$MNT" -o allow_other || bail "remount failed"
is "$(sums)" "$before" "after a clean unmount the index files are back, byte for byte"
is "$(find "$STORE/cache" -name catalog | wc -l)" 0 "the catalog is used up by the mount"
is "$(menv_doveadm mailbox status messages INBOX 2>&1)" "INBOX messages=$((N - 5))" \
	"doveadm reads the kept index"

# ---- encrypted at rest ----
MARK=cache-marker-$RANDOM$RANDOM-Subject-plaintext
printf '%s\n' "$MARK" "$MARK" >"$MNT/dovecot.index.marker"
is "$(head -n 1 "$MNT/dovecot.index.marker")" "$MARK" "a cache file reads back what was written"
# The daemon's cache files, open under STORE/cache (unnamed, or named
# as the last unmount kept them).
cache_fds() {
	local fd
	for fd in /proc/"$IPMD_PID"/fd/*; do
		case $(readlink "$fd") in "$STORE/cache/"*) echo "$fd" ;; esac
	done
}
nfd=$(cache_fds | wc -l)
check "the daemon holds its cache files under STORE/cache ($nfd)" test "$nfd" -ge 3
leaks=0
for fd in $(cache_fds); do grep -q -a -- "$MARK" "$fd" && leaks=$((leaks + 1)); done
is "$leaks" 0 "the marker is in no cache file on disk"
check "the marker is in no file of the store" sh -c "! grep -r -q -a -- '$MARK' '$STORE'"
# A header Dovecot caches, in the clear in no cache file either.
subj=$(grep -h -m1 '^Subject:' $first | head -n 1 | cut -c10-40)
hits=0
for fd in $(cache_fds); do grep -q -a -F -- "$subj" "$fd" && hits=$((hits + 1)); done
is "$hits" 0 "a delivered Subject is in no cache file on disk"

# Tamper: flip a byte of every cache file's first page, drop the
# marker's cached pages, read it: EIO, not other bytes.
for fd in $(cache_fds); do
	"$MENV_PY" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
b = os.pread(fd, 1, 100)
if b:
    os.pwrite(fd, bytes([b[0] ^ 1]), 100)' "$fd"
done
"$MENV_PY" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$MNT/dovecot.index.marker"
run cat "$MNT/dovecot.index.marker"
check "a flipped byte in a cache file reads as an error" test "$rc" -ne 0
says "... and the error is EIO" "Input/output error"
rm -f "$MNT/dovecot.index.marker"

# ---- the class ----
: >"$MNT/dovecot.index.probe"
run "$MENV_PY" -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' \
	"$MNT/dovecot.index.probe" "$MNT/not-an-index"
says "a cache file renamed out of the cache names: EXDEV" "Invalid cross-device link"
check "... and it stays where it was" test -e "$MNT/dovecot.index.probe"
rm -f "$MNT/dovecot.index.probe"

# ---- not in the mailbox's history ----
# The commit: wait for the committer, then look at it through export.
sleep 2
"$IPMD_BIN" export --store "$STORE" "$TEST_DIR/export" >/dev/null 2>&1
is "$(find "$TEST_DIR/export" -name 'dovecot.index*' -o -name 'dovecot.list.index*' | wc -l)" 0 \
	"export has no index file"
check "export has dovecot-uidlist" test -s "$TEST_DIR/export/dovecot-uidlist"
is "$(find "$TEST_DIR/export/new" "$TEST_DIR/export/cur" -type f | wc -l)" "$((N - 5))" \
	"export has every message"

# ---- a crash loses only the cache ----
uids_before=$(tail -n +2 "$MNT/dovecot-uidlist" | grep -c '^[0-9]')
uidlist_before=$(cat "$MNT/dovecot-uidlist")
# A delivery's journal is durable when dovecot-lda exits; kill at once.
ipmd_kill9 "$MNT"
ipmd_mount "$STORE" "$MNT" -o allow_other || bail "remount failed"
is "$(menv_count "$MNT")" "$((N - 5))" "after SIGKILL: every acknowledged message is there"
is "$(cat "$MNT/dovecot-uidlist")" "$uidlist_before" "after SIGKILL: dovecot-uidlist is as acknowledged"
is "$(find "$MNT" -maxdepth 1 -name 'dovecot.index*' | wc -l)" 0 "after SIGKILL: the index files are gone"
# shellcheck disable=SC2086
deliver $last
is "$(awk '$1 != 0' "$TEST_DIR/lda.log" | wc -l)" 0 "dovecot-lda delivers 5 more after the crash"
is "$(menv_doveadm mailbox status messages INBOX 2>&1)" "INBOX messages=$N" \
	"Dovecot rebuilt its index: $N messages"
is "$(menv_doveadm mailbox status uidvalidity INBOX 2>&1)" "$validity" \
	"the mailbox keeps its UIDVALIDITY ($validity)"
is "$(tail -n +2 "$MNT/dovecot-uidlist" | grep -c '^[0-9]')" "$N" "dovecot-uidlist lists $N messages"
is "$(menv_doveadm search all 2>/dev/null | awk '{print $2}' | sort -n | paste -sd' ')" \
	"$(seq 1 "$N" | paste -sd' ')" \
	"the $uids_before UIDs given before the crash are kept, the new ones follow"
summary=$(menv_match "$TEST_DIR/msgs" "$MNT")
check "every message present once, byte-exact ($summary)" test $? -eq 0

# ---- -o index_cache=off: the index files are mailbox files ----
# (for LAYOUT=index and dbox, where they hold state Dovecot can't rebuild)
check "unmounts" ipmd_umount "$MNT"
ipmd_mount "$STORE" "$MNT" -o allow_other,index_cache=off || bail "mount -o index_cache=off failed"
is "$(find "$STORE/cache" -type f | wc -l)" 0 "index_cache=off: the cache files kept at the unmount are dropped"
is "$(menv_doveadm mailbox status messages INBOX 2>&1)" "INBOX messages=$N" \
	"index_cache=off: Dovecot rebuilds its index: $N messages"
check "... dovecot.index.log is there again" test -s "$MNT/dovecot.index.log"
printf 'index-state\n' >"$MNT/dovecot.list.index"
# Acknowledged as mailbox files are: fsync'd (as Dovecot does with
# mail_fsync=optimized, where they are state).
"$MENV_PY" -c 'import os, sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY); os.fsync(fd); os.close(fd)' "$MNT"/dovecot.index* "$MNT"/dovecot.list.index*
before=$(sums)
ipmd_kill9 "$MNT"
ipmd_mount "$STORE" "$MNT" -o allow_other,index_cache=off || bail "remount -o index_cache=off failed"
is "$(sums)" "$before" "index_cache=off: after SIGKILL the index files are there, byte for byte"
check "unmounts" ipmd_umount "$MNT"
rm -rf "$TEST_DIR/export"
"$IPMD_BIN" export --store "$STORE" "$TEST_DIR/export" >/dev/null 2>&1
is "$(cd "$TEST_DIR/export" && md5sum dovecot.index* dovecot.list.index* 2>/dev/null)" "$before" \
	"index_cache=off: the index files are in the commit (export)"
check "no Error/Panic/Fatal in Dovecot's log" menv_dovecot_log_clean
done_testing
