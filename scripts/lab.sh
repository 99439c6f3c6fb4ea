#!/usr/bin/env bash
# `npm run lab -- [up|down|status|ssh HOST [COMMAND]]`: puts Node.js >= 22 and the npm packages in place,
# then hands over to the runbook in scripts/lab.mjs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
node_bin=$(bash "$repo/scripts/setup-node.sh" | tail -n 1)
export PATH="$node_bin:$PATH"
cd "$repo"
# npm ci only when package-lock.json changed since the last install: a warm run skips it.
stamp=node_modules/.kafka-lab-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
    echo "$want" >"$stamp"
fi
exec node --import=tsx scripts/lab.mjs "$@"
