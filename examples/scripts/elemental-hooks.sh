#!/bin/sh
# elemental-hooks.sh install|os-version
#
# Installed as /usr/local/libexec/elemental/elemental-hooks.sh. Started by
# elemental-agent.service's ExecStartPre= (both names, before every start of the reconcile loop:
# this is where the install hooks run, on the boot after the agent's postInstall reboot) and by
# elemental-os-version.service (its path unit fires when the agent writes os-version.yaml while
# the loop runs).
#
# Runs every executable file in $HOOKS_DIR/<name>.d/, in name order, as `<hook> <file path>`,
# with ELEMENTAL_HOOK_NAME and ELEMENTAL_WORK_DIR in the environment, once per distinct content
# of the file: after they all succeeded, a copy of the file is kept in $STATE_DIR and a later
# run with the same content does nothing (the agent writes os-version.yaml only when its content
# changes, but this script runs at every start of the loop); a file replaced while the hooks ran
# is handled again at once (systemd does not restart the service for a change made meanwhile).
# A failing hook stops the run (exit 1) and the content counts as not handled: the next start
# runs the hooks again. Hooks must therefore be idempotent. Two runs for the same name never
# overlap (flock on $STATE_DIR/<name>.lock, where flock exists).
#
# The agent's postInstall reboot does not wait for the install hooks: they run on the next boot,
# before the reconcile loop starts. To reboot after them instead (postInstall.reboot off in the
# ElementalRegistration, see README.md), end install.d with a hook such as 99-reboot:
# `#!/bin/sh` + `systemctl reboot`.
set -eu

# Paths; the environment overrides them (a systemd drop-in: Environment=ELEMENTAL_WORK_DIR=...).
WORK_DIR=${ELEMENTAL_WORK_DIR:-/var/lib/elemental/agent}
HOOKS_DIR=${ELEMENTAL_HOOKS_DIR:-/etc/elemental/hooks}
STATE_DIR=${ELEMENTAL_HOOKS_STATE_DIR:-/var/lib/elemental/hooks}

PROG=elemental-hooks
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$#" -eq 1 ] || { log "usage: $0 install|os-version"; exit 2; }
NAME=$1
case "$NAME" in
  install | os-version) ;;
  *) log "usage: $0 install|os-version (got '$NAME')"; exit 2 ;;
esac
PROG="elemental-hooks[$NAME]"

FILE=$WORK_DIR/$NAME.yaml
HOOKS=$HOOKS_DIR/$NAME.d
HANDLED=$STATE_DIR/$NAME.yaml.handled

mkdir -p "$STATE_DIR"
chmod 0700 "$STATE_DIR"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$STATE_DIR/$NAME.lock"
  flock 9 || die "cannot lock $STATE_DIR/$NAME.lock"
fi
SNAPSHOT=$STATE_DIR/$NAME.yaml.running
export ELEMENTAL_HOOK_NAME="$NAME" ELEMENTAL_WORK_DIR="$WORK_DIR"

run_hooks() {
  count=0
  if [ ! -d "$HOOKS" ]; then
    log "no hook directory $HOOKS"
    return 0
  fi
  for hook in "$HOOKS"/*; do
    # An empty directory leaves the pattern as it is; skip it, directories and non-executables.
    [ -f "$hook" ] && [ -x "$hook" ] || continue
    log "running $hook $FILE"
    status=0
    "$hook" "$FILE" || status=$?
    if [ "$status" -ne 0 ]; then
      rm -f "$SNAPSHOT"
      die "$hook failed with exit status $status; $FILE will be handled again when it is written next"
    fi
    count=$((count + 1))
  done
  log "$count hook(s) ran for $FILE"
}

# Loops because the agent may replace the file while the hooks run, and systemd does not
# start the service again for a change made while it was running.
while :; do
  # PathChanged= also fires when the file goes away.
  if [ ! -f "$FILE" ]; then
    log "$FILE does not exist: nothing to do"
    exit 0
  fi
  if ! cp "$FILE" "$SNAPSHOT"; then
    [ -f "$FILE" ] || { log "$FILE went away: nothing to do"; exit 0; }
    die "cannot copy $FILE to $SNAPSHOT"
  fi
  if [ -f "$HANDLED" ] && cmp -s "$SNAPSHOT" "$HANDLED"; then
    rm -f "$SNAPSHOT"
    log "$FILE is the same as when the hooks last ran: nothing to do"
    exit 0
  fi
  run_hooks
  mv -f "$SNAPSHOT" "$HANDLED"
done
