#!/usr/bin/env bash
# The main job: set up, bring up the dev environment, live-migrate a stateful runc container.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "$ROOT/bin/ferry" demo
