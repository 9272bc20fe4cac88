#!/usr/bin/env bash
# 16-allow-other.t — -o allow_other lets other users reach the mount, not
# past the file modes: it implies default_permissions, so uid 65534 can
# neither read, write, chmod nor chown root's 0600 file (EACCES / EPERM),
# nor make a copied binary setuid root; the same holds for the read-only
# archive mount.  -o no_default_permissions is the explicit, logged way back
# to no checks.  export writes no setuid/setgid bit, whatever the mailbox
# records.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own mount options"
[ "$(id -u)" = 0 ] || skip_all "needs root to switch to another uid"
command -v setpriv > /dev/null || skip_all "setpriv (util-linux) not installed"

S=$TEST_DIR/store M=$TEST_DIR/mnt R=$TEST_DIR/archive OUT=$TEST_DIR/out
ipmd_init "$S" || bail "init failed"
mkdir "$R"

# as_nobody CMD... — uid/gid 65534, no supplementary groups.
as_nobody() { (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$@"); }
as_nobody test -x "$TEST_DIR" || skip_all "uid 65534 cannot reach $TEST_DIR"
# The system's python3: a per-user shim on PATH may be out of its reach.
PY=/usr/bin/python3
as_nobody "$PY" -c '' 2> /dev/null || skip_all "uid 65534 cannot run $PY"

# try OP PATH [ARG] — one system call as the caller; prints "ok" or the
# errno's name, so a test tells EACCES from EPERM from ENOENT.
cat > "$TEST_DIR/try.py" << 'EOF'
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "read":
        with open(path, "rb") as f:
            f.read()
    elif op == "write":
        with open(path, "r+b") as f:
            f.write(b"overwritten\n")
    elif op == "create":
        with open(path, "xb") as f:
            f.write(b"mine\n")
    elif op == "list":
        os.listdir(path)
    elif op == "chmod":
        os.chmod(path, int(sys.argv[3], 8))
    elif op == "chown":
        os.chown(path, int(sys.argv[3]), int(sys.argv[3]))
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
try() { as_nobody "$PY" "$TEST_DIR/try.py" "$@"; }
mode_of() { stat -c %a "$1"; }

# The tree root prepares: a readable mailbox root and cur/, root's 0600
# message in it, a 0700 folder, and a folder that belongs to nobody.
prepare() {
	mkdir -p "$M/cur" && chmod 0755 "$M" "$M/cur" &&
		printf 'root only\n' > "$M/cur/secret" && chmod 0600 "$M/cur/secret" &&
		mkdir -m 0700 "$M/.Private" && printf 'private\n' > "$M/.Private/mail" &&
		chmod 0644 "$M/.Private/mail" &&
		printf 'for all\n' > "$M/cur/public" && chmod 0644 "$M/cur/public" &&
		mkdir -m 0755 "$M/.Nobody" && chown 65534:65534 "$M/.Nobody"
}

ipmd_mount "$S" "$M" -o allow_other || bail "mount -o allow_other failed"
check "root prepares the tree" prepare
is "$(grep " $M " /proc/self/mountinfo | grep -c default_permissions)" 1 \
	"allow_other alone mounts with default_permissions"

grep " $M " /proc/self/mountinfo | awk '{print $6}' | tr , '\n' | grep -qx nosuid
is "$?" 0 "the mount is nosuid"
is "$(try read "$M/cur/secret")" EACCES "another uid cannot read a 0600 file"
is "$(try write "$M/cur/secret")" EACCES "another uid cannot overwrite it"
is "$(try chmod "$M/cur/secret" 0666)" EPERM "another uid cannot chmod it"
is "$(try chown "$M/cur/secret" 65534)" EPERM "another uid cannot chown it"
is "$(cat "$M/cur/secret"):$(mode_of "$M/cur/secret"):$(stat -c %u "$M/cur/secret")" \
	"root only:600:0" "the file is as root left it"
is "$(try list "$M/.Private")" EACCES "another uid cannot list a 0700 folder"
is "$(try read "$M/.Private/mail")" EACCES "nor read a 0644 file inside it"
is "$(try read "$M/cur/public")" ok "another uid still reads a 0644 file (allow_other)"
is "$(try create "$M/.Nobody/own")" ok "and writes in its own folder"

# A copied binary: nobody may make it setuid to itself, never to root.
check "another uid copies a binary into its folder" as_nobody cp /bin/true "$M/.Nobody/tool"
is "$(try chown "$M/.Nobody/tool" 0)" EPERM "another uid cannot chown its file to root"
is "$(stat -c %u "$M/.Nobody/tool")" 65534 "the copy stays nobody's"

# What export must not turn into a setuid file on disk: root's own setuid
# and setgid files and a setgid folder, as a mailbox may record them.
check "root records setuid and setgid modes" sh -c "
	cp /bin/true '$M/cur/suid' && chmod 4755 '$M/cur/suid' &&
	cp /bin/true '$M/cur/sgid' && chmod 2755 '$M/cur/sgid' &&
	mkdir -m 2775 '$M/.Shared'"
is "$(mode_of "$M/cur/suid"):$(mode_of "$M/cur/sgid"):$(mode_of "$M/.Shared")" \
	"4755:2755:2775" "the mount keeps the modes as set"
ipmd_umount "$M" || bail "unmount failed"

"$IPMD_BIN" export --store "$S" "$OUT" > /dev/null 2> "$TEST_DIR/export.log"
is "$?" 0 "export succeeds"
is "$(mode_of "$OUT/cur/suid"):$(mode_of "$OUT/cur/sgid"):$(mode_of "$OUT/.Shared")" \
	"755:755:775" "export writes no setuid or setgid bit"
is "$(mode_of "$OUT/cur/secret"):$(mode_of "$OUT/.Private"):$(mode_of "$OUT/.Nobody/tool")" \
	"600:700:755" "and keeps the other mode bits"
is "$(find "$OUT" -perm /6000 | wc -l)" 0 "nothing under the export is setuid or setgid"

# The archive is read-only but shows the same files: the same rule.
"$IPMD_BIN" archive --store "$S" -o allow_other "$R" 2> "$TEST_DIR/archive.log" ||
	bail "archive failed: $(cat "$TEST_DIR/archive.log")"
on_cleanup "fusermount3 -u '$R' 2>/dev/null"
is "$(try read "$R/latest/cur/secret")" EACCES "archive -o allow_other: another uid cannot read a 0600 file"
is "$(try read "$R/latest/cur/public")" ok "archive -o allow_other: another uid reads a 0644 file"
fusermount3 -u "$R"

# The explicit opt-out: no checks, as before, and said so in the log.
logged=$(wc -l < "$TEST_DIR/ipmaildir.log")
check "mount -o allow_other,no_default_permissions" \
	ipmd_mount "$S" "$M" -o allow_other,no_default_permissions
is "$(grep " $M " /proc/self/mountinfo | grep -c default_permissions)" 0 \
	"no_default_permissions: mounted without default_permissions"
tail -n +$((logged + 1)) "$TEST_DIR/ipmaildir.log" |
	grep -q 'no_default_permissions: file modes are not checked'
is "$?" 0 "the opt-out is said in the log"
is "$(try read "$M/cur/secret")" ok "no_default_permissions: another uid reads the 0600 file"
ipmd_umount "$M" || bail "unmount failed"

run_mount -f --store "$S" -o default_permissions,no_default_permissions "$M"
is "$rc" 2 "default_permissions with no_default_permissions is a usage error"
says "with one line naming the option" '^ipmaildir mount: -o default_permissions and no_default_permissions contradict'

done_testing
