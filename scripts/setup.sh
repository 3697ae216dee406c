#!/usr/bin/env bash
# Installs and builds everything ferry needs on a fresh Debian machine, idempotently:
# Debian packages, CRIU >= 4.2, the Temporal CLI, npm dependencies, native helpers, the build.
# Users with their own Temporal cluster and CRIU can skip this: see docs/install.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FERRY_TOOLS="$ROOT/.tools"
mkdir -p "$FERRY_TOOLS/bin"
say() { echo "[setup] $*"; }

if [ "$(id -u)" != 0 ]; then
  say "ferry drives CRIU, runc and sshd, which need root: run this as root" >&2
  exit 1
fi

# 1. Debian packages
# podman and docker.io: the podman and docker runtimes (docs/runtimes.md). Their services are not
# needed: ferry dev up starts one dockerd per simulated host; real hosts run their own.
# chromium: the end-to-end test that reads a migration in the Temporal UI drives Debian's build
# headless through playwright-core; no browser is downloaded. systemd: systemd-analyze verifies
# the worker's unit files in the tests (no service is started).
PACKAGES=(runc rsync openssh-server openssh-client iptables busybox-static iproute2 gcc libc6-dev ca-certificates procps podman docker.io util-linux tar chromium systemd)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present: ${PACKAGES[*]}"
fi

# 2. Node.js
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  say "Node.js >= 20.19 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# 3. CRIU, 4. the Temporal CLI, and the pre-copy proof guest
bash "$ROOT/scripts/setup/install-criu.sh"
bash "$ROOT/scripts/setup/install-temporal-cli.sh"
# The pre-copy proof guest: qemu and Debian's stock kernel (docs/precopy.md)
bash "$ROOT/scripts/setup/install-guest-kernel.sh"
bash "$ROOT/scripts/setup/install-test-rootfs.sh" # Debian userland of the real-software e2e suite (mmdebstrap, cached)
bash "$ROOT/scripts/setup/install-schemathesis.sh" # the HTTP API fuzzer (PyPI, venv cached)

# Post-copy: CRIU's lazy page server needs a 4 MiB pipe, more than the default fs.pipe-max-size
# (1 MiB) allows a process without CAP_SYS_RESOURCE (docs/migration-modes.md). Only raised,
# never lowered; not persisted (operators: /etc/sysctl.d, see docs/install.md).
PIPE_MAX=$(cat /proc/sys/fs/pipe-max-size)
if [ "$PIPE_MAX" -lt 4194304 ]; then
  if echo 4194304 >/proc/sys/fs/pipe-max-size 2>/dev/null; then
    say "fs.pipe-max-size raised from $PIPE_MAX to 4194304 (post-copy)"
  else
    say "fs.pipe-max-size is $PIPE_MAX and cannot be raised here: post-copy will be refused" >&2
  fi
fi

# 5. npm dependencies (only when the lock file changed)
cd "$ROOT"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm dependencies up to date"
fi

# 6. Native helpers (static, so they also run inside containers) and the TypeScript build
for prog in ferry-shim ferry-stateful; do
  if [ ! -x "$FERRY_TOOLS/bin/$prog" ] || [ "native/$prog.c" -nt "$FERRY_TOOLS/bin/$prog" ]; then
    say "compiling $prog"
    gcc -O2 -static -Wall -Wextra -o "$FERRY_TOOLS/bin/$prog" "native/$prog.c"
  fi
done
# The Compose file validator (compose-go, the loader of Docker Compose v2) for the deployment
# tests: Go from the machine, or Debian's golang-go; modules from the Go module proxy.
if [ ! -x "$FERRY_TOOLS/bin/compose-validate" ] || [ tools/compose-validate/main.go -nt "$FERRY_TOOLS/bin/compose-validate" ]; then
  if ! command -v go >/dev/null 2>&1; then
    say "installing Debian's golang-go for the compose validator"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go >/dev/null
  fi
  say "building compose-validate (compose-go)"
  (cd tools/compose-validate && GOFLAGS=-buildvcs=false go build -o "$FERRY_TOOLS/bin/compose-validate" .)
fi
say "building ferry (tsc and the workflow bundle)"
mkdir -p .ferry
if ! npm run --silent build >.ferry/build.log 2>&1; then
  cat .ferry/build.log >&2
  say "build failed" >&2
  exit 1
fi
say "ready: bin/ferry --help"
