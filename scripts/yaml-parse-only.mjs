// An esbuild plugin that bundles the `yaml` library as the agent uses it: parseDocument()
// and toJS() of the config file, nothing else. The agent writes YAML with its own yaml.v3-exact
// emitter (src/yaml.ts), so yaml's stringifier, its document-building API and the YAML 1.1
// schema are dead weight in the bundle (about 30 KB of 104 KB).
//
// What changes for a config file, on purpose:
// - `%YAML 1.1` documents resolve with the core schema, as Go's yaml.v3 does (it ignores the
//   version directive); merge keys (<<) still work.
// - The explicit YAML 1.1 tags !!binary, !!omap, !!pairs, !!set and !!timestamp become
//   "Unresolved tag" warnings, which the config loader reports as errors.
// - A mapping key that is itself a collection would need the stringifier: it is an error.
// test/unit/yaml-parse-only.test.ts compares this build with the full library.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = join(dirname(require.resolve('yaml/package.json')), 'browser', 'dist');

/** Modules whose every export becomes a function that throws (never reached when parsing). */
const THROWING = /[\\/]browser[\\/]dist[\\/](stringify[\\/][^\\/]+|doc[\\/]createNode|doc[\\/]applyReviver|parse[\\/]cst-scalar|parse[\\/]cst-stringify|parse[\\/]cst-visit)\.js$/;
/**
 * Their exports become `undefined`: the YAML 1.1 tags are then simply unknown, and the JSON
 * schema (chosen only by a `schema: 'json'` option the agent never passes) is absent.
 */
const ABSENT = /[\\/]browser[\\/]dist[\\/]schema[\\/](yaml-1\.1[\\/](binary|omap|pairs|set|timestamp)|json[\\/]schema)\.js$/;
const YAML11_SCHEMA = /[\\/]browser[\\/]dist[\\/]schema[\\/]yaml-1\.1[\\/]schema\.js$/;

/**
 * Class methods removed from modules the parser does need. They are the document-editing and
 * copying API (get/set/add/delete…In, clone, createNode): nothing in the kept modules calls
 * them (parseDocument only composes nodes into `items`, and toJS only reads them), and each one
 * left in would stay in the bundle, since esbuild cannot drop a method. Calling one is a
 * TypeError. toString and toJSON stay (they throw the stringify stubs' error): without them
 * String(doc) or JSON.stringify(doc) would silently give Object's result instead.
 */
const PRUNED_METHODS = {
  'doc/Document.js': ['clone', 'add', 'addIn', 'createAlias', 'createNode', 'createPair', 'delete', 'deleteIn', 'get', 'getIn', 'has', 'hasIn', 'set', 'setIn'],
  'doc/directives.js': ['clone'],
  'schema/Schema.js': ['clone'],
  'nodes/Node.js': ['clone'],
  'nodes/Collection.js': ['clone', 'addIn', 'deleteIn', 'getIn', 'hasIn', 'setIn'],
  'nodes/YAMLMap.js': ['static from', 'add', 'delete', 'get', 'has', 'set'],
  'nodes/YAMLSeq.js': ['add', 'delete', 'get', 'has', 'set', 'static from'],
  'nodes/Pair.js': ['clone'],
};
const PRUNED = new RegExp(
  `[\\\\/]browser[\\\\/]dist[\\\\/](${Object.keys(PRUNED_METHODS).map((f) => f.replace(/[/.]/g, (c) => (c === '.' ? '\\.' : '[\\\\/]'))).join('|')})$`,
);

/**
 * `source` without the class methods `names` (each with the doc comment above it). A method is
 * found by its signature line at the class body's indent and ends at the first line that
 * closes it at that indent; a yaml upgrade that renames, moves or reshapes one fails the build.
 */
function withoutMethods(source, names, what) {
  let out = source;
  for (const name of names) {
    const re = new RegExp(`(?:^    /\\*\\*(?:(?!\\*/)[^])*\\*/\n)?^    ${name}\\([^\\n]*\\) \\{\\n(?:(?!    \\}\\n)(?:        [^\\n]*|)\\n)*    \\}\\n`, 'gm');
    const found = out.match(re) ?? [];
    if (found.length !== 1) throw new Error(`yaml-parse-only: method '${name}' found ${found.length} times in ${what}; check the plugin against this yaml version`);
    out = out.replace(re, '');
  }
  return out;
}

const VISIT = /[\\/]browser[\\/]dist[\\/]visit\.js$/;

/**
 * visit.js without visitAsync (its `visitAsync.BREAK = …` assignments keep it from being
 * tree-shaken): the kept modules use the synchronous visit only (Alias resolution).
 */
function withoutVisitAsync(source, path) {
  const start = source.indexOf('/**\n * Apply an async visitor');
  const end = source.indexOf('\nfunction initVisitor(');
  const exports = 'export { visit, visitAsync };';
  const out = source.slice(0, start) + source.slice(end + 1).replace(exports, 'export { visit };');
  if (start < 0 || end < start || source.split(exports).length !== 2 || out.includes('visitAsync'))
    throw new Error(`yaml-parse-only: visitAsync not where expected in ${path}; check the plugin against this yaml version`);
  return out;
}

function exportNames(path) {
  const source = readFileSync(path, 'utf8');
  const names = [];
  for (const m of source.matchAll(/^export \{([^}]*)\};?$/gm)) {
    for (const part of m[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop();
      if (name) names.push(name);
    }
  }
  // A yaml upgrade that changes how modules export must fail the build, not bundle stubs
  // that export nothing.
  if (names.length === 0) throw new Error(`yaml-parse-only: no exports found in ${path}; check the plugin against this yaml version`);
  return names;
}

const ENTRY = /[\\/]src[\\/]yaml-parse\.ts$/;

/**
 * `strict` (the agent's build): `yaml` may only be imported by src/yaml-parse.ts. Otherwise
 * (test bundles) other importers get the full library, as Node resolves it.
 */
export const yamlParseOnly = (options = { strict: true }) => ({
  name: 'yaml-parse-only',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, (args) => {
      // public-api.js, not index.js: index.js re-exports the CST namespace, visit…
      if (ENTRY.test(args.importer)) return { path: join(dist, 'public-api.js') };
      if (options.strict) return { errors: [{ text: `import yaml only through src/yaml-parse.ts (imported by ${args.importer})` }] };
      return undefined;
    });
    b.onLoad({ filter: THROWING }, (args) => {
      const what = args.path.slice(dist.length + 1);
      const lines = exportNames(args.path).map(
        (name) => `export function ${name}() { throw new Error('this YAML construct is not supported in the agent config (${what})'); }`,
      );
      return { contents: lines.join('\n'), loader: 'js' };
    });
    b.onLoad({ filter: ABSENT }, (args) => ({
      contents: exportNames(args.path).map((name) => `export const ${name} = undefined;`).join('\n'),
      loader: 'js',
    }));
    b.onLoad({ filter: PRUNED }, (args) => {
      const what = args.path.slice(dist.length + 1).replace(/\\/g, '/');
      return { contents: withoutMethods(readFileSync(args.path, 'utf8'), PRUNED_METHODS[what], what), loader: 'js' };
    });
    b.onLoad({ filter: VISIT }, (args) => ({ contents: withoutVisitAsync(readFileSync(args.path, 'utf8'), args.path), loader: 'js' }));
    b.onLoad({ filter: YAML11_SCHEMA }, () => ({ contents: "export { schema } from '../core/schema.js';", loader: 'js' }));
  },
});
