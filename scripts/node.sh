#!/usr/bin/env bash
# Runs one of the project's Node.js scripts, or any command, with what it needs: Node.js >= 22 first on
# PATH (from the npm registry when the machine's is older) and the npm packages.
#
#   bash scripts/node.sh scripts/lab.mjs [args]      a script (npm run lab -- [args])
#   bash scripts/node.sh exec COMMAND [args]         a command, e.g. `npm test` on a machine with Node 20
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
node_bin=$(bash "$repo/scripts/setup-node.sh" | tail -n 1)
export PATH="$node_bin:$PATH"
# The lab's host tools (debootstrap, losetup, mkfs.ext4, chroot) live in sbin, which a root shell made
# with `su` (not `su -`) leaves out of PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" ;; esac
cd "$repo"
# npm ci only when package-lock.json is newer than the last install (npm keeps its own copy in
# node_modules): a warm run skips it, and a run from inside `npm test` never pulls node_modules away
# from the tests running beside it.
if [ ! node_modules/.package-lock.json -nt package-lock.json ]; then
    echo "== npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
fi
if [ "$1" = exec ]; then
    shift
    exec "$@"
fi
script=$1
shift
# tsx lets the scripts import the program's own TypeScript modules (defaults, rendering).
exec node --import=tsx "$script" "$@"
