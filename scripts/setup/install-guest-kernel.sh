#!/usr/bin/env bash
# Pieces of the pre-copy proof guest (docs/precopy.md): qemu, and Debian's stock kernel (which
# tracks dirty pages, unlike many VM kernels) with the modules the guest loads. Idempotent;
# cached under $FERRY_TOOLS/guest. The package name moves with the kernel's version: it is
# resolved through linux-image-amd64.
set -euo pipefail
TOOLS="${FERRY_TOOLS:?}"
GUEST="$TOOLS/guest"
say() { echo "[setup] $*"; }

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
for p in cpio xz-utils; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

LAYOUT=4 # bump when the set of modules changes
if [ -f "$GUEST/vmlinuz" ] && [ "$(cat "$GUEST/layout" 2>/dev/null)" = "$LAYOUT" ]; then
  say "guest kernel: $(cat "$GUEST/kernel-version") (cached)"; exit 0
fi
pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: *\(linux-image-[0-9].*\)$/\1/p' | head -n1)"
if [ -z "$pkg" ]; then apt-get update -qq; pkg="$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: *\(linux-image-[0-9].*\)$/\1/p' | head -n1)"; fi
[ -n "$pkg" ] || { echo "[setup] cannot resolve linux-image-amd64 to a kernel package" >&2; exit 1; }
say "guest kernel: downloading $pkg"
rm -rf "$GUEST.tmp" && mkdir -p "$GUEST.tmp/deb" "$GUEST.tmp/root"
(cd "$GUEST.tmp/deb" && apt-get download "$pkg" >/dev/null)
dpkg -x "$GUEST.tmp/deb"/*.deb "$GUEST.tmp/root"
version="${pkg#linux-image-}"
mkdir -p "$GUEST.tmp/out/modules"
cp "$GUEST.tmp/root/boot/vmlinuz-$version" "$GUEST.tmp/out/vmlinuz"
grep -q '^CONFIG_MEM_SOFT_DIRTY=y' "$GUEST.tmp/root/boot/config-$version" \
  || { echo "[setup] $pkg has no CONFIG_MEM_SOFT_DIRTY" >&2; exit 1; }
# Modules the guest loads, each after what it depends on (read from the module's own modinfo).
moddir="$GUEST.tmp/root/lib/modules/$version"
modfile() { find "$moddir" -name "$1.ko*" | head -n1; }
unpack() { case "$1" in *.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *) cat "$1" ;; esac; }
declare -A added=()
add() {
  local m="$1" f d
  [ -z "${added[$m]:-}" ] || return 0
  added[$m]=1
  f="$(modfile "$m")"
  if [ -z "$f" ]; then say "guest kernel: module $m not in $pkg (built in?)"; return 0; fi
  unpack "$f" > "$GUEST.tmp/out/modules/$m.ko"
  for d in $(grep -a -o 'depends=[a-z0-9_,-]*' "$GUEST.tmp/out/modules/$m.ko" | head -n1 | sed 's/^depends=//; s/,/ /g'); do add "$d"; done
  echo "$m" >> "$GUEST.tmp/out/modules/order"
}
# nf_conntrack_netlink: CRIU dumps a container's conntrack entries (netns), nfnetlink says EINVAL without it.
for m in virtio_pci 9pnet_virtio 9p crc32c_generic nfnetlink nf_tables nf_conntrack_netlink inet_diag tcp_diag udp_diag unix_diag netlink_diag af_packet_diag; do add "$m"; done
echo "$version" > "$GUEST.tmp/out/kernel-version"
echo "$LAYOUT" > "$GUEST.tmp/out/layout"
rm -rf "$GUEST" && mv "$GUEST.tmp/out" "$GUEST" && rm -rf "$GUEST.tmp"
say "guest kernel: $version (CONFIG_MEM_SOFT_DIRTY=y) in $GUEST"
