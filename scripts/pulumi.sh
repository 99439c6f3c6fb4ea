#!/usr/bin/env bash
# Run the locally built Pulumi CLI with the project's settings:
#
#   bash scripts/pulumi.sh <pulumi args>        (or: npm run pulumi -- <args>)
#
# - PATH: Node.js >= 22 (scripts/setup-node.sh), then the engine bin dir
#   (scripts/setup-engine.sh: pulumi, the Node.js language host, plugin
#   launchers; plugins on PATH are found without any download), then PATH.
# - PULUMI_HOME=<repo>/.pulumi-home
# - PULUMI_BACKEND_URL=file://<repo>/.pulumi-state   (unless already set)
# - PULUMI_CONFIG_PASSPHRASE=kafka-lab-local         (unless it or
#   PULUMI_CONFIG_PASSPHRASE_FILE is set). This passphrase is documented and
#   NOT secret: it only protects the local lab stack's state file.
# - PULUMI_SKIP_UPDATE_CHECK=true, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
#   (no downloads; fail fast instead).
#
# Never run `pulumi install` or a bare `pulumi plugin install`: both try to
# download plugins.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

node_bin="$(bash "$REPO/scripts/setup-node.sh" | tail -n1)"
engine_bin="$(bash "$REPO/scripts/setup-engine.sh" | tail -n1)"
[ -x "$node_bin/node" ] || { echo "pulumi.sh: no node in '$node_bin'" >&2; exit 1; }
[ -x "$engine_bin/pulumi" ] || { echo "pulumi.sh: no pulumi in '$engine_bin'" >&2; exit 1; }

export PATH="$node_bin:$engine_bin:$PATH"
export PULUMI_HOME="$REPO/.pulumi-home"
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "$REPO/.pulumi-state"
  export PULUMI_BACKEND_URL="file://$REPO/.pulumi-state"
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="kafka-lab-local"
fi
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

exec "$engine_bin/pulumi" "$@"
