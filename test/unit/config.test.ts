import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_RECONCILIATION_NS,
  closestKnownKey,
  configFromApi,
  emptyConfig,
  loadConfigFile,
  parseConfig,
  parseConfigText,
  parseServerConfig,
  renderConfig,
  writeConfigFile,
} from '../../src/config';
import { AgentError } from '../../src/errors';
import { setLogSink } from '../../src/log';
import { tempDir } from '../support/temp';

const fixture = (name: string) => readFileSync(join(process.cwd(), 'test/fixtures/config', name), 'utf8');
const URI = 'https://elemental.example.com/elemental/v1/namespaces/default/registrations/reg';
const S = 1_000_000_000n;

async function parseError(text: string): Promise<string> {
  try {
    await parseConfigText(text, '/etc/elemental/agent/config.yaml');
  } catch (err) {
    assert.instance(err, AgentError);
    return (err as Error).message;
  }
  throw new Error(`expected an error for: ${text}`);
}

test('a full config round-trips byte for byte (SPEC §3 field order, 4-space indent, Go durations)', async () => {
  const text = fixture('full.yaml');
  const config = await parseConfigText(text, 'full.yaml');
  assert.is(config.agent.reconciliation, 60n * S);
  assert.is(config.registration.tokenDuration, 3600n * S);
  assert.ok(config.registration.caCert.startsWith('-----BEGIN CERTIFICATE-----\n'));
  assert.is(renderConfig(config), text);
});

test('defaults are applied on load but zero fields are never written', async () => {
  const config = await parseConfigText(`registration:\n  uri: ${URI}\n`, 'c.yaml');
  assert.is(config.agent.workDir, '/var/lib/elemental/agent');
  assert.is(config.agent.reconciliation, DEFAULT_RECONCILIATION_NS);
  assert.is(config.agent.osPlugin, 'dummy');
  const fromServer = configFromApi({ uri: URI }, {});
  assert.is(renderConfig(fromServer), fixture('minimal.yaml'));
});

test('durations: Go strings and integer nanoseconds', async () => {
  const cases: [string, bigint][] = [
    ['10s', 10n * S],
    ['1m30s', 90n * S],
    ['1500ms', 1_500_000_000n],
    ['10000000000', 10n * S],
    ['"10000000000"', 10n * S],
  ];
  for (const [value, ns] of cases) {
    const config = await parseConfigText(`registration:\n  uri: ${URI}\nagent:\n  reconciliation: ${value}\n`, 'c.yaml');
    assert.is(config.agent.reconciliation, ns, value);
  }
  // Integers from the server (JSON numbers) are nanoseconds too; written back as Go strings.
  const fromServer = configFromApi({ uri: URI, tokenDuration: 0 }, { reconciliation: 10_000_000_000 });
  assert.match(renderConfig(fromServer), /\n    reconciliation: 10s\n/);
});

test('long tokens are never folded and multi-line strings are literal blocks', () => {
  const config = emptyConfig();
  config.registration.uri = URI;
  config.registration.token = `eyJ${'a'.repeat(1500)}.${'b'.repeat(300)}.${'c'.repeat(86)}`;
  config.registration.caCert = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  const text = renderConfig(config);
  assert.ok(text.includes(`    token: ${config.registration.token}\n`));
  assert.ok(text.includes('    caCert: |\n        -----BEGIN CERTIFICATE-----\n        AAAA\n        -----END CERTIFICATE-----\n'));
});

test('bad input: one line naming the file and the key', async () => {
  const file = "config file '/etc/elemental/agent/config.yaml'";
  const cases: [string, RegExp][] = [
    ['registration: [1, 2', /invalid YAML at line \d+/],
    [`registration:\n  uri: ${URI}\nagent:\n  reconciliation: banana\n`, /agent\.reconciliation: invalid duration 'banana'/],
    [`registration:\n  uri: ${URI}\nagent:\n  reconciliation: -5s\n`, /agent\.reconciliation: negative duration/],
    [`registration:\n  uri: ${URI}\nagent:\n  reconciliation: 1.5\n`, /agent\.reconciliation: invalid duration/],
    ['registration:\n  uri: ftp://x\n', /registration\.uri: unknown scheme 'ftp': invalid scheme, use 'https' instead/],
    ['registration:\n  uri: not a url\n', /registration\.uri: 'not a url' is not a valid URL/],
    ['agent: {}\n', /registration\.uri: missing/],
    ['', /registration\.uri: missing/],
    ['- a\n- b\n', /expected a map with 'registration' and 'agent' sections, got a list/],
    ['just a string\n', /expected a map .* got 'just a string'/],
    ['registration: 5\n', /registration: expected a map, got number 5/],
    [`registration:\n  uri: ${URI}\n  token: 12\n`, /registration\.token: expected a string, got number 12/],
    [`registration:\n  uri: ${URI}\nagent:\n  debug: "yes"\n`, /agent\.debug: expected true or false, got 'yes'/],
    [`registration:\n  uri: ${URI}\nagent:\n  hostname: true\n`, /agent\.hostname: expected a map, got boolean true/],
    [`registration:\n  uri: ${URI}\nagent:\n  hostname:\n    prefix: [a]\n`, /agent\.hostname\.prefix: expected a string, got a list/],
    [`registration:\n  uri: ${URI}\nagent:\n  postReset:\n    reboot: 1\n`, /agent\.postReset\.reboot: expected true or false/],
    [`registration:\n  uri: ${URI}\nagent:\n  workDir: relative/dir\n`, /agent\.workDir: 'relative\/dir' must be an absolute path/],
  ];
  for (const [text, expected] of cases) {
    const message = await parseError(text);
    assert.ok(message.startsWith(`${file}: `), message);
    assert.match(message, expected);
    assert.not.match(message, /\n/, 'one line');
  }
});

test('unknown keys: one warning each, naming the closest known key; the config is still read', async () => {
  const text = `registration:\n  uri: ${URI}\n  future: 1\nagent:\n  reconcilation: 1m\n  somethingNew: true\nworkDir: /srv/agent\nextra: x\n`;
  const { config, warnings } = await parseConfig(text, '/etc/elemental/agent/config.yaml');
  assert.is(config.registration.uri, URI);
  assert.is(config.agent.reconciliation, DEFAULT_RECONCILIATION_NS, 'the misspelt key is not taken');
  assert.is(config.agent.workDir, '/var/lib/elemental/agent', 'a top-level workDir is not agent.workDir');
  const file = "config file '/etc/elemental/agent/config.yaml': ";
  assert.equal(warnings, [
    `${file}workDir: unknown key (did you mean agent.workDir?)`,
    `${file}extra: unknown key`,
    `${file}registration.future: unknown key`,
    `${file}agent.reconcilation: unknown key (did you mean agent.reconciliation?)`,
    `${file}agent.somethingNew: unknown key`,
  ]);
});

test('parseConfigText and loadConfigFile log each warning as one WARN line', async () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    await parseConfigText(`registration:\n  uri: ${URI}\nagent:\n  reconcilation: 1m\n`, 'c.yaml');
  } finally {
    restore();
  }
  assert.equal(lines, ["WARN  config file 'c.yaml': agent.reconcilation: unknown key (did you mean agent.reconciliation?)\n"]);
});

test('keys are matched case-insensitively, as viper does (insecureSkipTLSVerify, workdir)', async () => {
  const text = `Registration:\n  URI: ${URI}\n  cacert: /etc/ca.pem\nagent:\n  insecureSkipTLSVerify: true\n  workdir: /srv/agent\n  Hostname:\n    UseExisting: true\n  postinstall:\n    REBOOT: true\n  RECONCILIATION: 30s\n`;
  const { config, warnings } = await parseConfig(text, 'c.yaml');
  assert.equal(warnings, []);
  assert.is(config.registration.uri, URI);
  assert.is(config.registration.caCert, '/etc/ca.pem');
  assert.is(config.agent.insecureSkipTlsVerify, true);
  assert.is(config.agent.workDir, '/srv/agent');
  assert.is(config.agent.hostname.useExisting, true);
  assert.is(config.agent.postInstall.reboot, true);
  assert.is(config.agent.reconciliation, 30n * S);
  // Written back in the reference's spelling.
  assert.match(renderConfig(config), /\n    workDir: \/srv\/agent\n[\s\S]*\n    insecureSkipTlsVerify: true\n/);
  // The same key twice in two spellings: the last one wins, and it is said.
  const twice = await parseConfig(`registration:\n  uri: ${URI}\nagent:\n  workDir: /a\n  WORKDIR: /b\n`, 'c.yaml');
  assert.is(twice.config.agent.workDir, '/b');
  assert.equal(twice.warnings, ["config file 'c.yaml': agent.WORKDIR: the same key as agent.workDir (keys are case-insensitive); the last one is used"]);
  // The server's JSON too (Go's encoding/json matches names case-insensitively).
  const server = parseServerConfig({ uri: URI }, { insecureSkipTLSVerify: true, UseSystemCertPool: true } as never);
  assert.equal(server.warnings, []);
  assert.ok(server.config.agent.insecureSkipTlsVerify && server.config.agent.useSystemCertPool);
});

test('closest known key: near spellings, the right name under the wrong parent, nothing when far', () => {
  assert.is(closestKnownKey('agent', 'reconcilation'), 'agent.reconciliation');
  assert.is(closestKnownKey('agent', 'insecureAllowHTTPS'), 'agent.insecureAllowHttp');
  assert.is(closestKnownKey('agent', 'caCert'), 'registration.caCert');
  assert.is(closestKnownKey('', 'workdir'), 'agent.workDir');
  assert.is(closestKnownKey('', 'registraton'), 'registration');
  assert.is(closestKnownKey('agent.hostname', 'prefx'), 'agent.hostname.prefix');
  assert.is(closestKnownKey('agent', 'somethingNew'), undefined);
  assert.is(closestKnownKey('', 'extra'), undefined);
  assert.is(closestKnownKey('agent', '__proto__'), undefined);
});

test('reconciliation under 1 s is raised to 1 s with one warning, from the file and from the server', async () => {
  for (const value of ['10', '500ms', '999999999']) {
    const { config, warnings } = await parseConfig(`registration:\n  uri: ${URI}\nagent:\n  reconciliation: ${value}\n`, 'c.yaml');
    assert.is(config.agent.reconciliation, S, value);
    assert.is(warnings.length, 1, value);
    assert.match(warnings[0]!, /^config file 'c\.yaml': agent\.reconciliation: \S+ is under 1s, raised to 1s/);
  }
  assert.is((await parseConfig(`registration:\n  uri: ${URI}\nagent:\n  reconciliation: 10\n`, 'c.yaml')).warnings[0]!.includes(': 10ns is under 1s'), true);
  const exact = await parseConfig(`registration:\n  uri: ${URI}\nagent:\n  reconciliation: 1s\n`, 'c.yaml');
  assert.equal([exact.config.agent.reconciliation, exact.warnings], [S, []]);
  const unset = await parseConfig(`registration:\n  uri: ${URI}\nagent:\n  reconciliation: 0\n`, 'c.yaml');
  assert.equal([unset.config.agent.reconciliation, unset.warnings], [DEFAULT_RECONCILIATION_NS, []]);
  const server = parseServerConfig({ uri: URI }, { reconciliation: 10 });
  assert.is(server.config.agent.reconciliation, S);
  assert.equal(server.warnings, ['registration config from the server: agent.reconciliation: 10ns is under 1s, raised to 1s (an integer is nanoseconds: write 10s for ten seconds)']);
  assert.match(renderConfig(server.config), /\n    reconciliation: 1s\n/);
});

test('registration is written in the reference struct order: uri, caCert, tokenDuration, token', () => {
  const config = emptyConfig();
  config.registration = { uri: URI, caCert: '/etc/ca.pem', token: 'tok', tokenDuration: 3600n * S };
  assert.is(renderConfig(config), `registration:\n    uri: ${URI}\n    caCert: /etc/ca.pem\n    tokenDuration: 1h0m0s\n    token: tok\nagent: {}\n`);
});

test('missing file, directory instead of file', async () => {
  const dir = tempDir('elemental-config-');
  await loadConfigFile(join(dir, 'nope.yaml'), '/nonexistent').then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, "config file '/nonexistent': file not found (pass --config PATH or create it)"),
  );
  mkdirSync(join(dir, 'adir'));
  await loadConfigFile(join(dir, 'adir'), '/adir').then(
    () => assert.unreachable(),
    (err: Error) => assert.match(err.message, /is a directory/),
  );
});

test('written config: mode 0640, atomic, parent created, reads back equal', async () => {
  const dir = tempDir('elemental-config-');
  const path = join(dir, 'etc/elemental/agent/config.yaml');
  const config = await parseConfigText(fixture('full.yaml'), 'full.yaml');
  await writeConfigFile(path, config);
  assert.is(statSync(path).mode & 0o777, 0o640);
  assert.is(readFileSync(path, 'utf8'), fixture('full.yaml'));
  writeFileSync(path, 'garbage');
  await writeConfigFile(path, config);
  assert.equal(await loadConfigFile(path, path), config);
});

test('server config is validated like the file', () => {
  assert.throws(() => configFromApi({ uri: 'gopher://x' }, {}), /registration config from the server: registration\.uri: unknown scheme 'gopher'/);
  assert.throws(() => configFromApi({ uri: URI }, { reconciliation: -1 }), /agent\.reconciliation: negative duration/);
  assert.throws(() => configFromApi({ uri: URI }, { debug: 'yes' as unknown as boolean }), /agent\.debug: expected true or false/);
});

test.run();
