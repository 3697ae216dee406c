#!/usr/bin/env bash
# Makes a CRIU >= 4.2 available as $FERRY_TOOLS/bin/criu.
# Uses the system's criu when `criu check` passes and it is new enough; otherwise unpacks
# criu and its runtime libraries from Debian unstable into a private prefix (the system's
# libc stays untouched) and puts a wrapper named `criu` there. runc finds criu through PATH,
# so $FERRY_TOOLS/bin must come first on PATH for every ferry process.
set -euo pipefail
TOOLS="${FERRY_TOOLS:?}"
BIN="$TOOLS/bin"
PREFIX="$TOOLS/criu/prefix"
mkdir -p "$BIN"

criu_ok() { # $1 = criu binary; true when version >= 4.2 and `criu check` passes
  local v
  v="$("$1" --version 2>/dev/null | sed -n 's/^Version: *//p')" || return 1
  [ -n "$v" ] || return 1
  printf '4.2\n%s\n' "$v" | sort -V -C || return 1   # 4.2 <= v
  "$1" check >/dev/null 2>&1
}

if [ -x "$BIN/criu" ] && criu_ok "$BIN/criu"; then
  echo "[setup] criu: $("$BIN/criu" --version | sed -n 's/^Version: *//p') (cached private copy)"; exit 0
fi
sys="$(PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin command -v criu || true)"
if [ -n "$sys" ] && criu_ok "$sys"; then
  ln -sf "$sys" "$BIN/criu"
  echo "[setup] criu: using system $sys ($("$sys" --version | sed -n 's/^Version: *//p'))"; exit 0
fi

echo "[setup] criu: system criu missing, too old or failing 'criu check'; unpacking criu from Debian unstable into $PREFIX"
APT="$TOOLS/criu/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$TOOLS/criu/debs"
# Same mirror as the system's own Debian sources, suite sid.
mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -E '^[[:space:]]*(URIs:|deb[[:space:]])' | grep -o -E 'https?://[^ ]+/debian/?([[:space:]]|$)' \
  | tr -d ' ' | head -n1 || true)"
[ -n "$mirror" ] || { echo "[setup] criu: cannot find a Debian mirror in /etc/apt sources" >&2; exit 1; }
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} sid main" > "$APT/sources.list"
aptopts=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "APT::Get::List-Cleanup=0"
  -o "Debug::NoLocking=1")
apt-get "${aptopts[@]}" update -qq
pkgs=(criu libcompel1 libc6 libgnutls30t64 libnftables1 libnftnl11 libprotobuf-c1 libnl-3-200
  libnet9 libbsd0 libuuid1 libmd0 libjansson4 libmnl0 libxtables12 libedit2 libgmp10
  libhogweed6t64 libnettle8t64 libidn2-0 libp11-kit0 libtasn1-6 libunistring5 libffi8
  libbrotli1 libzstd1 libtinfo6 libcap2 libselinux1 libpcre2-8-0 libgcc-s1)
rm -rf "$TOOLS/criu/debs" && mkdir -p "$TOOLS/criu/debs"
(cd "$TOOLS/criu/debs" && apt-get "${aptopts[@]}" download "${pkgs[@]}" >/dev/null)
rm -rf "$PREFIX" && mkdir -p "$PREFIX"
for deb in "$TOOLS/criu/debs"/*.deb; do dpkg -x "$deb" "$PREFIX"; done
cat > "$BIN/criu" <<WRAP
#!/bin/sh
# ferry: private CRIU from Debian unstable, run with its own loader and libraries.
exec "$PREFIX/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$PREFIX/usr/lib/x86_64-linux-gnu" "$PREFIX/usr/sbin/criu" "\$@"
WRAP
chmod 755 "$BIN/criu"
if ! criu_ok "$BIN/criu"; then
  echo "[setup] criu: the private copy does not pass 'criu check':" >&2
  "$BIN/criu" check >&2 || true
  exit 1
fi
echo "[setup] criu: $("$BIN/criu" --version | sed -n 's/^Version: *//p') (private copy from Debian unstable)"
