#!/usr/bin/env bash
# A fresh clone installs from the npm registry alone, without any npm warning: clones the committed
# HEAD into a temporary directory, runs `npm ci` there (bounded by a timeout), and checks that it
# succeeded, printed no "npm warn" line, and that onnxruntime-node did not fetch its CUDA provider
# (which comes from NuGet, not the npm registry). Slow (a full install, ~2 min or more when
# better-sqlite3 compiles): a CI step, not part of `npm test`.
#
#   scripts/check-fresh-install.sh [timeout-seconds]   (default 1800)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
limit="${1:-1800}"
work="$(mktemp -d "${TMPDIR:-/tmp}/spleeter-fresh-install-XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-hardlinks "$repo" "$work/clone"
cd "$work/clone"
# No GPU opt-in from the caller's environment.
unset ONNXRUNTIME_NODE_INSTALL npm_config_onnxruntime_node_install
status=0
timeout "$limit" npm ci >"$work/npm-ci.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  tail -n 40 "$work/npm-ci.log"
  echo "check-fresh-install: npm ci failed (exit $status)" >&2
  exit 1
fi
if grep -i "npm warn" "$work/npm-ci.log"; then
  echo "check-fresh-install: npm ci printed warnings (above)" >&2
  exit 1
fi
if find node_modules/onnxruntime-node -name 'libonnxruntime_providers_cuda*' | grep -q .; then
  echo "check-fresh-install: onnxruntime-node downloaded its CUDA provider" >&2
  exit 1
fi
node -e "require('onnxruntime-node'); require('better-sqlite3')"
echo "check-fresh-install: ok (npm ci from the npm registry only, no warnings)"
