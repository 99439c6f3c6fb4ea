#!/usr/bin/env bash
# Extract (once) and cache promtool from Debian's prometheus package, the same Prometheus the lab's
# machines run, so that the tests can check the lab's alert rules with Prometheus' own rule tests
# (`promtool test rules`). Prints the path of the binary as the LAST line of stdout (progress on stderr).
#
#   ${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/tools/promtool-<package version>/promtool
set -euo pipefail

command -v apt-get >/dev/null || { echo "[setup-promtool] needs apt-get (Debian's prometheus package)" >&2; exit 1; }
version=$(apt-cache policy prometheus 2>/dev/null | sed -n 's/^ *Candidate: //p')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  echo "[setup-promtool] apt knows no prometheus package: updating its lists" >&2
  apt-get update -qq >&2
  version=$(apt-cache policy prometheus | sed -n 's/^ *Candidate: //p')
fi
[ -n "$version" ] && [ "$version" != "(none)" ] || { echo "[setup-promtool] no prometheus package in apt's sources" >&2; exit 1; }
DEST="${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/tools/promtool-$version"
if [ -x "$DEST/promtool" ]; then
  echo "$DEST/promtool"
  exit 0
fi
echo "[setup-promtool] extracting promtool from Debian's prometheus $version" >&2
mkdir -p "$DEST"
tmp=$(mktemp -d "$DEST/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq "prometheus=$version" >&2 && dpkg-deb -x prometheus_*.deb root)
mv "$tmp/root/usr/bin/promtool" "$DEST/promtool"
"$DEST/promtool" --version >&2
echo "$DEST/promtool"
