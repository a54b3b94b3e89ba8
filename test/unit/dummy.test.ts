// The Dummy plugin with a fake host: the seed's files, byte for byte, under a temporary root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostRoot } from '../../src/fs';
import type { Host } from '../../src/host';
import { DummyPlugin } from '../../src/plugins/dummy';
import { tempDir } from '../support/temp';

const WORK = '/var/lib/elemental/agent';

function setup() {
  const root = tempDir('elemental-dummy-');
  const calls: string[] = [];
  const host: Host = {
    currentHostname: () => 'current',
    setHostname: async (name) => void calls.push(`hostname ${name}`),
    reboot: async () => void calls.push('reboot'),
    powerOff: async () => void calls.push('poweroff'),
  };
  const plugin = new DummyPlugin();
  plugin.init({ workDir: WORK, configPath: '/etc/elemental/agent/config.yaml', debug: false, root: new HostRoot(root), host });
  const at = (p: string) => join(root, p);
  return { plugin, calls, at, read: (p: string) => readFileSync(at(p), 'utf8'), mode: (p: string) => statSync(at(p)).mode & 0o777 };
}

test('init creates the work dir 0700', () => {
  const s = setup();
  assert.is(s.mode(WORK), 0o700);
});

test('cloud-init, install, reset: the seed files, byte for byte', () => {
  const s = setup();
  s.plugin.applyCloudInit('{"users":[{"name":"root","passwd":"root"}]}');
  assert.is(s.read(`${WORK}/cloud-init.yaml`), '#cloud-config\nusers:\n    - name: root\n      passwd: root\n');
  s.plugin.install('{"foo":{"bar":{"foobar":"barfoo"}}}');
  assert.is(s.read(`${WORK}/install.yaml`), 'foo:\n    bar:\n        foobar: barfoo\n');
  s.plugin.reset('{"foo":{"bar":{"foobar":"barfoo"}}}');
  assert.is(s.read(`${WORK}/reset.yaml`), 'foo:\n    bar:\n        foobar: barfoo\n');
  s.plugin.install('');
  assert.is(s.read(`${WORK}/install.yaml`), '', 'empty input → empty file');
  for (const f of ['cloud-init.yaml', 'install.yaml', 'reset.yaml']) assert.is(s.mode(`${WORK}/${f}`), 0o600, `${f} may carry secrets`);
});

test('OS version: written, never a reboot, and not rewritten when unchanged', () => {
  const s = setup();
  assert.is(s.plugin.reconcileOSVersion('{"osImage":"v1"}'), false);
  assert.is(s.read(`${WORK}/os-version.yaml`), 'osImage: v1\n');
  const first = statSync(s.at(`${WORK}/os-version.yaml`));
  s.plugin.reconcileOSVersion('{"osImage":"v1"}');
  const again = statSync(s.at(`${WORK}/os-version.yaml`));
  assert.is(again.ino, first.ino, 'same file: no rewrite');
  s.plugin.reconcileOSVersion('{"osImage":"v2"}');
  assert.is(s.read(`${WORK}/os-version.yaml`), 'osImage: v2\n');
  assert.is.not(statSync(s.at(`${WORK}/os-version.yaml`)).ino, first.ino);
  s.plugin.reconcileOSVersion('{}');
  assert.is(s.read(`${WORK}/os-version.yaml`), '{}\n', 'an empty map still writes the file');
  assert.equal(s.calls, []);
});

test('bootstrap: both formats verbatim, "already applied", unsupported format', () => {
  const s = setup();
  s.plugin.bootstrap('cloud-config', Buffer.from('#cloud-config\nruncmd: [x]\n'));
  assert.is(s.read('/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg'), '#cloud-config\nruncmd: [x]\n');
  assert.is(s.mode('/etc/cloud/cloud.cfg.d'), 0o755);
  s.plugin.bootstrap('ignition', Buffer.from('{"ignition":{}}'));
  assert.is(s.read('/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf'), '{"ignition":{}}');
  assert.throws(() => s.plugin.bootstrap('cloud-config', Buffer.from('again')), /bootstrap already applied/);
  assert.is(s.read('/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg'), '#cloud-config\nruncmd: [x]\n');
  assert.throws(() => s.plugin.bootstrap('butane', Buffer.from('x')), /unsupported bootstrap format "butane"/);
});

test('trigger reset writes needs.reset = "1\\n"; reset fails while it exists', () => {
  const s = setup();
  s.plugin.triggerReset();
  assert.is(s.read(`${WORK}/needs.reset`), '1\n');
  assert.throws(() => s.plugin.reset('{}'), /needs\.reset still exists/);
  assert.is(s.read(`${WORK}/reset.yaml`), '{}\n', 'reset.yaml is written first, as the seed does');
});

test('persistFile honours the mode and creates parents 0700; hostname, reboot, poweroff go to the host', async () => {
  const s = setup();
  s.plugin.persistFile('secret\n', '/new/dir/private.key', 0o600);
  assert.is(s.mode('/new/dir/private.key'), 0o600);
  assert.is(s.mode('/new/dir'), 0o700);
  mkdirSync(s.at('/etc/elemental/agent'), { recursive: true });
  writeFileSync(s.at('/etc/elemental/agent/config.yaml'), 'old');
  s.plugin.persistFile('new\n', '/etc/elemental/agent/config.yaml', 0o640);
  assert.is(s.mode('/etc/elemental/agent/config.yaml'), 0o640);
  await s.plugin.persistHostname('m-1');
  await s.plugin.reboot();
  await s.plugin.powerOff();
  assert.equal(s.calls, ['hostname m-1', 'reboot', 'poweroff']);
  assert.is(s.plugin.getHostname(), 'current');
});

test('invalid JSON from the server is one clear error, and nothing is written', () => {
  const s = setup();
  assert.throws(() => s.plugin.install('{not json'), /converting install config to YAML: /);
  assert.throws(() => statSync(s.at(`${WORK}/install.yaml`)));
});

test.run();
