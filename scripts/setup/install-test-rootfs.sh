#!/usr/bin/env bash
# Builds the Debian userland of the real-software end-to-end suite (test/e2e/real-software.test.ts)
# with mmdebstrap from the Debian mirror: redis, python3, nginx, a headless JVM and busybox, plus
# the suite's own small programs (test/e2e/real-software/image/, the Java one compiled here with
# the image's own JVM). The tar is cached in ~/.cache/ferry/test-rootfs, keyed by the package
# list, the build options and the programs, so a machine builds it once; $FERRY_TOOLS/test-rootfs.tar
# points at the current one. The tests import it into each simulated host's podman and docker
# and unpack it as runc bundles (src/dev/test-images.ts).
# Also installs Debian's python3 on the host: the suite's plain-process case runs /usr/bin/python3.
set -euo pipefail
TOOLS="${FERRY_TOOLS:?}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROGRAMS="$ROOT/test/e2e/real-software/image"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/test-rootfs"
say() { echo "[setup] test rootfs: $*"; }

need=()
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
[ -x /usr/bin/python3 ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

SUITE=bookworm
PACKAGES=redis-server,redis-tools,python3,nginx,openjdk-17-jre-headless,busybox
# The same mirror as the system's Debian sources (deb.debian.org when none is found).
mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -E '^[[:space:]]*(URIs:|deb[[:space:]])' | grep -o -E 'https?://[^ ]+/debian/?([[:space:]]|$)' \
  | tr -d ' ' | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
mirror="${mirror%/}"
# No recommends, no documentation, man pages or translations: the image stays small.
# openjdk's postinst registers its man page with update-alternatives, so man1 must exist.
OPTIONS=(
  --variant=apt
  --aptopt='APT::Install-Recommends "false"'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --setup-hook='mkdir -p "$1/usr/share/man/man1"'
  --include="$PACKAGES"
)
# The programs go to /opt/ferry-tests; Counter.java is compiled by the image's JVM (its
# jdk.compiler module: the headless JRE has it, so no JDK is installed).
HOOKS=(
  --customize-hook='mkdir -p "$1/opt/ferry-tests/java" "$1/var/www/ferry"'
  --customize-hook="sync-in $PROGRAMS /opt/ferry-tests"
  --customize-hook='chroot "$1" java -m jdk.compiler/com.sun.tools.javac.Main -d /opt/ferry-tests/java /opt/ferry-tests/Counter.java'
  --customize-hook='chmod 0755 "$1"/opt/ferry-tests/*.sh'
)

key="$( {
  echo "recipe 1 $SUITE $PACKAGES"
  printf '%s\n' "${OPTIONS[@]}" "${HOOKS[@]}"
  (cd "$PROGRAMS" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
} | sha256sum | cut -c1-16)"
TAR="$CACHE/ferry-debian-$key.tar"
mkdir -p "$CACHE"
if [ -s "$TAR" ]; then
  ln -sfn "$TAR" "$TOOLS/test-rootfs.tar"
  say "$(du -m "$TAR" | cut -f1) MiB, cached ($TAR)"
  exit 0
fi

say "building $SUITE with $PACKAGES from $mirror (about a minute; cached afterwards)"
start=$(date +%s)
log="$CACHE/build-$key.log"
partial="$CACHE/partial-$key.tar" # mmdebstrap picks the output format from the name's ending
if ! mmdebstrap "${OPTIONS[@]}" "${HOOKS[@]}" "$SUITE" "$partial" \
  "deb $mirror $SUITE main" "deb ${mirror%/debian}/debian-security $SUITE-security main" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  rm -f "$partial"
  say "mmdebstrap failed (log: $log)" >&2
  exit 1
fi
mv "$partial" "$TAR"
ln -sfn "$TAR" "$TOOLS/test-rootfs.tar"
say "built in $(($(date +%s) - start)) s: $(du -m "$TAR" | cut -f1) MiB ($TAR)"
