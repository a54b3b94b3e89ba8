// `npm run build:sea`: dist/elemental-agent-linux-x64, the same bundle as a Node single executable
// application — node with dist/elemental-agent.js injected (node --experimental-sea-config, then
// postject), ONE file that needs no node on the machine. The node is the pinned official build of
// scripts/runtimes.mjs (SEA_NODE), installed on demand; SEA_NODE=/path/to/node builds from another
// node (x64 Linux, >= 20.6 for the SEA flags used here). Stripped of its symbols when `strip` is
// there (about 18 MB less; SEA_STRIP=0 keeps them).
// `npm run build:sea:arm64` (`--arch arm64`): dist/elemental-agent-linux-arm64 from the same
// node's arm64 build. On an x64 machine the arm64 node runs under qemu-user to write the blob (its
// code cache is V8's code for arm64, so an arm64 V8 must make it) and to check the result.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SEA_NODE, SEA_NODE_ARM64, arm64Runner, ensureRuntime } from './runtimes.mjs';

const root = new URL('..', import.meta.url).pathname;
export const SEA_PATH = join(root, 'dist/elemental-agent-linux-x64');
export const SEA_ARM64_PATH = join(root, 'dist/elemental-agent-linux-arm64');
const BUNDLE = join(root, 'dist/elemental-agent.js');
// Node looks for this fuse to know that a blob was injected (it is fixed for every node version).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The node flags examples/systemd/elemental-agent.service gives the agent (README "Memory"). */
const EXEC_ARGV = ['--max-semi-space-size=1'];

function run(command, args, what) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim()}`);
  return r.stdout.trim();
}

function onPath(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * What a build for `arch` needs: the node, the prefix that runs it here, the strip for its
 * architecture (undefined: none on PATH) and the output.
 */
function target(arch) {
  if (arch === 'x64') {
    if (process.arch !== 'x64') throw new Error(`the x64 SEA is built on an x64 machine (this one is ${process.arch})`);
    const node = process.env.SEA_NODE ? resolve(process.env.SEA_NODE) : ensureRuntime(SEA_NODE);
    return { node, runner: [], strip: onPath('strip') ? 'strip' : undefined, output: SEA_PATH };
  }
  if (arch === 'arm64') {
    const runner = arm64Runner();
    if (runner.problem) throw new Error(runner.problem);
    // A strip for x64 does not know arm64 objects: binutils-aarch64-linux-gnu has the one that does.
    const strip = process.arch === 'arm64' ? 'strip' : 'aarch64-linux-gnu-strip';
    return { node: ensureRuntime(SEA_NODE_ARM64), runner: runner.prefix, strip: onPath(strip) ? strip : undefined, output: SEA_ARM64_PATH };
  }
  throw new Error(`--arch ${arch}: x64 or arm64`);
}

export async function buildSea(arch = 'x64') {
  const started = Date.now();
  run(process.execPath, [join(root, 'build.mjs'), '--quiet'], 'node build.mjs');
  const { node, runner, strip: stripTool, output } = target(arch);
  const runTarget = (args, what) => run(runner[0] ?? args[0], [...runner.slice(1), ...(runner.length ? args : args.slice(1))], what);
  const nodeVersion = runTarget([node, '--version'], `${node} --version`);
  const strip = process.env.SEA_STRIP !== '0' ? stripTool : undefined;
  const name = `elemental-agent-linux-${arch}`;
  const work = mkdtempSync(join(tmpdir(), 'elemental-sea-'));
  try {
    const blob = join(work, 'sea.blob');
    const config = join(work, 'sea-config.json');
    // useCodeCache: V8's compiled code of the bundle goes into the blob, so the executable starts
    // without compiling it (version on node 24.22.3: 86 -> 77 ms, node -e 0 77 ms). import() of a
    // .js plugin still works with it on that node (the lifecycle journeys load one); older nodes
    // refused it. No useSnapshot: measured slower (112 ms: a 6.8 MB heap to deserialise).
    writeFileSync(config, `${JSON.stringify({ main: BUNDLE, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, execArgv: EXEC_ARGV }, null, 2)}\n`);
    runTarget([node, '--experimental-sea-config', config], 'node --experimental-sea-config');
    const agent = join(work, name);
    copyFileSync(node, agent);
    chmodSync(agent, 0o755);
    if (strip) run(strip, [agent], strip);
    const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
    run(process.execPath, [postject, agent, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], 'postject');
    // The executable must answer exactly as the bundle does (and accept its code cache: V8 warns
    // on stderr when it rejects it, and then compiles the bundle at every start).
    const expected = run(process.execPath, [BUNDLE, 'version'], 'node dist/elemental-agent.js version');
    const check = spawnSync(runner[0] ?? agent, [...runner.slice(1), ...(runner.length ? [agent] : []), 'version'], { encoding: 'utf8', timeout: 120_000 });
    const got = (check.stdout ?? '').trim();
    if (check.status !== 0 || got !== expected) throw new Error(`the SEA says '${got}' (exit ${check.status}), the bundle '${expected}'${check.stderr ? `\n${check.stderr.trim()}` : ''}`);
    if (check.stderr.trim()) throw new Error(`the SEA's version wrote to stderr: ${check.stderr.trim()}`);
    renameSync(agent, output);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const mb = (statSync(output).size / 1e6).toFixed(1);
  const emulated = runner.length ? `, checked under ${runner[0]}` : '';
  console.log(`built dist/${name} (${mb} MB: node ${nodeVersion} ${arch}${strip ? ', stripped,' : ''} + dist/elemental-agent.js, ${((Date.now() - started) / 1000).toFixed(1)} s${emulated})`);
}

/** Whether the SEA at `sea` carries `bundle` byte for byte (i.e. was built from it). */
export function seaEmbeds(sea = SEA_PATH, bundle = BUNDLE) {
  return readFileSync(sea).includes(readFileSync(bundle));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const at = process.argv.indexOf('--arch');
    await buildSea(at > 0 ? process.argv[at + 1] : 'x64');
  } catch (err) {
    console.error(`build:sea: ${err.message}`);
    process.exit(1);
  }
}
