// Runs a TypeScript entry (demo/demo.ts, bench/bench.ts) the way test/run.mjs runs tests:
// builds the agent, bundles the entry with esbuild (no TS loader needed), then calls its
// exported `main(args)` and exits with the code it returns.
// Usage: node scripts/run-ts.mjs <entry.ts> [args...]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const tsBundleOptions = {
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node18',
  format: 'esm',
  sourcemap: 'inline',
  logLevel: 'warning',
};

const root = new URL('..', import.meta.url).pathname;

export async function runTsMain(entry, args) {
  process.chdir(root); // the spawn helper finds dist/elemental-agent.js relative to the repo
  // Always build: it takes well under a second and what runs must be what src/ says now.
  const built = spawnSync(process.execPath, ['build.mjs', '--quiet'], { cwd: root, stdio: 'inherit', timeout: 60_000 });
  if (built.status !== 0) {
    console.error(`node build.mjs failed (${built.error?.message ?? `exit ${built.status}`})`);
    return 1;
  }
  const outfile = join(root, '.build', basename(entry).replace(/\.ts$/, '.mjs'));
  await build({ ...tsBundleOptions, entryPoints: [join(root, entry)], outfile });
  const { main } = await import(pathToFileURL(outfile).href);
  return main(args);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [entry, ...args] = process.argv.slice(2);
  if (!entry) {
    console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
    process.exit(2);
  }
  process.exit(await runTsMain(entry, args));
}
