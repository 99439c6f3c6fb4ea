#!/usr/bin/env bash
# Build (once) and cache actionlint, the GitHub Actions workflow linter, from the Go module proxy, and
# print the path of the binary as the LAST line of stdout (progress on stderr).
#
#   ${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/tools/actionlint-<version>/actionlint
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"   # github.com/rhysd/actionlint

DEST="${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/tools/actionlint-$ACTIONLINT_VERSION"
if [ -x "$DEST/actionlint" ]; then
  echo "$DEST/actionlint"
  exit 0
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib/find-go.sh"
find_go 1.22 "actionlint" || exit 1
echo "[setup-actionlint] building actionlint $ACTIONLINT_VERSION from the Go module proxy" >&2
mkdir -p "$DEST"
tmp=$(mktemp -d "$DEST/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="-trimpath" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
mv "$tmp/actionlint" "$DEST/actionlint"
echo "$DEST/actionlint"
