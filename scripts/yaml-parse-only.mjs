// An esbuild plugin for the agent's YAML reader (src/yaml-parse.ts). The reader builds on modules
// inside the yaml package, the lexer, the parser and the functions that read scalars, node
// properties and node ends, imported as `yaml/internal/<path>`; this resolves them to the
// package's ES modules (browser/dist/<path>.js), which esbuild can tree-shake. The reader composes
// the tokens into JS values itself, so none of the library's document model is in the bundle.
//
// `strict` (the agent's build): src/ may import yaml only as yaml/internal/* from
// src/yaml-parse.ts, so that the library's public entry (stringifier, document model) never comes
// back into the bundle by accident. Otherwise (test and script bundles) `yaml` resolves as Node
// resolves it: the tests compare the reader with the full library.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = join(dirname(require.resolve('yaml/package.json')), 'browser', 'dist');

const READER = /[\\/]src[\\/]yaml-parse\.ts$/;
const SRC = /[\\/]src[\\/]/;
/**
 * The scalar readers import the Scalar node class only for its type names (Scalar.PLAIN…);
 * the class would bring the node base classes and toJS along.
 */
const SCALAR_NODE = /[\\/]browser[\\/]dist[\\/]nodes[\\/]Scalar\.js$/;
const SCALAR_TYPES = ['BLOCK_FOLDED', 'BLOCK_LITERAL', 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'];
/**
 * The lexer and parser import token constants from cst.js, which also re-exports the CST
 * editing and visiting helpers (cst-visit.js stays in a bundle through its `visit.BREAK = …`).
 */
const CST = /[\\/]browser[\\/]dist[\\/]parse[\\/]cst\.js$/;
const CST_HELPERS = /^export \{[^}]*\} from '\.\/cst-(scalar|stringify|visit)\.js';\n/gm;

export const yamlParseOnly = (options = { strict: true }) => ({
  name: 'yaml-parse-only',
  setup(b) {
    b.onResolve({ filter: /^yaml\/internal\// }, (args) => {
      if (options.strict && !READER.test(args.importer)) return { errors: [{ text: `import yaml/internal/* only in src/yaml-parse.ts (imported by ${args.importer})` }] };
      const path = join(dist, `${args.path.slice('yaml/internal/'.length)}.js`);
      // A yaml upgrade that moves a module must fail the build, not resolve elsewhere.
      if (!existsSync(path)) return { errors: [{ text: `${args.path}: no ${path} in this yaml version; check src/yaml-parse.ts against it` }] };
      return { path };
    });
    if (options.strict) {
      b.onResolve({ filter: /^yaml$/ }, (args) =>
        SRC.test(args.importer) ? { errors: [{ text: `import yaml only as yaml/internal/* in src/yaml-parse.ts (imported by ${args.importer})` }] } : undefined,
      );
      b.onLoad({ filter: SCALAR_NODE }, () => ({
        contents: `export const Scalar = { ${SCALAR_TYPES.map((t) => `${t}: '${t}'`).join(', ')} };`,
        loader: 'js',
      }));
      b.onLoad({ filter: CST }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const contents = source.replace(CST_HELPERS, '');
        if (source.match(CST_HELPERS)?.length !== 3) return { errors: [{ text: `${args.path}: its re-exports are not the three expected; check scripts/yaml-parse-only.mjs against this yaml version` }] };
        return { contents, loader: 'js' };
      });
    }
  },
});
