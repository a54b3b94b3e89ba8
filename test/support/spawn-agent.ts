// THE way tests run the built agent (DEVELOPERS.md "Rules that protect the machine"):
// - a directory of recording shims (reboot, poweroff, hostnamectl, shutdown, halt, systemctl),
//   POSIX sh scripts that record their argv and change nothing, is always first on PATH, so the
//   real commands can never run;
// - `--root <temp dir>` is always passed;
// - where the machine allows it the agent runs in its own UTS namespace (`unshare --uts`), so
//   even the hostname fallback (writing /proc/sys/kernel/hostname) cannot touch this machine;
// - the bundle runs under the runtime given as a command prefix: `AGENT_RUNTIME='deno run -A'`
//   in the environment (or the `runtime` option), default this machine's node; or
//   `AGENT_EXECUTABLE=dist/elemental-agent-linux-x64` runs that agent executable (the SEA) alone;
// - with `chroot`, the agent runs inside a given chroot (root only), ALWAYS in its own UTS
//   namespace (refused otherwise) and its own mount namespace holding a fresh /proc, which goes
//   away with the agent: `unshare --uts --mount-proc=<dir>/proc -- chroot <dir> node bundle`
//   (or the agent alone, when it is an executable of its own: the SEA).
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, chmodSync, closeSync, openSync, constants as fsConstants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { tempDir } from './temp';

/** The bundle e2e runs start: dist/elemental-agent.js, or AGENT_BUNDLE (e.g. a copy installed as an image would). */
export const AGENT_PATH = resolve(process.env.AGENT_BUNDLE || 'dist/elemental-agent.js');
export const SHIMMED_COMMANDS = ['reboot', 'poweroff', 'hostnamectl', 'shutdown', 'halt', 'systemctl'] as const;

export interface ShimCall {
  command: string;
  args: string[];
}

export interface AgentResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The shimmed commands the agent ran, in order. */
  calls: ShimCall[];
  /** True when the run was inside its own UTS namespace. */
  isolatedUts: boolean;
}

export interface AgentOptions {
  /** The host root given as --root (required: tests never run against /). */
  root: string;
  /** Extra environment (PATH is always overridden to put the shims first). */
  env?: Record<string, string | undefined>;
  /** Kill the agent (SIGKILL) after this long; the result then has signal SIGKILL. Default 60 s. */
  timeoutMs?: number;
  /** Make a shim fail: e.g. { hostnamectl: 'System has not been booted with systemd' }. */
  failingShims?: Partial<Record<(typeof SHIMMED_COMMANDS)[number], string>>;
  /** Run another bundle (e.g. a copy in an empty directory), or an executable (with `runtime: []`). */
  agentPath?: string;
  /**
   * The command that runs the bundle, e.g. `['bun']` or `['deno', 'run', '-A']`; `[]` when
   * `agentPath` is itself an executable (the SEA). Default: AGENT_RUNTIME (see agentRuntime()).
   */
  runtime?: string[];
  /** Options for node itself, between the runtime and the bundle (e.g. `--require` of a measuring preload). */
  nodeArgs?: string[];
  /** Don't use a UTS namespace even when available. */
  noUnshare?: boolean;
  /**
   * Run the agent inside this chroot (see ChrootOptions). `root` is then a path inside the chroot,
   * `agentPath` is ignored, and a UTS namespace is mandatory: combined with `noUnshare`, or where
   * `unshare --uts` fails, startAgent throws.
   */
  chroot?: ChrootOptions;
  /**
   * Facts of another machine (SPEC §17): a directory holding a recorded sys/ and proc/ tree
   * (test/support/machines.ts). The agent then runs in its own mount namespace where a tmpfs
   * over /sys holds the tree's sys/ and its proc/cpuinfo and proc/meminfo are bound over
   * /proc's: this machine's /sys and /proc are never written. Needs root (machineUnavailable()).
   */
  machine?: string;
  /** Send the agent's stderr to this file (e.g. to know its device and inode); `stderr` is read from it. */
  stderrFile?: string;
  /**
   * A command the agent's argv is appended to, run inside the UTS namespace: one that hands the
   * agent a particular stdout (test/e2e/output.test.ts) and then execs or forks it.
   */
  wrapper?: string[];
}

export interface ChrootOptions {
  /** The chroot directory, on this machine. */
  dir: string;
  /**
   * The command inside the chroot that runs `agent`; default `['/usr/local/bin/node']`. `[]` when
   * `agent` is an executable of its own (the SEA: no node in the chroot at all).
   */
  runtime?: string[];
  /** The agent inside the chroot; default `/elemental-agent.js`. */
  agent?: string;
  /**
   * Mount a fresh proc on `<dir>/proc` (which must exist) in the agent's own mount namespace
   * (`unshare --mount-proc`, private propagation): it is never visible outside and disappears
   * with the agent, even when the agent is killed. Default true.
   */
  proc?: boolean;
}

/** An executable named `name` on PATH or in the usual system directories (for unshare/chroot). */
function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

let chrootProblem: string | null | undefined;
/**
 * Why chroot runs are impossible here (not root, no chroot, `unshare --uts --mount` fails), or
 * undefined when they work; checked once.
 */
export function chrootUnavailable(): string | undefined {
  if (chrootProblem === undefined) {
    const unshare = findExecutable('unshare');
    if (typeof process.getuid === 'function' && process.getuid() !== 0) chrootProblem = `chroot needs root (running as uid ${process.getuid()})`;
    else if (!findExecutable('chroot')) chrootProblem = 'chroot is not installed';
    else if (!unshare) chrootProblem = 'unshare is not installed';
    else {
      const probe = spawnSync(unshare, ['--uts', '--mount', 'true'], { encoding: 'utf8', timeout: 5000 });
      chrootProblem = probe.status === 0 ? null : `unshare --uts --mount fails here: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim()}`;
    }
  }
  return chrootProblem ?? undefined;
}

/** The command line of a chroot run: unshare (UTS + mount namespaces) → chroot → [node] → agent. */
function chrootCommand(chroot: ChrootOptions, root: string, args: string[], options: AgentOptions): string[] {
  if (options.noUnshare || !canUnshareUts()) {
    throw new Error('spawnAgent: refusing to run a chroot without its own UTS namespace (unshare --uts unavailable or noUnshare set)');
  }
  const problem = chrootUnavailable();
  if (problem) throw new Error(`spawnAgent: ${problem}`);
  const dir = resolve(chroot.dir);
  if (dir === '/') throw new Error('spawnAgent: the chroot must not be /');
  if (!isAbsolute(root)) throw new Error(`spawnAgent: with chroot, root must be an absolute path inside the chroot (got ${root})`);
  const runtime = chroot.runtime ?? ['/usr/local/bin/node'];
  const agent = chroot.agent ?? '/elemental-agent.js';
  for (const inside of [...runtime.slice(0, 1), agent]) {
    if (!existsSync(join(dir, inside))) throw new Error(`spawnAgent: ${inside} is missing in the chroot ${dir}`);
  }
  const namespaces = ['--uts'];
  if (chroot.proc !== false) {
    if (!existsSync(join(dir, 'proc'))) throw new Error(`spawnAgent: ${join(dir, 'proc')} is missing (or pass chroot.proc: false)`);
    // Implies --mount (propagation private). No --fork: unshare execs chroot, which execs node,
    // so the child IS the agent and signals (SIGTERM, the timeout's SIGKILL) reach it directly.
    namespaces.push(`--mount-proc=${join(dir, 'proc')}`);
  }
  return [findExecutable('unshare')!, ...namespaces, '--', findExecutable('chroot')!, dir, ...runtime, agent, '--root', root, ...args];
}

/**
 * The runtime prefix e2e runs use by default: AGENT_RUNTIME split at white space (e.g.
 * `bun`, `deno run -A`, `/path/to/node-18/bin/node`), or this machine's node when unset.
 */
export function agentRuntime(): string[] {
  const words = process.env.AGENT_RUNTIME?.split(/\s+/).filter(Boolean) ?? [];
  return words.length > 0 ? words : [process.execPath];
}

/** AGENT_EXECUTABLE: an agent that is an executable of its own (the SEA), run without a runtime. */
export function agentExecutable(): string | undefined {
  return process.env.AGENT_EXECUTABLE ? resolve(process.env.AGENT_EXECUTABLE) : undefined;
}

let machineProblem: string | null | undefined;
/** Why a run with `machine` is impossible here, or undefined when it works; checked once. */
export function machineUnavailable(): string | undefined {
  if (machineProblem === undefined) {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) machineProblem = `a tmpfs over /sys needs root (running as uid ${process.getuid()})`;
    else {
      const probe = spawnSync('unshare', ['--uts', '--mount', '--', 'sh', '-c', 'mount -t tmpfs probe /sys'], { encoding: 'utf8', timeout: 5000 });
      machineProblem = probe.status === 0 ? null : `unshare --mount + a tmpfs over /sys fails here: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim()}`;
    }
  }
  return machineProblem ?? undefined;
}

// Runs "$@" with the machine tree at $1 in place of /sys, /proc/cpuinfo and /proc/meminfo, in
// the mount namespace unshare made (private propagation: nothing reaches this machine's mounts).
const MACHINE_SCRIPT = [
  'set -e',
  'machine=$1; shift',
  'mount -t tmpfs -o mode=0755 elemental-machine /sys',
  'cp -a "$machine/sys/." /sys/',
  'for f in cpuinfo meminfo; do if [ -f "$machine/proc/$f" ]; then mount --bind "$machine/proc/$f" "/proc/$f"; fi; done',
  'exec "$@"',
].join('\n');

let unshareWorks: boolean | undefined;
/** Whether `unshare --uts` works here (root or user namespaces); checked once. */
export function canUnshareUts(): boolean {
  if (unshareWorks === undefined) {
    const probe = spawnSync('unshare', ['--uts', 'true'], { stdio: 'ignore', timeout: 5000 });
    unshareWorks = probe.status === 0;
  }
  return unshareWorks;
}

/** A string as one single-quoted sh word. */
const shQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

// Separators of the call log: a call ends with RS, its words are ended by US (argv can hold
// anything but NUL; these two never occur in the agent's arguments).
const RS = '\x1e';
const US = '\x1f';

/**
 * Recording shims, POSIX sh scripts so that no JavaScript runtime is needed to record a call.
 * A shim does exactly what the real command does to this machine's files: nothing. It appends
 * its argv to the call log and exits 0 (or prints the configured failure and exits 1).
 */
function makeShims(dir: string, failing: AgentOptions['failingShims']): string {
  const shimDir = join(dir, 'bin');
  mkdirSync(shimDir, { recursive: true });
  const logFile = join(dir, 'calls.log');
  for (const command of SHIMMED_COMMANDS) {
    const failure = failing?.[command];
    const script = [
      '#!/bin/sh',
      `printf '%s\\037' ${shQuote(command)} "$@" >> ${shQuote(logFile)}`,
      `printf '\\036' >> ${shQuote(logFile)}`,
      failure ? `printf '%s\\n' ${shQuote(failure)} >&2; exit 1` : 'exit 0',
      '',
    ].join('\n');
    writeFileSync(join(shimDir, command), script);
    chmodSync(join(shimDir, command), 0o755);
  }
  return shimDir;
}

function readCalls(shimHome: string): ShimCall[] {
  const logFile = join(shimHome, 'calls.log');
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split(RS)
    .filter(Boolean)
    .map((record) => {
      const [command, ...args] = record.split(US).slice(0, -1);
      return { command: command!, args };
    });
}

export interface RunningAgent {
  child: ChildProcess;
  result: Promise<AgentResult>;
}

/**
 * Journeys reconcile every 100 ms (the bench every 1 ms) against their own stand-in: the floor
 * of 1 s that protects a real API (SPEC §3) is lowered for them. A test of the floor itself
 * passes `env: { ELEMENTAL_AGENT_MIN_RECONCILIATION: undefined }`.
 */
const TEST_ENV: Record<string, string> = { ELEMENTAL_AGENT_MIN_RECONCILIATION: '1ms' };

/** Starts the built agent with `args` (global options and command); see the file header. */
export function startAgent(args: string[], options: AgentOptions): RunningAgent {
  if (!options.root || resolve(options.root) === '/') throw new Error('spawnAgent: a temporary --root is required');
  const chrootArgv = options.chroot ? chrootCommand(options.chroot, options.root, args, options) : undefined;
  // A given agentPath is a bundle (run by AGENT_RUNTIME) unless the test says otherwise.
  const executable = options.agentPath ? undefined : agentExecutable();
  const agentPath = options.agentPath ?? executable ?? AGENT_PATH;
  const runtime = options.runtime ?? (executable ? [] : agentRuntime());
  if (!chrootArgv && !existsSync(agentPath)) throw new Error(`spawnAgent: ${agentPath} is missing; run npm run build`);
  const shimHome = mkdtempSync(join(tmpdir(), 'elemental-shims-'));
  const shimDir = makeShims(shimHome, options.failingShims);
  const env: Record<string, string> = {};
  // A proxy in the tester's environment must not decide where the agent's requests go: proxy
  // variables reach the agent only when a test passes them.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(https?|no|all)_proxy$/i.test(key)));
  for (const [key, value] of Object.entries({ ...inherited, ...TEST_ENV, ...options.env })) {
    if (value !== undefined) env[key] = value;
  }
  env.PATH = `${shimDir}:${options.env?.PATH ?? process.env.PATH ?? '/usr/bin:/bin'}`;
  if (options.wrapper && chrootArgv) throw new Error('spawnAgent: wrapper and chroot do not combine');
  const agentArgv = chrootArgv ?? [...(options.wrapper ?? []), ...runtime, ...(options.nodeArgs ?? []), agentPath, '--root', options.root, ...args];
  const isolatedUts = chrootArgv || options.machine ? true : !options.noUnshare && canUnshareUts();
  if (options.machine && machineUnavailable()) throw new Error(`spawnAgent: ${machineUnavailable()}`);
  const argv = options.machine
    ? ['unshare', '--uts', '--mount', '--', 'sh', '-c', MACHINE_SCRIPT, 'sh', options.machine, ...agentArgv]
    : !chrootArgv && isolatedUts
      ? ['unshare', '--uts', '--', ...agentArgv]
      : agentArgv;
  const stderrFd = options.stderrFile === undefined ? undefined : openSync(options.stderrFile, 'a');
  const stdio: StdioOptions = ['ignore', 'pipe', stderrFd ?? 'pipe'];
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio });
  if (stderrFd !== undefined) closeSync(stderrFd);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const result = new Promise<AgentResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const calls = readCalls(shimHome);
      if (options.stderrFile !== undefined) stderr = readFileSync(options.stderrFile, 'utf8');
      rmSync(shimHome, { recursive: true, force: true });
      resolvePromise({ code, signal, stdout, stderr, calls, isolatedUts });
    });
  });
  return { child, result };
}

/**
 * Resolves true once the running agent's stderr (so far) matches `pattern`, false after `ms` or
 * when the agent ends first: for waiting on what the agent did rather than for a fixed time.
 */
export function stderrMatches(agent: RunningAgent, pattern: RegExp, ms = 10_000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    let seen = '';
    const done = (matched: boolean) => {
      clearTimeout(timer);
      agent.child.stderr!.off('data', onData);
      resolvePromise(matched);
    };
    const onData = (d: Buffer | string) => {
      seen += d.toString();
      if (pattern.test(seen)) done(true);
    };
    const timer = setTimeout(() => done(false), ms);
    agent.child.stderr!.on('data', onData);
    agent.result.then(() => done(pattern.test(seen)), () => done(false));
  });
}

/** Runs the built agent to completion. */
export function runAgent(args: string[], options: AgentOptions): Promise<AgentResult> {
  return startAgent(args, options).result;
}

/** A fresh temporary host root. */
export function tempRoot(prefix = 'elemental-root-'): string {
  return tempDir(prefix); // removed when the test process exits, also after a failure
}
