#!/usr/bin/env bash
# 68-install.t — `make install`: a DESTDIR tree with everything (binary,
# mount helpers, man pages 1 5 8, systemd unit), the installed binary runs,
# the unit passes systemd-analyze verify, and mount(8) mounts through the
# installed helper: `mount -t fuse.ipmaildir ipmaildir#STORE DIR`, and the
# fstab lines of mount.ipmaildir(8) with `mount -T FSTAB DIR`.  mount(8)
# finds helpers only in /sbin: those steps run in a private mount namespace
# (unshare -m) where a copy of /usr/sbin with the helpers is bound over it.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own install"
[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN (run make)"
TOP=${IPMD_TOP:-$PWD}
command -v make >/dev/null || skip_all "no make"

# install ARGS... — make install of the already built binary, never a rebuild.
install_to() {
	make -s -C "$TOP" BIN="$IPMD_BIN" -o "$IPMD_BIN" install "$@" >"$TEST_DIR/make.log" 2>&1
}

# --- DESTDIR=… PREFIX=/usr ---------------------------------------------------
D=$TEST_DIR/dest
install_to DESTDIR="$D" PREFIX=/usr
is "$?" 0 "make install DESTDIR=… PREFIX=/usr exits 0"
[ -s "$TEST_DIR/make.log" ] && diag "$(tail -c 400 "$TEST_DIR/make.log")"
for f in usr/bin/ipmaildir usr/share/man/man1/ipmaildir.1 \
	usr/share/man/man5/ipmaildir.conf.5 usr/share/man/man8/mount.ipmaildir.8 \
	usr/lib/systemd/system/ipmaildir@.service; do
	check "installed: /$f" test -f "$D/$f" -a -s "$D/$f"
done
check "/usr/bin/ipmaildir is executable" test -x "$D/usr/bin/ipmaildir"
for h in mount.ipmaildir mount.fuse.ipmaildir; do
	is "$(readlink "$D/usr/sbin/$h")" "../bin/ipmaildir" "/usr/sbin/$h links to ../bin/ipmaildir"
done
check "the installed binary is the built one" cmp -s "$IPMD_BIN" "$D/usr/bin/ipmaildir"
"$D/usr/bin/ipmaildir" --help >"$TEST_DIR/help" 2>&1
is "$?" 0 "the installed ipmaildir --help exits 0"
check "... and lists 'mount'" grep -qE '^ +ipmaildir mount( |$)' "$TEST_DIR/help"
U=$D/usr/lib/systemd/system/ipmaildir@.service
check "the unit runs /usr/bin/ipmaildir mount -f … %f" \
	grep -qE '^ExecStart=/usr/bin/ipmaildir mount -f .*%f$' "$U"
check "the unit has no @…@ placeholder left" bash -c "! grep -q '@[A-Z]*@' '$U'"
if command -v mandoc >/dev/null; then
	for m in "$D"/usr/share/man/man*/*; do
		out=$(mandoc -Tlint -Wwarning "$m" 2>&1)
		is "$out" "" "mandoc -Tlint: installed $(basename "$m") is clean"
	done
fi

# --- a real prefix: systemd-analyze and mount(8) ----------------------------
P=$TEST_DIR/pfx
install_to PREFIX="$P"
is "$?" 0 "make install PREFIX=$P exits 0"
if command -v systemd-analyze >/dev/null; then
	# verify wants an instance; it checks ExecStart's binary and man: links.
	mkdir -p "$TEST_DIR/units"
	inst=$(systemd-escape --path "$TEST_DIR/mnt")
	cp "$P/lib/systemd/system/ipmaildir@.service" "$TEST_DIR/units/ipmaildir@$inst.service"
	out=$(MANPATH=$P/share/man systemd-analyze verify "$TEST_DIR/units/ipmaildir@$inst.service" 2>&1)
	is "$?" 0 "systemd-analyze verify ipmaildir@$inst.service"
	[ -n "$out" ] && diag "$out"
else
	diag "no systemd-analyze: unit not verified"
fi

if [ ! -e /dev/fuse ] || ! command -v unshare >/dev/null || [ "$(id -u)" != 0 ]; then
	diag "no FUSE, unshare or root: skipping mount(8)"
	done_testing
	exit
fi

S=$TEST_DIR/store MNT=$TEST_DIR/mnt
ipmd_init "$S" || bail "ipmaildir init failed"
mkdir -p "$MNT" "$TEST_DIR/sbin"
printf 'From: a@example.org\nSubject: via mount(8)\n\nhello\n' >"$TEST_DIR/m1"
cat >"$TEST_DIR/fstab" <<EOF
# the two spellings of mount.ipmaildir(8)
ipmaildir#$S  $MNT  fuse.ipmaildir  defaults,nofail,noauto  0 0
$S  $MNT/new  ipmaildir  ro,noauto  0 0
EOF
# The script run in the namespace prints one result line per step; the
# mounts die with the namespace, but each is unmounted and its daemon
# waited for (the store's lock) before the next.
cat >"$TEST_DIR/ns.sh" <<'EOF'
set -u
T=$1 S=$2 MNT=$3 BIN=$4
for f in /usr/sbin/*; do ln -s "$f" "$T/sbin/"; done
ln -sf "$BIN" "$T/sbin/mount.fuse.ipmaildir"
ln -sf "$BIN" "$T/sbin/mount.ipmaildir"
mount --make-rprivate / && mount --bind "$T/sbin" /usr/sbin || { echo "setup failed"; exit 1; }
gone() { local i; for i in $(seq 100); do flock -n "$S/lock" true 2>/dev/null && return 0; sleep 0.1; done; return 1; }
type_of() { awk -v m="$1" '$2 == m { print $3 }' /proc/self/mounts; }

mount -t fuse.ipmaildir "ipmaildir#$S" "$MNT" -o rw 2>"$T/mount.err"
echo "mount-t rc=$? type=$(type_of "$MNT")"
cp "$T/m1" "$MNT/tmp/1.m" && mv "$MNT/tmp/1.m" "$MNT/new/1.m" && echo "deliver ok"
umount "$MNT"; gone && echo "umount ok"

mount -T "$T/fstab" "$MNT" 2>>"$T/mount.err"
echo "fstab rc=$? type=$(type_of "$MNT")"
cmp -s "$T/m1" "$MNT/new/1.m" && echo "kept ok"
umount "$MNT"; gone && echo "umount2 ok"

# the second line mounts the same store read-only, type ipmaildir
mkdir -p "$MNT/new"
mount -T "$T/fstab" "$MNT/new" 2>>"$T/mount.err"
echo "fstab-ro rc=$? type=$(type_of "$MNT/new")"
touch "$MNT/new/new/x" 2>/dev/null || echo "ro ok"
umount "$MNT/new"; gone && echo "umount3 ok"
EOF
out=$(timeout 60 unshare -m bash "$TEST_DIR/ns.sh" "$TEST_DIR" "$S" "$MNT" "$P/bin/ipmaildir" 2>&1)
diag "$(tr '\n' ';' <<<"$out")"
[ -s "$TEST_DIR/mount.err" ] && diag "mount: $(head -c 400 "$TEST_DIR/mount.err")"
check "mount -t fuse.ipmaildir ipmaildir#STORE DIR: exit 0, type fuse.ipmaildir" \
	grep -qx 'mount-t rc=0 type=fuse.ipmaildir' <<<"$out"
check "... a delivery into it" grep -qx 'deliver ok' <<<"$out"
check "... umount ends the daemon (store lock free)" grep -qx 'umount ok' <<<"$out"
check "fstab line 'ipmaildir#STORE DIR fuse.ipmaildir defaults,nofail': mount DIR" \
	grep -qx 'fstab rc=0 type=fuse.ipmaildir' <<<"$out"
check "... the message is there after the remount" grep -qx 'kept ok' <<<"$out"
check "... umount ends it" grep -qx 'umount2 ok' <<<"$out"
check "fstab line 'STORE DIR ipmaildir ro': mount DIR" \
	grep -qx 'fstab-ro rc=0 type=fuse.ipmaildir' <<<"$out"
check "... read-only" grep -qx 'ro ok' <<<"$out"
check "... umount ends it" grep -qx 'umount3 ok' <<<"$out"
check "nothing left mounted on $MNT" bash -c "! mountpoint -q '$MNT'"
done_testing
