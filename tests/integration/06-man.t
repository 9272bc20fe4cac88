#!/usr/bin/env bash
# 06-man.t — the manual pages are well-formed and match the program: every
# command of `ipmaildir --help` is in the SYNOPSIS (and nothing else is),
# every long option a --help prints is documented and in that command's
# SYNOPSIS lines, and every option a command accepts is in its --help; the
# pages render through groff (what man(1) uses) without broken quoting.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
MAN=$(cd "$here/../../man" && pwd)
command -v mandoc >/dev/null || skip_all "mandoc is not installed"
[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN (run make)"

PAGES=("$MAN"/*.[158])
for p in "${PAGES[@]}"; do
	[ -f "$p" ] || { not_ok "$(basename "$p") exists"; continue; }
	# The two pages refer to each other; mandoc looks references up only
	# in the installed manuals, so before `make install` it cannot find
	# them.  Everything else it reports counts.
	mandoc -Tlint "$p" 2>/dev/null |
		grep -vE 'referenced manual not found: Xr (ipmaildir 1|mount\.ipmaildir 8|ipmaildir\.conf 5)( |$)' >"$TEST_DIR/lint"
	if [ -s "$TEST_DIR/lint" ]; then
		not_ok "mandoc -Tlint $(basename "$p") reports nothing"
		while IFS= read -r l; do diag "$l"; done <"$TEST_DIR/lint"
	else
		ok "mandoc -Tlint $(basename "$p") reports nothing"
	fi
done

# render PAGE — the page as plain text (no overstrike).
render() { mandoc -Tascii "$1" 2>/dev/null | sed 's/.\x08//g'; }
render "$MAN/ipmaildir.1" >"$TEST_DIR/page1"
render "$MAN/mount.ipmaildir.8" >"$TEST_DIR/page8"
sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$TEST_DIR/page1" >"$TEST_DIR/synopsis"
check "ipmaildir(1) renders with a SYNOPSIS" test -s "$TEST_DIR/synopsis"

"$IPMD_BIN" --help >"$TEST_DIR/help" 2>&1
cmds=$(sed -nE 's/^ +ipmaildir ([a-z]+).*/\1/p' "$TEST_DIR/help" | sort -u)
check "ipmaildir --help lists commands" test -n "$cmds"
for c in $cmds; do
	check "SYNOPSIS has 'ipmaildir $c'" grep -qE "^ +ipmaildir $c( |$)" "$TEST_DIR/synopsis"
done
# And documents no command the program does not have.
for c in $(sed -nE 's/^ +ipmaildir ([a-z]+).*/\1/p' "$TEST_DIR/synopsis" | sort -u); do
	check "'$c' in the SYNOPSIS is a command of ipmaildir --help" grep -qx "$c" <<<"$cmds"
done

# documented FILE WORD — WORD appears in the rendered page as a word.
documented() { grep -qE -- "(^|[^a-z_-])$2([^a-z_-]|$)" "$1"; }
for c in "" $cmds; do
	# shellcheck disable=SC2086  # $c is one word or none
	"$IPMD_BIN" $c --help >"$TEST_DIR/chelp" 2>&1
	opts=$(grep -oE -- '--[a-z][a-z-]+' "$TEST_DIR/chelp" | sort -u)
	for o in $opts; do
		check "ipmaildir(1) documents ${c:+$c }$o" documented "$TEST_DIR/page1" "$o"
	done
done
# mount's own -o options (commit_delay=MS ...), as its --help names them.
"$IPMD_BIN" mount --help >"$TEST_DIR/mhelp" 2>&1
mopts=$(grep -oE '[a-z_]+=[A-Z]+' "$TEST_DIR/mhelp" | cut -d= -f1 | sort -u)
check "mount --help names -o options of its own" test -n "$mopts"
for o in $mopts; do
	check "ipmaildir(1) documents -o $o=" grep -qE "(^|[^a-z_])$o=" "$TEST_DIR/page1"
done
check "ipmaildir(1) documents --fault (not in --help: a testing aid)" documented "$TEST_DIR/page1" --fault

# mount.ipmaildir(8): how mount(8) reaches it, and the option it adds.
check "mount.ipmaildir(8) shows 'mount -t ipmaildir'" grep -qE 'mount -t ipmaildir' "$TEST_DIR/page8"
check "mount.ipmaildir(8) documents passphrase_file=" grep -qE 'passphrase_file=' "$TEST_DIR/page8"
check "mount.ipmaildir(8) has an fstab line of type ipmaildir" \
	grep -qE '^ +/[^ ]+ +/[^ ]+ +ipmaildir +[a-z_,=/.]+ +0 +0$' "$TEST_DIR/page8"
# Rendered as man(1) renders them (groff), nothing of mdoc's quoting went
# wrong: a quote list must not open twice before closing
# ("(‘2026-11-23, ‘2026-11-23T05:00, …’’’)"), and a flag must not swallow
# the words after it ("-of -every -retained -commit").
if command -v groff >/dev/null; then
	for p in "${PAGES[@]}"; do
		bad=$(groff -mandoc -Tutf8 "$p" 2>/dev/null | sed 's/.\x08//g' |
			grep -E "‘[^’]*, ‘|’’|(^| )-[a-z]{2,} -[a-z]{2,} -[a-z]{2,}")
		is "$bad" "" "groff renders $(basename "$p") without broken quotes or flags"
	done
else
	diag "no groff: the rendering is not checked"
fi

# Each command's SYNOPSIS lines list the long options its --help lists,
# and no other (but --fault, a testing aid).  synopsis_of CMD — the
# SYNOPSIS entries of CMD, continuation lines joined.
synopsis_of() {
	awk -v c="$1" '/^     ipmaildir /{ on = ($2 == c) } on && /^     /' "$TEST_DIR/synopsis"
}
# help_opts CMD — the long options of CMD --help, but those it names as
# another command's ("… ipmaildir key export --read-only").
help_opts() {
	"$IPMD_BIN" "$1" --help 2>&1 |
		perl -pe "s/ipmaildir (?!$1\\b)[a-z]+( [a-z]+)? --[a-z-]+//g" |
		grep -oE -- '--[a-z][a-z-]+' | grep -vx -- --help | sort -u
}
all_opts=$(for c in $cmds; do "$IPMD_BIN" "$c" --help 2>&1; done |
	grep -oE -- '--[a-z][a-z-]+' | grep -vx -- --help | sort -u)
for c in $cmds; do
	synopsis_of "$c" >"$TEST_DIR/syn.$c"
	check "SYNOPSIS has lines for $c" test -s "$TEST_DIR/syn.$c"
	hopts=$(help_opts "$c")
	for o in $hopts; do
		check "SYNOPSIS of $c lists $o (in $c --help)" documented "$TEST_DIR/syn.$c" "$o"
	done
	for o in $(grep -oE -- '--[a-z][a-z-]+' "$TEST_DIR/syn.$c" | sort -u); do
		[ "$o" = --fault ] && continue
		check "$c --help lists $o (in its SYNOPSIS)" grep -qx -- "$o" <<<"$hopts"
	done
	# What the command accepts, probed with every option of every
	# --help: getopt says "unrecognized" only of one it does not take.
	# (A prefix of one of its own options is taken as that: skipped.)
	for o in $all_opts; do
		grep -qx -- "$o" <<<"$hopts" && continue
		grep -q -- "^$o" <<<"$hopts" && continue
		out=$("$IPMD_BIN" "$c" "$o=x" --help 2>&1 </dev/null)
		check "$c does not take $o (not in its --help)" grep -q "unrecognized option" <<<"$out"
	done
done

# mount(8) runs mount.fuse.ipmaildir for type fuse.ipmaildir: the page
# names it too (make install links mount.fuse.ipmaildir.8 to it:
# 68-install.t).
check "mount.ipmaildir(8) NAME names mount.fuse.ipmaildir" \
	bash -c "sed -n '/^NAME/,/^SYNOPSIS/p' '$TEST_DIR/page8' | grep -q 'mount.ipmaildir, mount.fuse.ipmaildir'"
done_testing
