// (The helpers these fixes brought, quote() and unsafeOwnership(), are tested in
// hardening-helpers.test.ts: this file imports only what existed before, so that it can be run
// against the old code.)
//
// Issue 15: a broken or hostile server (or an operator's typo) cannot crash, stall or flood the
// agent, and secret-bearing files stay private. One section per item of the issue; each test
// failed on the code before the fix (511b1cb).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { log, setDebug, setLogSink } from '../../src/log';
import { bootstrap } from '../../src/phases/bootstrap';
import { reconcileOsVersion } from '../../src/phases/os-version';
import { register } from '../../src/phases/register';
import { loadCaCert } from '../../src/api/tls';
import { loadPlugin } from '../../src/plugins';
import { parseDurationText } from '../../src/duration';
import { parseProxy, proxyFor } from '../../src/api/proxy';
import { parseConfigText } from '../../src/config';
import { install } from '../../src/phases/install';
import { reset } from '../../src/phases/reset';
import { DummyPlugin } from '../../src/plugins/dummy';
import { HostRoot, ensureDir } from '../../src/fs';
import { jsonToYaml, toYaml } from '../../src/yaml';
import { type ScriptedApi, WORK_DIR, phaseHarness, reportedConditions, startScriptedApi } from '../support/scripted-api';

let api: ScriptedApi;
let logs: string[] = [];
let restoreSink: () => void = () => {};

test.before(async () => {
  api = await startScriptedApi();
});
test.after(async () => {
  await api.close();
});
test.before.each(() => {
  api.reset();
  logs = [];
  restoreSink = setLogSink((line) => logs.push(line));
});
test.after.each(() => restoreSink());

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** `{"a":{"a":...1...}}`, `depth` objects deep. */
const MAX_GENERATED_FILE_BYTES = 8 * 1024 * 1024; // SPEC §11

const chain = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

// ---- 1. Depth and size limits ---------------------------------------------------------------

function dummyIn(root: string): DummyPlugin {
  const plugin = new DummyPlugin();
  const host = { currentHostname: () => 'h', setHostname: async () => {}, reboot: async () => {}, powerOff: async () => {} };
  plugin.init({ workDir: WORK_DIR, configPath: '/etc/elemental/agent/config.yaml', debug: false, root: new HostRoot(root), host });
  return plugin;
}

test('1: a server object 256 levels deep is converted, 257 levels is refused before any output', async () => {
  const h = await phaseHarness(api);
  try {
    const plugin = dummyIn(h.root);
    plugin.reconcileOSVersion(chain(256));
    const file = join(h.root, WORK_DIR, 'os-version.yaml');
    assert.is(readFileSync(file, 'utf8'), jsonToYaml(chain(256)));
    assert.throws(() => plugin.install(chain(257)), /install config to YAML: nesting deeper than 256 levels \(the limit for a server object\)/);
    assert.not.ok(existsSync(join(h.root, WORK_DIR, 'install.yaml')));
    // The case: 24 KB of nesting was a 32 MB os-version.yaml.
    assert.throws(() => plugin.reconcileOSVersion(chain(4000)), /nesting deeper than 256 levels/);
    assert.is(readFileSync(file, 'utf8'), jsonToYaml(chain(256)), 'the previous file is left as it was');
  } finally {
    h.cleanup();
  }
});

test('1: a generated file is at most 8 MiB: wide objects within the depth limit are refused too', async () => {
  const h = await phaseHarness(api);
  try {
    const plugin = dummyIn(h.root);
    // 150 chains of 200 levels: 340 KB of JSON, ~12 MB of YAML.
    const wide = `{${Array.from({ length: 150 }, (_, i) => `"k${i}":${chain(200)}`).join(',')}}`;
    assert.throws(() => plugin.reset(wide), /reset config to YAML: the YAML would be larger than 8 MiB/);
    // Multi-byte text: fewer characters than the limit, more bytes.
    const wideChars = JSON.stringify({ v: 'é'.repeat(MAX_GENERATED_FILE_BYTES / 2 + 10) });
    assert.throws(() => plugin.install(wideChars), /install config as YAML is \d+ bytes, more than the 8 MiB limit of a generated file/);
    // Just under the limit is written.
    const under = JSON.stringify({ v: 'x'.repeat(MAX_GENERATED_FILE_BYTES - 10) });
    plugin.install(under);
    assert.is(statSync(join(h.root, WORK_DIR, 'install.yaml')).size, MAX_GENERATED_FILE_BYTES - 10 + 'v: \n'.length);
  } finally {
    h.cleanup();
  }
});

test('1: beyond a limit each step fails with its condition and the agent goes on', async () => {
  const h = await phaseHarness(api);
  try {
    // Run: OSVersionReconciliationFailed, and the next reconcile with a sane object succeeds.
    assert.is(await reconcileOsVersion(h.ctx, { osVersionManagement: JSON.parse(chain(300)) }), 'failed');
    assert.is(await reconcileOsVersion(h.ctx, { osVersionManagement: { osImage: 'v1' } }), 'reconciled');
    const [failedOs, readyOs] = reportedConditions(api);
    assert.is(failedOs?.reason, 'OSVersionReconciliationFailed');
    assert.match(failedOs?.message ?? '', /nesting deeper than 256 levels/);
    assert.is(readyOs?.status, 'True');

    // Install: InstallationFailed, retried; the second answer is sane.
    api.reset();
    let answers = 0;
    const deepInstall = JSON.stringify({ config: { elemental: { install: JSON.parse(chain(300)) } } });
    api.answer('registration', () => ({ body: answers++ === 0 ? deepInstall : '{"config":{"elemental":{"install":{"device":"/dev/sda"}}}}' }));
    await install(h.ctx);
    const installConditions = reportedConditions(api);
    assert.ok(installConditions.some((c) => c.reason === 'InstallationFailed' && /nesting deeper than 256 levels/.test(c.message ?? '')));
    assert.is(installConditions.at(-1)?.type, 'InstallationReady');
    assert.is(readFileSync(join(h.root, WORK_DIR, 'install.yaml'), 'utf8'), 'device: /dev/sda\n');

    // Reset: ResetFailed, retried.
    api.reset();
    answers = 0;
    const wideReset = JSON.stringify({ config: { elemental: { reset: Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, JSON.parse(chain(200))])) } } });
    api.answer('registration', () => ({ body: answers++ === 0 ? wideReset : '{"config":{"elemental":{"reset":{"wipe":true}}}}' }));
    await reset(h.ctx);
    const resetConditions = reportedConditions(api);
    assert.ok(resetConditions.some((c) => c.reason === 'ResetFailed' && /larger than 8 MiB/.test(c.message ?? '')));
    assert.is(readFileSync(join(h.root, WORK_DIR, 'reset.yaml'), 'utf8'), 'wipe: true\n');
    assert.ok(logs.some((l) => l.startsWith('ERROR') && l.includes('nesting deeper than 256 levels')));
  } finally {
    h.cleanup();
  }
});

// ---- 2. Per-endpoint response caps ----------------------------------------------------------

const MiB = 1024 * 1024;

/** A body of `bytes` bytes that is a valid answer, if the agent read it all. */
const paddedAnswer = (bytes: number, extra = '') => {
  const head = `{${extra}"labels":{"pad":"`;
  return `${head}${'x'.repeat(bytes - head.length - 3)}"}}`;
};

test('2: registration and host answers stop at 8 MiB, declared or streamed, and say which limit applied', async () => {
  const h = await phaseHarness(api);
  try {
    const tooLarge = /the answer is too large: more than the 8 MiB limit for registration and host answers; reading stopped there/;
    for (const chunked of [false, true]) {
      api.answer('patchHost', { body: paddedAnswer(8 * MiB + 1), chunked });
      const host = await rejection(h.ctx.client.patchHost('h1', {}));
      assert.match(host.message, /^patching host: /);
      assert.match(host.message, tooLarge);
      api.answer('registration', { body: paddedAnswer(12 * MiB), chunked });
      const registration = await rejection(h.ctx.client.getRegistration());
      assert.match(registration.message, /^getting registration: /);
      assert.match(registration.message, tooLarge);
    }
    // At the cap exactly, the answer is read.
    api.answer('patchHost', { body: paddedAnswer(8 * MiB) });
    assert.is((await h.ctx.client.patchHost('h1', {})).labels?.pad?.length, 8 * MiB - '{"labels":{"pad":"'.length - 3);
  } finally {
    h.cleanup();
  }
});

test('2: a bootstrap answer may be up to 64 MiB, not more', async () => {
  const h = await phaseHarness(api);
  try {
    const config = 'c'.repeat(12 * MiB);
    api.answer('bootstrap', { body: JSON.stringify({ format: 'cloud-config', config }) });
    assert.is((await h.ctx.client.getBootstrap('h1')).config?.length, config.length);
    api.answer('bootstrap', { body: Buffer.alloc(64 * MiB + 1, 0x20), chunked: true });
    const err = await rejection(h.ctx.client.getBootstrap('h1'));
    assert.match(err.message, /^getting bootstrap: the answer is too large: more than the 64 MiB limit for bootstrap answers/);
  } finally {
    h.cleanup();
  }
});

// ---- 3. Linear big-integer paths ------------------------------------------------------------

/**
 * Time of `run` over time of `baseline`, each the best of five runs taken in turn, so that a
 * busy machine (two cores shared by many) slows both alike.
 */
function costRatio(run: () => void, baseline: () => void): number {
  let best = Infinity;
  let bestBaseline = Infinity;
  const time = (f: () => void) => {
    const started = process.hrtime.bigint();
    f();
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  for (let i = 0; i < 5; i++) {
    best = Math.min(best, time(run));
    bestBaseline = Math.min(bestBaseline, time(baseline));
  }
  return best / bestBaseline;
}

test('3: a long digit string costs about what a plain string of the same size costs', () => {
  const size = 4_000_000;
  const digits = JSON.stringify({ v: '1'.repeat(size) });
  const plain = JSON.stringify({ v: 'a'.repeat(size) });
  assert.is(jsonToYaml(digits).length, size + 4, 'a number too big for int64 or float64 stays a plain string');
  const ratio = costRatio(() => jsonToYaml(digits), () => jsonToYaml(plain));
  // Measured: ~1 (before the fix: ~45, BigInt parsing is quadratic).
  assert.ok(ratio < 4, `digits took ${ratio.toFixed(1)}x the time of a plain string`);
});

test('3: sorting long numeric keys costs about what sorting long letter keys costs', () => {
  const per = 16 * 1024;
  const numeric: Record<string, number> = {};
  const letters: Record<string, number> = {};
  for (let i = 1; i * per <= 8_000_000; i++) {
    numeric[`${i}${'7'.repeat(per - 8)}${String(i).padStart(7, '0')}`] = 1;
    letters[`k${i}${'x'.repeat(per - 8)}${String(i).padStart(6, '0')}`] = 1;
  }
  const ratio = costRatio(() => toYaml(numeric), () => toYaml(letters));
  // Measured: 1-2.5 (before the fix: 9-12, a BigInt step per digit of every run compared).
  assert.ok(ratio < 6, `numeric keys took ${ratio.toFixed(1)}x the time of letter keys`);
});

test('3: digit runs still order as yaml.v3 orders them (int64 wrap included)', () => {
  const keys = ['a10', 'a9', 'a09', 'a0', 'a99999999999999999999', 'a18446744073709551617', 'a9223372036854775808', 'a2'];
  // Go yaml.v3 order: run values compared as wrapping int64 (9223372036854775808 wraps negative,
  // 18446744073709551617 wraps to 1, 99999999999999999999 to 7766279631452241919).
  const order = toYaml(Object.fromEntries(keys.map((k) => [k, 1])))
    .trim()
    .split('\n')
    .map((l) => l.slice(0, -3));
  assert.equal(order, ['a9223372036854775808', 'a0', 'a18446744073709551617', 'a2', 'a9', 'a09', 'a10', 'a99999999999999999999']);
});

// ---- 5. caCert that is not a regular file (FIFO and /dev/zero: e2e/hardening.test.ts) --------

test('5: a caCert file over 1 MiB is refused, in one line naming caCert', async () => {
  const h = await phaseHarness(api);
  try {
    mkdirSync(join(h.root, 'etc/elemental'), { recursive: true });
    writeFileSync(join(h.root, 'etc/elemental/big.pem'), Buffer.alloc(1024 * 1024 + 1, 0x41));
    assert.throws(() => loadCaCert('/etc/elemental/big.pem', new HostRoot(h.root)), /^registration\.caCert file "\/etc\/elemental\/big\.pem" is larger than 1 MiB/);
  } finally {
    h.cleanup();
  }
});

test('5: the condition sent to the server does not tell whether a path of the host exists, or what it is', async () => {
  const h = await phaseHarness(api);
  try {
    mkdirSync(join(h.root, 'etc/elemental/a-directory'), { recursive: true });
    writeFileSync(join(h.root, 'etc/elemental/not-pem'), 'hello\n');
    writeFileSync(join(h.root, 'etc/elemental/big'), Buffer.alloc(1024 * 1024 + 1, 0x41));
    const paths = ['/etc/elemental/absent', '/etc/elemental/a-directory', '/etc/elemental/not-pem', '/etc/elemental/big', '/etc/shadow-x'];
    const sent: string[] = [];
    const logged: string[] = [];
    for (const caCert of paths) {
      api.reset();
      api.answer('registration', {
        body: JSON.stringify({ config: { elemental: { registration: { uri: api.uri, caCert }, agent: { insecureAllowHttp: true } } } }),
      });
      api.answer('patchHost', (body) => (body === '{}' ? { status: 404 } : { body: '{}' }));
      const err = await rejection(register(h.ctx, { install: false }));
      logged.push(err.message);
      const failed = reportedConditions(api).find((c) => c.reason === 'RegistrationFailed');
      sent.push(failed?.message ?? 'none');
    }
    assert.equal(new Set(sent).size, 1, `one message for every case, got:\n${sent.join('\n')}`);
    assert.match(sent[0] ?? '', /^registration\.caCert: cannot use the CA certificate file/);
    assert.not.match(sent[0] ?? '', /etc/);
    // The local log says what is wrong.
    assert.match(logged[0] ?? '', /"\/etc\/elemental\/absent" does not exist/);
    assert.match(logged[1] ?? '', /is not a regular file \(a directory\)/);
    assert.match(logged[2] ?? '', /holds no PEM certificate/);
    assert.match(logged[3] ?? '', /is larger than 1 MiB/);
  } finally {
    h.cleanup();
  }
});

// ---- 6. Relative paths, plugin ownership ------------------------------------------------------

test('6: a relative caCert that is not PEM text is an error naming the key (not a file of the working dir)', () => {
  assert.throws(() => loadCaCert('ca.pem', new HostRoot('/')), /^registration\.caCert "ca\.pem" is neither a PEM certificate nor an absolute path/);
  assert.throws(() => loadCaCert('./etc/ca.pem', new HostRoot('/')), /is neither a PEM certificate nor an absolute path/);
});

const PLUGIN_FIXTURE = join(process.cwd(), 'test/fixtures/plugins/recording-plugin.mjs');

async function pluginError(osPlugin: string, root: string): Promise<string> {
  return (await rejection(loadPlugin(osPlugin, new HostRoot(root)))).message;
}

test('6: osPlugin must be an absolute path: a server cannot have a file of the working dir imported', async () => {
  const h = await phaseHarness(api);
  try {
    assert.match(await pluginError('plugin.js', h.root), /^agent\.osPlugin "plugin\.js" must be an absolute path/);
    assert.match(await pluginError('../x/plugin.mjs', h.root), /must be an absolute path/);
  } finally {
    h.cleanup();
  }
});

test('6: a .js plugin (or a directory on its path) not owned by root or writable by others is refused', async () => {
  const h = await phaseHarness(api);
  try {
    const dir = join(h.root, 'opt/plugins');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    copyFileSync(PLUGIN_FIXTURE, join(dir, 'ok.mjs'));
    chmodSync(join(dir, 'ok.mjs'), 0o644);
    // Safe: loads (the temp root sits in /tmp, root's and sticky).
    const plugin = await loadPlugin('/opt/plugins/ok.mjs', new HostRoot(h.root));
    assert.type(plugin.install, 'function');
    // A symlink is followed to the real file, which is checked.
    symlinkSync(join(dir, 'ok.mjs'), join(h.root, 'opt/link.mjs'));
    assert.type((await loadPlugin('/opt/link.mjs', new HostRoot(h.root))).install, 'function');

    copyFileSync(PLUGIN_FIXTURE, join(dir, 'world.mjs'));
    chmodSync(join(dir, 'world.mjs'), 0o666);
    assert.match(await pluginError('/opt/plugins/world.mjs', h.root), /cannot load plugin: the plugin file is writable by its group and others \(mode 666\)/);
    copyFileSync(PLUGIN_FIXTURE, join(dir, 'group.mjs'));
    chmodSync(join(dir, 'group.mjs'), 0o664);
    assert.match(await pluginError('/opt/plugins/group.mjs', h.root), /the plugin file is writable by its group/);
    if (process.getuid?.() === 0) {
      copyFileSync(PLUGIN_FIXTURE, join(dir, 'user.mjs'));
      chmodSync(join(dir, 'user.mjs'), 0o644);
      chownSync(join(dir, 'user.mjs'), 1000, 1000);
      assert.match(await pluginError('/opt/plugins/user.mjs', h.root), /the plugin file is owned by uid 1000, not by root/);
    }
    chmodSync(dir, 0o777);
    assert.match(await pluginError('/opt/plugins/ok.mjs', h.root), new RegExp(`directory "${dir}" is writable by its group and others \\(mode 777\\)`));
    chmodSync(dir, 0o1777);
    assert.type((await loadPlugin('/opt/plugins/ok.mjs', new HostRoot(h.root))).install, 'function', 'root-owned sticky, as /tmp');
  } finally {
    h.cleanup();
  }
});

// ---- 7. ensureDir: modes through a handle, loose work dirs tightened, symlinks not followed ----

const modeOf = (p: string) => statSync(p).mode & 0o7777;

test('7: an existing work dir others can write (0777) is tightened, with one WARN', async () => {
  const h = await phaseHarness(api);
  try {
    const work = join(h.root, 'work');
    mkdirSync(work);
    chmodSync(work, 0o777);
    ensureDir(work, 0o700);
    assert.is(modeOf(work), 0o755, 'the write bits of group and others are removed, nothing else');
    assert.equal(logs.filter((l) => l.startsWith('WARN')), [`WARN  directory ${work} was writable by its group and others (mode 777): changed to 755\n`]);
    chmodSync(work, 0o750);
    ensureDir(work, 0o700);
    assert.is(modeOf(work), 0o750, 'a directory nobody else can write is left as the operator set it');
    // A shared sticky directory is refused, not changed.
    chmodSync(work, 0o1777);
    assert.throws(() => ensureDir(work, 0o700), /is a shared directory \(mode 1777\)/);
    assert.is(modeOf(work), 0o1777);
  } finally {
    h.cleanup();
  }
});

test('7: a symlink in place of the directory is not followed, also when swapped in right after mkdir', async () => {
  const h = await phaseHarness(api);
  const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
  const realMkdir = cjsFs.mkdirSync;
  try {
    const victim = join(h.root, 'victim');
    mkdirSync(victim);
    chmodSync(victim, 0o755);
    symlinkSync(victim, join(h.root, 'link'));
    assert.throws(() => ensureDir(join(h.root, 'link'), 0o700), /is a symbolic link, expected a directory/);
    assert.is(modeOf(victim), 0o755);
    // Swapped in between mkdir and the mode change: the mode must not land on the victim.
    const target = join(h.root, 'work');
    cjsFs.mkdirSync = ((path: fs.PathLike, options?: fs.MakeDirectoryOptions) => {
      const made = realMkdir(path, options);
      if (String(path) === target) {
        renameSync(target, join(h.root, 'moved-away'));
        symlinkSync(victim, target);
      }
      return made;
    }) as typeof fs.mkdirSync;
    syncBuiltinESMExports();
    assert.throws(() => ensureDir(target, 0o700), /is a symbolic link/);
    assert.is(modeOf(victim), 0o755, 'the symlink was not followed');
  } finally {
    cjsFs.mkdirSync = realMkdir;
    syncBuiltinESMExports();
    h.cleanup();
  }
});

// ---- 8. Modes of what the Dummy plugin writes -------------------------------------------------

test('8: the bootstrap, cloud-init.yaml, install.yaml and reset.yaml are 0600; os-version.yaml and needs.reset 0644', async () => {
  const h = await phaseHarness(api);
  const old = process.umask(0o022);
  try {
    const plugin = dummyIn(h.root);
    plugin.applyCloudInit('{"users":[{"name":"root","passwd":"secret"}]}');
    plugin.install('{"device":"/dev/sda"}');
    plugin.bootstrap('cloud-config', Buffer.from('#cloud-config\n'));
    plugin.bootstrap('ignition', Buffer.from('{}'));
    plugin.reconcileOSVersion('{"osImage":"v1"}');
    plugin.triggerReset();
    assert.throws(() => plugin.reset('{"wipe":true}'), /needs\.reset still exists/);
    const at = (p: string) => modeOf(join(h.root, p));
    assert.equal(
      {
        cloudInit: at(`${WORK_DIR}/cloud-init.yaml`),
        install: at(`${WORK_DIR}/install.yaml`),
        reset: at(`${WORK_DIR}/reset.yaml`),
        cloudConfigBootstrap: at('/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg'),
        ignitionBootstrap: at('/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf'),
        osVersion: at(`${WORK_DIR}/os-version.yaml`),
        needsReset: at(`${WORK_DIR}/needs.reset`),
        bootstrapDir: at('/etc/cloud/cloud.cfg.d'),
      },
      { cloudInit: 0o600, install: 0o600, reset: 0o600, cloudConfigBootstrap: 0o600, ignitionBootstrap: 0o600, osVersion: 0o644, needsReset: 0o644, bootstrapDir: 0o755 },
    );
  } finally {
    process.umask(old);
    h.cleanup();
  }
});

// ---- 10. Log injection -------------------------------------------------------------------------

const FORGED_FORMAT = 'x\nINFO  bootstrap applied by operator\x1b[2J';

/** Nothing in the output a terminal acts on, and no line that the message itself started. */
function assertNoInjection(lines: string[]) {
  const text = lines.join('');
  assert.not.match(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/, `a control character reached the log:\n${text}`);
  for (const line of text.split('\n')) assert.not.match(line, /^INFO {2}bootstrap applied by operator/, `a forged line:\n${text}`);
}

test('10: a bootstrap format with a newline and a terminal escape is quoted in the log and the condition', async () => {
  const h = await phaseHarness(api);
  try {
    api.answer('bootstrap', { body: JSON.stringify({ format: FORGED_FORMAT, config: '#cloud-config\n' }) });
    assert.is(await bootstrap(h.ctx), 'failed');
    assertNoInjection(logs);
    const shown = '"x\\nINFO  bootstrap applied by operator\\u001b[2J"';
    assert.ok(logs.some((l) => l.includes(`applying the ${shown} bootstrap config`)), logs.join(''));
    assert.ok(logs.some((l) => l.startsWith('ERROR') && l.includes(`unsupported bootstrap format ${shown}`)), logs.join(''));
    const failed = reportedConditions(api).find((c) => c.reason === 'BootstrapFailed');
    assert.is(failed?.message, `applying bootstrap config: unsupported bootstrap format ${shown} (supported: cloud-config, ignition)`);
  } finally {
    h.cleanup();
  }
});

test('10: server text in errors and debug lines is escaped and cut: bodies, JSON errors, keys, TLS and proxy text', async () => {
  const h = await phaseHarness(api);
  setDebug(true);
  try {
    const hostile = `oops\n${'INFO  bootstrap applied by operator'}\x1b[2J\u009b31m\u2028`;
    api.answer('patchHost', { status: 500, body: hostile.repeat(20) });
    await rejection(h.ctx.client.patchHost('h1', {}));
    const bodyLine = logs.find((l) => l.includes('response body:')) ?? '';
    // Runs of white space (the newline, U+2028) become one space, as before; the rest is escaped.
    assert.match(bodyLine, /^DEBUG patching host: response body: "oops INFO bootstrap applied by operator\\u001b\[2J\\u009b31m oops/);
    assert.ok(bodyLine.length < 300, 'cut');
    api.answer('patchHost', { body: `{"a": ${hostile}` });
    const invalid = await rejection(h.ctx.client.patchHost('h1', {}));
    assert.match(invalid.message, /^patching host: invalid JSON in response: /);
    assert.not.match(invalid.message, /[\u0000-\u001f\u007f-\u009f\u2028]/);
    api.answer('patchHost', { body: JSON.stringify({ labels: { [hostile]: 1 } }) });
    const key = await rejection(h.ctx.client.patchHost('h1', {}));
    assert.match(key.message, /^patching host: unexpected response: labels\.oops\\u000aINFO {2}bootstrap applied by operator\\u001b\[2J/);
    // Whatever slips through is still escaped by the logger, and every line of a message carries
    // its level prefix.
    log.info(`one\n${'INFO  bootstrap applied by operator'}\x1b[2J`);
    assert.is(logs.at(-1), 'INFO  one\nINFO  INFO  bootstrap applied by operator\\u001b[2J\n');
    assertNoInjection(logs);
  } finally {
    setDebug(false);
    h.cleanup();
  }
});

// ---- 11. Built-in property names from outside ---------------------------------------------------

const BUILT_IN_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'prototype'];

test('11: a bootstrap format named like a built-in property is an unsupported format', async () => {
  const h = await phaseHarness(api);
  try {
    const plugin = dummyIn(h.root);
    for (const format of BUILT_IN_NAMES) {
      assert.throws(() => plugin.bootstrap(format, Buffer.from('x')), /^unsupported bootstrap format "[^"]+" \(supported: cloud-config, ignition\)$/, format);
    }
  } finally {
    h.cleanup();
  }
});

test('11: durations with a built-in name as unit are ordinary invalid durations', async () => {
  for (const name of BUILT_IN_NAMES) {
    for (const text of [`1${name}`, `5${name}`, `1.5${name}`, `1s2${name}`]) assert.is(parseDurationText(text), undefined, text);
  }
  const err = await rejection(parseConfigText('registration:\n  uri: https://x/y\nagent:\n  reconciliation: 1constructor\n', 'config.yaml'));
  assert.match(err.message, /^config file 'config\.yaml': agent\.reconciliation: invalid duration '1constructor'/);
  assert.is(parseDurationText('1m30s'), 90_000_000_000n, 'real units still work');
});

// ---- 12. Proxy password ---------------------------------------------------------------------------

test('12: a proxy URL\'s userinfo is never repeated in a message, whatever the password holds', () => {
  const secrets = ['hun/ter2', 'qz@xk/w9', 'a7:b8/c9?d0#e1', 'x5\\y6/z7'];
  for (const password of secrets) {
    for (const value of [`http://user:${password}@proxy.example:3128`, `user:${password}@proxy.example:3128`, `socks5://user:${password}@proxy.example`]) {
      let message = '';
      try {
        parseProxy(value);
        proxyFor(new URL('https://api.example/r'), { HTTPS_PROXY: value });
      } catch (err) {
        message = (err as Error).message;
      }
      for (const piece of [password, ...password.split(/[/@:?#\\]/)].filter((p) => p.length >= 2)) {
        assert.not.ok(message.includes(piece), `${JSON.stringify(value)} → ${message}`);
      }
      assert.not.ok(message.includes('user:'), message);
    }
  }
  assert.throws(() => parseProxy('http://u:hun/ter2@proxy.example:3128'), /^invalid proxy URL 'http:\/\/proxy\.example:3128' in the environment/);
});

test.run();

