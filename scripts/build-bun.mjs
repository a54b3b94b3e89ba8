// `npm run build:bun`: dist/elemental-agent-bun-linux-x64, the same bundle as a Bun standalone
// executable (`bun build --compile --bytecode`): Bun's runtime with dist/elemental-agent.js and
// JavaScriptCore's bytecode of it, compiled here, so it starts without parsing the bundle
// (version: 14 ms against the SEA's 35 ms and Bun running the file's 35 ms, 2026-12-07, this machine).
// The Bun is the matrix's pinned one (scripts/runtimes.mjs), installed on demand.
// Bun re-emits the bundle, so the executable does not hold its bytes: beside it,
// dist/elemental-agent-bun-linux-x64.sha256 records the bundle it was built from
// (`cd dist && sha256sum -c elemental-agent-bun-linux-x64.sha256` says whether it still is).
// The executable reads no .env and no bunfig.toml of the directory it starts in (Bun's default for
// --compile is to read both: an agent must not change with its working directory).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RUNTIMES, ensureRuntime } from './runtimes.mjs';

const root = new URL('..', import.meta.url).pathname;
export const BUN_EXE_PATH = join(root, 'dist/elemental-agent-bun-linux-x64');
/** `sha256sum` format: the hash of the bundle the executable was built from, and its name. */
export const BUN_EXE_SOURCE = `${BUN_EXE_PATH}.sha256`;
const BUNDLE = join(root, 'dist/elemental-agent.js');
export const BUN_RUNTIME = RUNTIMES.find((r) => r.name === 'bun');

function run(command, args, what, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, ...options });
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim()}`);
  return r.stdout.trim();
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Why the Bun executable cannot stand for the current bundle — not built, or built from another
 * bundle — or undefined when it can.
 */
export function bunExecutableUnusable(exe = BUN_EXE_PATH, bundle = BUNDLE) {
  if (!existsSync(exe)) return 'dist/elemental-agent-bun-linux-x64 is not built (npm run build:bun)';
  const recorded = existsSync(`${exe}.sha256`) ? readFileSync(`${exe}.sha256`, 'utf8').split(/\s/)[0] : undefined;
  if (recorded !== sha256(bundle)) return 'dist/elemental-agent-bun-linux-x64 holds an older bundle (npm run build:bun)';
  return undefined;
}

export async function buildBunExecutable() {
  const started = Date.now();
  if (process.arch !== 'x64') throw new Error(`the Bun executable is built on an x64 machine (this one is ${process.arch})`);
  run(process.execPath, [join(root, 'build.mjs'), '--quiet'], 'node build.mjs');
  const bun = ensureRuntime(BUN_RUNTIME);
  const work = mkdtempSync(join(tmpdir(), 'elemental-bun-exe-'));
  try {
    const exe = join(work, 'elemental-agent');
    // --bytecode needs CommonJS, which the bundle is. --compile-executable-path: the runtime put in
    // the executable is this same Bun (never a download). cwd: the work directory, so no
    // bunfig.toml of the project steers the build.
    run(
      bun,
      ['build', BUNDLE, '--compile', '--bytecode', '--format=cjs', `--compile-executable-path=${bun}`, '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', '--outfile', exe],
      'bun build --compile',
      { cwd: work },
    );
    // It must answer exactly as the bundle does, and say nothing else — also when started in a
    // directory whose bunfig.toml preloads a script that prints (it must not read it). (That it
    // opens no .env either was seen with strace: no output shows it.)
    const expected = run(process.execPath, [BUNDLE, 'version'], 'node dist/elemental-agent.js version');
    const cwd = join(work, 'cwd');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'preload.js'), "console.log('bunfig.toml was read');\n");
    writeFileSync(join(cwd, 'bunfig.toml'), 'preload = ["./preload.js"]\n[run]\npreload = ["./preload.js"]\n');
    const check = spawnSync(exe, ['version'], { encoding: 'utf8', timeout: 60_000, cwd });
    const got = (check.stdout ?? '').trim();
    if (check.status !== 0 || got !== expected) throw new Error(`the Bun executable says '${got}' (exit ${check.status}), the bundle '${expected}'${check.stderr ? `\n${check.stderr.trim()}` : ''}`);
    if (check.stderr.trim()) throw new Error(`the Bun executable's version wrote to stderr: ${check.stderr.trim()}`);
    // The record first: a crash between the two leaves an executable that reads as stale.
    rmSync(BUN_EXE_SOURCE, { force: true });
    renameSync(exe, BUN_EXE_PATH);
    writeFileSync(BUN_EXE_SOURCE, `${sha256(BUNDLE)}  elemental-agent.js\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const mb = (statSync(BUN_EXE_PATH).size / 1e6).toFixed(1);
  console.log(`built dist/elemental-agent-bun-linux-x64 (${mb} MB: bun ${BUN_RUNTIME.version} + dist/elemental-agent.js and its bytecode, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await buildBunExecutable();
  } catch (err) {
    console.error(`build:bun: ${err.message}`);
    process.exit(1);
  }
}
