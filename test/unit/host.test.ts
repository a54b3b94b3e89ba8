// The host layer with a fake command runner: nothing here runs a real command.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostRoot } from '../../src/fs';
import { type CommandRunner, SystemHost, validateHostname } from '../../src/host';
import { reconciliationWaitMs } from '../../src/agent';
import { emptyConfig } from '../../src/config';

function fakeRunner(answer: (file: string, args: string[]) => { code: number; stderr?: string } | 'ENOENT') {
  const calls: string[][] = [];
  const run: CommandRunner = async (file, args) => {
    calls.push([file, ...args]);
    const a = answer(file, args);
    if (a === 'ENOENT') throw Object.assign(new Error(`spawn ${file} ENOENT`), { code: 'ENOENT' });
    return { code: a.code, stdout: '', stderr: a.stderr ?? '' };
  };
  return { run, calls };
}

const made: string[] = [];
test.after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A host whose root is a temp dir; `runningSystem` makes it behave as root / does. */
function setup(answer: Parameters<typeof fakeRunner>[0], runningSystem = true) {
  const dir = mkdtempSync(join(tmpdir(), 'elemental-host-'));
  made.push(dir);
  const root = join(dir, 'root');
  mkdirSync(root);
  const kernelFile = join(dir, 'kernel-hostname'); // stands in for /proc/sys/kernel/hostname
  const fake = fakeRunner(answer);
  return { root, kernelFile, calls: fake.calls, host: new SystemHost(new HostRoot(root), fake.run, kernelFile, runningSystem) };
}

test('--root other than /: the name goes to DIR/etc/hostname only, no hostnamectl, kernel name untouched', async () => {
  const s = setup(() => ({ code: 0 }), false);
  await s.host.setHostname('m-node-0');
  assert.equal(s.calls, [], 'hostnamectl renames the running system: never run for another root');
  assert.throws(() => statSync(s.kernelFile), 'the kernel name is left alone');
  assert.is(readFileSync(join(s.root, 'etc/hostname'), 'utf8'), 'm-node-0\n');
  assert.is(statSync(join(s.root, 'etc/hostname')).mode & 0o777, 0o644);
  assert.is(s.host.currentHostname(), 'm-node-0', 'what is written is what is read back');
});

test('the default for a temp root is not the running system', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'elemental-host-'));
  made.push(dir);
  const fake = fakeRunner(() => ({ code: 0 }));
  await new SystemHost(new HostRoot(dir), fake.run, join(dir, 'kernel')).setHostname('m-node-9');
  assert.equal(fake.calls, []);
  assert.is(readFileSync(join(dir, 'etc/hostname'), 'utf8'), 'm-node-9\n');
});

test('hostnamectl is used when it works; nothing else is touched', async () => {
  const s = setup(() => ({ code: 0 }));
  await s.host.setHostname('m-node-1');
  assert.equal(s.calls, [['hostnamectl', 'set-hostname', 'm-node-1']]);
  assert.throws(() => statSync(s.kernelFile));
});

for (const [label, answer] of [
  ['hostnamectl missing', () => 'ENOENT' as const],
  ['systemd not running', () => ({ code: 1, stderr: 'System has not been booted with systemd as init system (PID 1). Can\'t operate.' })],
  ['no D-Bus', () => ({ code: 1, stderr: 'Failed to connect to bus: No such file or directory' })],
] as const) {
  test(`fallback when ${label}: /etc/hostname under the root and the kernel hostname`, async () => {
    const s = setup(answer);
    await s.host.setHostname('m-node-2');
    assert.is(readFileSync(join(s.root, 'etc/hostname'), 'utf8'), 'm-node-2\n');
    assert.is(statSync(join(s.root, 'etc/hostname')).mode & 0o777, 0o644);
    assert.is(readFileSync(s.kernelFile, 'utf8'), 'm-node-2');
    assert.is(s.host.currentHostname(), 'm-node-2', 'with a root, the current name is its /etc/hostname');
  });
}

test('other hostnamectl failures are errors, not a silent fallback', async () => {
  const s = setup(() => ({ code: 1, stderr: 'Could not set property: Access denied' }));
  await s.host.setHostname('m-node-3').then(
    () => assert.unreachable(),
    (err: Error) => assert.match(err.message, /setting hostname 'm-node-3': hostnamectl failed: Could not set property: Access denied/),
  );
});

test('an invalid name never reaches a command', async () => {
  const s = setup(() => ({ code: 0 }));
  for (const bad of ['', 'a b', '$(reboot)', 'x;poweroff', '-lead', 'trail-', 'a..b', 'x'.repeat(64), `${'a'.repeat(60)}.`.repeat(5), 'ünicode']) {
    await s.host.setHostname(bad).then(
      () => assert.unreachable(bad),
      (err: Error) => assert.match(err.message, /invalid hostname .*RFC 1123/),
    );
  }
  assert.equal(s.calls, []);
  for (const good of ['a', 'm-1', 'node.example.com', `${'a'.repeat(63)}.b`]) validateHostname(good);
});

test('reboot and poweroff run with -f; failures are one line', async () => {
  const s = setup((file) => (file === 'poweroff' ? { code: 1, stderr: 'Failed to power off' } : { code: 0 }));
  await s.host.reboot();
  await s.host.powerOff().then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, 'poweroff -f failed: Failed to power off'),
  );
  assert.equal(s.calls, [['reboot', '-f'], ['poweroff', '-f']]);
});

test('current hostname without /etc/hostname under the root falls back to the kernel name', () => {
  const s = setup(() => ({ code: 0 }));
  assert.ok(s.host.currentHostname().length > 0);
  mkdirSync(join(s.root, 'etc'));
  writeFileSync(join(s.root, 'etc/hostname'), 'from-file\n# comment\n');
  assert.is(s.host.currentHostname(), 'from-file');
});

test('retry waits: reconciliation plus 0–10 % jitter', () => {
  const config = emptyConfig();
  config.agent.reconciliation = 10_000_000_000n;
  assert.is(reconciliationWaitMs(config, () => 0), 10_000);
  assert.is(reconciliationWaitMs(config, () => 0.999999), 11_000);
  const samples = Array.from({ length: 1000 }, () => reconciliationWaitMs(config));
  assert.ok(samples.every((ms) => ms >= 10_000 && ms <= 11_000));
  assert.ok(new Set(samples).size > 100, 'hosts do not come back in lockstep');
});

test.run();
