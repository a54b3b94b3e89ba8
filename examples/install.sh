#!/bin/sh
# examples/install.sh [--no-enable] DESTDIR
#
# Installs elemental-agent and this directory's automation into an OS image root (DESTDIR; `/`
# installs into the running system) and enables the units the way `systemctl --root=DESTDIR
# enable` does: one symlink per [Install] WantedBy=/RequiredBy= line, in
# /etc/systemd/system/<target>.wants/ (.requires/), pointing at the unit in /etc/systemd/system.
# It does that itself, so the build machine needs no systemd (and no systemctl is ever run
# against the build machine). --no-enable installs the files only.
#
# What goes where (README.md explains each piece):
#   dist/elemental-agent.js     -> /usr/local/bin/elemental-agent            0755
#   scripts/*.sh                -> /usr/local/libexec/elemental/             0755
#   systemd/*.service, *.path   -> /etc/systemd/system/                      0644
#   (empty hook directories)    -> /etc/elemental/hooks/{install,os-version,reset}.d/  0755
# The agent needs node (>= 18) in the image; this script only warns when DESTDIR has none.
# ELEMENTAL_AGENT_BUNDLE names another bundle than ../dist/elemental-agent.js (npm run build).
set -eu

PROG=install.sh
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { log "usage: $0 [--no-enable] DESTDIR"; exit 2; }

ENABLE=yes
case "${1:-}" in
  --no-enable) ENABLE=no; shift ;;
  -h | --help) printf 'usage: %s [--no-enable] DESTDIR\n' "$0"; exit 0 ;;
  -*) usage ;;
esac
[ "$#" -eq 1 ] || usage
DEST=${1%/}
[ -d "${DEST:-/}" ] || die "DESTDIR '$1' is not a directory"

HERE=$(cd "$(dirname "$0")" && pwd)
BUNDLE=${ELEMENTAL_AGENT_BUNDLE:-$HERE/../dist/elemental-agent.js}
[ -f "$BUNDLE" ] || die "no agent bundle at $BUNDLE: run 'npm run build' first (or set ELEMENTAL_AGENT_BUNDLE)"
head -n 1 "$BUNDLE" | grep -q '^#!/usr/bin/env node' || die "$BUNDLE does not start with '#!/usr/bin/env node'"

UNIT_DIR=/etc/systemd/system
LIBEXEC=/usr/local/libexec/elemental

# install -D is not everywhere (busybox): mkdir + cp + chmod.
put() { # put MODE SOURCE TARGET
  mkdir -p "$DEST$(dirname "$3")"
  cp "$2" "$DEST$3.tmp.$$"
  chmod "$1" "$DEST$3.tmp.$$"
  mv -f "$DEST$3.tmp.$$" "$DEST$3"
  log "installed $3"
}

put 0755 "$BUNDLE" /usr/local/bin/elemental-agent
for script in "$HERE"/scripts/*.sh; do
  put 0755 "$script" "$LIBEXEC/$(basename "$script")"
done
units=
for unit in "$HERE"/systemd/*.service "$HERE"/systemd/*.path; do
  [ -f "$unit" ] || continue
  put 0644 "$unit" "$UNIT_DIR/$(basename "$unit")"
  units="$units $(basename "$unit")"
done
for hooks in install os-version reset; do
  mkdir -p "$DEST/etc/elemental/hooks/$hooks.d"
done

[ -x "$DEST/usr/bin/node" ] || [ -x "$DEST/usr/local/bin/node" ] \
  || log "warning: no node in $DEST/usr/bin or $DEST/usr/local/bin: the agent needs Node.js >= 18 on PATH"

[ "$ENABLE" = yes ] || exit 0

# The [Install] section's WantedBy=/RequiredBy= values of a unit file, one "wants|requires
# TARGET" per line (several values on one line, several lines, comments ignored).
install_deps() {
  awk '
    /^[ \t]*[#;]/ { next }
    /^[ \t]*\[/ { section = $0; gsub(/[ \t\[\]]/, "", section); next }
    section == "Install" && /^[ \t]*(WantedBy|RequiredBy)[ \t]*=/ {
      kind = ($0 ~ /^[ \t]*WantedBy/) ? "wants" : "requires"
      sub(/^[^=]*=/, "")
      n = split($0, targets, /[ \t]+/)
      for (i = 1; i <= n; i++) if (targets[i] != "") print kind, targets[i]
    }
  ' "$1"
}

for name in $units; do
  install_deps "$DEST$UNIT_DIR/$name" | while read -r kind target; do
    dir=$DEST$UNIT_DIR/$target.$kind
    mkdir -p "$dir"
    ln -sfn "$UNIT_DIR/$name" "$dir/$name"
    log "enabled $name ($target.$kind)"
  done
done
