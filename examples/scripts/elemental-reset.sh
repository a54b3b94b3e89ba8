#!/bin/sh
# elemental-reset.sh
#
# Installed as /usr/local/libexec/elemental/elemental-reset.sh; started by
# elemental-reset.service when the elemental-agent's Dummy plugin created needs.reset in its
# work dir (the ElementalHost must be reset; `elemental-agent run` has exited).
#
# As the Dummy plugin documents: prepare the host for the reset, delete needs.reset, then run
# `elemental-agent reset`, which reports the host reset (it refuses while needs.reset exists)
# and runs the postReset action. Preparing means, in order:
#   0. wait for the reconcile loop ($AGENT_UNIT) to end: `run` creates needs.reset, reports
#      "waiting for reset" and exits 0 by itself; stopping it at once would cut that report
#      short. After $AGENT_WAIT seconds it is stopped;
#   1. stop and disable the systemd services in $STOP_SERVICES that exist here (k3s, rke2...);
#   2. run the executable uninstallers in $UNINSTALLERS that exist here;
#   3. run every executable file in $HOOKS_DIR/reset.d/, in name order, as `<hook> <needs.reset
#      path>`, with ELEMENTAL_HOOK_NAME=reset and ELEMENTAL_WORK_DIR in the environment.
# Any failure, including the agent's, puts needs.reset back and exits non-zero:
# elemental-reset.service restarts the script later, and after a reboot elemental-reset.path
# finds needs.reset again. Every step must therefore be idempotent.
set -eu

# Paths and lists; the environment overrides them (a systemd drop-in: Environment=...).
# An empty ELEMENTAL_AGENT_UNIT, ELEMENTAL_STOP_SERVICES or ELEMENTAL_UNINSTALLERS turns that
# step off.
WORK_DIR=${ELEMENTAL_WORK_DIR:-/var/lib/elemental/agent}
AGENT=${ELEMENTAL_AGENT:-/usr/local/bin/elemental-agent}
AGENT_CONFIG=${ELEMENTAL_AGENT_CONFIG:-/etc/elemental/agent/config.yaml}
HOOKS_DIR=${ELEMENTAL_HOOKS_DIR:-/etc/elemental/hooks}
AGENT_UNIT=${ELEMENTAL_AGENT_UNIT-elemental-agent.service}
AGENT_WAIT=${ELEMENTAL_AGENT_WAIT:-60}
STOP_SERVICES=${ELEMENTAL_STOP_SERVICES-k3s k3s-agent rke2-server rke2-agent}
UNINSTALLERS=${ELEMENTAL_UNINSTALLERS-/usr/local/bin/k3s-uninstall.sh /usr/local/bin/k3s-agent-uninstall.sh /usr/local/bin/rke2-uninstall.sh /usr/bin/rke2-uninstall.sh /opt/rke2/bin/rke2-uninstall.sh}

NEEDS_RESET=$WORK_DIR/needs.reset
HOOKS=$HOOKS_DIR/reset.d

log() { printf 'elemental-reset: %s\n' "$*" >&2; }

# Puts the reset trigger back (atomically, as the agent writes it) and exits with status $1.
fail() {
  trap - TERM INT
  status=$1
  shift
  log "error: $*"
  if [ ! -e "$NEEDS_RESET" ]; then
    if printf '1\n' >"$NEEDS_RESET.tmp" && mv -f "$NEEDS_RESET.tmp" "$NEEDS_RESET"; then
      log "restored $NEEDS_RESET: the reset will be tried again"
    else
      log "error: cannot restore $NEEDS_RESET"
    fi
  fi
  exit "$status"
}

if [ ! -e "$NEEDS_RESET" ]; then
  log "$NEEDS_RESET does not exist: nothing to do"
  exit 0
fi
# systemd stops the service with SIGTERM to the whole group. The shell runs the trap once the
# current command has ended (the agent stops cleanly with 143): stop there, with needs.reset
# back in place, instead of going on with the next step.
trap 'fail 143 "stopped by SIGTERM"' TERM
trap 'fail 130 "stopped by SIGINT"' INT
[ -x "$AGENT" ] || fail 1 "$AGENT is missing or not executable"
log "$NEEDS_RESET found: preparing this host for reset"

# The lists are split on blanks, never glob-expanded.
set -f

# 0. The reconcile loop.
if [ -n "$AGENT_UNIT" ] && command -v systemctl >/dev/null 2>&1; then
  waited=0
  while :; do
    state=$(systemctl show --property=ActiveState --value -- "$AGENT_UNIT" 2>/dev/null || true)
    case "$state" in
      active | activating | deactivating | reloading) ;;
      *) break ;;
    esac
    if [ "$waited" -ge "$AGENT_WAIT" ]; then
      log "$AGENT_UNIT still $state after ${AGENT_WAIT}s: stopping it"
      systemctl stop -- "$AGENT_UNIT" || fail 1 "cannot stop $AGENT_UNIT"
      break
    fi
    [ "$waited" -eq 0 ] && log "waiting for $AGENT_UNIT to end (it is $state)"
    sleep 1
    waited=$((waited + 1))
  done
fi

# 1. Services.
if [ -n "$STOP_SERVICES" ]; then
  if command -v systemctl >/dev/null 2>&1; then
    for service in $STOP_SERVICES; do
      state=$(systemctl show --property=LoadState --value -- "$service" 2>/dev/null || true)
      if [ "$state" != loaded ]; then
        log "service $service: not installed"
        continue
      fi
      log "stopping and disabling service $service"
      systemctl stop -- "$service" || fail 1 "cannot stop $service"
      systemctl disable -- "$service" || log "warning: cannot disable $service"
    done
  else
    log "warning: no systemctl, not stopping: $STOP_SERVICES"
  fi
fi

# 2. Uninstallers.
for uninstaller in $UNINSTALLERS; do
  [ -f "$uninstaller" ] && [ -x "$uninstaller" ] || continue
  log "running $uninstaller"
  status=0
  "$uninstaller" || status=$?
  [ "$status" -eq 0 ] || fail 1 "$uninstaller failed with exit status $status"
done

set +f

# 3. Hooks.
export ELEMENTAL_HOOK_NAME=reset ELEMENTAL_WORK_DIR="$WORK_DIR"
if [ -d "$HOOKS" ]; then
  for hook in "$HOOKS"/*; do
    # An empty directory leaves the pattern as it is; skip it, directories and non-executables.
    [ -f "$hook" ] && [ -x "$hook" ] || continue
    log "running $hook $NEEDS_RESET"
    status=0
    "$hook" "$NEEDS_RESET" || status=$?
    [ "$status" -eq 0 ] || fail 1 "$hook failed with exit status $status"
  done
fi

# The host is prepared: remove the trigger, then let the agent report the reset.
rm -f -- "$NEEDS_RESET"
log "removed $NEEDS_RESET; running $AGENT reset"
status=0
"$AGENT" --config "$AGENT_CONFIG" reset || status=$?
[ "$status" -eq 0 ] || fail "$status" "$AGENT reset exited with status $status"
log "host reset"
