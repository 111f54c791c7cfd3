#!/usr/bin/env bash
# `npm test`: type-check, check that src/openapi-metadata.ts matches the DTOs, lint (ESLint +
# Prettier), then every jest project (unit, integration, e2e)
# with coverage. Integration/e2e specs use the real Redis (127.0.0.1:6379) and PostgreSQL
# (127.0.0.1:5432); .ci/run starts them when they are down.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p web/tsconfig.json
echo "== OpenAPI plugin metadata (src/openapi-metadata.ts) up to date"
node -r @swc-node/register scripts/openapi-metadata.ts --check
echo "== lint"
npx eslint "{src,test,scripts}/**/*.ts" "web/src/**/*.{ts,tsx}"
echo "== tests"
npx jest --coverage --ci --forceExit "$@"
