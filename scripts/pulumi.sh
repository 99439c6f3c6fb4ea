#!/usr/bin/env bash
# Run the locally built Pulumi CLI with the project's settings:
#
#   bash scripts/pulumi.sh <pulumi args>        (or: npm run pulumi -- <args>)
#   bash scripts/pulumi.sh --print-env          the same settings as NUL-separated NAME=value, for
#                                               the Automation API (scripts/lib/engine.mjs)
#
# - PATH: Node.js >= 22 (scripts/setup-node.sh), then the engine bin dir
#   (scripts/setup-engine.sh: pulumi and its Node.js language host), then PATH.
# - PULUMI_HOME=<repo>/.pulumi-home, with the command provider built by
#   setup-engine.sh installed in it as a plugin (`pulumi plugin install
#   --file`: no download).
# - PULUMI_BACKEND_URL=file://<repo>/.pulumi-state   (unless already set)
# - PULUMI_CONFIG_PASSPHRASE=kafka-lab-local         (unless it or
#   PULUMI_CONFIG_PASSPHRASE_FILE is set). This passphrase is documented and
#   NOT secret: it only protects the local lab stack's state file.
# - PULUMI_NODEJS_TRANSPILE_ONLY=true (unless set): `npm test` type-checks.
# - PULUMI_SKIP_UPDATE_CHECK=true, and PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
#   when the plugin was built here (no downloads; fail fast instead).
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
# The lab's host tools (debootstrap, losetup, mkfs.ext4, chroot) live in sbin, which a root shell made
# with `su` (not `su -`) leaves out of PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" ;; esac
export PULUMI_HOME="$REPO/.pulumi-home"
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "$REPO/.pulumi-state"
  export PULUMI_BACKEND_URL="file://$REPO/.pulumi-state"
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="kafka-lab-local"
fi
export PULUMI_SKIP_UPDATE_CHECK=true
# ts-node compiles the program without type-checking it again (seconds off every run): `npm test`
# type-checks the whole program (tsc --noEmit, strict) instead.
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"

# The command provider: installed from the local build when there is one (re-installed when the build
# changed); otherwise Pulumi fetches it from its own site, as it would anywhere.
COMMAND_VERSION=1.2.1
built_plugin="$(dirname "$engine_bin")/plugins/pulumi-resource-command"
if [ -x "$built_plugin" ]; then
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  installed_plugin="$PULUMI_HOME/plugins/resource-command-v$COMMAND_VERSION/pulumi-resource-command"
  if ! cmp -s "$built_plugin" "$installed_plugin"; then
    mkdir -p "$PULUMI_HOME"
    # Two runs at once must not install over each other.
    (
      flock 9
      cmp -s "$built_plugin" "$installed_plugin" \
        || "$engine_bin/pulumi" plugin install resource command "$COMMAND_VERSION" --file "$built_plugin" --reinstall >&2
    ) 9>"$PULUMI_HOME/.plugin-install.lock"
  fi
fi

if [ "${1:-}" = "--print-env" ]; then
  printf 'KAFKA_LAB_ENGINE_BIN=%s\0' "$engine_bin"
  for name in PATH PULUMI_HOME PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE PULUMI_CONFIG_PASSPHRASE_FILE \
    PULUMI_SKIP_UPDATE_CHECK PULUMI_NODEJS_TRANSPILE_ONLY PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION; do
    if [ -n "${!name+x}" ]; then printf '%s=%s\0' "$name" "${!name}"; fi
  done
  exit 0
fi

exec "$engine_bin/pulumi" "$@"
