#!/usr/bin/env bash
# Sets up (idempotently), lints, and runs every test: unit tests and end-to-end tests against
# a real Temporal dev server, real CRIU, runc and rsync over SSH between simulated hosts.
# Ends with the line "N passed, N failed, N skipped".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

lint_failed=0
echo "[test] lint (eslint, prettier)"
npm run --silent lint || lint_failed=1

mkdir -p .ferry
results=.ferry/jest-results.json
rm -f "$results"
echo "[test] jest"
PATH="$ROOT/.tools/bin:$PATH" node --experimental-vm-modules node_modules/jest/bin/jest.js --runInBand --json --outputFile="$results" "$@"
jest_rc=$?

if [ -f "$results" ]; then
  read -r passed failed skipped < <(node -e '
    const r = require(process.argv[1]);
    console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites || 0), r.numPendingTests + (r.numTodoTests || 0));
  ' "$ROOT/$results")
else
  passed=0 failed=1 skipped=0
fi
failed=$((failed + lint_failed))
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$jest_rc" = 0 ] && [ "$lint_failed" = 0 ]
