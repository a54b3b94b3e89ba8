// `npm run test:runtimes`: the e2e journeys (lifecycle, bad input, signals, output, and a subset
// of the fault table) run the built bundle under every runtime of scripts/runtimes.mjs — Node 18, 20,
// 22, 24, Bun, Deno — and, when they are built and current, the SEA (dist/elemental-agent-linux-x64)
// and the Bun executable (dist/elemental-agent-bun-linux-x64).
// The bundle runs as an image carries it: a copy named elemental-agent, in a directory with no
// package.json (dist/ has one saying commonjs, which an image does not).
// Missing runtimes are installed first (pinned, into a cache outside the project). Prints a table:
// runtime, version, journeys passed, and the cold start of `version` against that runtime's own
// empty script.
// Usage: node test/runtimes/run.mjs [runtime name ...]   (e.g. `bun deno`, `node 18`, `sea`,
// `executable`: the Bun executable)
// RUNTIMES_ROUNDS (cold start rounds, default 10), RUNTIMES_CONCURRENCY (runtimes at a time,
// default 2), FAULTS_KINDS (the fault subset, default below), FAULTS_CONCURRENCY (default 2).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RUNTIME_PROBE, RUNTIMES, SEA_NODE, ensureRuntime } from '../../scripts/runtimes.mjs';
import { SEA_PATH, seaEmbeds } from '../../scripts/build-sea.mjs';
import { BUN_EXE_PATH, BUN_RUNTIME, bunExecutableUnusable } from '../../scripts/build-bun.mjs';
import { bundleTests, findTests, root, runUvu } from '../uvu.mjs';

const JOURNEYS = ['e2e/lifecycle', 'e2e/bad-input', 'e2e/signals', 'e2e/faults', 'e2e/output'];
// The fault that exercises the runtimes' own HTTP stacks most (a status is the same everywhere):
// a body cut off mid-way, at every call of every command; plus the fault file's lost-answer tests,
// which also hang a request past the agent's timeout. (The table's hang cases give every request
// 500 ms, which a loaded machine misses now and then: npm test runs them on this node.)
const FAULTS_KINDS = process.env.FAULTS_KINDS ?? 'drop mid-body';
const ROUNDS = Number(process.env.RUNTIMES_ROUNDS ?? 10);
// Two runtimes at a time, each with two fault cases at a time: as many agents as npm test's fault
// table runs at once, in half the time of one runtime after the other.
const CONCURRENCY = Math.max(1, Number(process.env.RUNTIMES_CONCURRENCY) || 2);
const FAULTS_CONCURRENCY = process.env.FAULTS_CONCURRENCY ?? '2';

const wanted = process.argv.slice(2).map((a) => a.toLowerCase());
const picked = (name) => wanted.length === 0 || wanted.some((w) => name.toLowerCase().includes(w));

function sh(argv, options = {}) {
  return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000, ...options });
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
function timed(argv, env) {
  const start = process.hrtime.bigint();
  const r = sh(argv, { stdio: 'ignore', env });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.error?.message}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The rows to run: one per runtime (a command prefix for the bundle), and the SEA when usable. */
function targets(state, bundle) {
  const rows = [];
  for (const runtime of RUNTIMES.filter((r) => picked(r.name))) {
    const command = runtime.command(ensureRuntime(runtime));
    if (command.some((word) => /\s/.test(word))) throw new Error(`${command.join(' ')}: AGENT_RUNTIME is split at white space; use a cache path without any (ELEMENTAL_RUNTIMES_CACHE)`);
    rows.push({ name: runtime.name, reports: runtime.reports, floor: command, env: { AGENT_RUNTIME: command.join(' '), AGENT_BUNDLE: bundle }, agent: [...command, bundle] });
  }
  if (picked('sea')) {
    if (!existsSync(SEA_PATH)) state.notes.push('SEA: not built, not in the table (npm run build:sea, then this again)');
    else if (!seaEmbeds()) state.notes.push('SEA: dist/elemental-agent-linux-x64 holds an older bundle, not in the table (npm run build:sea)');
    else {
      const node = ensureRuntime(SEA_NODE);
      rows.push({ name: 'SEA', reports: SEA_NODE.reports, floor: [node], env: { AGENT_EXECUTABLE: SEA_PATH }, agent: [SEA_PATH], executable: true });
    }
  }
  if (picked('bun executable')) {
    const unusable = bunExecutableUnusable();
    if (unusable) state.notes.push(`Bun executable: ${unusable}, not in the table`);
    else rows.push({ name: 'Bun executable', reports: BUN_RUNTIME.reports, floor: [ensureRuntime(BUN_RUNTIME)], env: { AGENT_EXECUTABLE: BUN_EXE_PATH }, agent: [BUN_EXE_PATH], executable: true });
  }
  return rows;
}

async function journeys(row, outdir, state) {
  const started = Date.now();
  const env = { ...process.env, ...row.env, ...state.cacheEnv, FAULTS_KINDS, FAULTS_CONCURRENCY };
  const r = await runUvu(outdir, { env, echo: () => undefined, tty: false });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`${row.name}: ${r.passed}/${r.total} passed, ${r.skipped} skipped (${seconds} s)`);
  if (!r.ok) console.log(`${row.name}: FAILED\n${r.output.replace(/^/gm, '  | ')}`);
  return r;
}

/** What the runtime says it is (from inside a script), and `version`'s cold start against its floor. */
function coldStart(row, state) {
  const env = { ...process.env, ...state.cacheEnv };
  const version = row.executable ? sh([row.floor[0], state.probe], { env }).stdout.trim() : sh([...row.floor, state.probe], { env }).stdout.trim();
  const empty = [...row.floor, state.empty];
  const agent = [...row.agent, 'version'];
  timed(empty, env); // first runs fill Deno's and Bun's caches
  timed(agent, env);
  const floors = [];
  const versions = [];
  for (let i = 0; i < ROUNDS; i++) {
    floors.push(timed(empty, env));
    versions.push(timed(agent, env));
  }
  return { version, floor: median(floors), start: median(versions) };
}

export async function main() {
  const state = { notes: [] };
  const built = sh([process.execPath, join(root, 'build.mjs'), '--quiet'], { stdio: 'inherit' });
  if (built.status !== 0) return 1;
  // Deno's and Bun's caches go to a temporary directory, not to this machine's home.
  const scratch = mkdtempSync(join(tmpdir(), 'elemental-runtimes-'));
  try {
    const bundle = join(scratch, 'bin/elemental-agent');
    mkdirSync(dirname(bundle));
    copyFileSync(join(root, 'dist/elemental-agent.js'), bundle);
    chmodSync(bundle, 0o755);
    const rows = targets(state, bundle);
    if (rows.length === 0) {
      console.error(`no runtime matches ${wanted.join(', ')} (known: ${RUNTIMES.map((r) => r.name).join(', ')}, sea, bun executable)`);
      return 2;
    }
    mkdirSync(join(scratch, 'deno'));
    mkdirSync(join(scratch, 'bun'));
    state.cacheEnv = { DENO_DIR: join(scratch, 'deno'), BUN_RUNTIME_TRANSPILER_CACHE_PATH: join(scratch, 'bun') };
    state.probe = join(scratch, 'probe.js');
    state.empty = join(scratch, 'empty.js');
    writeFileSync(state.probe, RUNTIME_PROBE);
    writeFileSync(state.empty, '');
    const outdir = join(root, '.build/runtimes');
    await bundleTests(findTests(JOURNEYS), outdir);
    console.log(`journeys: ${JOURNEYS.join(', ')} (faults: ${FAULTS_KINDS}); ${rows.length} runtimes, ${CONCURRENCY} at a time`);
    const results = new Map();
    const queue = [...rows];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let row = queue.shift(); row; row = queue.shift()) results.set(row, await journeys(row, outdir, state));
      }),
    );
    // Timed one runtime at a time, after the journeys: nothing else of ours competes for the CPU.
    const table = [['runtime', 'version', 'journeys passed', '`version` cold start', 'empty-script floor', 'ratio']];
    let ok = true;
    for (const row of rows) {
      const j = results.get(row);
      const c = coldStart(row, state);
      const right = c.version === row.reports;
      ok &&= j.ok && right;
      table.push([
        row.name,
        right ? c.version : `${c.version} (expected ${row.reports})`,
        `${j.passed}/${j.total}${j.ok ? '' : ' FAILED'}`,
        `${c.start.toFixed(1)} ms`,
        `${c.floor.toFixed(1)} ms${row.executable ? ` (${row.name === 'SEA' ? 'node' : 'bun'}, empty script)` : ''}`,
        `${(c.start / c.floor).toFixed(2)} ×`,
      ]);
    }
    console.log(`\n${table.map((cells, i) => `| ${cells.join(' | ')} |${i === 0 ? `\n|${cells.map(() => '---').join('|')}|` : ''}`).join('\n')}`);
    console.log(`(cold start: median of ${ROUNDS}, interleaved with the floor)`);
    for (const note of state.notes) console.log(note);
    return ok ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.exit(await main());
