#!/usr/bin/env bash
# tests/ipfs-node/kubo-install.sh — provide Kubo (the Go IPFS node) for the
# tests and for users (run by .ci/deps; idempotent, quiet once done).
#
# In this order:
#   1. an `ipfs` on PATH that is Kubo >= KUBO_MIN (0.40) is used as is;
#   2. the pinned KUBO_VERSION already built here (.kubo/bin/ipfs) is used;
#   3. with a Go toolchain new enough (go.mod of Kubo says 1.26), it is built
#      from the Go module proxy into tests/ipfs-node/.kubo/ (git-ignored,
#      kept between runs: nothing is rebuilt while that binary is there);
#   4. else, with npm, the npm package `kubo` (which fetches the release
#      binary) is installed under tests/ipfs-node/.kubo/npm/.
# Prints the path of the ipfs binary on stdout; progress goes to stderr.
#
# Why not `go install …/cmd/ipfs@vX`: Kubo 0.43.1's go.mod replaces
# go-libp2p by a fork pseudo-version that module proxies may not serve; a
# replace directive refuses `go install pkg@version`.  Its own comment says
# to drop it once a go-libp2p release requires quic-go >= 0.62 and
# webtransport-go >= 0.13: go-libp2p v0.50.0 does.  So the module is
# downloaded, the replace dropped, v0.50.0 required, and it is built.
#
# env:
#   IPMD_SKIP_KUBO=1  do nothing, exit 0 (tests/integration/01-fresh-machine.t)
#   IPMD_KUBO         an ipfs binary to use instead of searching
#   GO                the go command (default: go on PATH, then /usr/local/go/bin/go)
# Exit status: 0 found or installed, 1 none could be provided (why on stderr).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBO_VERSION=0.43.1
KUBO_MIN=0.40
GO_MIN=1.26
LIBP2P=github.com/libp2p/go-libp2p
LIBP2P_VERSION=v0.50.0
DEST=$HERE/.kubo
BIN=$DEST/bin/ipfs

[ "${IPMD_SKIP_KUBO:-}" = 1 ] && exit 0

# ver_ge A B — version A >= B (dotted numbers)
ver_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
# kubo_version BIN — "0.43.1" when BIN is Kubo, nothing otherwise
kubo_version() {
	local out
	out=$("$1" version 2>/dev/null) || return 1
	case "$out" in "ipfs version "*) echo "${out#ipfs version }" ;; *) return 1 ;; esac
}

if [ -n "${IPMD_KUBO:-}" ]; then
	v=$(kubo_version "$IPMD_KUBO") || { echo "kubo-install: IPMD_KUBO=$IPMD_KUBO is not Kubo" >&2; exit 1; }
	echo "$IPMD_KUBO"
	exit 0
fi
if c=$(command -v ipfs) && v=$(kubo_version "$c") && ver_ge "$v" "$KUBO_MIN"; then
	echo "$c"
	exit 0
fi
if [ -x "$BIN" ] && [ "$(kubo_version "$BIN" || true)" = "$KUBO_VERSION" ]; then
	echo "$BIN"
	exit 0
fi
NPM_BIN=$DEST/npm/node_modules/kubo/bin/ipfs
if [ -x "$NPM_BIN" ] && [ "$(kubo_version "$NPM_BIN" || true)" = "$KUBO_VERSION" ]; then
	echo "$NPM_BIN"
	exit 0
fi

mkdir -p "$DEST"
# one installer at a time (parallel test scripts, make -j)
exec 9>"$DEST/.install.lock"
flock 9
if [ -x "$BIN" ] && [ "$(kubo_version "$BIN" || true)" = "$KUBO_VERSION" ]; then
	echo "$BIN"
	exit 0
fi

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
go_ok() {
	local v
	[ -x "$(command -v "$GO" || true)" ] || return 1
	v=$("$GO" env GOVERSION 2>/dev/null) || return 1 # "go1.26.8"
	v=${v#go}
	ver_ge "$v" "$GO_MIN"
}

if go_ok; then
	echo "kubo-install: building Kubo $KUBO_VERSION with $("$GO" env GOVERSION) into $DEST (minutes, once) ..." >&2
	work=$DEST/src
	rm -rf "$work"
	dir=$("$GO" mod download -json "github.com/ipfs/kubo@v$KUBO_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] && [ -d "$dir" ] || { echo "kubo-install: go mod download of kubo v$KUBO_VERSION failed" >&2; exit 1; }
	cp -r "$dir" "$work"
	chmod -R u+w "$work"
	(
		cd "$work"
		"$GO" mod edit -dropreplace "$LIBP2P" -require "$LIBP2P@$LIBP2P_VERSION"
		GOFLAGS=-mod=mod nice "$GO" build -trimpath -o "$BIN.new" ./cmd/ipfs
	) >&2 || { echo "kubo-install: go build of Kubo $KUBO_VERSION failed" >&2; rm -f "$BIN.new"; exit 1; }
	mv "$BIN.new" "$BIN"
	rm -rf "$work"
	[ "$(kubo_version "$BIN" || true)" = "$KUBO_VERSION" ] ||
		{ echo "kubo-install: the built binary is not Kubo $KUBO_VERSION" >&2; exit 1; }
	echo "kubo-install: Kubo $KUBO_VERSION at $BIN" >&2
	echo "$BIN"
	exit 0
fi

if command -v npm >/dev/null; then
	# The npm package downloads the release binary from the IPFS project's
	# distribution site at install time (its install script).
	echo "kubo-install: no Go >= $GO_MIN; installing the npm package kubo@$KUBO_VERSION into $DEST/npm ..." >&2
	mkdir -p "$DEST/npm"
	npm install --no-audit --no-fund --no-save --loglevel=error --prefix "$DEST/npm" "kubo@$KUBO_VERSION" >&2 ||
		{ echo "kubo-install: npm install kubo@$KUBO_VERSION failed (it fetches the release binary: is there internet?)" >&2; exit 1; }
	[ "$(kubo_version "$NPM_BIN" || true)" = "$KUBO_VERSION" ] ||
		{ echo "kubo-install: the npm package kubo gave no working ipfs at $NPM_BIN" >&2; exit 1; }
	echo "kubo-install: Kubo $KUBO_VERSION at $NPM_BIN" >&2
	echo "$NPM_BIN"
	exit 0
fi

echo "kubo-install: no Kubo >= $KUBO_MIN on PATH, no Go >= $GO_MIN, no npm: install Kubo $KUBO_VERSION (an ipfs on PATH) or Go, then run make deps" >&2
exit 1
