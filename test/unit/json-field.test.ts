// extractStringField (src/api/json-field.ts) is an optimisation of JSON.parse for the bootstrap
// answer. Its contract, checked here on hand-written and on seeded random bodies: whenever it
// answers, the answer is exactly what JSON.parse + Buffer.from(config) gives; whenever
// JSON.parse would fail, it declines (and leaves the body untouched) so the ordinary path
// reports the ordinary error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractStringField } from '../../src/api/json-field';
import { prng } from '../support/prng';

type Verdict = 'fast' | 'declined';

/** Checks the contract for one body and says which path was taken. */
function check(body: Buffer): Verdict {
  const original = Buffer.from(body);
  let reference: unknown;
  let parses = true;
  try {
    reference = JSON.parse(original.toString('utf8'));
  } catch {
    parses = false;
  }
  const got = extractStringField(body, 'config');
  if (!got) {
    assert.ok(body.equals(original), 'a declined body must be left untouched');
    return 'declined';
  }
  assert.ok(parses, `answered for a body JSON.parse refuses: ${JSON.stringify(original.toString('utf8').slice(0, 200))}`);
  const ref = reference as Record<string, unknown>;
  assert.type(ref.config, 'string');
  assert.ok(got.value.equals(Buffer.from(ref.config as string)), `config bytes differ for ${JSON.stringify(original.toString('utf8').slice(0, 200))}`);
  assert.equal(got.rest, { ...ref, config: '' });
  return 'fast';
}

const b = (text: string) => Buffer.from(text, 'utf8');

test('ordinary answers take the fast path, byte for byte', () => {
  const fast = [
    '{"format":"cloud-config","config":"#cloud-config\\nruncmd: [x]\\n"}',
    ' \n{ "config" : "a" , "format" : "ignition" } \n',
    '{"config":"\\"\\\\\\/\\b\\f\\n\\r\\t \\u0000 \\u00e9 \\u20ac \\ud83d\\ude00"}',
    '{"config":"é€😀 raw UTF-8"}',
    '{"config":"lone \\ud800 high, lone \\udc00 low, \\ud800\\u0041 high then A, \\ud800😀"}',
    '{"config":"first","config":"last wins"}',
    '{"config":null,"config":"string last"}',
    '{"nested":{"config":"not me","a":[1,{"config":"x"}]},"config":"me","b":[{"c":"]}\\""}],"n":-1.5e3,"t":true,"z":null}',
    `{"format":"cloud-config","config":${JSON.stringify('#cloud-config\n' + 'x'.repeat(100_000))}}`,
  ];
  for (const text of fast) assert.is(check(b(text)), 'fast', text);
});

test('anything unexpected is declined and left to JSON.parse', () => {
  const declined = [
    '',
    '[]',
    '"config"',
    '{}',
    '{"format":"x"}',
    '{"config":5}',
    '{"config":"s","config":null}',
    '{"con\\u0066ig":"escaped key"}',
    '\ufeff{"config":"bom"}',
    '{"config":"raw\ncontrol"}',
    '{"config":"bad \\x escape"}',
    '{"config":"short \\u12"}',
    '{"config":"unterminated}',
    '{"config":"a"} trailing',
    '{"config":"a",}',
    '{"config" "a"}',
    '{"config":"a" "b":1}',
    '{"config":"a","b":}',
    '{"config":"a","b":[1,2}',
  ];
  for (const text of declined) assert.is(check(b(text)), 'declined', text);
  // Not UTF-8: Buffer#toString would substitute U+FFFD, so the ordinary path decides.
  assert.is(check(Buffer.concat([b('{"config":"'), Buffer.from([0xff, 0xfe]), b('"}')])), 'declined');
});

test('a malformed remainder is declined too, before the body is touched', () => {
  // The scanner only finds where values end; JSON.parse of the remainder checks them.
  for (const text of ['{"config":"a","b":tru}', '{"config":"a","b":01}', '{"config":"a","b":[1,,2]}', '{"config":"a","b":{"c":"\\u00"}}']) {
    assert.is(check(b(text)), 'declined', text);
  }
});


const ALPHABET = ['a', ' ', '\n', '"', '\\', '/', '\u0000', '\u001f', 'é', '€', '\ud83d\ude00', '\ud800', '\udc00', '{', '}', '[', ']', ',', ':', '\t'];

function randomString(rnd: () => number, max: number): string {
  let s = '';
  for (let n = Math.floor(rnd() * max); n > 0; n--) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
  return s;
}

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 2 || r < 0.4) return randomString(rnd, 8);
  if (r < 0.5) return Math.floor(rnd() * 1000) - 500;
  if (r < 0.55) return rnd() < 0.5 ? null : true;
  if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 3) }, () => randomValue(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let n = Math.floor(rnd() * 3); n > 0; n--) o[rnd() < 0.3 ? 'config' : randomString(rnd, 4)] = randomValue(rnd, depth + 1);
  return o;
}

/** JSON text with random whitespace between tokens, and sometimes duplicate "config" keys. */
function randomBody(rnd: () => number): string {
  const ws = () => [' ', '', '\n', '\t', '  '][Math.floor(rnd() * 5)]!;
  const fields: string[] = [];
  for (let n = 1 + Math.floor(rnd() * 4); n > 0; n--) {
    const key = rnd() < 0.5 ? 'config' : rnd() < 0.5 ? 'format' : randomString(rnd, 5);
    const value = key === 'config' && rnd() < 0.8 ? randomString(rnd, 40) : randomValue(rnd, 0);
    fields.push(`${ws()}${JSON.stringify(key)}${ws()}:${ws()}${JSON.stringify(value)}${ws()}`);
  }
  return `${ws()}{${fields.join(',')}}${ws()}`;
}

test('seeded random bodies and byte mutations keep the contract', () => {
  const rnd = prng(20261125);
  const counts = { fast: 0, declined: 0, mutatedFast: 0, mutatedDeclined: 0 };
  const deadline = Date.now() + 15_000;
  for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
    const text = randomBody(rnd);
    counts[check(b(text))]++;
    // One random byte changed, inserted or removed.
    const bytes = b(text);
    const at = Math.floor(rnd() * bytes.length);
    const pick = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x0a, 0x61, 0x75, 0xc3, 0x00][Math.floor(rnd() * 14)]!;
    const r = rnd();
    const mutated =
      r < 0.4
        ? Buffer.concat([bytes.subarray(0, at), Buffer.from([pick]), bytes.subarray(at + 1)])
        : r < 0.7
          ? Buffer.concat([bytes.subarray(0, at), Buffer.from([pick]), bytes.subarray(at)])
          : Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    if (check(mutated) === 'fast') counts.mutatedFast++;
    else counts.mutatedDeclined++;
  }
  assert.ok(counts.fast > 1000, JSON.stringify(counts));
  console.log(`    json-field: ${JSON.stringify(counts)}`);
});

test.run();
