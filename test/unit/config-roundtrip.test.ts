// A config the agent writes reads back as meant (SPEC §11, issue 15 item 9): the rendered text is
// parsed back before it is written, and a string that would come back as something else is
// written double-quoted. Everything that already round-trips keeps the yaml.v3 layout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AgentConfig, emptyConfig, parseConfig, renderConfig, renderConfigChecked, withDefaults, yamlDoubleQuoted } from '../../src/config';
import { prng } from '../support/prng';

const URI = 'https://elemental.example.com/elemental/v1/namespaces/default/registrations/reg';

function configWith(prefix: string, extra: (c: AgentConfig) => void = () => undefined): AgentConfig {
  const config = emptyConfig();
  config.registration.uri = URI;
  config.registration.token = 'tok';
  config.agent.hostname.prefix = prefix;
  extra(config);
  return config;
}

async function readsBack(text: string): Promise<AgentConfig> {
  return (await parseConfig(text, 'c.yaml')).config;
}

test('a server prefix 1e400 is written quoted and reads back as the string (it was read as Infinity)', async () => {
  const config = configWith('1e400');
  assert.ok(renderConfig(config).includes('        prefix: 1e400\n'), 'the yaml.v3 layout writes it plain');
  const text = await renderConfigChecked(config);
  assert.is(text, `registration:\n    uri: ${URI}\n    token: tok\nagent:\n    hostname:\n        prefix: "1e400"\n`);
  assert.is((await readsBack(text)).agent.hostname.prefix, '1e400');
});

test('U+2028 in a string reads back exactly (it came back as "a\\u2028    b")', async () => {
  const config = configWith('a\u2028b');
  const text = await renderConfigChecked(config);
  assert.ok(text.includes('        prefix: "a\\u2028b"\n'), text);
  assert.is((await readsBack(text)).agent.hostname.prefix, 'a\u2028b');
});

test('what already round-trips keeps its bytes: the full fixture, plain values, a literal caCert block', async () => {
  const full = readFileSync(join(process.cwd(), 'test/fixtures/config/full.yaml'), 'utf8');
  const config = (await parseConfig(full, 'full.yaml')).config;
  assert.is(await renderConfigChecked(config), full);
  for (const prefix of ['m-', 'node-', 'yes', '123', '1e5', 'null', '~', '0x1F', 'x: y', '#x', ' lead', 'é-', '😀']) {
    const c = configWith(prefix);
    assert.is(await renderConfigChecked(c), renderConfig(c), prefix);
  }
});

test('every string field, tricky values: the checked text always reads back as meant', async () => {
  const tricky = [
    '1e400', '-1e400', '1E999', 'a\u2028b', 'a\u2029b', 'a\u0085b', '\ufeffx', 'x\ud800y', 'tab\there', 'cr\rlf\n', 'multi\nline\n', 'multi\nline',
    '  ', ' ', '', '"', "'", '\\', 'a\x00b', '\x7f', '\x1b[2J', '.inf', '.NaN', '0o17', '0b101', '1_000', '+1', '-', '---', '...', '? x', '- x', '@x', '`x', '%x',
    '!x', '&a', '*a', '|', '>', 'a #b', 'a: b', '{a}', '[a]', 'true', 'False', 'NO', 'on', '2001-12-14', '12:30:00', '0.0.0', '\u00a0', 'x'.repeat(300),
  ];
  const fields: [string, (c: AgentConfig, v: string) => void, (c: AgentConfig) => string][] = [
    ['registration.caCert', (c, v) => (c.registration.caCert = v), (c) => c.registration.caCert],
    ['registration.token', (c, v) => (c.registration.token = v), (c) => c.registration.token],
    ['agent.hostname.prefix', (c, v) => (c.agent.hostname.prefix = v), (c) => c.agent.hostname.prefix],
    ['agent.osPlugin', (c, v) => (c.agent.osPlugin = v), (c) => c.agent.osPlugin],
    ['agent.workDir', (c, v) => (c.agent.workDir = `/${v}`), (c) => c.agent.workDir],
  ];
  // And random strings over an alphabet of troublemakers, seeded.
  const random = prng(20_251_201);
  const alphabet = ['a', '1', 'e', '.', '-', ':', ' ', '#', '"', "'", '\\', '\n', '\r', '\t', '\u2028', '\u0085', '\x00', '\x1f', '\ufeff', 'é', '😀', '{', '[', '!', '&', '*', '|', '>', '%', '@'];
  for (let i = 0; i < 150; i++) {
    tricky.push(Array.from({ length: 1 + Math.floor(random() * 8) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
  }
  let quoted = 0;
  for (const value of tricky) {
    for (const [field, set, get] of fields) {
      const config = configWith('m-');
      set(config, value);
      const text = await renderConfigChecked(config);
      if (text !== renderConfig(config)) quoted++;
      const back = await readsBack(text);
      assert.is(get(back), get(withDefaults(config)), `${field} = ${JSON.stringify(value)}:\n${text}`);
    }
  }
  assert.ok(quoted > 0, 'some values needed quoting');
});

test('yamlDoubleQuoted escapes what a parser would change and nothing else', () => {
  assert.is(yamlDoubleQuoted('plain é 😀'), '"plain é 😀"');
  assert.is(yamlDoubleQuoted('a"b\\c\nd\te'), '"a\\"b\\\\c\\nd\\te"');
  assert.is(yamlDoubleQuoted('\u2028\u2029\u0085\ufeff\x00\x7f'), '"\\u2028\\u2029\\u0085\\ufeff\\u0000\\u007f"');
  assert.is(yamlDoubleQuoted('x\ud800'), '"x\\ud800"');
});

test.run();
