#!/usr/bin/env bash
# 68-install.t — `make install`: a DESTDIR tree with everything (binary,
# mount helpers, man pages 1 5 8 and the mount.fuse.ipmaildir(8) link,
# systemd unit, bash completion), the installed binary runs (--version),
# its completion completes commands and each command's options, `make
# uninstall` removes every file install put and nothing else,
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
is "$(readlink "$D/usr/share/man/man8/mount.fuse.ipmaildir.8")" "mount.ipmaildir.8" \
	"man8/mount.fuse.ipmaildir.8 links to mount.ipmaildir.8"
check "…which man renders" bash -c "man -l '$D/usr/share/man/man8/mount.fuse.ipmaildir.8' 2>/dev/null | grep -q 'mount.fuse.ipmaildir'"
ver=$("$D/usr/bin/ipmaildir" --version 2>&1)
is "$?" 0 "ipmaildir --version exits 0"
check "…and prints 'ipmaildir X.Y.Z' ($ver)" grep -qxE 'ipmaildir [0-9]+\.[0-9]+\.[0-9]+' <<<"$ver"
C=$D/usr/share/bash-completion/completions/ipmaildir
check "bash completion in /usr/share/bash-completion/completions/ipmaildir" test -s "$C"
# complete WORDS... — what the installed completion offers for the last
# word, completing the installed binary (one word a line).
complete_words() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_ipmaildir; printf "%s\n" "${COMPREPLY[@]}"' _ "$C" "$@" | sort
}
cmds=$("$IPMD_BIN" --help 2>&1 | sed -nE 's/^ +ipmaildir ([a-z]+).*/\1/p' | sort -u)
is "$(complete_words "$D/usr/bin/ipmaildir" "")" "$cmds" "completion: every command of --help"
is "$(complete_words "$D/usr/bin/ipmaildir" "st")" "status" "completion: a command from its start"
for c in $cmds; do
	want=$("$IPMD_BIN" "$c" --help 2>&1 | sed -E "s/ipmaildir $c /@ /g; s/ipmaildir [a-z]+( [a-z]+)? --[a-z-]+//g" |
		grep -oE -- '--[a-z][a-z-]+' | sort -u)
	[ -n "$want" ] || continue
	is "$(complete_words "$D/usr/bin/ipmaildir" "$c" "--")" "$want" "completion: $c's options"
done
is "$(complete_words "$D/usr/bin/ipmaildir" key "" | tr '\n' ' ')" "backup export passwd restore " "completion: key's verbs"
mkdir -p "$TEST_DIR/cdir/sub"
is "$(cd "$TEST_DIR/cdir" && complete_words "$D/usr/bin/ipmaildir" mount --store "")" "sub" "completion: --store DIR offers directories"
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

# --- make uninstall: every file gone, nothing else touched ------------------
touch "$D/usr/share/man/man1/other.1"
make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr >"$TEST_DIR/unmake.log" 2>&1
is "$?" 0 "make uninstall DESTDIR=… PREFIX=/usr exits 0"
left=$(cd "$D" && find . \( -type f -o -type l \) | sort)
is "$left" "./usr/share/man/man1/other.1" "…every file install put is gone, another one stays"
make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
is "$?" 0 "a second make uninstall is no error"

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
