#!/usr/bin/env bash
# Build (once) and cache the Pulumi engine, and print its bin directory as the LAST line of stdout
# (progress on stderr):
#
#   ${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/engine/<PULUMI_VERSION>/bin/
#     pulumi                    the CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi from the Go module proxy
#     pulumi-language-nodejs    Pulumi's own Node.js language host, from the upstream source in the vendor dir,
#                               built with the CLI in one `go build` (same Pulumi version: the packages they
#                               share compile once, about 100 s less on 2 cores)
#   .../plugins/
#     pulumi-resource-command   the `command` provider behind @pulumi/command, from the upstream source in
#                               the vendor dir; scripts/pulumi.sh installs it as a plugin (kept off PATH,
#                               where Pulumi would warn that it uses a plugin from $PATH)
#
# Why: Pulumi's download site cannot be reached here, and the Go module proxy serves the CLI but neither
# the language host nor the command provider. Their upstream sources (Apache-2.0) are kept in
# ../shared/vendor (KAFKA_LAB_VENDOR overrides the path); every Go dependency comes from the proxy.
# The two builds (CLI with language host; provider, whose pulumi-go-provider does not compile against
# pkg/v3 3.259) run in parallel. A marker holding a hash of every input is written last: a half build, or
# a change of pins or sources, is rebuilt; otherwise this takes well under a second.
#
# Without the vendor dir, the Pulumi you installed the usual way is used instead (a `pulumi` and its
# `pulumi-language-nodejs` on PATH), and Pulumi fetches the command plugin itself; where neither can be
# had, this stops and says what is missing.
set -euo pipefail

# ---- pins --------------------------------------------------------------------
PULUMI_VERSION="v3.259.0"   # the language host's own version: pkg/v3 in scripts/engine/go.mod, and @pulumi/pulumi in package.json
LANGHOST_VERSION="3.259.0"
COMMAND_VERSION="1.2.1"     # must match @pulumi/command in package.json
LANGHOST_TARBALL="pulumi-language-nodejs-$LANGHOST_VERSION.tar.gz"
LANGHOST_SHA256="ef138952c3184a20a40df5f2263e4dec1f6873080faedcb9ec80b24007bc5eda"
COMMAND_TARBALL="pulumi-command-provider-$COMMAND_VERSION.tar.gz"
COMMAND_SHA256="6701b53faf9a887fad9c9c715739d3eb60e665fbc0113b069b3a4ca68e93375e"
GO_BUILD_TAGS="osusergo,grpcnotrace"
# -----------------------------------------------------------------------------

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOD_DIR="$REPO/scripts/engine"
VENDOR="${KAFKA_LAB_VENDOR:-$REPO/../shared/vendor}"
CACHE="${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}"
DEST="$CACHE/engine/$PULUMI_VERSION"
MARKER="$DEST/.kafka-lab-complete"
T0=$SECONDS

log() { printf '[setup-engine +%3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Hash of everything that determines the binaries.
recipe_hash() {
  {
    echo "$PULUMI_VERSION $LANGHOST_SHA256 $COMMAND_SHA256 $GO_BUILD_TAGS"
    cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum" "$MOD_DIR/tools.go"
  } | sha256sum | cut -d' ' -f1
}

want="$(recipe_hash)"
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$want" ]; then
  log "cached: $DEST/bin"
  echo "$DEST/bin"
  exit 0
fi

if [ ! -f "$VENDOR/$LANGHOST_TARBALL" ] || [ ! -f "$VENDOR/$COMMAND_TARBALL" ]; then
  # No sources to build from: a Pulumi installed the usual way brings its own language host, and
  # scripts/pulumi.sh lets it fetch the command plugin from Pulumi's site.
  if command -v pulumi >/dev/null 2>&1 && command -v pulumi-language-nodejs >/dev/null 2>&1; then
    log "no vendored sources in $VENDOR: using the installed Pulumi ($(command -v pulumi), $(pulumi version))"
    dirname "$(command -v pulumi)"
    exit 0
  fi
  die "cannot set up the Pulumi engine. Missing: $VENDOR/$LANGHOST_TARBALL and $VENDOR/$COMMAND_TARBALL
  (the upstream sources of pulumi-language-nodejs $LANGHOST_VERSION and pulumi-resource-command $COMMAND_VERSION),
  and no Pulumi installed the usual way (a 'pulumi' with its 'pulumi-language-nodejs' on PATH).
  Either put the two tarballs there (or set KAFKA_LAB_VENDOR to their folder), or install Pulumi
  (https://www.pulumi.com/docs/install/) on a machine that can reach its download site."
fi

grep -q "github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION" "$MOD_DIR/go.mod" \
  || die "scripts/engine/go.mod does not pin pkg/v3 $PULUMI_VERSION (PULUMI_VERSION here)"
. "$REPO/scripts/lib/find-go.sh"
find_go 1.26 "the Pulumi engine (pkg/v3 $PULUMI_VERSION)" || exit 1
log "building the engine into $DEST/bin with $(go version)"

for pair in "$LANGHOST_TARBALL $LANGHOST_SHA256" "$COMMAND_TARBALL $COMMAND_SHA256"; do
  set -- $pair
  [ "$(sha256sum <"$VENDOR/$1" | cut -d' ' -f1)" = "$2" ] \
    || die "$VENDOR/$1 does not have the pinned sha256 $2: not the source this project was checked with"
done

mkdir -p "$DEST"
# Two test files (or two runs) may ask at once: one builds, the other waits, then finds the marker.
exec 9>"$DEST/.build.lock"
if ! flock -n 9; then
  log "another run is building the engine: waiting for it"
  flock -w 3600 9 || die "timed out waiting for another engine build (lock $DEST/.build.lock)"
fi
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$want" ]; then
  log "built by another run meanwhile: $DEST/bin"
  echo "$DEST/bin"
  exit 0
fi
rm -f "$MARKER"
rm -rf "$DEST"/.build.*   # leftovers of an interrupted build
tmp="$(mktemp -d "$DEST/.build.XXXXXX")"
chmod 755 "$tmp"
mkdir "$tmp/bin" "$tmp/plugins" "$tmp/src"
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
# The engine module with the language host's source where its go.mod points (./langhost).
mkdir "$tmp/src/engine"
cp "$MOD_DIR/go.mod" "$MOD_DIR/go.sum" "$MOD_DIR/tools.go" "$tmp/src/engine/"
tar -xzf "$VENDOR/$LANGHOST_TARBALL" -C "$tmp/src/engine"
mv "$tmp/src/engine/pulumi-language-nodejs-$LANGHOST_VERSION" "$tmp/src/engine/langhost"
tar -xzf "$VENDOR/$COMMAND_TARBALL" -C "$tmp/src"

# One build in the background: its output goes to a log, shown only when it fails. OUT is a file, or a
# directory (ending in /) for several packages.
build() {
  local name=$1 out=$2 dir=$3 ldflags=$4 start=$SECONDS
  shift 4
  (cd "$dir" && go build -tags "$GO_BUILD_TAGS" -ldflags "-s -w $ldflags" -o "$out" "$@") >"$tmp/$name.log" 2>&1 \
    && log "built $name in $((SECONDS - start))s" \
    || { log "building $name failed:"; tail -n 40 "$tmp/$name.log" >&2; return 1; }
}

log "building pulumi $PULUMI_VERSION with pulumi-language-nodejs $LANGHOST_VERSION, and pulumi-resource-command $COMMAND_VERSION beside them (cold: several minutes on 2 cores)"
build "pulumi and pulumi-language-nodejs" "$tmp/bin/" "$tmp/src/engine" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 &
engine=$!
build pulumi-resource-command "$tmp/plugins/pulumi-resource-command" "$tmp/src/pulumi-command-provider-$COMMAND_VERSION" \
  "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_VERSION" ./cmd/pulumi-resource-command &
provider=$!
failed=0
for job in $engine $provider; do wait "$job" || failed=1; done
[ "$failed" = 0 ] || die "the engine build failed (see above)"
[ -x "$tmp/bin/pulumi-language-nodejs" ] || die "the build made no pulumi-language-nodejs"

[ "$("$tmp/bin/pulumi" version)" = "$PULUMI_VERSION" ] || die "unexpected CLI version: $("$tmp/bin/pulumi" version)"
rm -rf "$DEST/bin" "$DEST/plugins"
mv "$tmp/bin" "$DEST/bin"
mv "$tmp/plugins" "$DEST/plugins"
rm -rf "$tmp"
trap - EXIT
echo "$want" >"$MARKER"
log "done: $DEST/bin"
echo "$DEST/bin"
