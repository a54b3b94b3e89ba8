// Test runner: bundles every test/**/*.test.ts with esbuild (no extra TS loader needed),
// runs them with uvu, and closes with one "N passed, N failed, N skipped" line.
// The run gets a TMPDIR of its own, which must be empty when the tests end: whatever a test
// leaves there (temp roots, test keys) is listed and fails the run; the dir is then removed.
// Usage: node test/run.mjs [substring-filter ...]
import { build } from 'esbuild';
import { tsBundleOptions } from '../scripts/run-ts.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(p));
    else if (entry.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const tests = findTests(join(root, 'test')).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)),
);
if (tests.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

const outdir = join(root, '.build/test');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: tests,
  outdir,
  outbase: join(root, 'test'),
  outExtension: { '.js': '.mjs' },
  ...tsBundleOptions,
});

const uvu = join(root, 'node_modules/uvu/bin.js');
const runTmp = mkdtempSync(join(tmpdir(), 'elemental-test-run-'));
// CI logs are read as text: no colour codes.
function plainEnv() {
  const env = { ...process.env, NO_COLOR: '1', TMPDIR: runTmp };
  delete env.FORCE_COLOR;
  return env;
}
const tty = process.stdout.isTTY === true;
// uvu sets FORCE_COLOR=1 unless told --no-color; next to NO_COLOR that makes every node the
// tests spawn warn that NO_COLOR is ignored.
const child = spawn(process.execPath, ['--enable-source-maps', uvu, outdir, '\\.test\\.mjs$', ...(tty ? [] : ['--no-color'])], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: tty ? { ...process.env, TMPDIR: runTmp } : plainEnv(),
});
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
const code = await new Promise((resolve) => child.on('close', resolve));
const num = (label) => Number((output.match(new RegExp(`${label}:\\s+(\\d+)`)) || [])[1] || 0);
const total = num('Total');
const passed = num('Passed');
const skipped = num('Skipped');
const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
const leftovers = readdirSync(runTmp).sort();
rmSync(runTmp, { recursive: true, force: true });
if (leftovers.length > 0) {
  console.log(`tests left ${leftovers.length} entr${leftovers.length === 1 ? 'y' : 'ies'} in their TMPDIR (removed now): ${leftovers.join(', ')}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code === 0 && failed === 0 && total > 0 && leftovers.length === 0 ? 0 : 1);
