// `npm run bench`: start-up, size, memory and CPU of the built agent, measured side by side in
// one run and printed as one table. Every agent run goes through the tests' spawn helper
// (shims first on PATH, a temporary --root): nothing here can reboot or rename this machine.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LABELS } from '../test/support/elemental-api';
import { BUNDLE_BUDGET, budgetLines, bundleSize } from '../test/support/bundle-size';
import { type Journey, type JourneyRunOptions, journey, registeredJourney } from '../test/support/lifecycle';
import { SEA_PATH, seaUnusable } from '../test/support/sea';
import { AGENT_PATH, type AgentOptions } from '../test/support/spawn-agent';
import { SERVER, writeMachine } from '../test/support/machines';
import { MACHINE, readFacts } from '../src/facts';
import { hostVariables } from '../src/host-variables';
import { fleetBench } from './fleet';
import { startupBench } from './startup';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const ITERATIONS = 2000;
const SOAK_STEP = 2000;
const MAXRSS_PRELOAD = resolve('bench/max-rss.cjs');
// Like-for-like with `node -e 0`: no unshare in front of node (the shims still guard the host).
// And without --debug: the numbers are those of a production run.
const DIRECT: JourneyRunOptions = { noUnshare: true, debug: false };
/**
 * The node command lines the run, soak and big sections compare: plain `node`, and node as
 * examples/systemd/elemental-agent.service starts the agent (its flags are read from the
 * unit, so the bench measures what ships). BENCH_NODE_FLAGS='…' measures those flags only.
 */
interface NodeSetup {
  label: string;
  flags: string[];
}
function unitNodeFlags(): string[] {
  const unit = readFileSync(resolve('examples/systemd/elemental-agent.service'), 'utf8');
  const exec = /^ExecStart=\/usr\/bin\/env node (.*?) ?\/usr\/local\/bin\/elemental-agent run$/m.exec(unit);
  if (!exec) throw new Error('examples/systemd/elemental-agent.service: ExecStart is not `/usr/bin/env node [flags] /usr/local/bin/elemental-agent run`');
  return exec[1]!.split(/\s+/).filter(Boolean);
}
/** BENCH_NODE_FLAGS as a list; undefined when not set. */
const GIVEN_NODE_FLAGS = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean);
function nodeSetups(): NodeSetup[] {
  const flags = GIVEN_NODE_FLAGS;
  if (flags) return [{ label: flags.length ? `node ${flags.join(' ')}` : 'node', flags }];
  const unit = unitNodeFlags();
  return [{ label: 'node', flags: [] }, ...(unit.length ? [{ label: `example unit: node ${unit.join(' ')}`, flags: unit }] : [])];
}

const rows: [string, string, string][] = [];
const row = (what: string, value: string, target = '') => {
  rows.push([what, value, target]);
  console.log(`  ${what}: ${value}${target ? `  (${target})` : ''}`);
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const ms = (v: number) => `${v.toFixed(1)} ms`;
const mb = (kib: number) => `${(kib / 1024).toFixed(1)} MB`;
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

/** Wall time of `command argv` (default command: this machine's node), in ms. */
function time(argv: string[], command = process.execPath): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(command, argv, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${command} ${argv.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function coldStart(): void {
  console.log(`cold start (median of ${ROUNDS}, interleaved)`);
  const sea = seaUnusable() === undefined;
  const floor: number[] = [];
  const version: number[] = [];
  const help: number[] = [];
  const seaVersion: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    floor.push(time(['-e', '0']));
    version.push(time([AGENT_PATH, 'version']));
    help.push(time([AGENT_PATH, '--help']));
    if (sea) seaVersion.push(time(['version'], SEA_PATH));
  }
  const f = median(floor);
  row('node -e 0 (floor)', ms(f));
  row('version', `${ms(median(version))} = ${(median(version) / f).toFixed(2)} × floor`, `target ≤ 1.2 ×: ${verdict(median(version) / f <= 1.2)}`);
  row('--help', `${ms(median(help))} = ${(median(help) / f).toFixed(2)} × floor`, `target ≤ 1.25 ×: ${verdict(median(help) / f <= 1.25)}`);
  if (sea) row('version, SEA (dist/elemental-agent-linux-x64)', `${ms(median(seaVersion))} = ${(median(seaVersion) / f).toFixed(2)} × floor (node 24 inside, not this node)`);
  else row('version, SEA', seaUnusable()!);
}

async function register(): Promise<void> {
  console.log(`register --install against the stand-in (median of ${ROUNDS}, interleaved with node -e 0)`);
  const firstRequest: number[] = [];
  const wall: number[] = [];
  const floors: number[] = [];
  const seaFirstRequest: number[] = [];
  const sea = seaUnusable() === undefined;
  /** register --install on a fresh journey: [spawn → first request, wall time] in ms. */
  const registerOnce = async (options: JourneyRunOptions): Promise<[number, number]> => {
    const j = await journey();
    try {
      const spawned = Date.now();
      const start = process.hrtime.bigint();
      const r = await j.run(['register', '--install'], options);
      if (r.code !== 0) throw new Error(`register exited ${r.code}: ${r.stderr}`);
      return [j.api.requests[0]!.time - spawned, Number(process.hrtime.bigint() - start) / 1e6];
    } finally {
      await j.close();
    }
  };
  for (let i = 0; i < ROUNDS; i++) {
    floors.push(time(['-e', '0'])); // side by side: this machine's noise shifts both alike
    const [first, total] = await registerOnce(DIRECT);
    firstRequest.push(first);
    wall.push(total);
    if (sea) seaFirstRequest.push((await registerOnce({ ...DIRECT, runtime: [], agentPath: SEA_PATH }))[0]);
  }
  const first = median(firstRequest);
  const floor = median(floors);
  row('spawn → first request', `${ms(first)} = ${(first / floor).toFixed(2)} × floor (${ms(floor)} in this section)`, `target ≤ 1.4 ×: ${verdict(first / floor <= 1.4)}`);
  if (sea) row('spawn → first request, SEA', `${ms(median(seaFirstRequest))} = ${(median(seaFirstRequest) / floor).toFixed(2)} × floor`);
  row('register --install wall time', ms(median(wall)));
}

function bundle(): void {
  const size = bundleSize(AGENT_PATH);
  const budget = budgetLines(size);
  row(
    'bundle size (dist/elemental-agent.js)',
    `${budget.minified}; gzip ${budget.gzip}`,
    `budget ≤ ${BUNDLE_BUDGET.minifiedKb} KB, gzip ≤ ${BUNDLE_BUDGET.gzipKb} KB: ${verdict(budget.withinBudget)}`,
  );
  const missing = seaUnusable();
  row('SEA size (dist/elemental-agent-linux-x64)', missing ?? `${statSync(SEA_PATH).size} B (${(statSync(SEA_PATH).size / 1e6).toFixed(1)} MB: node and the bundle)`);
  const meta = JSON.parse(readFileSync('dist/meta.json', 'utf8')) as { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
  const byOwner = new Map<string, number>();
  for (const [file, info] of Object.entries(meta.outputs['dist/elemental-agent.js']!.inputs)) {
    const owner = file.includes('node_modules/') ? file.split('node_modules/')[1]!.split('/')[0]! : file;
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + info.bytesInOutput);
  }
  const top = [...byOwner.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  row('top contributors', top.map(([k, v]) => `${k} ${(v / 1024).toFixed(1)} KB`).join(', '));
}

function procStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(/\s(\d+) kB/.exec(text.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? 0);
    return { rss: kib('VmRSS:'), hwm: kib('VmHWM:') };
  } catch {
    return undefined;
  }
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
}

/** Reconcile iterations so far: each one reports phase Running. */
const runningReports = (j: Journey) => j.api.requests.filter((r) => r.op === 'patchHost' && (r.body as { phase?: string } | undefined)?.phase === 'Running').length;

const registered = (agent: Record<string, unknown> = {}) => registeredJourney({ agent }, DIRECT);

/** A registered, bootstrapped host reconciling every 1 ms: each iteration is one GET and one
 *  PATCH (phase Running). */
async function bootstrappedAtOneMs(): Promise<Journey> {
  const { j, name } = await registered({ reconciliation: 1_000_000 });
  j.api.setBootstrap(j.reg, name, { config: 'x' });
  j.api.updateHost(j.reg, name, (h) => {
    h.labels[LABELS.bootstrapped] = 'true';
  });
  return j;
}

/** `run` with the bench preload: afterGc() runs a full GC in the agent and returns its
 *  heapUsed and RSS after it (KiB). */
function startMeasuredRun(j: Journey, setup: NodeSetup, timeoutMs: number) {
  const heapFile = join(mkdtempSync(join(tmpdir(), 'elemental-bench-')), 'heap.json');
  const agent = j.start(['run'], {
    ...DIRECT,
    timeoutMs,
    nodeArgs: [...setup.flags, '--expose-gc', '--require', MAXRSS_PRELOAD],
    env: { BENCH_HEAP_FILE: heapFile },
  });
  const afterGc = async (): Promise<{ heapUsed: number; rss: number }> => {
    rmSync(heapFile, { force: true });
    process.kill(agent.child.pid!, 'SIGUSR2');
    for (let i = 0; i < 200 && !existsSync(heapFile); i++) await new Promise((r) => setTimeout(r, 10));
    const usage = JSON.parse(readFileSync(heapFile, 'utf8')) as { heapUsed: number; rss: number };
    return { heapUsed: usage.heapUsed / 1024, rss: usage.rss / 1024 };
  };
  return { ...agent, afterGc };
}

async function runLoop(setup: NodeSetup): Promise<void> {
  console.log(`run: ${ITERATIONS} reconcile iterations at a 1 ms period, ${setup.label}`);
  const j = await bootstrappedAtOneMs();
  try {
    const iterations = () => runningReports(j);
    const agent = startMeasuredRun(j, setup, 120_000);
    const pid = agent.child.pid!;
    const heapAfterGc = async () => (await agent.afterGc()).heapUsed;
    await j.api.waitFor(() => iterations() >= 200, 60_000);
    const warm = procStatus(pid)!;
    const heapWarm = await heapAfterGc();
    const ticksWarm = cpuTicks(pid);
    const started = Date.now();
    await j.api.waitFor(() => iterations() >= ITERATIONS + 200, 120_000);
    const after = procStatus(pid)!;
    const ticks = cpuTicks(pid) - ticksWarm;
    const elapsed = Date.now() - started;
    const heapAfter = await heapAfterGc();
    agent.child.kill('SIGTERM');
    await agent.result;
    const growth = after.rss - warm.rss;
    const heapGrowth = heapAfter - heapWarm;
    const on = ` (${setup.label})`;
    row(`run RSS after 200 iterations${on}`, mb(warm.rss), `target ≤ 60 MB: ${verdict(warm.rss <= 60 * 1024)}`);
    // Growth over this short window is shown, not judged: V8 is still sizing its heap here; the
    // soak section's second half is what says whether memory levels off.
    row(`run RSS after ${ITERATIONS} more${on}`, `${mb(after.rss)} (growth ${(growth / 1024).toFixed(2)} MB, peak ${mb(after.hwm)})`, `peak ≤ 60 MB: ${verdict(after.hwm <= 60 * 1024)}`);
    row(`heap after GC, 200 → ${ITERATIONS + 200} iterations${on}`, `${mb(heapWarm)} → ${mb(heapAfter)} (${heapGrowth >= 0 ? '+' : ''}${(heapGrowth / 1024).toFixed(2)} MB)`);
    const hz = 100; // USER_HZ on Linux
    row(`CPU per reconcile iteration${on}`, `${((ticks / hz) * 1000 / ITERATIONS).toFixed(3)} ms (${ITERATIONS} iterations in ${elapsed} ms)`);
  } finally {
    await j.close();
  }
}

/**
 * Whether memory levels off — the memory verdict (issue 17): RSS after a full GC grows by less
 * than 1 MB over the second half of the run (the last 10,000 of 20,000 reconciles at a 1 ms
 * period), judged with the example unit's node flags. A leak grows without end; V8 sizing its heap
 * to the load grows in steps up to a bound. Prints RSS every SOAK_STEP iterations.
 */
async function soak(setup: NodeSetup, total: number, judged: boolean): Promise<void> {
  console.log(`soak: RSS every ${SOAK_STEP} reconcile iterations at a 1 ms period, ${total} in all, ${setup.label}`);
  const j = await bootstrappedAtOneMs();
  try {
    const agent = startMeasuredRun(j, setup, 600_000);
    const raw: number[] = [];
    const afterGc: number[] = [];
    for (let done = SOAK_STEP; done <= total; done += SOAK_STEP) {
      await j.api.waitFor(() => runningReports(j) >= done, 120_000);
      raw.push(procStatus(agent.child.pid!)!.rss);
      afterGc.push((await agent.afterGc()).rss);
    }
    agent.child.kill('SIGTERM');
    await agent.result;
    const series = (kib: number[]) => kib.map((v) => (v / 1024).toFixed(1)).join(', ') + ' MB';
    // Growth over the second half: a leak keeps growing there, heap sizing has levelled off.
    const secondHalf = (kib: number[]) => kib[kib.length - 1]! - kib[(kib.length >> 1) - 1]!;
    const on = ` (${setup.label})`;
    row(`run RSS every ${SOAK_STEP} iterations${on}`, series(raw));
    row(`run RSS after a full GC, every ${SOAK_STEP} iterations${on}`, series(afterGc));
    const growth = secondHalf(afterGc);
    const target = judged ? `levels off (< 1 MB): ${verdict(growth < 1024)}` : 'shown, not judged (the verdict is on the unit\'s flags)';
    row(`RSS after GC, growth over the last ${total / 2} iterations${on}`, `${(growth / 1024).toFixed(2)} MB (raw RSS: ${(secondHalf(raw) / 1024).toFixed(2)} MB)`, target);
  } finally {
    await j.close();
  }
}

/** Peak RSS (KiB) and wall time of `run` applying a bootstrap config of `size` bytes. */
async function bootstrapPeak(size: number, measure: Partial<AgentOptions>, maxRssFile: string): Promise<{ peak: number; ms: number }> {
  const { j, name } = await registered();
  try {
    j.api.setBootstrap(j.reg, name, { config: `#cloud-config\n# ${'x'.repeat(size)}\n` });
    const start = process.hrtime.bigint();
    const r = await j.run(['run'], { ...DIRECT, ...measure });
    if (r.code !== 0) throw new Error(`run exited ${r.code}`);
    return { peak: Number(readFileSync(maxRssFile, 'utf8')), ms: Number(process.hrtime.bigint() - start) / 1e6 };
  } finally {
    await j.close();
  }
}

/** Entries of about 1 KB, `kib` of them: that many KiB of JSON in every PATCH answer. */
function osVersionManagementOf(kib: number): Record<string, string> {
  const osv: Record<string, string> = {};
  for (let i = 0; i < kib; i++) osv[`k${String(i).padStart(5, '0')}`] = 'v'.repeat(1010);
  return osv;
}

/** True once the agent reported the OSVersionReady condition (any status). */
const osVersionReported = (j: Journey, name: string) => j.api.host(j.reg, name)?.conditions.some((c) => c.type === 'OSVersionReady') ?? false;

/** Peak RSS (KiB) and time to OSVersionReady of `run` reconciling `osv`. */
async function osVersionPeak(osv: Record<string, string>, measure: Partial<AgentOptions>, maxRssFile: string): Promise<{ peak: number; ms: number }> {
  const { j, name } = await registered();
  try {
    j.api.setOsVersionManagement(j.reg, name, osv);
    const start = process.hrtime.bigint();
    const agent = j.start(['run'], { ...DIRECT, ...measure });
    await j.api.waitFor(() => osVersionReported(j, name), 60_000);
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    agent.child.kill('SIGTERM');
    await agent.result;
    return { peak: Number(readFileSync(maxRssFile, 'utf8')), ms: elapsed };
  } finally {
    await j.close();
  }
}

/** The transport's caps (src/api/client.ts): what a hostile or broken server can make the agent hold. */
const HOST_ANSWER_CAP = 8 * 1024 * 1024;
const BOOTSTRAP_ANSWER_CAP = 64 * 1024 * 1024;
/** Issue 22: an answer at the cap peaks under this RSS. */
const PEAK_BOUND_KIB = 200 * 1024;

async function bigInputs(setup: NodeSetup): Promise<void> {
  console.log(`answers at the transport's caps (peak RSS via process.resourceUsage at exit), ${setup.label}`);
  const dir = mkdtempSync(join(tmpdir(), 'elemental-bench-'));
  try {
    const maxRssFile = join(dir, 'maxrss');
    const measure = { nodeArgs: [...setup.flags, '--require', MAXRSS_PRELOAD], env: { BENCH_MAXRSS_FILE: maxRssFile } };
    const on = ` (${setup.label})`;
    // The JSON around the config ({"format":"cloud-config","config":"…"}) takes about 40 bytes.
    const bootstrapSize = BOOTSTRAP_ANSWER_CAP - 1024;
    const idle = await bootstrapPeak(16, measure, maxRssFile);
    const big = await bootstrapPeak(bootstrapSize, measure, maxRssFile);
    row(`bootstrap answer at the 64 MiB cap${on}`, `${ms(big.ms)}, peak RSS ${mb(big.peak)} (a 16-byte bootstrap: ${mb(idle.peak)})`, `target < 200 MB: ${verdict(big.peak < PEAK_BOUND_KIB)}`);
    // Each entry is about 1 KiB of JSON; the answer's other fields are a few hundred bytes.
    const osv = osVersionManagementOf(Math.floor(HOST_ANSWER_CAP / 1024) - 16);
    const osvIdle = await osVersionPeak({ k: 'v' }, measure, maxRssFile);
    const osvBig = await osVersionPeak(osv, measure, maxRssFile);
    row(`host answer at the 8 MiB cap (osVersionManagement)${on}`, `${ms(osvBig.ms)} to OSVersionReady, peak RSS ${mb(osvBig.peak)} (a tiny one: ${mb(osvIdle.peak)})`, `target < 200 MB: ${verdict(osvBig.peak < PEAK_BOUND_KIB)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Reading the host facts and building the variables (SPEC §17), in this process: this machine,
 * and a recorded rack server's tree. `run` does it before each reconcile of a templated host.
 */
function facts(): void {
  const dir = mkdtempSync(join(tmpdir(), 'bench-facts-'));
  try {
    const server = writeMachine(dir, SERVER);
    for (const [what, sources] of [['this machine', MACHINE], ['a recorded rack server', server]] as const) {
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const start = process.hrtime.bigint();
        hostVariables(readFacts(sources));
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      const p50 = median(times);
      row(`facts read + variables (${what})`, `${p50.toFixed(2)} ms median of 200`, `target < 5 ms: ${verdict(p50 < 5)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `npm run bench -- run big` runs only those sections (cold, register, bundle, facts, run, big, soak;
 *  by default all, the soak with the unit's flags only; `fleet` only when named). */
export async function main(args: string[] = []): Promise<number> {
  // The start-up comparison (every runtime, ~1 min) runs only when named.
  if (args.includes('startup')) {
    const code = await startupBench();
    args = args.filter((a) => a !== 'startup');
    if (code !== 0 || args.length === 0) return code;
  }
  // The fleet (100 agents, several minutes) runs only when named.
  if (args.includes('fleet')) {
    const code = await fleetBench();
    args = args.filter((a) => a !== 'fleet');
    if (code !== 0 || args.length === 0) return code;
  }
  const want = (section: string) => args.length === 0 || args.includes(section);
  const soakTotal = Number(process.env.BENCH_SOAK_ITERATIONS ?? 20_000);
  if (want('soak') && !(Number.isInteger(soakTotal) && soakTotal >= 2 * SOAK_STEP)) {
    console.error(`BENCH_SOAK_ITERATIONS=${process.env.BENCH_SOAK_ITERATIONS}: give a whole number of at least ${2 * SOAK_STEP}`);
    return 2;
  }
  console.log(`elemental-agent bench — node ${process.version}, ${AGENT_PATH}`);
  if (want('cold')) coldStart();
  if (want('register')) await register();
  if (want('bundle')) bundle();
  if (want('facts')) facts();
  const setups = nodeSetups();
  if (want('run')) for (const setup of setups) await runLoop(setup);
  if (want('big')) for (const setup of setups) await bigInputs(setup);
  // The soak judges memory with the unit's flags: by default it runs for that setup alone; named,
  // for every setup.
  const unitFlags = unitNodeFlags().join(' ');
  const judged = (setup: NodeSetup) => setup.flags.join(' ') === unitFlags;
  const soaked = args.includes('soak') ? setups : args.length === 0 ? setups.filter(judged) : [];
  for (const setup of soaked) await soak(setup, soakTotal, judged(setup));
  console.log('\n| measurement | value | target |\n|---|---|---|');
  for (const [what, value, target] of rows) console.log(`| ${what} | ${value} | ${target} |`);
  return 0;
}
