// `npm run demo`: builds the agent, bundles demo/demo.ts with esbuild (no TS loader needed, as
// test/run.mjs does) and runs it. Usage: node demo/run.mjs [--keep]  (--keep: keep the temp root)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root); // the spawn helper finds dist/elemental-agent.js relative to the repo

// Always build: it takes well under a second and the demo must drive what src/ says now.
const built = spawnSync(process.execPath, ['build.mjs', '--quiet'], { cwd: root, stdio: 'inherit', timeout: 60_000 });
if (built.status !== 0) {
  console.error(`demo: node build.mjs failed (${built.error?.message ?? `exit ${built.status}`})`);
  process.exit(1);
}

const outfile = join(root, '.build/demo.mjs');
await build({
  entryPoints: [join(root, 'demo/demo.ts')],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node18',
  format: 'esm',
  sourcemap: 'inline',
  logLevel: 'warning',
});

const { main } = await import(pathToFileURL(outfile).href);
const code = await main(process.argv.slice(2));
process.exit(code);
