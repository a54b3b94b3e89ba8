// kill -9 at random points (SPEC §11: "a crash or power loss leaves either the old or the new
// content, never a partial file"). Seeded trials (CRASH_SEED, CRASH_TRIALS): the agent is
// SIGKILLed at a random moment of `register --install` (100 of the default 130 trials) or
// `reset` (30, from a registered host the operator deleted, needs.reset already removed); then
// every file the agent writes must be absent, the old content or the complete new content, and
// rerunning the same command must complete with the clean run's files.
//
// Crash-safe registration (SPEC §4): the name and key are persisted in
// <workDir>/pending-registration.json before the create POST, so a rerun adopts the host the
// killed run had created: no orphan host may be left on the server, wherever the kill lands.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { rmSync } from 'node:fs';
import { LABELS } from '../support/elemental-api';
import { CONFIG_PATH, type Journey, WORK_DIR, journey } from '../support/lifecycle';
import { type AgentOptions, type AgentResult, canUnshareUts } from '../support/spawn-agent';
import {
  type RegisteredTemplate,
  type Tree,
  captureRegistered,
  diffTrees,
  journeyReplacements,
  normaliseTree,
  replayRegistered,
  snapshotTree,
  tempFiles,
} from '../support/trees';
import { PENDING_REGISTRATION_FILE } from '../../src/identity';
import { pool } from '../support/pool';
import { prng } from '../support/prng';
import { withoutTimestamps } from '../support/log-lines';

const DEFAULT_SEED = 20_241_125;
const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) >>> 0 : DEFAULT_SEED;
const TRIALS = Math.max(10, Number(process.env.CRASH_TRIALS) || 130);
/** 100 register and 30 reset trials of the default 130. */
const REGISTER_SHARE = 10 / 13;
const CONCURRENCY = Math.max(1, Number(process.env.CRASH_CONCURRENCY) || 4);
/** Bound of a run to completion (clean runs and reruns). */
const RUN_TIMEOUT_MS = 20_000;
/**
 * Bound of a rerun: a rerun that does not finish by then is stuck (e.g. `reset` retrying a
 * DELETE of a host the killed run had already reset away).
 */
const RERUN_TIMEOUT_MS = 8_000;

const PRIVATE_KEY = `${WORK_DIR}/private.key`;
const PENDING = `${WORK_DIR}/${PENDING_REGISTRATION_FILE}`;
/** The files the agent writes (SPEC §3, §4, §9), checked after every kill. */
const WRITTEN = [CONFIG_PATH, `${WORK_DIR}/config.yaml`, PRIVATE_KEY, PENDING, `${WORK_DIR}/cloud-init.yaml`, `${WORK_DIR}/install.yaml`, `${WORK_DIR}/reset.yaml`, '/etc/hostname'];

/**
 * Where the machine gives the agent its own UTS namespace, hostnamectl "fails because systemd is
 * not running", so that the agent writes /etc/hostname ITSELF (atomically, SPEC §9) instead of
 * the recording shim (a separate process, which a SIGKILL of the agent does not stop).
 */
const NO_SYSTEMD: Partial<AgentOptions> = canUnshareUts() ? { failingShims: { hostnamectl: 'System has not been booted with systemd' } } : {};


type Command = 'register' | 'reset';
const ARGS: Record<Command, string[]> = { register: ['register', '--install'], reset: ['reset'] };

interface Trial {
  n: number;
  command: Command;
  /**
   * `time`: killed `delayMs` after the spawn (uniform in [0, clean wall time]). `anchored`:
   * killed `delayMs` after the server answered request number `anchor` (uniform over the clean
   * sequence), the delay uniform in [0, the clean run's gap to the next request or the exit], so
   * that the short windows in which files are written get their share of kills.
   */
  mode: 'time' | 'anchored';
  anchor: number;
  delayMs: number;
  /** Second draw in [0, 1), used when the run had exited before the first kill. */
  redraw: number;
}

interface TrialResult extends Trial {
  /** The agent was still running when killed (false: it had exited already). */
  killed: boolean;
  /** The first delay outlasted the run; the trial was redone with a delay within the observed duration. */
  redrawn: boolean;
  /** Requests the server had seen at the kill. */
  requestsAtKill: number;
  /** Tracked files holding the new (complete) content right after the kill. */
  newAtKill: string[];
  privateKeyAtKill: boolean;
  tempFilesAtKill: number;
  /** Their paths, the pid/random part elided. */
  tempNames: string[];
  tempFilesAfterRerun: number;
  /** Hosts on the server after the kill, and after the rerun. */
  hostsAtKill: number;
  hostsAfter: number;
  rerunCode: number | null;
  rerunMs: number;
  rerunStuck: boolean;
  /** The killed run's final PATCH had already removed the host (reset). */
  hostGoneAtKill: boolean;
  problems: string[];
}

let template: RegisteredTemplate | undefined;
const clean = new Map<Command | 'start-register' | 'start-reset', { tree: Tree; wallMs: number; gaps: number[] }>();
const results: TrialResult[] = [];
/** Set when the first test starts (uvu imports every test file before running any). */
let t0 = Date.now();

async function setUp(command: Command): Promise<Journey> {
  const j = await journey();
  if (command === 'reset') {
    if (!template) throw new Error('no template');
    const name = replayRegistered(j, template);
    j.api.deleteHost(j.reg, name);
  }
  j.api.clearRequests();
  return j;
}

async function dispose(j: Journey): Promise<void> {
  await j.close();
  rmSync(j.root, { recursive: true, force: true });
}


const isPem = (text: string): boolean => /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/.test(text);

/** Problems with a tracked file right after a kill: it must be absent, old, or complete new. */
function checkAtKill(path: string, before: Tree, after: Tree, final: Tree): string[] {
  const now = after.get(path);
  const old = before.get(path);
  const fresh = final.get(path);
  if (!now) return old ? [`${path}: was there before, deleted by the killed run`] : [];
  if (now.type !== 'file') return [`${path}: is a ${now.type}`];
  if (path === PENDING) {
    // Present only between the create POST and the end of finalize: complete, private, and
    // naming the host with a key that parses.
    const problems: string[] = [];
    try {
      const pending = JSON.parse(now.content ?? '') as { name?: unknown; privateKey?: unknown };
      if (typeof pending.name !== 'string' || !/^m-(<UUID>|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.test(pending.name)) problems.push(`${path}: name ${JSON.stringify(pending.name)}`);
      if (typeof pending.privateKey !== 'string' || !isPem(pending.privateKey)) problems.push(`${path}: privateKey is not a complete PEM`);
      else createPrivateKey(pending.privateKey);
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message} (${(now.content ?? '').length} bytes)`);
    }
    if (now.mode !== 0o600) problems.push(`${path}: mode ${now.mode.toString(8)}`);
    return problems;
  }
  if (path === PRIVATE_KEY) {
    const problems: string[] = [];
    if (!isPem(now.content ?? '')) problems.push(`${path}: not a complete PEM (${(now.content ?? '').length} bytes)`);
    try {
      createPrivateKey(now.content ?? '');
    } catch (err) {
      problems.push(`${path}: does not parse: ${(err as Error).message}`);
    }
    if (now.mode !== 0o600) problems.push(`${path}: mode ${now.mode.toString(8)}`);
    return problems;
  }
  if (old && now.content === old.content) return now.mode === old.mode ? [] : [`${path}: old content, mode ${now.mode.toString(8)} (was ${old.mode.toString(8)})`];
  if (fresh && now.content === fresh.content) return now.mode === fresh.mode ? [] : [`${path}: new content, mode ${now.mode.toString(8)} (clean run: ${fresh.mode.toString(8)})`];
  return [`${path}: neither old nor new content (${now.content?.length ?? 0} bytes${fresh ? `, new has ${fresh.content?.length ?? 0}` : ''}): ${JSON.stringify((now.content ?? '').slice(0, 80))}`];
}

const LABEL: Record<string, string> = {
  [CONFIG_PATH]: 'config',
  [`${WORK_DIR}/config.yaml`]: 'workDir config',
  [PRIVATE_KEY]: 'private.key',
  [PENDING]: 'pending',
  [`${WORK_DIR}/cloud-init.yaml`]: 'cloud-init.yaml',
  [`${WORK_DIR}/install.yaml`]: 'install.yaml',
  [`${WORK_DIR}/reset.yaml`]: 'reset.yaml',
  '/etc/hostname': 'hostname',
};

interface Killed {
  j: Journey;
  first: AgentResult | undefined;
  killed: boolean;
  requestsAtKill: number;
  wallMs: number;
}

/** Starts the command in a fresh journey and SIGKILLs it `delayMs` after the spawn. */
async function startAndKill(command: Command, delayMs: number, anchor = 0): Promise<Killed> {
  const j = await setUp(command);
  const started = Date.now();
  const agent = j.start(ARGS[command], { ...NO_SYSTEMD, timeoutMs: RUN_TIMEOUT_MS });
  let requestsAtKill = -1;
  let timer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    requestsAtKill = j.api.requests.length;
    agent.child.kill('SIGKILL');
  };
  if (anchor === 0) timer = setTimeout(kill, delayMs);
  else {
    j.api
      .waitFor(() => j.api.requests.length >= anchor && j.api.requests[anchor - 1]!.status !== 0, RUN_TIMEOUT_MS)
      .then(() => {
        if (agent.child.exitCode === null && agent.child.signalCode === null) timer = setTimeout(kill, delayMs);
      })
      .catch(() => undefined);
  }
  let first: AgentResult | undefined;
  try {
    first = await agent.result;
  } catch {
    first = undefined;
  } finally {
    clearTimeout(timer);
  }
  const killed = first?.signal === 'SIGKILL';
  return { j, first, killed, requestsAtKill: killed ? requestsAtKill : j.api.requests.length, wallMs: Date.now() - started };
}

async function runTrial(trial: Trial): Promise<TrialResult> {
  const out: TrialResult = {
    ...trial,
    killed: false,
    redrawn: false,
    requestsAtKill: 0,
    newAtKill: [],
    privateKeyAtKill: false,
    tempFilesAtKill: 0,
    tempNames: [],
    tempFilesAfterRerun: 0,
    hostsAtKill: 0,
    hostsAfter: 0,
    rerunCode: null,
    rerunMs: 0,
    rerunStuck: false,
    hostGoneAtKill: false,
    problems: [],
  };
  // The kill. An agent that had already exited (the delay was longer than this run) is run
  // again in a fresh root with a delay drawn in [0, the duration just observed].
  let k = await startAndKill(trial.command, trial.delayMs, trial.mode === 'anchored' ? trial.anchor : 0);
  if (!k.killed && k.first?.code === 0) {
    await dispose(k.j);
    out.redrawn = true;
    out.mode = 'time';
    out.anchor = 0;
    out.delayMs = Math.round(trial.redraw * k.wallMs);
    k = await startAndKill(trial.command, out.delayMs);
  }
  const { j, first } = k;
  try {
    const norm = (tree: Tree): Tree => normaliseTree(tree, journeyReplacements(j));
    out.killed = k.killed;
    out.requestsAtKill = k.requestsAtKill;
    if (!first) out.problems.push('the killed run could not be started');
    else if (!k.killed && first.code !== 0) out.problems.push(`the run exited ${first.code} before the kill: ${first.stderr.slice(-300)}`);
    const final = clean.get(trial.command)!.tree;
    const before = trial.command === 'reset' ? clean.get('start-reset')!.tree : clean.get('start-register')!.tree;

    // Right after the kill: never a partial file.
    const after = norm(snapshotTree(j.root));
    for (const path of WRITTEN) out.problems.push(...checkAtKill(path, before, after, final));
    for (const [path, entry] of after) {
      if (entry.type !== 'file' || before.has(path) || final.has(path) || WRITTEN.includes(path)) continue;
      if (tempFiles(new Map([[path, entry]])).length === 1) {
        out.tempFilesAtKill += 1;
        out.tempNames.push(path.replace(/\.\d+\.[0-9a-f]+\.tmp$/, '.<pid>.<rand>.tmp'));
      }
      else out.problems.push(`${path}: unexpected file after the kill`);
    }
    out.newAtKill = WRITTEN.filter((p) => {
      const now = after.get(p);
      const old = before.get(p);
      return now !== undefined && (p === PRIVATE_KEY ? !old : now.content !== old?.content);
    });
    out.privateKeyAtKill = after.has(PRIVATE_KEY) && !before.has(PRIVATE_KEY);
    out.hostsAtKill = j.api.hosts(j.reg).length;
    out.hostGoneAtKill = trial.command === 'reset' && out.hostsAtKill === 0;

    // The rerun completes, with the clean run's files.
    const started = Date.now();
    const again = await j.start(ARGS[trial.command], { ...NO_SYSTEMD, timeoutMs: RERUN_TIMEOUT_MS }).result.catch((err: unknown) => {
      out.problems.push(`rerun: ${(err as Error).message}`);
      return undefined;
    });
    out.rerunMs = Date.now() - started;
    out.rerunCode = again?.code ?? null;
    out.rerunStuck = again?.signal === 'SIGKILL';
    if (again && again.code !== 0) {
      const last = withoutTimestamps(again.stderr).trim().split('\n').filter((l) => !l.startsWith('DEBUG')).slice(-2).join(' / ');
      out.problems.push(`rerun ${out.rerunStuck ? `did not finish within ${RERUN_TIMEOUT_MS} ms` : `exited ${again.code}`}${out.hostGoneAtKill ? ' (the killed run had already reset the host away)' : ''}: ${last}`);
    }
    const done = norm(snapshotTree(j.root));
    out.tempFilesAfterRerun = tempFiles(done).length;
    const diff = diffTrees(final, done, { ignoreContent: (p) => p === PRIVATE_KEY, ignore: (p) => tempFiles(new Map([[p, done.get(p)!]])).length === 1 });
    if (again?.code === 0) out.problems.push(...diff.map((d) => `after the rerun: ${d}`));

    const hosts = j.api.hosts(j.reg);
    out.hostsAfter = hosts.length;
    if (trial.command === 'register' && again?.code === 0) {
      // The host this root now is: the name in /etc/hostname, signed for by private.key.
      const name = j.exists('/etc/hostname') ? j.read('/etc/hostname').trim() : '';
      const mine = hosts.find((h) => h.name === name);
      if (!mine) out.problems.push(`after the rerun: no host '${name}' on the server`);
      else {
        if (mine.labels[LABELS.installed] !== 'true') out.problems.push(`after the rerun: host '${name}' is not installed`);
        try {
          const pub = createPublicKey(createPrivateKey(j.read(PRIVATE_KEY))).export({ type: 'spki', format: 'pem' }).toString();
          if (pub !== mine.pubKey) out.problems.push(`after the rerun: private.key does not match host '${name}'`);
        } catch (err) {
          out.problems.push(`after the rerun: private.key: ${(err as Error).message}`);
        }
      }
    }
    if (trial.command === 'reset' && again?.code === 0 && hosts.length !== 0) out.problems.push(`after the rerun: ${hosts.length} host(s) still on the server`);
    return out;
  } catch (err) {
    out.problems.push(`trial failed: ${(err as Error).stack ?? String(err)}`);
    return out;
  } finally {
    await dispose(j);
  }
}

test('clean runs: reference trees and wall times (measured at the trials\' concurrency)', async () => {
  t0 = Date.now();
  template = await captureRegistered({ ...NO_SYSTEMD, timeoutMs: RUN_TIMEOUT_MS });
  for (const command of ['register', 'reset'] as const) {
    const runs = await pool(Array.from({ length: CONCURRENCY }, (_, i) => i), CONCURRENCY, async () => {
      const j = await setUp(command);
      try {
        const start = normaliseTree(snapshotTree(j.root), journeyReplacements(j));
        clean.set(`start-${command}`, { tree: start, wallMs: 0, gaps: [] });
        const started = Date.now();
        const r = await j.run(ARGS[command], { ...NO_SYSTEMD, timeoutMs: RUN_TIMEOUT_MS });
        const wallMs = Date.now() - started;
        // Gap after each request (arrival of the next one, or the exit for the last one).
        const times = j.api.requests.map((q) => q.time);
        const gaps = times.map((t, i) => Math.max(1, (times[i + 1] ?? started + wallMs) - t));
        return { r, wallMs, gaps, tree: normaliseTree(snapshotTree(j.root), journeyReplacements(j)), hosts: j.api.hosts(j.reg).length };
      } finally {
        await dispose(j);
      }
    });
    for (const { r, tree, hosts } of runs) {
      assert.is(r.code, 0, `${command}: ${r.stderr}`);
      assert.equal(tempFiles(tree), [], `${command}: temp files in a clean run`);
      assert.is(hosts, command === 'register' ? 1 : 0, `${command}: hosts after a clean run`);
      assert.equal(diffTrees(runs[0]!.tree, tree, { ignoreContent: (p) => p === PRIVATE_KEY }), [], `${command}: two clean runs differ`);
    }
    const walls = runs.map((x) => x.wallMs).sort((a, b) => a - b);
    const lengths = new Set(runs.map((x) => x.gaps.length));
    assert.is(lengths.size, 1, `${command}: clean runs differ in their number of requests`);
    // Per request, the median gap over the clean runs.
    const gaps = runs[0]!.gaps.map((_, i) => {
      const g = runs.map((x) => x.gaps[i]!).sort((a, b) => a - b);
      return g[Math.floor(g.length / 2)]!;
    });
    clean.set(command, { tree: runs[0]!.tree, wallMs: walls[Math.floor(walls.length / 2)]!, gaps });
  }
  const tree = clean.get('register')!.tree;
  for (const path of WRITTEN.filter((p) => !p.endsWith('reset.yaml') && p !== PENDING)) assert.ok(tree.has(path), `a clean register writes ${path}`);
  assert.not.ok(tree.has(PENDING), 'a clean register removes its pending registration');
  assert.ok(clean.get('reset')!.tree.has(`${WORK_DIR}/reset.yaml`), 'a clean reset writes reset.yaml');
});

test('SIGKILL at random moments: files never partial, the rerun completes', async () => {
  assert.ok(clean.has('register') && clean.has('reset'), 'the clean runs are needed first');
  const trials: Trial[] = [];
  for (let n = 1; n <= TRIALS; n++) {
    // Exactly 70 % register, interleaved; a delay uniform in [0, clean wall time]. Each trial
    // has its own stream, so its draws do not depend on the order the pool runs trials in.
    const random = prng((SEED + Math.imul(n, 0x9e3779b9)) >>> 0);
    const command: Command = Math.floor(n * REGISTER_SHARE) !== Math.floor((n - 1) * REGISTER_SHARE) ? 'register' : 'reset';
    const { wallMs, gaps } = clean.get(command)!;
    // Alternating per command: time-uniform, then anchored.
    const mode = trials.filter((t) => t.command === command).length % 2 === 0 ? 'time' : 'anchored';
    const anchor = mode === 'anchored' ? 1 + Math.floor(random() * gaps.length) : 0;
    const span = mode === 'anchored' ? gaps[anchor - 1]! : wallMs;
    const delayMs = Math.round(random() * span);
    trials.push({ n, command, mode, anchor, delayMs, redraw: random() });
  }
  console.log(
    `\n  crash: CRASH_SEED=${SEED} trials=${TRIALS} (register ${trials.filter((t) => t.command === 'register').length}, reset ${trials.filter((t) => t.command === 'reset').length}), ` +
      `half the kills uniform in [0, ${clean.get('register')!.wallMs} ms] (register) / [0, ${clean.get('reset')!.wallMs} ms] (reset) after the spawn, ` +
      `half after the answer to a random request of the clean sequence (register N=${clean.get('register')!.gaps.length}, reset N=${clean.get('reset')!.gaps.length}) ` +
      `uniform in [0, the gap to the next request], concurrency ${CONCURRENCY}` +
      `${NO_SYSTEMD.failingShims ? ', hostname written by the agent (no-systemd fallback)' : ''}`,
  );
  results.push(...(await pool(trials, CONCURRENCY, runTrial)));
  assert.is(results.length, TRIALS);
});

function where(r: TrialResult): string {
  return r.mode === 'anchored' ? `${r.delayMs} ms after the answer to request ${r.anchor}` : `${r.delayMs} ms after the spawn`;
}

test('no file is ever partial after a kill', () => {
  const partial = results.filter((r) => r.problems.some((p) => !p.startsWith('rerun') && !p.startsWith('after the rerun')));
  assert.ok(partial.length === 0, `${partial.length} trial(s):\n    ${partial.map((r) => `#${r.n} ${r.command} killed ${where(r)}: ${r.problems.join('; ')}`).join('\n    ')}`);
});

test('the rerun always completes with the clean run\'s files (register: its host on the server)', () => {
  const failed = results.filter((r) => r.problems.some((p) => p.startsWith('rerun') || p.startsWith('after the rerun')));
  assert.ok(failed.length === 0, `${failed.length} trial(s):\n    ${failed.map((r) => `#${r.n} ${r.command} killed ${where(r)}, ${r.requestsAtKill} requests seen: ${r.problems.join('; ')}`).join('\n    ')}`);
});

test('register: no orphan host, wherever the kill lands (the rerun adopts the host the killed run created)', () => {
  const register = results.filter((r) => r.command === 'register');
  assert.ok(register.length >= Math.floor(TRIALS * REGISTER_SHARE), `${register.length} register trials`);
  const orphaned = register.filter((r) => r.hostsAfter > 1);
  assert.ok(
    orphaned.length === 0,
    `${orphaned.length} trial(s) left orphans:\n    ${orphaned.map((r) => `#${r.n} killed ${where(r)}, ${r.requestsAtKill} requests seen, hosts at the kill ${r.hostsAtKill}, after ${r.hostsAfter}, new at the kill: ${r.newAtKill.map((p) => LABEL[p] ?? p).join('+') || 'nothing'}`).join('\n    ')}`,
  );
});

test('reset after a reset that already removed the host (killed before it could exit): the rerun completes', async () => {
  // The window of the random trials made deterministic: the reset completed on the server (the
  // final PATCH landed, the host is gone), the process died before exiting (power loss, kill),
  // and systemd/cloud-init runs `reset` again.
  const j = await setUp('reset');
  try {
    const first = await j.run(['reset'], { timeoutMs: RUN_TIMEOUT_MS });
    assert.is(first.code, 0, first.stderr);
    assert.is(j.api.hosts(j.reg).length, 0);
    const again = await j.run(['reset'], { timeoutMs: RERUN_TIMEOUT_MS });
    const lines = withoutTimestamps(again.stderr).split('\n').filter((l) => !l.startsWith('DEBUG')).slice(0, 6).join('\n      ');
    assert.ok(again.code === 0, `rerun: ${again.signal === 'SIGKILL' ? `still running after ${RERUN_TIMEOUT_MS} ms` : `exit ${again.code}`}:\n      ${lines}`);
  } finally {
    await dispose(j);
  }
});

test.after(() => {
  if (results.length === 0) return;
  const summary = (command: Command): string => {
    const rs = results.filter((r) => r.command === command);
    const killed = rs.filter((r) => r.killed);
    const partial = rs.filter((r) => r.problems.some((p) => !p.startsWith('rerun') && !p.startsWith('after the rerun')));
    const rerunOk = rs.filter((r) => r.rerunCode === 0 && !r.problems.some((p) => p.startsWith('after the rerun')));
    const temps = rs.reduce((a, r) => a + r.tempFilesAtKill, 0);
    const byNew = new Map<string, number>();
    for (const r of killed) {
      const key = r.newAtKill.length === 0 ? 'nothing new' : r.newAtKill.map((p) => LABEL[p] ?? p).join('+');
      byNew.set(key, (byNew.get(key) ?? 0) + 1);
    }
    const lines = [
      `  ${command}: ${rs.length} trials, ${killed.length} killed mid-run (${rs.filter((r) => r.redrawn).length} after a re-draw of the delay; ${rs.length - killed.length} exited before the kill), ` +
        `partial/bad files ${partial.length}, temp files left ${temps} (in ${rs.filter((r) => r.tempFilesAtKill > 0).length} trials), ` +
        `rerun completed ${rerunOk.length}/${rs.length}${rs.some((r) => r.rerunStuck) ? `, rerun stuck ${rs.filter((r) => r.rerunStuck).length}` : ''}`,
      `    temp files left by the kill: ${rs.flatMap((r) => r.tempNames).join(', ') || 'none'} (still there after the rerun: ${rs.reduce((a, r) => a + r.tempFilesAfterRerun, 0)})`,
      `    new files at the kill: ${[...byNew].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ×${v}`).join(', ')}`,
    ];
    if (command === 'register') {
      const orphans = rs.reduce((a, r) => a + Math.max(0, r.hostsAfter - 1), 0);
      const created = killed.filter((r) => r.hostsAtKill > 0);
      const withKey = killed.filter((r) => r.privateKeyAtKill);
      const pending = killed.filter((r) => r.newAtKill.includes(PENDING));
      lines.push(
        `    orphan hosts after the rerun: ${orphans} (in ${rs.filter((r) => r.hostsAfter > 1).length} trials). Killed after the POST had created the host: ${created.length}, ` +
          `of which left an orphan: ${created.filter((r) => r.hostsAfter > 1).length}; killed after private.key was written: ${withKey.length}, of which left an orphan: ${withKey.filter((r) => r.hostsAfter > 1).length}; killed with a pending registration on disk: ${pending.length}, of which left an orphan: ${pending.filter((r) => r.hostsAfter > 1).length}`,
      );
    } else {
      lines.push(`    killed after the host was already gone: ${rs.filter((r) => r.killed && r.hostGoneAtKill).length}`);
    }
    const stuck = rs.filter((r) => r.rerunStuck);
    if (stuck.length) lines.push(`    reruns stuck: ${stuck.map((r) => `#${r.n} (killed ${where(r)}${r.hostGoneAtKill ? ', host already gone' : ''})`).join(', ')}`);
    return lines.join('\n');
  };
  console.log(`\n\n  Crash summary (CRASH_SEED=${SEED}, ${results.length} trials, ${((Date.now() - t0) / 1000).toFixed(1)} s)\n${summary('register')}\n${summary('reset')}\n`);
});

test.run();
