// Bad input of every kind: one clear line, the documented exit code or condition, no stack
// trace, and nothing the agent wrote before is damaged.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LABELS } from '../support/elemental-api';
import { CONFIG_PATH, WORK_DIR, journey, registeredJourney } from '../support/lifecycle';
import { runAgent, tempRoot } from '../support/spawn-agent';
import { withoutTimestamps } from '../support/log-lines';

const URI = 'http://127.0.0.1:9/elemental/v1/namespaces/default/registrations/reg';
const OK_REG = `registration:\n  uri: ${URI}\n`;
const OK_AGENT = 'agent:\n  insecureAllowHttp: true\n';

/** Every file under dir with its bytes, to prove nothing was damaged. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(dir.length)] = `${(statSync(p).mode & 0o777).toString(8)} ${readFileSync(p, 'base64')}`;
    }
  };
  walk(dir);
  return out;
}

function assertOneErrorLine(stderr: string, pattern: RegExp, label: string) {
  // The start-up line (INFO, once the config is read) may come first: it is context, not a problem.
  const lines = withoutTimestamps(stderr).trimEnd().split('\n').filter((l) => !/^INFO  elemental-agent \S+ \(commit /.test(l));
  assert.is(lines.length, 1, `${label}: expected one line, got:\n${stderr}`);
  assert.match(lines[0]!, /^ERROR /, label);
  assert.match(lines[0]!, pattern, label);
  assert.not.match(stderr, /\n\s+at /, `${label}: no stack trace`);
}

// [label, config text, expected message]
const CONFIG_CASES: [string, string | null, RegExp][] = [
  ['missing file', null, /file not found/],
  ['empty file', '', /registration\.uri: missing/],
  ['only a comment', '# nothing\n', /registration\.uri: missing/],
  ['a list', '- a\n', /expected a map with 'registration' and 'agent' sections, got a list/],
  ['a scalar', '42\n', /expected a map .* got number 42/],
  ['invalid YAML', 'registration: {uri: x\n', /invalid YAML at line \d+, column \d+/],
  ['tab indentation', 'registration:\n\turi: x\n', /invalid YAML/],
  ['registration a string', 'registration: x\n', /registration: expected a map, got 'x'/],
  ['agent a list', `${OK_REG}agent: [1]\n`, /agent: expected a map, got a list/],
  ['uri a number', 'registration:\n  uri: 5\n', /registration\.uri: expected a string, got number 5/],
  ['uri missing', 'registration: {}\n', /registration\.uri: missing/],
  ['uri not a URL', 'registration:\n  uri: "::"\n', /registration\.uri: '::' is not a valid URL/],
  ['uri ftp', 'registration:\n  uri: ftp://x/y\n', /unknown scheme 'ftp': invalid scheme, use 'https' instead/],
  ['uri file', 'registration:\n  uri: file:///etc/passwd\n', /unknown scheme 'file'/],
  ['uri http without insecureAllowHttp', 'registration:\n  uri: http://x/y\n', /invalid scheme, use 'https' instead/],
  ['caCert a map', `registration:\n  uri: ${URI}\n  caCert: {a: 1}\n${OK_AGENT}`, /registration\.caCert: expected a string, got a map/],
  ['caCert unparsable PEM', `registration:\n  uri: ${URI.replace('http:', 'https:')}\n  caCert: "-----BEGIN CERTIFICATE-----\\nnot base64\\n-----END CERTIFICATE-----\\n"\n`, /caCert/i],
  ['caCert neither PEM nor file', `registration:\n  uri: ${URI.replace('http:', 'https:')}\n  caCert: /no/such/ca.pem\n`, /caCert/i],
  ['token a list', `registration:\n  uri: ${URI}\n  token: [a]\n`, /registration\.token: expected a string, got a list/],
  ['tokenDuration banana', `registration:\n  uri: ${URI}\n  tokenDuration: banana\n`, /registration\.tokenDuration: invalid duration 'banana'/],
  ['reconciliation banana', `${OK_REG}agent:\n  reconciliation: banana\n`, /agent\.reconciliation: invalid duration 'banana'/],
  ['reconciliation 10', `${OK_REG}agent:\n  reconciliation: 10 s\n`, /agent\.reconciliation: invalid duration/],
  ['reconciliation float', `${OK_REG}agent:\n  reconciliation: 1.5\n`, /agent\.reconciliation: invalid duration/],
  ['reconciliation negative', `${OK_REG}agent:\n  reconciliation: -1m\n`, /agent\.reconciliation: negative duration/],
  ['reconciliation a map', `${OK_REG}agent:\n  reconciliation: {s: 1}\n`, /agent\.reconciliation: invalid duration/],
  ['workDir a bool', `${OK_REG}agent:\n  workDir: true\n`, /agent\.workDir: expected a string, got boolean true/],
  ['workDir relative', `${OK_REG}agent:\n  workDir: var/lib\n`, /agent\.workDir: 'var\/lib' must be an absolute path/],
  ['hostname a string', `${OK_REG}agent:\n  hostname: node1\n`, /agent\.hostname: expected a map/],
  ['useExisting a string', `${OK_REG}agent:\n  hostname:\n    useExisting: "true"\n`, /agent\.hostname\.useExisting: expected true or false, got 'true'/],
  ['prefix a number', `${OK_REG}agent:\n  hostname:\n    prefix: 7\n`, /agent\.hostname\.prefix: expected a string, got number 7/],
  ['noSmbios a string', `${OK_REG}agent:\n  noSmbios: "no"\n`, /agent\.noSmbios: expected true or false/],
  ['debug a number', `${OK_REG}agent:\n  debug: 1\n`, /agent\.debug: expected true or false, got number 1/],
  ['osPlugin a list', `${OK_REG}agent:\n  osPlugin: [dummy]\n`, /agent\.osPlugin: expected a string, got a list/],
  ['osPlugin elemental.so', `${OK_REG}${OK_AGENT}  osPlugin: /usr/lib/elemental/plugins/elemental.so\n`, /not available in this agent/],
  ['osPlugin unknown', `${OK_REG}${OK_AGENT}  osPlugin: rpm\n`, /unsupported plugin/],
  ['osPlugin missing .js', `${OK_REG}${OK_AGENT}  osPlugin: /opt/none.js\n`, /cannot load plugin: file not found/],
  ['insecureAllowHttp a string', `${OK_REG}agent:\n  insecureAllowHttp: "yes"\n`, /agent\.insecureAllowHttp: expected true or false/],
  ['insecureSkipTlsVerify a number', `${OK_REG}agent:\n  insecureSkipTlsVerify: 0\n`, /agent\.insecureSkipTlsVerify: expected true or false/],
  ['useSystemCertPool null-ish string', `${OK_REG}agent:\n  useSystemCertPool: nil\n`, /agent\.useSystemCertPool: expected true or false/],
  ['postInstall a bool', `${OK_REG}agent:\n  postInstall: true\n`, /agent\.postInstall: expected a map/],
  ['postInstall.reboot a string', `${OK_REG}agent:\n  postInstall:\n    reboot: "true"\n`, /agent\.postInstall\.reboot: expected true or false/],
  ['postReset.powerOff a list', `${OK_REG}agent:\n  postReset:\n    powerOff: []\n`, /agent\.postReset\.powerOff: expected true or false, got a list/],
];

test('config matrix: exit 1, one line naming the file and the key, nothing damaged', async () => {
  const root = tempRoot();
  mkdirSync(join(root, WORK_DIR), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, WORK_DIR, 'install.yaml'), 'precious: true\n');
  const before = snapshot(root);
  let count = 0;
  for (const [label, text, pattern] of CONFIG_CASES) {
    const configPath = `/etc/bad/${count}.yaml`;
    if (text !== null) {
      mkdirSync(join(root, '/etc/bad'), { recursive: true });
      writeFileSync(join(root, configPath), text);
    }
    for (const command of ['run', 'register']) {
      const r = await runAgent(['--config', configPath, command], { root, timeoutMs: 20_000 });
      assert.is(r.code, 1, `${label} (${command}): exit ${r.code}\n${r.stderr}`);
      assertOneErrorLine(r.stderr, pattern, `${label} (${command})`);
      assert.ok(r.stderr.includes(configPath) || !/config file/.test(r.stderr), `${label}: names the file`);
      assert.equal(r.calls, [], `${label}: no command ran`);
    }
    count++;
  }
  const after = snapshot(root);
  for (const [path, content] of Object.entries(before)) assert.is(after[path], content, `${path} damaged`);
  console.log(`  bad config cases: ${count} × 2 commands, all exit 1 with one line`);
});

test('a directory where a file should be, and a file where a directory should be', async () => {
  const root = tempRoot();
  mkdirSync(join(root, '/etc/elemental/agent/config.yaml'), { recursive: true });
  const dirConfig = await runAgent(['--config', CONFIG_PATH, 'run'], { root });
  assert.is(dirConfig.code, 1);
  assertOneErrorLine(dirConfig.stderr, /is a directory, expected a YAML file/, 'config is a dir');

  const root2 = tempRoot();
  mkdirSync(join(root2, '/etc'), { recursive: true });
  writeFileSync(join(root2, '/etc/c.yaml'), `${OK_REG}${OK_AGENT}  workDir: /var/lib/agentfile\n`);
  mkdirSync(join(root2, '/var/lib'), { recursive: true });
  writeFileSync(join(root2, '/var/lib/agentfile'), 'not a dir');
  const fileWorkDir = await runAgent(['--config', '/etc/c.yaml', 'run'], { root: root2 });
  assert.is(fileWorkDir.code, 1);
  assertOneErrorLine(fileWorkDir.stderr, /\/var\/lib\/agentfile/, 'work dir is a file');
  assert.is(readFileSync(join(root2, '/var/lib/agentfile'), 'utf8'), 'not a dir');

  const root3 = tempRoot();
  mkdirSync(join(root3, '/etc'), { recursive: true });
  writeFileSync(join(root3, '/etc/c.yaml'), `${OK_REG}${OK_AGENT}`);
  mkdirSync(join(root3, WORK_DIR, 'private.key'), { recursive: true });
  const dirKey = await runAgent(['--config', '/etc/c.yaml', 'run'], { root: root3 });
  assert.is(dirKey.code, 1);
  assertOneErrorLine(dirKey.stderr, /private\.key/, 'private.key is a dir');
});

test('private.key: garbage, RSA, truncated, empty → exit 1, one line, key untouched', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const { privateKey } = generateKeyPairSync('ed25519');
  const ed = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cases: [string, string][] = [
    ['garbage', 'this is not a key\n'],
    ['RSA', rsa],
    ['truncated', ed.slice(0, ed.length - 30)],
    ['empty', ''],
    ['binary', '\u0000\u0001\u0002garbage'],
  ];
  for (const [label, content] of cases) {
    const root = tempRoot();
    mkdirSync(join(root, '/etc'), { recursive: true });
    writeFileSync(join(root, '/etc/c.yaml'), `${OK_REG}${OK_AGENT}`);
    mkdirSync(join(root, WORK_DIR), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, WORK_DIR, 'private.key'), content, { mode: 0o600 });
    for (const command of ['run', 'register', 'reset']) {
      const r = await runAgent(['--debug', '--config', '/etc/c.yaml', command], { root });
      assert.is(r.code, 1, `${label} ${command}: ${r.stderr}`);
      const errors = withoutTimestamps(r.stderr).split('\n').filter((l) => l.startsWith('ERROR'));
      assert.is(errors.length, 1, `${label}: ${r.stderr}`);
      assert.match(errors[0]!, /private\.key/);
      assert.not.match(r.stderr, /\n\s+at /);
      assert.not.match(r.stderr, /MC4CAQAw|MII[A-Za-z0-9+/]{10}/, 'no key material in the output');
    }
    assert.is(readFileSync(join(root, WORK_DIR, 'private.key'), 'utf8'), content, `${label}: untouched`);
  }
});

test('server-supplied hostname prefix with shell metacharacters or 300 chars: rejected before any command runs', async () => {
  for (const prefix of ['$(reboot)-', '`poweroff`;', 'a b-', 'x'.repeat(300), 'ünï-', '../../etc/']) {
    const j = await journey({ agent: { hostname: { prefix } } });
    try {
      const agent = j.start(['register', '--install']);
      await j.api.waitFor(() => j.api.requests.filter((r) => r.op === 'getRegistration').length >= 2, 10_000);
      agent.child.kill('SIGTERM');
      const r = await agent.result;
      assert.is(r.code, 143);
      assert.equal(r.calls, [], 'no command ran');
      assert.match(r.stderr, /ERROR registering: invalid hostname .*\(RFC 1123\).*\(retrying\)/);
      assert.not.ok(j.api.ops().includes('createHost'), 'never sent to the server');
      assert.not.ok(j.exists(`${WORK_DIR}/private.key`));
    } finally {
      await j.close();
    }
  }
});

test('huge and deeply nested server values: handled or reported, never a crash', async () => {
  const { j, name } = await registeredJourney();
  try {
    // 5 MB osVersionManagement.
    const big: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) big[`key${String(i).padStart(5, '0')}`] = 'v'.repeat(1000);
    j.api.setOsVersionManagement(j.reg, name, big);
    let agent = j.start(['run']);
    await j.api.waitFor(() => j.api.host(j.reg, name)?.conditions.find((c) => c.type === 'OSVersionReady'), 20_000);
    agent.child.kill('SIGTERM');
    assert.is((await agent.result).code, 143);
    const written = j.read(`${WORK_DIR}/os-version.yaml`);
    assert.is(written.split('\n').length, 5001);
    assert.ok(written.startsWith(`key00000: ${'v'.repeat(1000)}\n`));

    // 100,000 levels of nesting: too deep to be a real config; reported as a condition. Sent as
    // raw JSON in the PATCH answers (the stand-in's own store would not hold it).
    const depth = 100_000;
    const deep = `{"name":"${name}","osVersionManagement":${'{"d":'.repeat(depth)}"bottom"${'}'.repeat(depth)}}`;
    j.api.injectFault({ op: 'patchHost', kind: 'status', status: 200, body: deep, times: Infinity, afterEffects: true });
    agent = j.start(['run']);
    await j.api.waitFor(() => j.api.host(j.reg, name)?.conditions.find((c) => c.type === 'OSVersionReady' && c.status === 'False'), 20_000);
    agent.child.kill('SIGTERM');
    const r = await agent.result;
    assert.is(r.code, 143);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    const c = j.api.host(j.reg, name)!.conditions.find((x) => x.type === 'OSVersionReady')!;
    assert.equal([c.severity, c.reason], ['Error', 'OSVersionReconciliationFailed']);
    assert.ok(written === j.read(`${WORK_DIR}/os-version.yaml`), 'the previous file is intact');
  } finally {
    await j.close();
  }
});

test('a 10 MB bootstrap config is written verbatim', async () => {
  const { j, name } = await registeredJourney();
  try {
    const config = `#cloud-config\nwrite_files:\n  - path: /big\n    content: ${'x'.repeat(10 * 1024 * 1024)}\n`;
    j.api.setBootstrap(j.reg, name, { config });
    const r = await j.run(['run']);
    assert.is(r.code, 0, r.stderr.slice(0, 2000));
    assert.ok(j.read('/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg') === config, 'verbatim');
    assert.equal(r.calls, [{ command: 'reboot', args: ['-f'] }]);
    assert.not.ok(j.api.host(j.reg, name)!.labels[LABELS.bootstrapped]);
  } finally {
    await j.close();
  }
});

test('unknown and misspelt config keys: one WARN each, naming the closest key; the reference spelling insecureSkipTLSVerify works', async () => {
  // The misspelt key would otherwise fall back silently to the default (10 s).
  const j = await journey({
    https: true,
    startingAgentYaml: '  reconcilation: 1s\n  insecureSkipTLSVerify: true\n  workdir: /var/lib/elemental/agent\n  postInstal:\n    reboot: true\n',
  });
  try {
    // No CA in the starting config: only insecureSkipTLSVerify (read case-insensitively) lets
    // the handshake through.
    writeFileSync(j.path(CONFIG_PATH), j.read(CONFIG_PATH).replace(/^  caCert: .*\n/m, ''));
    const r = await j.run(['register']);
    assert.is(r.code, 0, r.stderr);
    const warnings = withoutTimestamps(r.stderr).split('\n').filter((l) => l.startsWith('WARN'));
    assert.equal(warnings, [
      `WARN  config file '${CONFIG_PATH}': agent.reconcilation: unknown key (did you mean agent.reconciliation?)`,
      `WARN  config file '${CONFIG_PATH}': agent.postInstal: unknown key (did you mean agent.postInstall?)`,
    ]);
  } finally {
    await j.close();
  }
});

test('reconciliation: 10 (10 ns) is raised to 1 s with one WARN: a bounded number of requests against a failing API', async () => {
  for (const where of ['file', 'server'] as const) {
    const j = where === 'file' ? await journey({ startingAgentYaml: '  reconciliation: 10\n' }) : await journey({ agent: { reconciliation: 10 } });
    try {
      const agent = j.start(['register'], { env: { ELEMENTAL_AGENT_MIN_RECONCILIATION: undefined } });
      let failing: (q: { op: string; status: number }) => boolean;
      if (where === 'file') {
        // The starting config says 100ms; the line added below it wins (the last one is used).
        j.api.injectFault({ op: 'getRegistration', kind: 'status', status: 500, times: Infinity });
        failing = (q) => q.op === 'getRegistration' && q.status === 500;
        await j.api.waitFor(() => j.api.requests.some(failing), 10_000);
      } else {
        // Registered with the server's 10 ns; from then on the API fails every PATCH. The two
        // phase reports are best effort (no wait); step 5 retries, once per period.
        await j.api.waitForRequest((q) => q.op === 'createHost', 10_000);
        j.api.injectFault({ op: 'patchHost', kind: 'status', status: 500, times: Infinity });
        failing = (q) => q.op === 'patchHost' && q.status === 500;
        await j.api.waitFor(() => j.api.requests.filter(failing).length >= 3, 10_000);
      }
      // Count from the first failure that is retried.
      const from = j.api.requests.length;
      await new Promise((res) => setTimeout(res, 3000));
      const count = j.api.requests.length - from;
      agent.child.kill('SIGTERM');
      const r = await agent.result;
      assert.is(r.code, 143, r.stderr);
      assert.ok(count <= 4, `${where}: ${count} requests in 3 s after the first failure`);
      const raised = withoutTimestamps(r.stderr).split('\n').filter((l) => /agent\.reconciliation: 10ns is under 1s, raised to 1s/.test(l));
      assert.is(raised.length, 1, `${where}: ${r.stderr}`);
      assert.match(raised[0]!, where === 'file' ? /^WARN  config file '\/etc\/elemental\/agent\/config\.yaml': / : /^WARN  registration config from the server: /);
    } finally {
      await j.close();
    }
  }
});

test('install, run and reset on a host that never registered: exit 1 at once, one line, no request, nothing written, no post action', async () => {
  const j = await journey({ startingAgentYaml: '  workDir: /srv/agent\n  postInstall:\n    reboot: true\n  postReset:\n    reboot: true\n' });
  try {
    const before = snapshot(j.root);
    for (const command of ['install', 'run', 'reset']) {
      const r = await j.run([command], { debug: false, timeoutMs: 10_000 });
      assert.is(r.code, 1, `${command}: ${r.stderr}`);
      // The start-up line every command that reads the host begins with, then the one error.
      const [start, ...rest] = withoutTimestamps(r.stderr).split('\n');
      assert.match(start!, new RegExp(`^INFO  elemental-agent \\S+ \\(commit [^)]*\\) ${command}: config ${CONFIG_PATH}, root `), command);
      assert.equal(rest, ["ERROR this host is not registered (no /srv/agent/private.key): run 'elemental-agent register' first", ''], command);
      assert.is(r.stdout, '');
      assert.equal(r.calls, [], `${command}: no post action`);
    }
    assert.equal(j.api.requests, [], 'no request sent');
    assert.equal(snapshot(j.root), before, 'nothing written (not even the work dir)');

    // A registration that did not finish (killed between the POST and finalize) is named as such.
    const name = 'm-node-1';
    mkdirSync(j.path('/srv/agent'), { recursive: true, mode: 0o700 });
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(j.path('/srv/agent/pending-registration.json'), JSON.stringify({ name, privateKey: key }), { mode: 0o600 });
    j.api.clearRequests();
    const r = await j.run(['run'], { debug: false, timeoutMs: 10_000 });
    assert.is(r.code, 1, r.stderr);
    assert.is(withoutTimestamps(r.stderr).split('\n').slice(1).join('\n'), `ERROR the registration of this host as '${name}' did not finish (no /srv/agent/private.key, but /srv/agent/pending-registration.json): run 'elemental-agent register' to complete it\n`);
    assert.equal(j.api.requests, []);
  } finally {
    await j.close();
  }
});

test('a server hostname prefix 1e400: the written config reads back (it was read as Infinity and every later command failed)', async () => {
  const j = await journey({ agent: { hostname: { prefix: '1e400' } } });
  try {
    const r = await j.run(['register'], { timeoutMs: 15_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(j.read(CONFIG_PATH), /\n    hostname:\n        prefix: "1e400"\n/);
    const name = j.read('/etc/hostname').trim();
    assert.match(name, /^1e400[0-9a-f]{8}-/);
    const run = j.start(['run'], { timeoutMs: 15_000 });
    await j.api.waitFor(() => j.api.host(j.reg, name)?.phase === 'Running', 10_000).catch(() => undefined);
    run.child.kill('SIGTERM');
    const ran = await run.result;
    assert.is(ran.code, 143, ran.stderr);
    assert.is(j.api.host(j.reg, name)?.phase, 'Running');
  } finally {
    await j.close();
  }
});

test.run();
