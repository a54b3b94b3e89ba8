#!/bin/sh
# test/boot/build-image.sh: builds (or finds in the cache) the Debian bookworm root that the
# real-boot suite boots under QEMU, and prints its path.
#
# The root is a debootstrap --variant=minbase with systemd, cloud-init, Debian's own nodejs
# (Node 18, the oldest the agent supports) and a kernel; nothing of this project is in it (the
# suite installs examples/ into a copy). It is cached in $ELEMENTAL_BOOT_CACHE (default
# /var/cache/elemental-agent-test)/<hash of the recipe>/root: a rerun on the same machine skips
# the build, a changed recipe builds a new root. The Debian mirror comes from this machine's apt
# configuration (ELEMENTAL_BOOT_MIRROR overrides it); it is not part of the recipe.
# Needs root, debootstrap. Usage: build-image.sh   (prints the root directory on stdout)
set -eu

SUITE=bookworm
# debootstrap does not resolve virtual packages: cloud-init's python3-cffi-backend is named, and
# initramfs-tools for linux-image-amd64 (its initramfs-tools | linux-initramfs-tool).
PACKAGES=systemd,systemd-sysv,udev,dbus,cloud-init,python3-cffi-backend,nodejs,linux-image-amd64,initramfs-tools,ifupdown,isc-dhcp-client,iproute2,ca-certificates
CACHE=${ELEMENTAL_BOOT_CACHE:-/var/cache/elemental-agent-test}

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The recipe: what goes into the root. Change RECIPE_VERSION with any change to the steps below
# that alters the result; a new recipe builds a new cache entry.
RECIPE_VERSION=1
HASH=$(printf '%s\n' "$RECIPE_VERSION" "$SUITE" "$PACKAGES" | sha256sum | cut -c1-16)
DIR=$CACHE/$HASH
if [ -f "$DIR/complete" ]; then
  log "cache hit: $DIR/root"
  printf '%s\n' "$DIR/root"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"

# The first Debian URI of this machine's apt sources (deb822 .sources files or sources.list).
mirror() {
  if [ -n "${ELEMENTAL_BOOT_MIRROR:-}" ]; then printf '%s\n' "$ELEMENTAL_BOOT_MIRROR"; return; fi
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { printf '%s\n' "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) { print $i; exit } } }' "$f")
    [ -n "$uri" ] && { printf '%s\n' "$uri"; return; }
  done
  die "no Debian mirror found in /etc/apt (set ELEMENTAL_BOOT_MIRROR)"
}
MIRROR=$(mirror)

mkdir -p "$CACHE"
rm -rf "$DIR.tmp"
mkdir -p "$DIR.tmp"
trap 'rm -rf "$DIR.tmp"' EXIT
log "building $SUITE root from $MIRROR into $DIR (a few minutes)"
start=$(date +%s)
timeout 1500 debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$DIR.tmp/root" "$MIRROR" >"$DIR.tmp/debootstrap.log" 2>&1 || {
  tail -n 30 "$DIR.tmp/debootstrap.log" >&2
  die "debootstrap failed (log above)"
}
# Downloaded packages are not needed in the image.
rm -rf "$DIR.tmp/root/var/cache/apt/archives/"*.deb "$DIR.tmp/root/var/lib/apt/lists/"*_Packages
ls "$DIR.tmp/root/boot/"vmlinuz-* "$DIR.tmp/root/boot/"initrd.img-* >/dev/null 2>&1 || die "no kernel or initrd in /boot"
[ -x "$DIR.tmp/root/usr/bin/node" ] || die "no /usr/bin/node in the root"
trap - EXIT
rm -rf "$DIR"
mv "$DIR.tmp" "$DIR"
printf 'built in %ss\n' "$(($(date +%s) - start))" >"$DIR/complete"
log "built in $(($(date +%s) - start))s: $DIR/root"
printf '%s\n' "$DIR/root"
