#!/usr/bin/env bash
# `npm run lab -- [up|down|status|ssh HOST [COMMAND]]`: puts Node.js >= 22 and the npm packages in place,
# then hands over to the runbook in scripts/lab.mjs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
node_bin=$(bash "$repo/scripts/setup-node.sh" | tail -n 1)
export PATH="$node_bin:$PATH"
cd "$repo"
# npm ci only when package-lock.json is newer than the last install (npm keeps its own copy in
# node_modules): a warm run skips it, and a run from inside `npm test` never pulls node_modules away
# from the tests running beside it.
if [ ! node_modules/.package-lock.json -nt package-lock.json ]; then
    echo "== npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
fi
exec node --import=tsx scripts/lab.mjs "$@"
