#!/usr/bin/env bash
# 01-fresh-machine.t — the README's two commands on a machine without the
# -dev packages, simulated on this one: a copy of the tree is built with a
# PATH whose pkg-config knows no package and whose dpkg-query reports every
# package missing until apt-get has run (apt-get only records that it ran).
# `make deps install` and `make deps check` must each work in one run: the
# Makefile may ask pkg-config only after `deps` has installed the packages.
# (A real fresh machine is what CI's first run is; this catches the
# regression on any machine.)
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own build"
TOP=${IPMD_TOP:-$PWD}
command -v make >/dev/null || skip_all "no make"
command -v pkg-config >/dev/null || skip_all "no pkg-config"
# Two plain builds are enough: the sanitizer run would build the same
# Makefile again, and the sanitized build is the same recipe with SAN=1.
case "${BUILD:-build}" in *asan*) skip_all "the build is tested in the plain run" ;; esac
# The nested makes must not inherit the suite's own make flags (SAN, BUILD).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

FAKE=$TEST_DIR/fakebin SRC=$TEST_DIR/src
mkdir -p "$FAKE" "$SRC"
REAL_PKG_CONFIG=$(command -v pkg-config)
REAL_DPKG_QUERY=$(command -v dpkg-query)
# The state of the simulated machine: the file exists once apt-get ran.
INSTALLED=$TEST_DIR/apt-get-ran
cat >"$FAKE/pkg-config" <<EOF
#!/bin/sh
[ -e "$INSTALLED" ] && exec "$REAL_PKG_CONFIG" "\$@"
echo "Package fuse3 was not found in the pkg-config search path." >&2
exit 1
EOF
cat >"$FAKE/dpkg-query" <<EOF
#!/bin/sh
[ -e "$INSTALLED" ] && exec "$REAL_DPKG_QUERY" "\$@"
echo "dpkg-query: no packages found matching \$*" >&2
exit 1
EOF
cat >"$FAKE/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >>"$TEST_DIR/apt-get.log"
case " \$* " in *" install "*) touch "$INSTALLED" ;; esac
exit 0
EOF
printf '#!/bin/sh\ncat >/dev/null\n' >"$FAKE/debconf-set-selections"
chmod 755 "$FAKE"/*

# The tree as a clean clone has it (tracked files, as they are now).
git -C "$TOP" ls-files -z | (cd "$TOP" && tar --null -T - -cf -) | tar -xf - -C "$SRC"
check "the copy has the Makefile and no build" test -f "$SRC/Makefile" -a ! -e "$SRC/build"

fresh() { rm -f "$INSTALLED" "$TEST_DIR/apt-get.log"; }
# make_fresh ARGS... — make in the copy on the simulated machine.
# Kubo is not built into the copy (minutes): tests/ipfs-node/kubo-install.sh
# honours IPMD_SKIP_KUBO.
make_fresh() { PATH=$FAKE:$PATH IPMD_SKIP_KUBO=1 make -C "$SRC" OPT=-O0 "$@" >"$TEST_DIR/make.log" 2>&1; }

check "before deps, the fake pkg-config knows no fuse3" \
	bash -c "! PATH='$FAKE':\$PATH pkg-config --cflags fuse3 2>/dev/null"

# --- make deps install -------------------------------------------------------
fresh
make_fresh deps install DESTDIR="$TEST_DIR/dest" PREFIX=/usr
rc=$?
is "$rc" 0 "one 'make deps install' on a machine without the packages exits 0"
[ "$rc" = 0 ] || diag "$(grep -m3 -iE 'error|fatal' "$TEST_DIR/make.log")"
check "... apt-get installed the missing packages" grep -q ' install ' "$TEST_DIR/apt-get.log"
check "... and the binary is installed" test -x "$TEST_DIR/dest/usr/bin/ipmaildir"
"$TEST_DIR/dest/usr/bin/ipmaildir" --help >/dev/null 2>&1
is "$?" 0 "... and runs"

# --- make deps check ----------------------------------------------------------
# `check` builds everything, then runs tests/run: the copy's runner is
# replaced by one unit test so that this script does not run the suite
# inside the suite.
cat >"$SRC/tests/run" <<'EOF'
#!/usr/bin/env bash
exec "$BUILD/tests/test_varint"
EOF
chmod 755 "$SRC/tests/run"
fresh
make_fresh BUILD=build-check deps check
rc=$?
is "$rc" 0 "one 'make deps check' on a machine without the packages exits 0"
[ "$rc" = 0 ] || diag "$(grep -m3 -iE 'error|fatal' "$TEST_DIR/make.log")"
check "... it built every unit test and tool" \
	test -x "$SRC/build-check/tests/test_varint" -a -x "$SRC/build-check/tests/tools/maildir_deliver"

# Without deps, the build names the cure instead of a compiler error.
fresh
make_fresh BUILD=build-nodeps all
isnt_rc=$?
check "without deps, make fails" test "$isnt_rc" -ne 0
check "... with one line naming 'make deps'" grep -q "run 'make deps' first" "$TEST_DIR/make.log"

done_testing
