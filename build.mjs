// Bundles src/cli.ts into the single executable dist/elemental-agent.js.
// CJS output on purpose: an ESM bundle of CommonJS dependencies fails at run time
// ("Dynamic require of ..."), and a CJS file runs when copied alone anywhere.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { builtinModules, createRequire } from 'node:module';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

function git(...args) {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

// Commit and date come from git so that two builds of one commit are byte-identical.
const commit = process.env.AGENT_COMMIT || git('rev-parse', '--short=12', 'HEAD') || 'unknown';
const date = process.env.AGENT_BUILD_DATE || git('log', '-1', '--format=%cI') || 'unknown';
const version = process.env.AGENT_VERSION || pkg.version;

const outfile = 'dist/elemental-agent.js';

// Dependencies import some built-ins without the `node:` prefix (require("events")); rewrite
// them so the bundle's only outside references are `node:` built-ins.
const nodePrefix = {
  name: 'node-prefix',
  setup(b) {
    const names = builtinModules.filter((m) => !m.startsWith('_') && !m.startsWith('node:'));
    const filter = new RegExp(`^(${names.map((n) => n.replace(/[/]/g, '\\/')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: `node:${args.path}`, external: true }));
  },
};
// yaml publishes two builds of the same code: CommonJS for the `node` export condition and ES
// modules for `default`. The ES one lets esbuild leave out what the config loader never calls
// (the stringifier, the YAML 1.1 schema): about 40 KB less. Nothing in the package is changed.
const yamlEsm = {
  name: 'yaml-esm',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: createRequire(import.meta.url).resolve('yaml/package.json').replace(/package\.json$/, 'browser/index.js') }));
  },
};
mkdirSync('dist', { recursive: true });
// The repo's package.json says "type": "module"; this keeps dist/*.js CommonJS when run in place.
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');

const result = await build({
  entryPoints: ['src/cli.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  // The file must also run when a runtime loads it as an ES module: Deno does for any file that is
  // not named .cjs and has no package.json saying commonjs next to it, as at
  // /usr/local/bin/elemental-agent. `require` and `module` are missing there: the built-ins then
  // come from process.getBuiltinModule (which only such runtimes need). Under CommonJS both lines
  // are no-ops, and "use strict" stays the file's first statement: the whole file is strict, as its
  // ES modules (src/, yaml, cac, consola) are written to be; one directive here rather than one
  // per module (tsconfig.build.json turns off alwaysStrict).
  banner: {
    js: '#!/usr/bin/env node\n"use strict";var require=typeof require=="function"?require:process.getBuiltinModule,module=typeof module=="object"?module:{exports:{}};',
  },
  tsconfig: 'tsconfig.build.json',
  define: {
    __AGENT_VERSION__: JSON.stringify(version),
    __AGENT_COMMIT__: JSON.stringify(commit),
    __AGENT_BUILD_DATE__: JSON.stringify(date),
  },
  plugins: [nodePrefix, yamlEsm],
  metafile: true,
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
writeFileSync('dist/meta.json', JSON.stringify(result.metafile));

if (!process.argv.includes('--quiet')) {
  const bytes = result.metafile.outputs[outfile].bytes;
  console.log(`built ${outfile} (${(bytes / 1024).toFixed(1)} KB, version ${version}, commit ${commit})`);
}
