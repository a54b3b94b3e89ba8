// `elemental-agent --root DIR check` (SPEC §15): the config and, when present, private.key and a
// pending registration, validated offline. One line per problem and exit 1, or one line saying
// what was checked and exit 0; no request, nothing written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ElementalApi, startElementalApi } from '../support/elemental-api';
import { runAgent, tempRoot } from '../support/spawn-agent';
import { testPki } from '../support/certs';
import { withoutTimestamps } from '../support/log-lines';

const CONFIG = '/etc/elemental/agent/config.yaml';
const WORK_DIR = '/var/lib/elemental/agent';
const CA = '/etc/elemental/ca.pem';

let api: ElementalApi;
const roots: string[] = [];

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(`${p.slice(dir.length)} ${(statSync(p).mode & 0o7777).toString(8)} ${e.isFile() ? readFileSync(p, 'base64') : ''}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** A root holding the config (and the files given), checked; asserts nothing changed and nothing was sent. */
async function check(config: string, files: Record<string, string> = {}, args: string[] = [], modes: Record<string, number> = {}) {
  const root = tempRoot();
  roots.push(root);
  for (const [path, content] of Object.entries({ [CONFIG]: config, ...files })) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content, { mode: 0o600 });
  }
  for (const [path, mode] of Object.entries(modes)) chmodSync(join(root, path), mode);
  const before = tree(root);
  api.clearRequests();
  // The real floor of 1 s, not the test suites' lowered one.
  const r = await runAgent([...args, 'check'], { root, timeoutMs: 15_000, env: { ELEMENTAL_AGENT_MIN_RECONCILIATION: undefined } });
  assert.equal(tree(root), before, 'nothing written');
  assert.equal(api.requests, [], 'nothing sent');
  assert.equal(r.calls, [], 'no command run');
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  return { ...r, errors: withoutTimestamps(r.stderr).split('\n').filter((l) => l.startsWith('ERROR')) };
}

const ed25519 = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

test.before(async () => {
  api = await startElementalApi({ https: true });
});

test.after(async () => {
  await api.close();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const uri = () => `${api.url}/elemental/v1/namespaces/default/registrations/reg`;
const good = () => `registration:\n  uri: ${uri()}\n  caCert: ${CA}\n  token: eyJhbGciOiJFZERTQSJ9.e30.c2ln\nagent:\n  reconciliation: 30s\n`;

test('a good config, no private key yet: exit 0, one line saying what was checked', async () => {
  const r = await check(good(), { [CA]: testPki().caCertPem });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `check: OK: config file '${CONFIG}', no private key (not registered yet)\n`);
  assert.is(r.stderr, '');
});

test('a good config and private.key: both named', async () => {
  const r = await check(good(), { [CA]: testPki().caCertPem, [`${WORK_DIR}/private.key`]: ed25519() });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `check: OK: config file '${CONFIG}', private key ${WORK_DIR}/private.key\n`);
});

test('unknown keys and a raised reconciliation are problems: one line each, exit 1', async () => {
  const r = await check(`${good()}  reconcilation: 1m\n  reconciliation: 10\nworkdir: /x\n`, { [CA]: testPki().caCertPem });
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.equal(r.errors, [
    `ERROR config file '${CONFIG}': workdir: unknown key (did you mean agent.workDir?)`,
    `ERROR config file '${CONFIG}': agent.reconcilation: unknown key (did you mean agent.reconciliation?)`,
    `ERROR config file '${CONFIG}': agent.reconciliation: 10ns is under 1s, raised to 1s (an integer is nanoseconds: write 10s for ten seconds)`,
  ]);
});

/** Never imported by check: it would fail the check if it were. */
const PLUGIN = "throw new Error('check imported the plugin');\n";

test('an external plugin the agent would load passes, without being imported', async () => {
  const r = await check(`${good()}  osPlugin: /opt/p.js\n`, { [CA]: testPki().caCertPem, '/opt/p.js': PLUGIN });
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.errors, []);
});

test('config, plugin, trust, key: each problem named, one line each', async () => {
  const cases: [string, string, Record<string, string>, RegExp][] = [
    ['missing file', '', {}, /config file '\/etc\/elemental\/agent\/config\.yaml': file not found/],
    ['invalid YAML', 'registration: [1\n', {}, /invalid YAML at line/],
    ['wrong type', `registration:\n  uri: ${uri()}\nagent:\n  debug: "yes"\n`, {}, /agent\.debug: expected true or false/],
    ['http without insecureAllowHttp', 'registration:\n  uri: http://127.0.0.1:9/elemental/v1/namespaces/d/registrations/r\n', {}, /invalid scheme, use 'https' instead/],
    ['https without any trust', `registration:\n  uri: ${uri()}\n`, {}, /no TLS trust for https:\/\/127\.0\.0\.1:\d+\/.*: set registration\.caCert/],
    ['caCert file missing', good(), {}, /caCert/],
    ['osPlugin elemental.so', `${good()}  osPlugin: /usr/lib/elemental/plugins/elemental.so\n`, { [CA]: testPki().caCertPem }, /not available in this agent/],
    ['osPlugin .js missing', `${good()}  osPlugin: /opt/none.js\n`, { [CA]: testPki().caCertPem }, /agent\.osPlugin "\/opt\/none\.js": cannot load plugin: file not found/],
    ['osPlugin .js relative', `${good()}  osPlugin: plugins/p.js\n`, { [CA]: testPki().caCertPem, '/plugins/p.js': PLUGIN }, /agent\.osPlugin "plugins\/p\.js" must be an absolute path/],
    ['osPlugin .js a directory', `${good()}  osPlugin: /opt/p.js\n`, { [CA]: testPki().caCertPem, '/opt/p.js/x': '' }, /agent\.osPlugin "\/opt\/p\.js": cannot load plugin: not a regular file/],
    ['private.key garbage', good(), { [CA]: testPki().caCertPem, [`${WORK_DIR}/private.key`]: 'garbage\n' }, /private key .*private\.key is not a PEM private key/],
    ['pending registration garbage', good(), { [CA]: testPki().caCertPem, [`${WORK_DIR}/pending-registration.json`]: '{' }, /pending registration .* is not JSON/],
  ];
  cases.push(['osPlugin .js writable by others', `${good()}  osPlugin: /opt/p.js\n`, { [CA]: testPki().caCertPem, '/opt/p.js': PLUGIN }, /agent\.osPlugin "\/opt\/p\.js": cannot load plugin: the plugin file is writable by others \(mode 602\)/]);
  for (const [label, config, files, pattern] of cases) {
    const modes: Record<string, number> = label === 'osPlugin .js writable by others' ? { '/opt/p.js': 0o602 } : {};
    const r = label === 'missing file' ? await check('', {}, ['--config', '/etc/none.yaml']) : await check(config, files, [], modes);
    assert.is(r.code, 1, `${label}: ${r.stderr}`);
    assert.is(r.errors.length, 1, `${label}: ${r.stderr}`);
    assert.match(r.errors[0]!, label === 'missing file' ? /config file '\/etc\/none\.yaml': file not found/ : pattern, label);
    assert.is(r.stdout, '', label);
  }
});

test('several problems at once: all of them, one line each', async () => {
  const r = await check(`${good()}  osPlugin: rpm\n  typo: 1\n`, { [`${WORK_DIR}/private.key`]: 'garbage\n' });
  assert.is(r.code, 1);
  assert.is(r.errors.length, 4, r.stderr);
  assert.match(r.errors.join('\n'), /agent\.typo: unknown key[\s\S]*unsupported plugin[\s\S]*private\.key[\s\S]*caCert/);
});

test('a pending registration is reported, and the token never shown', async () => {
  const r = await check(good(), { [CA]: testPki().caCertPem, [`${WORK_DIR}/pending-registration.json`]: JSON.stringify({ name: 'm-1', privateKey: ed25519() }) }, ['--debug']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /pending registration \/var\/lib\/elemental\/agent\/pending-registration\.json \(host 'm-1': run 'elemental-agent register' to complete it\)/);
  assert.not.match(r.stdout + r.stderr, /eyJhbGciOiJFZERTQSJ9/);
});

test.run();
