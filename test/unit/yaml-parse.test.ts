// The agent's YAML reader (src/yaml-parse.ts) composes the yaml library's tokens into values
// itself. This holds it to the full library, loaded as Node loads it, on a corpus, on seeded
// mutations of it, on documents of random fragments and on documents built from random trees:
// the same errors and warnings (code, message, line,
// column, in the same order) and the same value, or the same exception from toJS. The only
// differences allowed are the documented ones, and each must be refused by the config loader.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { readYaml } from '../../src/yaml-parse';
import { parseConfigText } from '../../src/config';
import { prng } from '../support/prng';

// Loaded at run time, outside the test bundle.
const full = createRequire(import.meta.url)('yaml') as typeof import('yaml');

const MAX_ALIAS_COUNT = 100;

interface Outcome {
  errors: string[];
  warnings: string[];
  /** util.inspect of the data: shows bigints, byte arrays, sets and alias cycles exactly. */
  value?: string;
  threw?: string;
}

const show = (value: unknown) => inspect(value, { depth: Infinity, breakLength: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity });

/** An outcome from problems already written as `CODE line:col message`, and the data or its exception. */
function outcome(errors: string[], warnings: string[], toJS: () => unknown): Outcome {
  const out: Outcome = { errors, warnings };
  try {
    out.value = show(toJS());
  } catch (err) {
    out.threw = (err as Error).message;
  }
  return out;
}

function mine(text: string): Outcome {
  const doc = readYaml(text);
  const line = (p: { code: string; line: number; col: number; message: string }) => `${p.code} ${p.line}:${p.col} ${p.message}`;
  return outcome(doc.errors.map(line), doc.warnings.map(line), () => doc.toJS(MAX_ALIAS_COUNT));
}

/**
 * The library as the reader means to read: YAML 1.2 core schema for every document (also under
 * `%YAML 1.1`), `<<` merge keys (as Go's yaml.v3), integers as bigint, duplicate keys allowed.
 */
function library(text: string): Outcome {
  const lines = new full.LineCounter();
  const doc = full.parseDocument(text, { intAsBigInt: true, uniqueKeys: false, schema: 'core', merge: true, resolveKnownTags: true, prettyErrors: false, lineCounter: lines, logLevel: 'error' });
  const line = (p: { code: string; pos: [number, number]; message: string }) => {
    const { line, col } = lines.linePos(p.pos[0]);
    return `${p.code} ${line}:${col} ${p.message}`;
  };
  return outcome(doc.errors.map(line), doc.warnings.map(line), () => doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
}

const refusedByLoader = (o: Outcome) => o.errors.length > 0 || o.warnings.some((w) => w.startsWith('TAG_RESOLVE_FAILED')) || o.threw !== undefined;
const YAML_1_1_TAG = /!!(binary|omap|pairs|set|timestamp)\b/;
const COLLECTION_KEY = /^invalid YAML at line \d+, column \d+: a mapping key must be a scalar, not a collection$/;

/**
 * Null when the two agree; otherwise why they may differ (a documented difference), or throws
 * with both outcomes.
 */
function compare(text: string): string | null {
  const a = mine(text);
  const b = library(text);
  try {
    assert.equal(a, b);
    return null;
  } catch {
    // fall through: is it a documented difference?
  }
  const explain = (why: string) => {
    assert.ok(refusedByLoader(a), `${why}, but the config loader would not refuse ${JSON.stringify(text)}: ${JSON.stringify(a)}`);
    return why;
  };
  // The library resolves the YAML 1.1 tags (a Uint8Array, a Set, a Date…); the reader warns.
  if (YAML_1_1_TAG.test(text) && a.warnings.some((w) => /^TAG_RESOLVE_FAILED .* Unresolved tag: tag:yaml\.org,2002:(binary|omap|pairs|set|timestamp)$/.test(w))) {
    return explain('YAML 1.1 tag');
  }
  // The library writes a collection key as a string ("[ a ]") and goes on; the reader stops there.
  if (a.threw && COLLECTION_KEY.test(a.threw)) {
    assert.equal([a.errors, a.warnings], [b.errors, b.warnings], `collection key in ${JSON.stringify(text)}`);
    return explain('collection key');
  }
  assert.equal(a, b, `reader and library differ on ${JSON.stringify(text)}`);
  return null;
}

const HAND_WRITTEN = [
  'registration:\n  uri: https://h/x\n  token: abc\nagent:\n  debug: true\n',
  'a: &x {b: 1, c: [1, 2, "three"]}\nd: *x\n',
  'base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n',
  'a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  x: 0\n  <<: [*a, *b]\n  w: 3\n',
  'a: &a {1: one, ~: n, true: t}\nb: {<<: *a, 2: two}\nc: [<<: *a]\n',
  'a: {<<: {x: 1}}\nb: {"<<": {x: 1}}\nc: {!!str <<: {x: 1}}\nd: {!!merge <<: {x: 1}}\ne: !!merge <<\nf: <<\n',
  'a: &m <<\nb: {*m : {x: 1}}\n',
  'a: {<<: 1}\n',
  'a: !!merge {x: 1}\nb: !!merge [1]\nc: {!!merge x: {y: 1}}\n',
  'a: {<<: [{x: 1}, 2]}\n',
  'a: {<<: *none}\n',
  'a: {<<: }\n',
  'a: &a {<<: &b {x: 1}, y: *b}\nb: {<<: *a}\n',
  'a: &a {x: {deep: 1}}\nb: {<<: [*a, *a, *a]}\n',
  '__proto__: {<<: {polluted: 1}}\nb: {<<: {__proto__: 1}}\n',
  'key: |\n  line 1\n  line 2\nfolded: >-\n  a\n  b\n',
  'keep: |+\n  a\n\n\nstrip: |-\n  b\n\nindented: |2\n    c\n',
  "q: 'it''s'\nd: \"tab\\there \\u00e9 \\x41 \\U0001F600 \\N \\_ \\L \\P\"\n",
  'd: "bad \\q escape"\n',
  '? complex\n: value\n? no value\n',
  'n: [0x1f, 0o17, 1_000, 1e3, .inf, -.Inf, .nan, ~, null, 12345678901234567890, +12, -0, 1., .5, 0b1]\n',
  'b: [true, True, TRUE, false, yes, no, on, off, y, n]\n',
  '%YAML 1.2\n---\na: 1\n',
  '%YAML 1.1\n---\na: yes\nb: 0777\nc: 1:20\n',
  '%YAML 1.3\n---\na: 1\n',
  '%YAML\n---\na: 1\n',
  '%FOO bar\n---\na: 1\n',
  '%TAG !e! tag:example.com,2000:\n---\na: !e!thing x\n',
  '%TAG !e!\n---\na: 1\n',
  '%YAML 1.2\n',
  '--- !!map\na: !!str 1\nb: !!int "2"\nc: !!float 1\nd: !!float 1.5\ne: !!bool true\nf: !!null ""\ng: !!seq [1]\n',
  'a: !!int 1.5\nb: !!map [1]\nc: !!seq {x: 1}\nd: !!str [x]\n',
  'a: !<tag:yaml.org,2002:str> 1\nb: !<!> x\nc: !<tag:x\nd: !e!x y\ne: !!\nf: !%zz x\n',
  'list:\n- a\n-   b\n- - c\n  - d\n',
  'a: 1\na: 2\n', // duplicate keys (uniqueKeys: false): the last wins
  '__proto__: 1\nconstructor: 2\ntoString: 3\n',
  '1: a\n1.50: b\n~: c\ntrue: d\n.inf: e\n-0: f\n0x10: g\n',
  'a: b: c\n',
  'a:\n  b: 1\n c: 2\n',
  'a: "unterminated\n',
  '- a\nb: 1\n',
  'a: 1\n---\nb: 2\n',
  'a: 1\n...\n---\nb: 2\n---\nc: 3\n',
  'a: 1\n...\n%YAML 1.2\n',
  '...\na: 1\n',
  'x: !custom value\n',
  'x: *undefined\n',
  'x: *a\ny: &a 1\n',
  'x: &a 1\ny: &a 2\nz: *a\n',
  'x: &a [*a]\ny: &b {k: *b}\n',
  'x: & 1\ny: * \nz: &a: 1\n',
  'x: &a *b\n',
  'a: &a [1, 2]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n', // billion laughs
  `a: &a x\nb: [${Array(99).fill('*a').join(', ')}]\n`, // 100 in all: at the limit
  `a: &a x\nb: [${Array(100).fill('*a').join(', ')}]\n`, // one over
  `a: &a [1]\nb: &b [${Array(9).fill('*a').join(', ')}]\nc: [${Array(9).fill('*b').join(', ')}]\n`,
  `a: &a [1]\nb: &b [${Array(10).fill('*a').join(', ')}]\nc: [${Array(10).fill('*b').join(', ')}]\n`,
  'a: &a []\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n',
  '\ufeffa: 1\n',
  'a: [1, 2\n',
  'a:\n  - [1,\n  2]\n',
  '{a: 1, b: [x, y], c: {d: e}}',
  '[a: 1, b: 2, ? c : 3, {x}]\n',
  '{a, b: , : c}\n',
  '[a, , b]\n[,a]\n',
  '{a: 1 b: 2}\n{a:1}\n',
  '- - - - - x\n',
  'a:\n\t- b\n',
  'a: |\nb\n',
  '',
  '# only a comment\n',
  '---\n',
  '--- |\n  text\n',
  '--- a: 1\n',
  '--- - a\n',
  'a: 1 #comment\nb: 2#not a comment\nc: "x"#bad\n',
  'tokenDuration: 1h30m\nreconciliation: 10000000000\n',
  `${'k'.repeat(1030)}: v\n`,
  '? - a\n  - b\n: c\n', // collection key
  '? {a: 1}\n: c\n',
  '[[a]: 1]\n',
  'a: !!binary aGVsbG8=\n',
  'a: !!timestamp 2001-12-14\n',
  'a: !!set {x, y}\n',
  'a: !!omap [x: 1]\n',
  'a: !!pairs [x: 1]\n',
  'a: "\\u2028 \\u0085"\nb: \u2028\u0085\n',
  'a:\r\n  b: 1\r\n',
];

function corpus(): string[] {
  const docs = [...HAND_WRITTEN];
  for (const dir of ['test/fixtures/yaml', 'test/fixtures/config']) {
    for (const name of readdirSync(join(process.cwd(), dir)).sort()) {
      if (name.endsWith('.yaml')) docs.push(readFileSync(join(process.cwd(), dir, name), 'utf8'));
    }
  }
  return docs;
}

test('the reader reads the corpus as the library does', () => {
  const docs = corpus();
  assert.ok(docs.length >= 130, `corpus of ${docs.length}`);
  const why = new Map<string, number>();
  for (const text of docs) {
    const difference = compare(text);
    if (difference) why.set(difference, (why.get(difference) ?? 0) + 1);
  }
  // Each documented difference is met, so that the comparison above has something to explain.
  assert.equal([...why.keys()].sort(), ['YAML 1.1 tag', 'collection key']);
});

test('values the config depends on, checked by hand', () => {
  const value = (text: string) => readYaml(text).toJS(MAX_ALIAS_COUNT);
  assert.equal(value('a: 10000000000\nb: "10"\nc: 1.5\nd: ~\ne: true\nf: 0x1F\n'), { a: 10000000000n, b: '10', c: 1.5, d: null, e: true, f: 31n });
  assert.equal(value('ca: |\n  -----BEGIN\n  xyz\n'), { ca: '-----BEGIN\nxyz\n' });
  assert.equal(value('%YAML 1.1\n---\na: yes\nb: 0777\n'), { a: 'yes', b: 777n });
  assert.equal(value('base: &b {x: 1, y: 1}\nd:\n  <<: *b\n  y: 2\n'), { base: { x: 1n, y: 1n }, d: { x: 1n, y: 2n } });
  assert.equal(value('d: {"<<": {x: 1}}\n'), { d: { '<<': { x: 1n } } });
  const proto = value('__proto__: {polluted: 1}\n') as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(Object.keys(proto), ['__proto__']);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  const cycle = value('a: &x [*x]\n') as { a: unknown[] };
  assert.is(cycle.a[0], cycle.a);
  assert.throws(() => value('a: &a [1, 2]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &b [*a]\n'), /Unresolved alias/);
  assert.equal(readYaml('a:\n  b: 1\n c: 2\n').errors, [{ code: 'BAD_INDENT', message: 'All mapping items must start at the same column', line: 3, col: 1 }]);
});

test('merge keys in a config file, as the reference reads them (yaml.v3)', async () => {
  const text = 'registration:\n  uri: https://h/x\n  token: t\nagent: &agent\n  <<: {debug: true, reconciliation: 10s, workDir: /var/lib/x}\n  debug: false\n';
  const config = await parseConfigText(text, 'c.yaml');
  assert.is(config.agent.debug, false);
  assert.is(config.agent.reconciliation, 10_000_000_000n);
  assert.is(config.agent.workDir, '/var/lib/x');
});

test('every documented difference is one line from the config loader, naming the file', async () => {
  const configs: Array<[string, RegExp]> = [
    ['registration:\n  uri: https://h/x\n  token: !!binary aGVsbG8=\n', /^config file 'c\.yaml': invalid YAML at line 3, column 10: Unresolved tag: tag:yaml\.org,2002:binary$/],
    ['registration:\n  uri: https://h/x\n  token: !!timestamp 2001-12-14\n', /^config file 'c\.yaml': invalid YAML at line 3, column 10: Unresolved tag: tag:yaml\.org,2002:timestamp$/],
    ['registration:\n  uri: https://h/x\nagent:\n  hostname: !!set {a, b}\n', /^config file 'c\.yaml': invalid YAML at line 4, column 13: Unresolved tag: tag:yaml\.org,2002:set$/],
    ['registration:\n  uri: https://h/x\nagent:\n  ? [a, b]\n  : c\n', /^config file 'c\.yaml': invalid YAML at line 4, column 5: a mapping key must be a scalar, not a collection$/],
    ['registration:\n  uri: https://h/x\n  token: *nothing\n', /^config file 'c\.yaml': Unresolved alias \(the anchor must be set before the alias\): nothing$/],
    ['registration:\n  uri: https://h/x\n token: x\n', /^config file 'c\.yaml': invalid YAML at line 3, column 1: All mapping items must start at the same column$/],
  ];
  for (const [text, expected] of configs) {
    let message = '';
    try {
      await parseConfigText(text, 'c.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, expected, text);
  }
});

const INSERTS = [' ', '  ', ':', ': ', '-', '- ', '"', "'", '\n', '#', '&a ', '*a', '!!str ', '!!int ', '!e!x ', '[', ']', '{', '}', ',', '|', '>', '|-', '? ', '\t', '%YAML 1.1\n---\n', '%TAG !e! tag:e,2000:\n---\n', '<<: ', '---\n', '...\n', '\\', '\r'];

function mutate(text: string, rnd: () => number): string {
  const at = Math.floor(rnd() * (text.length + 1));
  switch (Math.floor(rnd() * 4)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 3));
    case 1:
      return text.slice(0, at) + INSERTS[Math.floor(rnd() * INSERTS.length)] + text.slice(at);
    case 2: {
      const lines = text.split('\n');
      const i = Math.floor(rnd() * lines.length);
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    default: {
      const lines = text.split('\n');
      const i = Math.floor(rnd() * lines.length);
      lines[i] = (rnd() < 0.5 ? ' ' : '') + (lines[i] ?? '').replace(/^ /, '');
      return lines.join('\n');
    }
  }
}

test('seeded mutations of the corpus: the same outcome, or a documented difference', () => {
  const docs = corpus().filter((d) => d.length < 20_000);
  const rnd = prng(20261201);
  let compared = 0;
  let differences = 0;
  for (let round = 0; round < 20; round++) {
    for (const doc of docs) {
      let text = doc;
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) text = mutate(text, rnd);
      compared++;
      if (compare(text)) differences++;
    }
  }
  assert.ok(compared >= 2500, `compared ${compared}`);
  console.log(`    yaml reader: ${compared} mutated documents, ${differences} documented differences`);
});

const FRAGMENTS = [
  'a', 'b', 'key', '1', '0x1F', '0o17', '1e3', '.inf', '.nan', '~', 'null', 'true', 'yes', '-1.5', '""', '"x\\ty"', "'s''s'", '"\\q"',
  ': ', ':', '- ', '-', '? ', '?', ', ', ',', '[', ']', '{', '}', '\n', '\n  ', '\n    ', '\n- ', '\n  - ', ' ', '  ', '\t',
  '&a ', '&b ', '*a', '*b', '*a ', '& ', '!!str ', '!!int ', '!!float ', '!!map ', '!!seq ', '!!null ', '!local ', '! ', '!<tag:x> ', '!e!x ', '!!binary ',
  '|', '|-', '|+', '>', '>2', '|\n  text\n', '>-\n  folded\n  line\n', '# c', ' # c', '#', '---', '--- ', '---\n', '...', '...\n',
  '%YAML 1.2\n', '%YAML 1.1\n', '%TAG !e! tag:e,2000:\n', '%X\n', '<<', '<<: *a', '\r\n', '\ufeff', '\u2028', '\u0085', '\\',
];

test('generated documents: the same outcome, or a documented difference', () => {
  let differences = 0;
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }), (parts) => {
      if (compare(parts.join(''))) differences++;
    }),
    { numRuns: 10000, seed: 20261201 },
  );
  console.log(`    yaml reader: 10000 generated documents, ${differences} documented differences`);
});

// Documents built from a random tree, in block and flow styles, with anchors, aliases, merge
// keys and tags: mostly valid YAML, so that values (not only errors) are compared in depth.
type Tree =
  | { t: 'scalar'; text: string; block: boolean }
  | { t: 'alias'; name: string }
  | { t: 'map'; flow: boolean; props: string; entries: Array<[string, Tree]> }
  | { t: 'seq'; flow: boolean; props: string; items: Tree[] };

const PLAIN = ['x', 'hello world', '1', '-1', '+7', '0o17', '0x1F', '1.5', '1.', '.5', '1e3', '.inf', '-.Inf', '.nan', '~', 'null', 'Null', 'true', 'False', 'yes', 'no', '12345678901234567890', '<<', 'a:b', 'x-y', '@', '%'];
const QUOTED = ['"x y"', '"\\t\\u00e9\\x41"', '"a\\\\b"', "'it''s'", '""', "''", '"<<"', "'1'", '"true"'];
const KEYS = ['a', 'b', 'key', 'k y', '1', '0x10', '~', 'true', '.inf', '"q k"', "'s k'", '<<', '__proto__', 'toString', '""'];
const PROPS = ['', '', '', '&a ', '&b ', '&c ', '!!str ', '!!int ', '!!map ', '!!seq ', '! ', '&a !!str ', '!local '];
const BLOCK = ['|', '|-', '|+', '>', '>-', '>+', '|2'];

const tree = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('scalar' as const), text: fc.constantFrom(...PLAIN, ...QUOTED), block: fc.constant(false) }),
    fc.record({ t: fc.constant('scalar' as const), text: fc.constantFrom(...BLOCK), block: fc.constant(true) }),
    fc.record({ t: fc.constant('alias' as const), name: fc.constantFrom('a', 'b', 'c') }),
    fc.record({ t: fc.constant('map' as const), flow: fc.boolean(), props: fc.constantFrom(...PROPS), entries: fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('node')), { maxLength: 4 }) }),
    fc.record({ t: fc.constant('seq' as const), flow: fc.boolean(), props: fc.constantFrom(...PROPS), items: fc.array(tie('node'), { maxLength: 4 }) }),
  ),
}));

const ANCHORS = 'a0: &a {m: 1, n: 1}\nb0: &b\n  n: 2\n  o: 2\nc0: &c [{p: 3}, *b]\n';
const pad = (n: number) => ' '.repeat(n);
const scalarProps = (i: number) => PROPS[i % PROPS.length]!.replace(/!!(map|seq) /, '');

/** A node inside a flow collection (block scalars and collections become flow). */
function flow(node: Tree, depth: number): string {
  switch (node.t) {
    case 'scalar':
      return node.block ? `${scalarProps(depth)}"blk"` : `${scalarProps(depth + node.text.length)}${node.text}`;
    case 'alias':
      return `*${node.name}`;
    case 'map':
      return `${node.props}{${node.entries.map(([k, v]) => `${k}: ${flow(v, depth + 1)}`).join(', ')}}`;
    case 'seq':
      return `${node.props}[${node.items.map((v) => flow(v, depth + 1)).join(', ')}]`;
  }
}

/** The text after `key:` or `-` for a node at indent `indent`: inline, or a newline and a block. */
function after(node: Tree, indent: number, depth: number): string {
  if (node.t === 'scalar' && node.block) return ` ${scalarProps(depth)}${node.text}\n${pad(indent + 2)}line one\n${pad(indent + 2)}line two\n\n`;
  if (node.t === 'map' && !node.flow && node.entries.length > 0) return `${node.props ? ` ${node.props.trimEnd()}` : ''}\n${block(node, indent + 2, depth + 1)}`;
  if (node.t === 'seq' && !node.flow && node.items.length > 0) return `${node.props ? ` ${node.props.trimEnd()}` : ''}\n${block(node, depth % 2 ? indent : indent + 2, depth + 1)}`;
  return ` ${flow(node, depth)}\n`;
}

function block(node: Tree, indent: number, depth: number): string {
  if (node.t === 'map' && !node.flow && node.entries.length > 0) return node.entries.map(([k, v]) => `${pad(indent)}${k}:${after(v, indent, depth)}`).join('');
  if (node.t === 'seq' && !node.flow && node.items.length > 0) return node.items.map((v) => `${pad(indent)}-${after(v, indent, depth)}`).join('');
  return `${flow(node, depth)}\n`;
}

test('documents from random trees, block and flow: the same outcome, or a documented difference', () => {
  let differences = 0;
  let values = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...KEYS), tree.node), { minLength: 1, maxLength: 5 }), (entries) => {
      // Anchors first, so that most aliases (and merges) resolve.
      const text = ANCHORS + block({ t: 'map', flow: false, props: '', entries }, 0, 0);
      if (compare(text)) differences++;
      const doc = readYaml(text);
      if (doc.errors.length === 0) {
        try {
          if (typeof doc.toJS(MAX_ALIAS_COUNT) === 'object') values++;
        } catch {
          // a merge of a scalar, say: compared above
        }
      }
    }),
    { numRuns: 5000, seed: 20261201 },
  );
  // Most of them must be documents with data, or this test compares little but errors.
  assert.ok(values >= 2500, `only ${values} of 5000 documents had data`);
  console.log(`    yaml reader: 5000 documents from trees, ${values} with data, ${differences} documented differences`);
});

test('the agent bundle carries the reader, not the library\'s document model', () => {
  const meta = JSON.parse(readFileSync(join(process.cwd(), 'dist/meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const inputs = Object.keys(meta.outputs['dist/elemental-agent.js']!.inputs).map((p) => p.replace(/\\/g, '/'));
  const yaml = inputs.filter((p) => p.includes('node_modules/yaml/')).map((p) => p.replace(/.*node_modules\/yaml\/browser\/dist\//, ''));
  assert.ok(yaml.includes('parse/parser.js') && yaml.includes('parse/lexer.js') && yaml.includes('compose/resolve-flow-scalar.js'), yaml.join(' '));
  for (const left of ['compose/composer.js', 'doc/Document.js', 'nodes/YAMLMap.js', 'nodes/Node.js', 'schema/Schema.js', 'stringify/stringify.js', 'parse/cst-visit.js', 'public-api.js']) {
    assert.not.ok(yaml.includes(left), `${left} is in the bundle`);
  }
});

test.run();
