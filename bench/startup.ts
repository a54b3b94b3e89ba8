// `npm run bench -- startup` (issue 24): what starting the agent costs against the process floor
// (/bin/true), a Go hello-world (the reference's language; built here when `go` is installed),
// each runtime's empty script, the JS file without and with Node's compile cache, the SEA and the
// Bun executable. `version`, and spawn → first request (`register --install` against the
// stand-in, through the tests' spawn helper), median of ROUNDS, all variants interleaved round by round.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RUNTIMES, ensureRuntime } from '../scripts/runtimes.mjs';
import { journey } from '../test/support/lifecycle';
import { BUN_EXE_PATH, SEA_PATH, bunExecutableUnusable, seaUnusable } from '../test/support/sea';
import { AGENT_PATH } from '../test/support/spawn-agent';

interface Variant {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  /** A directory removed before each run (the compile cache, for a cold start). */
  emptied?: string;
  /** An agent (not a floor): how the spawn helper runs it, for spawn → first request. */
  agent?: { runtime: string[]; agentPath: string };
  /** Counts for the "fastest executable" goal: one file that needs no runtime on the machine. */
  executable?: boolean;
}

const ROUNDS = Math.max(20, Number(process.env.BENCH_ROUNDS ?? 20));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

// The `version` runs are timed by a small child of their own: fork() of this process (the bench,
// its stand-in and the test support loaded: ~170 MB) costs 4-9 ms, which would add to every
// figure, /bin/true's included, and flatten every ratio. The timer is a few lines of plain JS.
const TIMER = `
const { spawnSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const variants = JSON.parse(process.argv[2]);
const times = variants.map((v) => {
  if (v.emptied) rmSync(v.emptied, { recursive: true, force: true });
  const start = process.hrtime.bigint();
  const r = spawnSync(v.argv[0], v.argv.slice(1), { stdio: 'ignore', env: { ...process.env, ...v.env } });
  if (r.status !== 0) { console.error(v.name + ': ' + v.argv.join(' ') + ' exited ' + (r.status ?? r.signal)); process.exit(1); }
  return Number(process.hrtime.bigint() - start) / 1e6;
});
process.stdout.write(JSON.stringify(times));
`;

/** One `version` run of each variant, in order, timed by the timer child: ms per variant. */
function timedRound(timer: string, variants: Variant[]): number[] {
  const list = variants.map(({ name, argv, env, emptied }) => ({ name, argv, env, emptied }));
  const r = spawnSync(process.execPath, [timer, JSON.stringify(list)], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`the start-up timer failed: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
  return JSON.parse(r.stdout) as number[];
}

/** `register --install` of a fresh host: ms from spawn to the stand-in's first request. */
async function firstRequest(v: Variant): Promise<number> {
  if (v.emptied) rmSync(v.emptied, { recursive: true, force: true });
  const j = await journey();
  try {
    const spawned = Date.now();
    const r = await j.run(['register', '--install'], { ...v.agent!, env: v.env, noUnshare: true, debug: false });
    if (r.code !== 0) throw new Error(`${v.name}: register --install exited ${r.code}: ${r.stderr}`);
    return j.api.requests[0]!.time - spawned;
  } finally {
    await j.close();
  }
}

/** A Go hello-world built with the machine's go, or why there is none. */
function goHello(dir: string): string | { skip: string } {
  if (spawnSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' }).status !== 0) return { skip: 'no go on PATH (Debian: apt-get install golang-go)' };
  writeFileSync(join(dir, 'main.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("elemental-agent 0.0.0") }\n');
  writeFileSync(join(dir, 'go.mod'), 'module hello\n\ngo 1.19\n');
  const out = join(dir, 'hello');
  const r = spawnSync('go', ['build', '-o', out, '.'], { cwd: dir, encoding: 'utf8', env: { ...process.env, GOCACHE: join(dir, 'gocache'), GOFLAGS: '-mod=mod' } });
  return r.status === 0 ? out : { skip: `go build failed: ${(r.stderr || '').trim().split('\n')[0]}` };
}

export async function startupBench(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  const onSigint = () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  try {
    const bundle = resolve(AGENT_PATH);
    const runtime = (name: string): string => {
      const found = RUNTIMES.find((r) => r.name === name);
      if (!found) throw new Error(`no runtime '${name}' in scripts/runtimes.mjs`);
      return ensureRuntime(found, () => undefined);
    };
    const variants: Variant[] = [{ name: '/bin/true (process floor)', argv: ['/bin/true'] }];
    const skipped: string[] = [];
    const go = goHello(dir);
    if (typeof go === 'string') variants.push({ name: 'Go hello-world', argv: [go] });
    else skipped.push(`Go hello-world: ${go.skip}`);
    for (const name of ['node 22', 'node 24']) {
      const node = runtime(name);
      const warm = join(dir, `cache-${name.replace(' ', '')}-warm`);
      const cold = join(dir, `cache-${name.replace(' ', '')}-cold`);
      const agent = { runtime: [node], agentPath: bundle };
      variants.push(
        { name: `${name}: node -e 0`, argv: [node, '-e', '0'] },
        { name: `${name}: JS file, no compile cache`, argv: [node, bundle, 'version'], agent },
        { name: `${name}: JS file, compile cache cold (written)`, argv: [node, bundle, 'version'], agent, env: { NODE_COMPILE_CACHE: cold }, emptied: cold },
        { name: `${name}: JS file, compile cache warm`, argv: [node, bundle, 'version'], agent, env: { NODE_COMPILE_CACHE: warm } },
      );
    }
    const bun = runtime('bun');
    const deno = RUNTIMES.find((r) => r.name === 'deno')!;
    const denoRun = deno.command(runtime('deno'));
    variants.push(
      { name: 'bun: bun -e 0', argv: [bun, '-e', '0'] },
      { name: 'bun: JS file', argv: [bun, bundle, 'version'], agent: { runtime: [bun], agentPath: bundle } },
      { name: 'deno: deno eval 0', argv: [denoRun[0]!, 'eval', '0'] },
      { name: 'deno: JS file', argv: [...denoRun, bundle, 'version'], agent: { runtime: denoRun, agentPath: bundle } },
    );
    const sea = seaUnusable();
    if (sea) skipped.push(`SEA: ${sea}`);
    else variants.push({ name: 'SEA (node 24 inside)', argv: [SEA_PATH, 'version'], agent: { runtime: [], agentPath: SEA_PATH }, executable: true });
    const bunExe = bunExecutableUnusable();
    if (bunExe) skipped.push(`Bun executable: ${bunExe}`);
    else variants.push({ name: 'Bun executable (bun inside, bytecode)', argv: [BUN_EXE_PATH, 'version'], agent: { runtime: [], agentPath: BUN_EXE_PATH }, executable: true });
    const agents = variants.filter((v) => v.agent);
    const timer = join(dir, 'timer.cjs');
    writeFileSync(timer, TIMER);
    timedRound(timer, variants); // warms the caches of the warm variants, and the page cache
    for (const v of agents) await firstRequest(v);
    const times = new Map(variants.map((v) => [v.name, [] as number[]]));
    const firsts = new Map(agents.map((v) => [v.name, [] as number[]]));
    for (let round = 0; round < ROUNDS; round++) {
      timedRound(timer, variants).forEach((ms, i) => times.get(variants[i]!.name)!.push(ms));
      for (const v of agents) firsts.get(v.name)!.push(await firstRequest(v));
    }
    const m = new Map([...times].map(([name, t]) => [name, median(t)]));
    const f = new Map([...firsts].map(([name, t]) => [name, median(t)]));
    console.log(`\nstart-up: \`version\` and spawn → first request (register --install), median of ${ROUNDS}, interleaved\n`);
    console.log('| variant | version | × /bin/true | spawn → first request |\n|---|---|---|---|');
    const floor = m.get('/bin/true (process floor)')!;
    for (const [name, ms] of m) console.log(`| ${name} | ${ms.toFixed(1)} ms | ${(ms / floor).toFixed(1)} × | ${f.has(name) ? `${f.get(name)!.toFixed(0)} ms` : '—'} |`);
    for (const s of skipped) console.log(`| ${s.split(':')[0]} | skipped: ${s.slice(s.indexOf(':') + 2)} | | |`);
    const ratio = (a: string, b: string) => m.get(a)! / m.get(b)!;
    const executables = variants.filter((v) => v.executable).map((v) => m.get(v.name)!);
    const goals: [string, number | undefined, number][] = [
      ['JS file on node 24, warm cache ≤ 1.05 × node 24 -e 0', ratio('node 24: JS file, compile cache warm', 'node 24: node -e 0'), 1.05],
      ['SEA ≤ 1.0 × node 24 -e 0', m.has('SEA (node 24 inside)') ? ratio('SEA (node 24 inside)', 'node 24: node -e 0') : undefined, 1.0],
      ['fastest executable ≤ 3 × Go hello-world', m.has('Go hello-world') && executables.length ? Math.min(...executables) / m.get('Go hello-world')! : undefined, 3],
    ];
    console.log('\n| goal (version) | measured | |\n|---|---|---|');
    for (const [goal, value, bound] of goals) {
      console.log(`| ${goal} | ${value === undefined ? 'not measured' : `${value.toFixed(2)} ×`} | ${value === undefined ? '' : value <= bound ? 'ok' : 'MISSED'} |`);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    rmSync(dir, { recursive: true, force: true });
  }
}

