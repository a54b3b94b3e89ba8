#!/bin/sh
# elemental-boot.sh
#
# Installed as /usr/local/libexec/elemental/elemental-boot.sh; run by elemental-boot.service
# early at every boot, before cloud-init's first stage and before the agent's units. Two jobs,
# each for a file the agent left before a reboot (or power-off) that cut its automation short:
#
# 1. A finished reset: reset.yaml is in the work dir and needs.reset is not (`elemental-agent
#    reset` writes reset.yaml once the server accepted the host's deletion, then runs postReset).
#    The host forgets its Elemental identity so that it registers again as a new host:
#    private.key (with it, `run` would ask for a deleted host forever), the hooks' state, the
#    CAPI bootstrap files and this script's own cloud-init drop-in; cloud-init's state (as
#    `cloud-init clean`), so that this boot is a first boot again and the first-boot user-data
#    writes the config and starts the registration; last, the work dir's other files (reset.yaml
#    among them). /etc/elemental/agent/config.yaml stays (the registration's, good for a new
#    registration where no user-data rewrites it).
#
# 2. A new CAPI bootstrap: /etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg, written by `run`
#    just before its reboot, that this script has not handled yet. cloud-init runs write_files,
#    runcmd and the other per-instance modules once per instance, and this host's instance has
#    had its first boot: the bootstrap would never run. So this boot is made a first boot again
#    (cloud-init's state cleaned, its seed kept) whose user-data is ignored (`allow_userdata:
#    false` in $DROPIN: the first-boot user-data would rewrite the registered config with the
#    image's, and its own runcmd/write_files would take the place of the bootstrap's, since
#    user-data overrides cloud.cfg.d) and whose hostname stays the registered one
#    (`preserve_hostname: true`). cloud-init then executes the bootstrap, from cloud.cfg.d, once.
#    Other per-instance effects of a first boot apply too (e.g. new SSH host keys).
#    An ignition bootstrap (/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf) is the
#    image's business: ignition runs in the initramfs, this script only logs it.
#
# Nothing to do (the usual boot) costs two file tests. Exit non-zero only when a step failed;
# the boot goes on either way.
set -eu

WORK_DIR=${ELEMENTAL_WORK_DIR:-/var/lib/elemental/agent}
HOOKS_STATE_DIR=${ELEMENTAL_HOOKS_STATE_DIR:-/var/lib/elemental/hooks}
STATE_DIR=${ELEMENTAL_BOOT_STATE_DIR:-/var/lib/elemental/boot}
CLOUD_CFG_DIR=${ELEMENTAL_CLOUD_CFG_DIR:-/etc/cloud/cloud.cfg.d}
IGNITION_BOOTSTRAP=${ELEMENTAL_IGNITION_BOOTSTRAP:-/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf}
CLOUD_DIR=${ELEMENTAL_CLOUD_DIR:-/var/lib/cloud}

BOOTSTRAP=$CLOUD_CFG_DIR/elemental-capi-bootstrap.cfg
DROPIN=$CLOUD_CFG_DIR/99-elemental-bootstrap-instance.cfg
HANDLED=$STATE_DIR/elemental-capi-bootstrap.cfg.handled

log() { printf 'elemental-boot: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# What `cloud-init clean` does, without its Python start-up (seconds on a small machine, at a
# point where the boot waits): cloud-init's state goes, its seed directory stays, so its next
# stages start from a first boot.
clean_cloud_init() {
  if [ -d "$CLOUD_DIR" ]; then
    find "$CLOUD_DIR" -mindepth 1 -maxdepth 1 ! -name seed -exec rm -rf -- {} + || die "cannot clean $CLOUD_DIR"
    log "cloud-init state in $CLOUD_DIR cleaned: this boot is a first boot for cloud-init"
  fi
}

if [ -e "$WORK_DIR/reset.yaml" ] && [ ! -e "$WORK_DIR/needs.reset" ]; then
  log "$WORK_DIR/reset.yaml found: the host was reset, forgetting its identity so that it registers again"
  rm -f -- "$WORK_DIR/private.key"
  rm -rf -- "$HOOKS_STATE_DIR" "$STATE_DIR"
  rm -f -- "$BOOTSTRAP" "$DROPIN" "$IGNITION_BOOTSTRAP"
  clean_cloud_init
  # Last, reset.yaml with them: cut short before here, the next boot does all of this again.
  find "$WORK_DIR" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
  sync
  log "done: the host will register as a new host"
  exit 0
fi

if [ -e "$IGNITION_BOOTSTRAP" ] && [ ! -e "$BOOTSTRAP" ]; then
  log "ignition bootstrap $IGNITION_BOOTSTRAP present: left to the image's ignition"
fi

if [ -f "$BOOTSTRAP" ] && ! { [ -f "$HANDLED" ] && cmp -s "$BOOTSTRAP" "$HANDLED"; }; then
  log "new CAPI bootstrap $BOOTSTRAP: cloud-init runs it on this boot as a new instance, without the user-data"
  mkdir -p "$STATE_DIR"
  chmod 0700 "$STATE_DIR"
  printf '%s\n' \
    '# Written by elemental-boot.sh for the CAPI bootstrap in elemental-capi-bootstrap.cfg: this' \
    '# instance runs that bootstrap, not the first-boot user-data, and keeps its registered name.' \
    'allow_userdata: false' \
    'preserve_hostname: true' >"$DROPIN.tmp"
  chmod 0644 "$DROPIN.tmp"
  mv -f "$DROPIN.tmp" "$DROPIN"
  clean_cloud_init
  # Handled once it is cloud-init's: a bootstrap runs once, even if this boot is cut short.
  cp "$BOOTSTRAP" "$HANDLED.tmp"
  chmod 0600 "$HANDLED.tmp"
  mv -f "$HANDLED.tmp" "$HANDLED"
  sync
fi
exit 0
