// status (SPEC §15): what this host is, locally and as the server sees it, and what it waits
// for, without kubectl. Not a phase: it reads the host and makes one no-op call (the `PATCH {}`
// probe register uses), and writes nothing, not even the work dir.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_KEY_FILE, buildClient } from './agent';
import { ApiError } from './api/client';
import type { ApiHostResponse } from './api/types';
import { type AgentConfig, loadConfigFile } from './config';
import { ExitCode, errorMessage } from './errors';
import { HostRoot } from './fs';
import { SystemHost } from './host';
import { Identity, PENDING_REGISTRATION_FILE } from './identity';
import { log, registerSecret, setDebug } from './log';
import { type GlobalOptions, shownUri, startLine } from './options';
import { writeStdout } from './output';
import { IN_PLACE_UPDATE_PENDING } from './phases/os-version';
import { BOOTSTRAP_SENTINEL } from './phases/bootstrap';
import { BOOTSTRAP_PATHS, INSTALL_FILE, OS_VERSION_FILE, RESET_FILE, RESET_SENTINEL_FILE } from './plugins/dummy';
import { stopSignal } from './signals';
import { versionLine } from './version';

/** A file of the Dummy plugin's contract, as the host names it. */
export interface StatusFile {
  /** What it is: install.yaml, os-version.yaml, needs.reset, reset.yaml, bootstrap, sentinel. */
  name: string;
  path: string;
  present: boolean;
  /** Its modification time (ISO 8601 UTC), when present. */
  modified: string | null;
}

export type IdentityState = 'private.key' | 'pending-registration' | 'none' | 'unusable';

/** The server's view of the host: the fields of its answer to `PATCH {}`. */
export interface ServerView {
  installed: boolean;
  bootstrapReady: boolean;
  bootstrapped: boolean;
  needsReset: boolean;
  /** The in-place-update label ('pending', 'done') or '' when none. */
  inPlaceUpgrade: string;
}

/** What `status --json` prints (documented in README.md, "status --json"). */
export interface StatusReport {
  version: string;
  config: string;
  root: string;
  /** The registration URI (no credentials). */
  server: string;
  workDir: string;
  /** private.key exists and loads. */
  registered: boolean;
  /** The registered host name, or null when not registered. */
  host: string | null;
  identity: IdentityState;
  /** The system's boot time (ISO 8601 UTC, from /proc/stat btime), or null when unknown. */
  bootTime: string | null;
  files: StatusFile[];
  /** True when the server answered the probe with the host (200). */
  serverAnswered: boolean;
  /** The server's view, or null when it was not asked (not registered) or did not answer. */
  serverView: ServerView | null;
  /** Why the probe failed, or null. */
  serverError: string | null;
  /** A short, stable name of the state (for scripts): see README.md. */
  state: StatusState;
  /** The one line saying what the host waits for. */
  waitingFor: string;
}

export type StatusState =
  | 'not-registered'
  | 'registration-in-progress'
  | 'identity-unusable'
  | 'server-unreachable'
  | 'unknown-to-server'
  | 'server-error'
  | 'waiting-for-reset-trigger'
  | 'waiting-for-reset-hooks'
  | 'waiting-for-reset'
  | 'waiting-for-installation'
  | 'waiting-for-install-report'
  | 'waiting-for-install-hooks'
  | 'waiting-for-bootstrap-secret'
  | 'waiting-for-bootstrap-apply'
  | 'waiting-for-bootstrap-reboot'
  | 'waiting-for-bootstrap-run'
  | 'waiting-for-bootstrap-report'
  | 'in-place-update-pending'
  | 'running';

/** The Dummy files status looks at, in the order they matter over a host's life. */
function contractFiles(workDir: string): { name: string; path: string }[] {
  return [
    { name: INSTALL_FILE, path: join(workDir, INSTALL_FILE) },
    { name: OS_VERSION_FILE, path: join(workDir, OS_VERSION_FILE) },
    ...[...BOOTSTRAP_PATHS].map(([format, path]) => ({ name: `bootstrap (${format})`, path })),
    { name: 'bootstrap sentinel', path: BOOTSTRAP_SENTINEL },
    { name: RESET_SENTINEL_FILE, path: join(workDir, RESET_SENTINEL_FILE) },
    { name: RESET_FILE, path: join(workDir, RESET_FILE) },
  ];
}

function modifiedTime(path: string): Date | undefined {
  try {
    return statSync(path).mtime;
  } catch {
    return undefined;
  }
}

/** The boot time of the running system (/proc/stat `btime`, seconds since the epoch). */
export function bootTime(procStat = '/proc/stat'): Date | undefined {
  try {
    const match = /^btime\s+(\d+)$/m.exec(readFileSync(procStat, 'utf8'));
    return match ? new Date(Number(match[1]) * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** `42 s`, `3 min`, `5 h`, `2 d`: how an operator says an age. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** Facts gathered from the host and the server; `decide` turns them into the one line. */
export interface StatusFacts {
  now: Date;
  bootTime: Date | undefined;
  identity: IdentityState;
  identityProblem?: string;
  privateKeyPath: string;
  pendingPath: string;
  /** Modification times of the present files, by their StatusFile name. */
  files: Map<string, { path: string; modified: Date }>;
  host: string | null;
  server: { view: ServerView } | { error: ApiError | Error } | undefined;
}

/** The state and the one line saying what the host waits for. */
export function decide(f: StatusFacts): { state: StatusState; line: string } {
  const age = (name: string) => {
    const file = f.files.get(name);
    return file ? formatAge(f.now.getTime() - file.modified.getTime()) : '';
  };
  const booted = () => (f.bootTime ? `, the host has booted since (${formatAge(f.now.getTime() - f.bootTime.getTime())} ago)` : '');

  if (f.identity === 'unusable') return { state: 'identity-unusable', line: `identity unusable: ${f.identityProblem}` };
  if (f.identity === 'pending-registration') {
    const pending = f.files.get(PENDING_REGISTRATION_FILE);
    const when = pending ? ` (${PENDING_REGISTRATION_FILE} written ${formatAge(f.now.getTime() - pending.modified.getTime())} ago)` : '';
    return {
      state: 'registration-in-progress',
      line: `not registered: a registration is in progress${when}, no ${f.privateKeyPath} yet: 'elemental-agent register' finishes it`,
    };
  }
  if (f.identity === 'none') {
    return { state: 'not-registered', line: `not registered: no ${f.privateKeyPath}: run 'elemental-agent register'` };
  }
  const server = f.server;
  if (!server) return { state: 'server-error', line: 'the server was not asked' };
  if ('error' in server) {
    const err = server.error;
    if (err instanceof ApiError && err.kind === 'status') {
      if (err.statusCode === 404) {
        return {
          state: 'unknown-to-server',
          line: `the server does not know host '${f.host}' (${err.message}): it was deleted on the server, or this host's name or key do not match its registration`,
        };
      }
      if (err.statusCode === 401 || err.statusCode === 403) {
        return { state: 'server-error', line: `the server refuses this host's key (${err.message}): was ${f.privateKeyPath} replaced?` };
      }
      return { state: 'server-error', line: `the server answers with an error: ${err.message}` };
    }
    return { state: 'server-unreachable', line: `server unreachable: ${errorMessage(err)}` };
  }
  const view = server.view;
  const bootstrapFile = [...BOOTSTRAP_PATHS.keys()]
    .map((format) => `bootstrap (${format})`)
    .find((name) => f.files.has(name));

  if (view.needsReset) {
    if (f.files.has(RESET_SENTINEL_FILE)) {
      return {
        state: 'waiting-for-reset-hooks',
        line: `waiting for the reset hooks: ${RESET_SENTINEL_FILE} written ${age(RESET_SENTINEL_FILE)} ago; they remove it once the host is prepared, then run 'elemental-agent reset'`,
      };
    }
    if (f.files.has(RESET_FILE)) {
      return {
        state: 'waiting-for-reset',
        line: `waiting for the reset to finish: ${RESET_FILE} written ${age(RESET_FILE)} ago, the server has not removed the host yet: run 'elemental-agent reset' again`,
      };
    }
    return {
      state: 'waiting-for-reset-trigger',
      line: `waiting for 'elemental-agent run' to trigger the reset: the host is marked for deletion, no ${RESET_SENTINEL_FILE} yet`,
    };
  }
  if (!view.installed) {
    if (f.files.has(INSTALL_FILE)) {
      return {
        state: 'waiting-for-install-report',
        line: `waiting for the agent to report the installation: ${INSTALL_FILE} written ${age(INSTALL_FILE)} ago, but the server does not have the host installed: run 'elemental-agent install'`,
      };
    }
    return { state: 'waiting-for-installation', line: "waiting for the installation: not installed yet: run 'elemental-agent install' (or 'register --install')" };
  }
  if (!view.bootstrapped) {
    if (bootstrapFile) {
      const path = f.files.get(bootstrapFile)!.path;
      if (f.files.has('bootstrap sentinel')) {
        return {
          state: 'waiting-for-bootstrap-report',
          line: `waiting for 'elemental-agent run' to report the bootstrap: ${BOOTSTRAP_SENTINEL} exists (${age('bootstrap sentinel')} old)`,
        };
      }
      const rebooted = f.bootTime && f.files.get(bootstrapFile)!.modified <= f.bootTime;
      if (!f.bootTime || rebooted) {
        return {
          state: 'waiting-for-bootstrap-run',
          line: `waiting for the bootstrap to run: ${path} written ${age(bootstrapFile)} ago${booted()}, sentinel ${BOOTSTRAP_SENTINEL} missing`,
        };
      }
      return {
        state: 'waiting-for-bootstrap-reboot',
        line: `waiting for the reboot that runs the bootstrap: ${path} written ${age(bootstrapFile)} ago, no reboot since`,
      };
    }
    if (!view.bootstrapReady) {
      const hooks = f.files.get(INSTALL_FILE);
      if (hooks && f.bootTime && hooks.modified > f.bootTime) {
        return {
          state: 'waiting-for-install-hooks',
          line: `waiting for the install hooks: ${INSTALL_FILE} written ${age(INSTALL_FILE)} ago, no reboot yet`,
        };
      }
      return {
        state: 'waiting-for-bootstrap-secret',
        line: 'waiting for a bootstrap: installed, no bootstrap secret for this host yet (no ElementalMachine has claimed it)',
      };
    }
    return {
      state: 'waiting-for-bootstrap-apply',
      line: "waiting for 'elemental-agent run' to apply the bootstrap: the server has it ready, no bootstrap file written yet",
    };
  }
  if (view.inPlaceUpgrade === IN_PLACE_UPDATE_PENDING) {
    const written = f.files.has(OS_VERSION_FILE) ? `: ${OS_VERSION_FILE} written ${age(OS_VERSION_FILE)} ago` : '';
    return { state: 'in-place-update-pending', line: `waiting for the in-place update${written}` };
  }
  return { state: 'running', line: 'nothing: installed and bootstrapped, the agent reconciles' };
}

function viewOf(host: ApiHostResponse): ServerView {
  return {
    installed: host.installed === true,
    bootstrapReady: host.bootstrapReady === true,
    bootstrapped: host.bootstrapped === true,
    needsReset: host.needsReset === true,
    inPlaceUpgrade: host.inPlaceUpgrade ?? '',
  };
}

/** Gathers the facts and builds the report. Writes nothing. */
export async function hostStatus(options: GlobalOptions, config: AgentConfig, now: () => Date = () => new Date()): Promise<StatusReport> {
  const root = new HostRoot(options.root);
  const workDir = config.agent.workDir;
  const privateKeyPath = join(workDir, PRIVATE_KEY_FILE);
  const pendingPath = join(workDir, PENDING_REGISTRATION_FILE);
  const files = new Map<string, { path: string; modified: Date }>();
  const listed: StatusFile[] = [];
  for (const { name, path } of contractFiles(workDir)) {
    const modified = modifiedTime(root.resolve(path));
    if (modified) files.set(name, { path, modified });
    listed.push({ name, path, present: modified !== undefined, modified: modified?.toISOString() ?? null });
  }

  let identity: IdentityState = 'none';
  let identityProblem: string | undefined;
  let key: Identity | undefined;
  try {
    key = Identity.load(root.resolve(privateKeyPath));
    if (key) identity = 'private.key';
  } catch (err) {
    identity = 'unusable';
    identityProblem = errorMessage(err);
  }
  if (identity === 'none') {
    const pending = modifiedTime(root.resolve(pendingPath));
    if (pending) {
      identity = 'pending-registration';
      files.set(PENDING_REGISTRATION_FILE, { path: pendingPath, modified: pending });
    }
  }

  let host: string | null = null;
  let server: StatusFacts['server'];
  if (key) {
    host = new SystemHost(root).currentHostname();
    try {
      const client = buildClient({ config, identity: key, root, signal: stopSignal });
      server = { view: viewOf(await client.patchHost(host, {})) };
    } catch (err) {
      server = { error: err instanceof Error ? err : new Error(String(err)) };
    }
  }
  const time = now();
  const boot = bootTime();
  const { state, line } = decide({ now: time, bootTime: boot, identity, identityProblem, privateKeyPath, pendingPath, files, host, server });
  return {
    version: versionLine(),
    config: options.config,
    root: options.root,
    server: shownUri(config.registration.uri),
    workDir,
    registered: identity === 'private.key',
    host,
    identity,
    bootTime: boot?.toISOString() ?? null,
    files: listed,
    serverAnswered: server !== undefined && 'view' in server,
    serverView: server && 'view' in server ? server.view : null,
    serverError: server && 'error' in server ? errorMessage(server.error) : null,
    state,
    waitingFor: line,
  };
}

/** The report as an operator reads it; the last line is what the host waits for. */
export function formatStatus(r: StatusReport, now: Date = new Date()): string {
  const ago = (iso: string) => `${iso} (${formatAge(now.getTime() - Date.parse(iso))} ago)`;
  const identity =
    r.identity === 'private.key'
      ? `registered (${join(r.workDir, PRIVATE_KEY_FILE)})`
      : r.identity === 'pending-registration'
        ? `registration in progress (${join(r.workDir, PENDING_REGISTRATION_FILE)})`
        : r.identity === 'unusable'
          ? `unusable (${join(r.workDir, PRIVATE_KEY_FILE)})`
          : 'not registered';
  const rows: [string, string][] = [
    ['config', r.config],
    ...(r.root === '/' ? [] : ([['root', r.root]] as [string, string][])),
    ['server', r.server],
    ['host', r.host ?? '-'],
    ['identity', identity],
    ['booted', r.bootTime ? ago(r.bootTime) : 'unknown'],
  ];
  const width = Math.max(...r.files.map((f) => f.path.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(12)}${v}`);
  lines.push('files');
  for (const f of r.files) lines.push(`  ${f.path.padEnd(width)}  ${f.modified ? ago(f.modified) : 'absent'}`);
  const v = r.serverView;
  lines.push(
    `${'server view'.padEnd(12)}${
      v
        ? `installed=${v.installed} bootstrapReady=${v.bootstrapReady} bootstrapped=${v.bootstrapped} needsReset=${v.needsReset} inPlaceUpgrade=${v.inPlaceUpgrade || '-'}`
        : r.serverError
          ? 'no answer'
          : 'not asked (not registered)'
    }`,
  );
  lines.push(r.waitingFor);
  return `${lines.join('\n')}\n`;
}

export async function statusCommand(options: GlobalOptions, flags: { json: boolean }): Promise<number> {
  const root = new HostRoot(options.root);
  const config = await loadConfigFile(root.resolve(options.config), options.config);
  setDebug(options.debug || config.agent.debug);
  registerSecret(config.registration.token);
  log.info(startLine(options, config));
  const report = await hostStatus(options, config);
  writeStdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
  return report.registered && report.serverAnswered ? ExitCode.ok : ExitCode.fatal;
}
