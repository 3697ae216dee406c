#!/usr/bin/env bash
# Runs the fault matrix on its own (real faults against a real dev environment) and prints
# its table: fault, outcome, copies running, state kept, time to recover.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh || exit 1
mkdir -p .ferry
rm -f .ferry/fault-matrix.md .ferry/jest-faults.json
PATH="$ROOT/.tools/bin:$PATH" node --experimental-vm-modules node_modules/jest/bin/jest.js --runInBand \
  --json --outputFile=.ferry/jest-faults.json test/e2e/faults.test.ts
rc=$?
echo
[ -f .ferry/fault-matrix.md ] && cat .ferry/fault-matrix.md
if [ -f .ferry/jest-faults.json ]; then
  node -e 'const r = require(process.argv[1]); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`)' "$ROOT/.ferry/jest-faults.json"
else
  echo "0 passed, 1 failed"
fi
exit $rc
