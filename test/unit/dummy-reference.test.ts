// Port of the reference's internal/agent/plugin/dummy/dummy_test.go ("Dummy Plugin"): the
// same plugin context, inputs and expected bytes (its _testdata files, inlined). Cases that
// test/unit/dummy.test.ts already covers with the same inputs and bytes are not repeated here:
// cloud-init, install and reset dumps, and trigger reset.
//
// Where ours differs, on purpose, the test asserts ours and says so: the reset sentinel is
// `needs.reset` (the seed; the reference code writes `reset.needed`), and persistFile honours
// the mode it is given (the reference ignores it, SPEC §13).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HostRoot } from '../../src/fs';
import { setLogSink } from '../../src/log';
import type { Host } from '../../src/host';
import { BOOTSTRAP_PATHS, DummyPlugin, OS_VERSION_FILE, RESET_SENTINEL_FILE } from '../../src/plugins/dummy';

const pluginContext = { workDir: '/just/a/test/workdir', configPath: '/test/config/dir/test-config.yaml', debug: true };
const testdata = {
  'bootstrap.config': 'foo\n',
  'osversion.yaml': 'foo:\n    bar:\n        foobar: barfoo\n',
  'persisted.txt': 'Just a test file\n',
};

const made: string[] = [];
const restoreLog = setLogSink(() => {}); // the plugin's INFO lines are not under test here
test.after(() => {
  restoreLog();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** BeforeEach: a fresh root, a host manager that records calls, an initialised plugin. */
function setup(hostAnswers: { hostname?: string } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'elemental-dummy-ref-'));
  made.push(root);
  const calls: string[] = [];
  const host: Host = {
    currentHostname: () => {
      calls.push('GetCurrentHostname');
      return hostAnswers.hostname ?? '';
    },
    setHostname: async (name) => void calls.push(`SetHostname ${name}`),
    reboot: async () => void calls.push('Reboot'),
    powerOff: async () => void calls.push('PowerOff'),
  };
  const plugin = new DummyPlugin();
  plugin.init({ ...pluginContext, root: new HostRoot(root), host });
  const at = (p: string) => join(root, p);
  return { plugin, calls, at, read: (p: string) => readFileSync(at(p), 'utf8') };
}

test('Dummy Plugin: should return current hostname', () => {
  const s = setup({ hostname: 'just a test hostname' });
  assert.is(s.plugin.getHostname(), 'just a test hostname');
  assert.equal(s.calls, ['GetCurrentHostname']);
});

test('Dummy Plugin: should set the hostname', async () => {
  const s = setup();
  // The host manager is a double here; the real one validates the name (test/unit/host.test.ts).
  await s.plugin.persistHostname('just a test hostname to set');
  assert.equal(s.calls, ['SetHostname just a test hostname to set']);
});

test('Dummy Plugin: should write file', () => {
  const s = setup();
  s.plugin.persistFile('Just a test file\n', '/any/location/should/be/fine', 0o640);
  assert.is(s.read('/any/location/should/be/fine'), testdata['persisted.txt']);
  // Ours keeps the mode (the reference writes with its default and ignores 0640).
  assert.is(statSync(s.at('/any/location/should/be/fine')).mode & 0o777, 0o640);
});

test('Dummy Plugin: should fail to reset if needs.reset file is still present', () => {
  const s = setup();
  const needsReset = join(pluginContext.workDir, RESET_SENTINEL_FILE);
  assert.is(RESET_SENTINEL_FILE, 'needs.reset', 'the seed\'s name (the reference code uses reset.needed)');
  mkdirSync(dirname(s.at(needsReset)), { recursive: true });
  writeFileSync(s.at(needsReset), 'anything');
  assert.throws(() => s.plugin.reset(''), /needs\.reset still exists/);
  // The same empty input without the sentinel succeeds: the failure above is the sentinel's.
  rmSync(s.at(needsReset));
  s.plugin.reset('');
  assert.is(s.read(join(pluginContext.workDir, 'reset.yaml')), '', 'empty input, empty dump (as the reference)');
});

test('Dummy Plugin: should poweroff', async () => {
  const s = setup();
  await s.plugin.powerOff();
  assert.equal(s.calls, ['PowerOff']);
});

test('Dummy Plugin: should reboot', async () => {
  const s = setup();
  await s.plugin.reboot();
  assert.equal(s.calls, ['Reboot']);
});

test('Dummy Plugin: should apply cloud-init bootstrap', () => {
  const s = setup();
  s.plugin.bootstrap('cloud-config', Buffer.from('foo\n'));
  assert.is(BOOTSTRAP_PATHS.get('cloud-config'), '/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg');
  assert.is(s.read('/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg'), testdata['bootstrap.config']);
});

test('Dummy Plugin: should apply ignition bootstrap', () => {
  const s = setup();
  s.plugin.bootstrap('ignition', Buffer.from('foo\n'));
  assert.is(BOOTSTRAP_PATHS.get('ignition'), '/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf');
  assert.is(s.read('/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf'), testdata['bootstrap.config']);
});

test('Dummy Plugin: should fail on unknown bootstrap format', () => {
  const s = setup();
  assert.throws(() => s.plugin.bootstrap('uknown', Buffer.from('')), /unsupported bootstrap format "uknown"/);
  assert.throws(() => statSync(s.at('/etc/cloud')), 'nothing written');
  assert.throws(() => statSync(s.at('/usr/local/bin/ignition')), 'nothing written');
});

test('Dummy Plugin: should reconcile os version by dumping info to file', () => {
  const s = setup();
  const reboot = s.plugin.reconcileOSVersion('{"foo":{"bar":{"foobar":"barfoo"}}}');
  assert.is(reboot, false);
  assert.is(s.read(join(pluginContext.workDir, OS_VERSION_FILE)), testdata['osversion.yaml']);
});

test.run();
