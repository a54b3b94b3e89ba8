// Test runner: bundles every test/**/*.test.ts with esbuild (no extra TS loader needed),
// runs them with uvu, and closes with one "N passed, N failed, N skipped" line.
// The run gets a TMPDIR of its own, which must be empty when the tests end: whatever a test
// leaves there (temp roots, test keys) is listed and fails the run (test/uvu.mjs).
// Usage: node test/run.mjs [substring-filter ...]
import { join } from 'node:path';
import { bundleTests, findTests, root, runUvu } from './uvu.mjs';

const filters = process.argv.slice(2);
const tests = findTests(filters);
if (tests.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

const outdir = join(root, '.build/test');
await bundleTests(tests, outdir);
const { passed, failed, skipped, ok } = await runUvu(outdir);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok ? 0 : 1);
