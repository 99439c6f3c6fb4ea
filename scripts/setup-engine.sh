#!/usr/bin/env bash
# Build (once) and cache the Pulumi engine binaries from the Go module proxy,
# and print the bin directory as the LAST line of stdout (progress on stderr):
#
#   ${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/engine/<PULUMI_VERSION>/bin/
#     pulumi                          the CLI (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
#     pulumi-language-nodejs          our own minimal Node.js language host (scripts/engine/langhost)
#     pulumi-resource-pulumi-nodejs   launcher for dynamic providers (@pulumi/pulumi/cmd/dynamic-provider)
#
# The Go module scripts/engine/ (go.mod + go.sum, committed) pins every module.
# A marker file holding a hash of the build inputs is written last: a half
# build, or a change of pins/sources, is rebuilt; otherwise this takes well
# under a second. Go's own caches stay at their defaults (/root/go/pkg/mod,
# /root/.cache/go-build) so a rebuild is warm.
#
# What the Go module proxy does NOT serve (checked 2026-11, see report in
# scripts/engine/README.md):
#   - github.com/pulumi/pulumi/pkg/v3@v3.270.0 (.zip refused) -> we use v3.274.1,
#     the nearest served version >= the npm SDK @pulumi/pulumi 3.270.0.
#   - github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 (no
#     version at all, pseudo-versions refused) -> our own host, see langhost/.
#   - github.com/pulumi/pulumi-command/provider (no version) -> no
#     pulumi-resource-command binary can be built here.
set -euo pipefail

# ---- pins --------------------------------------------------------------------
PULUMI_VERSION="v3.274.1"     # must match the pkg/v3 + sdk/v3 versions in scripts/engine/go.mod
GO_BUILD_TAGS="osusergo,grpcnotrace"
# -----------------------------------------------------------------------------

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOD_DIR="$REPO/scripts/engine"
CACHE="${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}"
DEST="$CACHE/engine/$PULUMI_VERSION"
MARKER="$DEST/.kafka-lab-complete"
T0=$SECONDS

log() { printf '[setup-engine +%3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }

# Hash of everything that determines the binaries.
recipe_hash() {
  {
    echo "$PULUMI_VERSION $GO_BUILD_TAGS"
    cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum"
    find "$MOD_DIR" -name '*.go' -type f | LC_ALL=C sort | xargs cat
    declare -f write_dynamic_provider_launcher
  } | sha256sum | cut -d' ' -f1
}

write_dynamic_provider_launcher() {
  # $1 = output path. Runs the SDK's dynamic provider entry point from the
  # project's node_modules (the engine starts plugins in the program directory).
  cat >"$1" <<'LAUNCHER'
#!/bin/sh
# kafka-lab: launcher for Pulumi dynamic providers (plugin "pulumi-nodejs").
entry=$(node -e 'process.stdout.write(require.resolve("@pulumi/pulumi/cmd/dynamic-provider", {paths: [process.cwd()]}))') || {
  echo "pulumi-resource-pulumi-nodejs: @pulumi/pulumi not found from $(pwd)" >&2
  exit 1
}
# The provider outlives a killed engine unless told: watch the engine (our parent) and stop with it.
node "$entry" "$@" &
provider=$!
engine=$PPID
trap 'kill "$provider" 2>/dev/null' TERM INT HUP
while kill -0 "$provider" 2>/dev/null; do
  if ! kill -0 "$engine" 2>/dev/null || [ "$(ps -o ppid= -p $$ | tr -d ' ')" != "$engine" ]; then
    kill "$provider" 2>/dev/null
    break
  fi
  sleep 2
done
wait "$provider"
LAUNCHER
  chmod +x "$1"
}

want="$(recipe_hash)"
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$want" ] \
  && [ -x "$DEST/bin/pulumi" ] && [ -x "$DEST/bin/pulumi-language-nodejs" ]; then
  log "cached: $DEST/bin"
  echo "$DEST/bin"
  exit 0
fi

grep -q "github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION" "$MOD_DIR/go.mod" \
  || { log "scripts/engine/go.mod does not pin pkg/v3 $PULUMI_VERSION (PULUMI_VERSION here)"; exit 1; }

log "stage check-go: building engine $PULUMI_VERSION into $DEST/bin"
command -v go >/dev/null 2>&1 || { log "go is required (Go >= 1.26: pkg/v3 $PULUMI_VERSION needs it)"; exit 1; }
log "using $(go version)"

mkdir -p "$DEST"
rm -f "$MARKER"
rm -rf "$DEST"/.build.*   # leftovers of an interrupted build
tmp="$(mktemp -d "$DEST/.build.XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

log "stage download: go mod download (module cache: $(go env GOMODCACHE))"
(cd "$MOD_DIR" && go mod download) >&2

log "stage build-cli: pulumi (cold build: several minutes on 2 cores)"
(cd "$MOD_DIR" && go build -tags "$GO_BUILD_TAGS" -ldflags "$ldflags" \
  -o "$tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) >&2

log "stage build-langhost: pulumi-language-nodejs (scripts/engine/langhost)"
(cd "$MOD_DIR" && go build -tags "$GO_BUILD_TAGS" -ldflags "$ldflags" \
  -o "$tmp/pulumi-language-nodejs" ./langhost) >&2

log "stage launcher: pulumi-resource-pulumi-nodejs"
write_dynamic_provider_launcher "$tmp/pulumi-resource-pulumi-nodejs"

log "stage check: $("$tmp/pulumi" version)"
[ "$("$tmp/pulumi" version)" = "$PULUMI_VERSION" ] || { log "unexpected CLI version"; exit 1; }

rm -rf "$DEST/bin"
mv "$tmp" "$DEST/bin"
trap - EXIT
echo "$want" >"$MARKER"
log "done: $DEST/bin"
echo "$DEST/bin"
