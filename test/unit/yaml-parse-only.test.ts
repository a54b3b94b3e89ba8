// The agent bundles a cut-down yaml (scripts/yaml-parse-only.mjs): parser and composer only.
// This compares it with the full library, as Node loads it, on a corpus of documents and on
// seeded mutations of them: every document must give the same errors, warnings and value,
// except for the documented differences, each of which must be an error the config loader
// reports (never a silently different value).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { parseDocument as cutParseDocument } from '../../src/yaml-parse';
import { parseConfigText } from '../../src/config';
import { prng } from '../support/prng';

// Loaded at run time, outside the test bundle, so the plugin cannot touch it.
const full = createRequire(import.meta.url)('yaml') as typeof import('yaml');

// The options src/config.ts passes (logLevel only keeps the full library's process warnings
// about stringified keys out of the test output).
const OPTIONS = { intAsBigInt: true, prettyErrors: true, uniqueKeys: false, logLevel: 'error' } as const;
const JS_OPTIONS = { maxAliasCount: 100 };

interface Outcome {
  errors: string[];
  warnings: string[];
  /** util.inspect of toJS(): shows bigints, byte arrays and alias cycles exactly. */
  value?: string;
  threw?: string;
}

function outcome(parse: typeof cutParseDocument, text: string): Outcome {
  const doc = parse(text, OPTIONS);
  const out: Outcome = {
    errors: doc.errors.map((e) => `${e.code} ${e.message}`),
    warnings: doc.warnings.map((w) => `${w.code} ${w.message}`),
  };
  try {
    out.value = inspect(doc.toJS(JS_OPTIONS), { depth: Infinity, breakLength: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity });
  } catch (err) {
    out.threw = (err as Error).message;
  }
  return out;
}

const same = (a: Outcome, b: Outcome) => {
  try {
    assert.equal(a, b);
    return true;
  } catch {
    return false;
  }
};

const HAND_WRITTEN = [
  'registration:\n  uri: https://h/x\n  token: abc\nagent:\n  debug: true\n',
  'a: &x {b: 1, c: [1, 2, "three"]}\nd: *x\n',
  'base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n',
  'key: |\n  line 1\n  line 2\nfolded: >-\n  a\n  b\n',
  "q: 'it''s'\nd: \"tab\\there \\u00e9\"\n",
  '? complex\n: value\n',
  'n: [0x1f, 0o17, 1_000, 1e3, .inf, -.Inf, .nan, ~, null, 12345678901234567890]\n',
  '%YAML 1.2\n---\na: 1\n',
  '--- !!map\na: !!str 1\nb: !!int "2"\n',
  'list:\n- a\n-   b\n- - c\n  - d\n',
  'a: 1\na: 2\n', // duplicate keys (uniqueKeys: false)
  'a: b: c\n', // error
  'a:\n  b: 1\n c: 2\n', // bad indentation
  'a: "unterminated\n',
  '- a\nb: 1\n',
  'a: 1\n---\nb: 2\n', // two documents
  'x: !custom value\n', // unknown local tag: a warning in both
  'x: *undefined\n',
  '\ufeffa: 1\n',
  'a: [1, 2\n',
  '{a: 1, b: [x, y], c: {d: e}}',
  '',
  '# only a comment\n',
  'tokenDuration: 1h30m\nreconciliation: 10000000000\n',
];

// Documented differences: each must be an error (or warning) the config loader refuses.
const YAML_1_1 = [
  '%YAML 1.1\n---\na: yes\nb: 0777\nc: 1:20\n', // core schema here, like Go's yaml.v3
  'a: !!binary aGVsbG8=\n',
  'a: !!timestamp 2001-12-14\n',
  'a: !!set {x, y}\n',
  'a: !!omap [x: 1]\n',
  'a: !!pairs [x: 1]\n',
  '? [a, b]\n: c\n', // collection key: needs the stringifier
  '? {a: 1}\n: c\n',
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


const INSERTS = [' ', '  ', ':', ': ', '-', '- ', '"', "'", '\n', '#', '&a ', '*a', '!!str ', '[', ']', '{', '}', ',', '|', '>', '? ', '\t', '%YAML 1.1\n---\n', '<<: '];

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

const usesLeftOut = (text: string) => /%YAML\s+1\.1|!!(binary|timestamp|set|omap|pairs)\b/.test(text);

/** What the config loader must do with a document the cut-down yaml handles differently. */
function refusedByLoader(cut: Outcome): boolean {
  return cut.errors.length > 0 || cut.warnings.some((w) => w.startsWith('TAG_RESOLVE_FAILED')) || cut.threw !== undefined;
}

test('the test bundle carries the cut-down yaml, as the agent does', () => {
  assert.throws(() => cutParseDocument('a: 1\n').toString(), /not supported in the agent config \(stringify/);
  assert.is(full.parseDocument('a: 1\n').toString(), 'a: 1\n');
});

test('the cut-down yaml parses the corpus exactly as the full library', () => {
  const docs = corpus();
  assert.ok(docs.length >= 80, `corpus of ${docs.length}`);
  for (const text of docs) {
    assert.equal(outcome(cutParseDocument, text), outcome(full.parseDocument, text), JSON.stringify(text.slice(0, 200)));
  }
});

test('every documented difference is refused by the config loader, never a different value', async () => {
  for (const text of YAML_1_1) {
    const cut = outcome(cutParseDocument, text);
    const reference = outcome(full.parseDocument, text);
    if (text.startsWith('%YAML 1.1')) {
      // Resolved with the core schema: the same as the full library gives without the directive.
      assert.equal(cut, outcome(full.parseDocument, text.replace('%YAML 1.1\n---\n', '')));
      assert.not.equal(cut.value, reference.value, 'the YAML 1.1 schema would read yes/0777/1:20 differently');
      continue;
    }
    assert.ok(refusedByLoader(cut), `${text}: ${JSON.stringify(cut)}`);
  }
  // And through the loader: one line naming the file, where the full library read a value.
  const configs = [
    'registration:\n  uri: https://h/x\n  token: !!binary aGVsbG8=\n',
    'registration:\n  uri: https://h/x\n  token: !!timestamp 2001-12-14\n',
    'registration:\n  uri: https://h/x\nagent:\n  hostname: !!set {a, b}\n',
    'registration:\n  uri: https://h/x\nagent:\n  ? [a, b]\n  : c\n',
  ];
  for (const text of configs) {
    let message = '';
    try {
      await parseConfigText(text, 'c.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, /^config file 'c\.yaml': (invalid YAML at line \d+, column \d+: Unresolved tag: tag:yaml\.org,2002:\w+|this YAML construct is not supported in the agent config)/, text);
  }
});

test('seeded mutations: same outcome, or a documented difference the loader refuses', () => {
  const docs = corpus().filter((d) => d.length < 20_000);
  const rnd = prng(20261125);
  let compared = 0;
  let identical = 0;
  let differences = 0;
  const deadline = Date.now() + 20_000;
  for (let round = 0; round < 20 && Date.now() < deadline; round++) {
    for (const doc of docs) {
      let text = doc;
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) text = mutate(text, rnd);
      const cut = outcome(cutParseDocument, text);
      const reference = outcome(full.parseDocument, text);
      compared++;
      if (same(cut, reference)) {
        identical++;
        continue;
      }
      differences++;
      const explained = refusedByLoader(cut) || usesLeftOut(text);
      assert.ok(explained, `unexplained difference for ${JSON.stringify(text)}:\ncut ${JSON.stringify(cut)}\nfull ${JSON.stringify(reference)}`);
      if (!refusedByLoader(cut)) {
        // Only a %YAML 1.1 document may differ without an error: it reads as core schema.
        assert.ok(/%YAML\s+1\.1/.test(text), text);
      }
    }
  }
  assert.ok(compared >= 1000, `compared ${compared}`);
  console.log(`    yaml-parse-only: ${compared} mutated documents, ${identical} identical, ${differences} documented differences`);
});

test.run();
