#!/usr/bin/env bash
# 15-posix.t — POSIX semantics of the mount, checked by
# tests/tools/posix_conformance (pjdfstest-style, prints its own TAP).
#
# Section 1: every check group as root on a default mount.
# Section 2: the EACCES/EPERM checks as uid/gid 65534 on a mount with
#            -o allow_other,default_permissions (skipped when not root).
#
# Both programs' TAP is relayed into this script's one stream (renumbered,
# names prefixed) and the plan printed at the end, so stdout carries TAP
# only; everything else is "# " diagnostics.
. "$(dirname "$0")/lib.sh"

PC=$IPMD_TOOLS/posix_conformance
PC_TIMEOUT=${IPMD_POSIX_TIMEOUT:-900}
STORE=$TEST_DIR/store
MNT=$TEST_DIR/mnt

need_tool posix_conformance

# relay PREFIX TAPFILE RC — re-emit one run's TAP as checks of this script,
# then one check that the run finished: its plan was printed and kept, and
# its exit status agrees with what it reported.
relay() {
	local prefix=$1 file=$2 rc=$3 line plan= skipped= count=0 fails=0
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ [0-9]+(\ -)?\ ?(.*)$ ]]; then
			count=$((count + 1))
			local rest=${BASH_REMATCH[3]}
			if [ -z "${BASH_REMATCH[1]}" ]; then
				ok "$prefix$rest"
			elif [[ $rest =~ \#\ *[Tt][Oo][Dd][Oo] ]]; then
				# A failing TODO is reported as such, not counted.
				_tap_n=$((_tap_n + 1))
				echo "not ok $_tap_n - $prefix$rest"
			else
				fails=$((fails + 1))
				not_ok "$prefix$rest"
			fi
		elif [[ $line =~ ^1\.\.([0-9]+)(.*)$ ]]; then
			plan=${BASH_REMATCH[1]}
			[[ ${BASH_REMATCH[2]} =~ SKIP\ *(.*)$ ]] && skipped=${BASH_REMATCH[1]:-skipped}
		elif [[ $line =~ ^# ]]; then
			echo "$line"
		elif [[ $line =~ ^Bail\ out!\ *(.*)$ ]]; then
			# Not passed on: it would stop the whole suite, not this script.
			diag "${prefix}bailed out: ${BASH_REMATCH[1]}"
		else
			diag "${prefix}unexpected output: $line"
		fi
	done < "$file"
	if [ -n "$skipped" ] && [ "$plan" = 0 ]; then
		ok "${prefix}section # SKIP $skipped"
		return
	fi
	if [ -n "$plan" ] && [ "$plan" -eq "$count" ] && [ "$count" -gt 0 ] &&
		{ [ "$rc" -eq 0 ] || { [ "$rc" -eq 1 ] && [ "$fails" -gt 0 ]; }; }; then
		ok "${prefix:-posix_conformance: }ran to completion ($count checks)"
	else
		not_ok "${prefix:-posix_conformance: }ran to completion"
		diag "plan '${plan:-none}', $count checks seen, $fails failed, exit status $rc"
		[ "$rc" -eq 124 ] && diag "killed after ${PC_TIMEOUT}s"
	fi
}

if [ "$IPMD_TEST_TARGET" != plain ]; then
	ipmd_init "$STORE" || bail "ipmaildir init failed"
fi

# --- section 1: everything, as the user running the suite ---------------
ipmd_mount "$STORE" "$MNT" || bail "mount failed"
rc=0
timeout "$PC_TIMEOUT" "$PC" "$MNT" > "$TEST_DIR/posix.tap" || rc=$?
relay "" "$TEST_DIR/posix.tap" "$rc"

# --- section 2: EACCES as an unprivileged user -----------------------------
# as_nobody CMD... — run as uid/gid 65534 with no supplementary groups.
as_nobody() { (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$@"); }

unprivileged_section() {
	if [ "$(id -u)" -ne 0 ]; then
		ok "unprivileged: section # SKIP needs root to prepare and to switch user"
		return
	fi
	if ! command -v setpriv > /dev/null; then
		ok "unprivileged: section # SKIP setpriv (util-linux) not installed"
		return
	fi
	# A copy uid 65534 can surely execute, if it can reach TEST_DIR at all.
	install -m 0755 "$PC" "$TEST_DIR/posix_conformance"
	if ! as_nobody test -x "$TEST_DIR/posix_conformance"; then
		ok "unprivileged: section # SKIP uid 65534 cannot reach $TEST_DIR"
		return
	fi
	ipmd_umount "$MNT" || bail "unmount failed"
	if ! ipmd_mount "$STORE" "$MNT" -o allow_other,default_permissions; then
		not_ok "unprivileged: mount -o allow_other,default_permissions"
		return
	fi
	# The layout --as-unprivileged expects (see posix_conformance.c).
	local acl=$MNT/acl.$$ rc=0
	if ! { chmod 0755 "$MNT" && mkdir -m 0755 "$acl" &&
		printf 'owned by root\n' > "$acl/file" && chmod 0644 "$acl/file" &&
		mkdir -m 0755 "$acl/dir" && mkdir -m 0700 "$acl/private" &&
		: > "$acl/private/secret" && mkdir -m 0755 "$acl/mine" &&
		chown 65534:65534 "$acl/mine"; }; then
		not_ok "unprivileged: root prepares the tree (mkdir, chmod, chown)"
		return
	fi
	as_nobody timeout "$PC_TIMEOUT" "$TEST_DIR/posix_conformance" \
		--as-unprivileged "$acl" > "$TEST_DIR/posix-unpriv.tap" || rc=$?
	relay "unprivileged: " "$TEST_DIR/posix-unpriv.tap" "$rc"
	check "unprivileged: root removes the prepared tree" rm -rf "$acl"
}
unprivileged_section

ipmd_umount "$MNT" || not_ok "unmount"
done_testing
