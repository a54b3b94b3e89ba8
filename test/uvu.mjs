// How the suites are run (test/run.mjs: `npm test`; test/runtimes/run.mjs: the runtime matrix):
// bundle *.test.ts with esbuild (no extra TS loader needed), then run the bundles with uvu on
// this machine's node and count what passed. A run gets a TMPDIR of its own, which must be empty
// when the tests end: whatever a test leaves there (temp roots, test keys) is listed and fails
// the run; the dir is then removed.
import { build } from 'esbuild';
import { tsBundleOptions } from '../scripts/run-ts.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;

/** Every test/**\/*.test.ts whose path (from the repo) contains one of `filters` (all if none). */
export function findTests(filters = [], dir = join(root, 'test')) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests([], p));
    else if (entry.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort().filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)));
}

/** Bundles `tests` into `outdir` (emptied first) as .mjs files. */
export async function bundleTests(tests, outdir) {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: tests,
    outdir,
    outbase: join(root, 'test'),
    outExtension: { '.js': '.mjs' },
    ...tsBundleOptions,
  });
}

// CI logs are read as text: no colour codes.
function plainEnv(env) {
  const plain = { ...env, NO_COLOR: '1' };
  delete plain.FORCE_COLOR;
  return plain;
}

const plural = (n) => `${n} entr${n === 1 ? 'y' : 'ies'}`;

/**
 * Runs every bundle in `outdir` with uvu. `echo(chunk, stream)` receives uvu's output as it comes
 * (default: to this process's stdout and stderr). Resolves to uvu's exit code, its whole output,
 * the counts it printed, and what the tests left in their TMPDIR.
 */
export async function runUvu(outdir, { env = process.env, echo = (chunk, stream) => stream.write(chunk), tty = process.stdout.isTTY === true } = {}) {
  const uvu = join(root, 'node_modules/uvu/bin.js');
  const runTmp = mkdtempSync(join(env.TMPDIR || tmpdir(), 'elemental-test-run-'));
  // uvu sets FORCE_COLOR=1 unless told --no-color; next to NO_COLOR that makes every node the
  // tests spawn warn that NO_COLOR is ignored.
  const child = spawn(process.execPath, ['--enable-source-maps', '--expose-gc', uvu, outdir, '\\.test\\.mjs$', ...(tty ? [] : ['--no-color'])], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...(tty ? env : plainEnv(env)), TMPDIR: runTmp },
  });
  let output = '';
  const take = (stream) => (chunk) => {
    output += chunk;
    echo(chunk, stream);
  };
  child.stdout.setEncoding('utf8').on('data', take(process.stdout));
  child.stderr.setEncoding('utf8').on('data', take(process.stderr));
  const code = await new Promise((resolve) => child.on('close', resolve));
  const num = (label) => Number((output.match(new RegExp(`${label}:\\s+(\\d+)`)) || [])[1] || 0);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
  const leftovers = readdirSync(runTmp).sort();
  rmSync(runTmp, { recursive: true, force: true });
  if (leftovers.length > 0) {
    const line = `tests left ${plural(leftovers.length)} in their TMPDIR (removed now): ${leftovers.join(', ')}\n`;
    output += line;
    echo(line, process.stdout);
  }
  return { code, output, total, passed, skipped, failed, leftovers, ok: code === 0 && failed === 0 && total > 0 && leftovers.length === 0 };
}
