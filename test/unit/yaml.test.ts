// src/yaml.ts must match Go's gopkg.in/yaml.v3 byte for byte. The expected
// outputs in test/fixtures/yaml/*.yaml were produced by the Go oracle
// (tools/yaml-oracle); this test only reads them, it never needs Go.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonToYaml, toYaml } from '../../src/yaml';

const fixtures = join(process.cwd(), 'test/fixtures/yaml');
const names = readdirSync(fixtures)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

test('fixture set is present', () => {
  assert.ok(names.length >= 60, `only ${names.length} fixtures in ${fixtures}`);
});

for (const name of names) {
  test(`fixture ${name}`, () => {
    const input = readFileSync(join(fixtures, `${name}.json`), 'utf8');
    const expected = readFileSync(join(fixtures, `${name}.yaml`), 'utf8');
    const actual = jsonToYaml(input);
    // Compare the UTF-8 bytes: what gets written to disk is what must match.
    if (!Buffer.from(actual, 'utf8').equals(Buffer.from(expected, 'utf8'))) {
      assert.fixture(actual, expected, `${name}.yaml differs`);
      assert.unreachable(`${name}.yaml differs only in its UTF-8 encoding`);
    }
  });
}

test('required shapes', () => {
  assert.is(toYaml({ foo: { bar: { foobar: 'barfoo' } } }), 'foo:\n    bar:\n        foobar: barfoo\n');
  assert.is(toYaml({ users: [{ name: 'root', passwd: 'root' }] }), 'users:\n    - name: root\n      passwd: root\n');
  assert.is(toYaml({}), '{}\n');
  assert.is(toYaml([]), '[]\n');
  assert.is(toYaml({ a: {}, b: [] }), 'a: {}\nb: []\n');
  assert.is(toYaml([[['a']]]), '- - - a\n');
});

test('sortKeys: false keeps insertion order', () => {
  const value = { zeta: 1, alpha: { x: 'b', w: 'a' }, mid: [{ b: 1, a: 2 }] };
  assert.is(toYaml(value, { sortKeys: false }), 'zeta: 1\nalpha:\n    x: b\n    w: a\nmid:\n    - b: 1\n      a: 2\n');
  assert.is(toYaml(value), 'alpha:\n    w: a\n    x: b\nmid:\n    - a: 2\n      b: 1\nzeta: 1\n');
  assert.is(toYaml(value, { sortKeys: true }), toYaml(value));
});

test('jsonToYaml: empty input, invalid JSON', () => {
  assert.is(jsonToYaml(''), '');
  assert.throws(() => jsonToYaml('{'));
  assert.throws(() => jsonToYaml(' '));
  assert.throws(() => jsonToYaml('{"a":1,}'));
  // Go's json.Unmarshal refuses numbers beyond float64.
  assert.throws(() => jsonToYaml('[1e400]'), /out of float64 range/);
  assert.is(jsonToYaml('null'), 'null\n');
});

test('numbers format like Go strconv.FormatFloat(f, g, -1, 64)', () => {
  assert.is(toYaml([1000000, 100000, 0.00001, -0, 1.5, 1e21, 123456789, 0.0001]), '- 1e+06\n- 100000\n- 1e-05\n- -0\n- 1.5\n- 1e+21\n- 1.23456789e+08\n- 0.0001\n');
  assert.is(toYaml([Infinity, -Infinity, NaN]), '- .inf\n- -.inf\n- .nan\n');
});

test('JS-only values follow JSON.stringify', () => {
  assert.is(toYaml({ a: undefined, b: 1 }), 'b: 1\n');
  assert.is(toYaml([undefined]), '- null\n');
  assert.is(toYaml({ d: new Date(0) }), 'd: "1970-01-01T00:00:00.000Z"\n');
});

test('deep nesting does not overflow the stack', () => {
  let v: unknown = 'x';
  for (let i = 0; i < 1000; i++) v = i % 2 ? [v] : { k: v };
  const out = toYaml(v);
  assert.ok(out.endsWith('x\n'));
  const parsed = JSON.parse(JSON.stringify(v)) as unknown;
  assert.is(jsonToYaml(JSON.stringify(parsed)), out);
});

test('nesting limit is Go encoding/json\'s: 10000 levels', () => {
  const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
  assert.ok(jsonToYaml(nested(10000)).startsWith('- - - '));
  assert.throws(() => jsonToYaml(nested(10001)), /nesting deeper than 10000/);
});

test('cyclic values fail with a clear error', () => {
  const a: unknown[] = [];
  a.push(a);
  assert.throws(() => toYaml(a), /nesting deeper than/);
});

test.run();
