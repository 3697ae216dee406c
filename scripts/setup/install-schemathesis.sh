#!/usr/bin/env bash
# Makes schemathesis (PyPI), the property-based fuzzer of the HTTP API (docs/api.md#fuzzing),
# available as $FERRY_TOOLS/bin/schemathesis: a venv in ~/.cache/ferry shared by every
# checkout on this machine, installed once per pinned version (a marker file says it finished).
set -euo pipefail
TOOLS="${FERRY_TOOLS:?}"
BIN="$TOOLS/bin"
VERSION=4.32.5
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/schemathesis-$VERSION"
mkdir -p "$BIN"

if [ -f "$VENV/.installed" ] && "$VENV/bin/st" --version >/dev/null 2>&1; then
  ln -sf "$VENV/bin/st" "$BIN/schemathesis"
  echo "[setup] schemathesis: $("$VENV/bin/st" --version) (cached venv in $VENV)"; exit 0
fi
echo "[setup] schemathesis: installing $VERSION from PyPI into $VENV"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
touch "$VENV/.installed"
ln -sf "$VENV/bin/st" "$BIN/schemathesis"
echo "[setup] schemathesis: $("$VENV/bin/st" --version)"
