// The seed's whole host lifecycle, end to end: the BUILT agent against the stand-in API.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { dirname, join } from 'node:path';
import { LABELS, type StoredCondition, type StoredHost } from '../support/elemental-api';
import {
  CLOUD_INIT_YAML,
  CONFIG_PATH,
  INSTALL_YAML,
  RESET_YAML,
  WORK_DIR,
  journey,
  onlyHost,
  patches,
  registeredJourney,
} from '../support/lifecycle';
import { withoutTimestamps } from '../support/log-lines';
import { stderrMatches } from '../support/spawn-agent';

const SENTINEL = '/run/cluster-api/bootstrap-success.complete';
const CLOUD_CONFIG_TARGET = '/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg';
const IGNITION_TARGET = '/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf';

function expectedConfig(uri: string, token: string, extraAgent = ''): string {
  return `registration:\n    uri: ${uri}\n    token: ${token}\nagent:\n    workDir: ${WORK_DIR}\n    hostname:\n        prefix: m-\n    reconciliation: 100ms\n    insecureAllowHttp: true\n${extraAgent}`;
}

const conditionOf = (host: StoredHost | undefined, type: string): StoredCondition | undefined => host?.conditions.find((c) => c.type === type);

test('1. register --install on a clean root', async () => {
  const j = await journey({ agent: { postInstall: { reboot: true } } });
  try {
    const r = await j.run(['register', '--install']);
    assert.is(r.code, 0, r.stderr);
    const host = onlyHost(j);
    assert.match(host.name, /^m-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Labels/annotations of the registration, the installed label, the public key.
    assert.is(host.labels.site, 'lab-1');
    assert.is(host.labels.rack, 'r42');
    assert.is(host.labels[LABELS.installed], 'true');
    assert.is(host.annotations['example.com/owner'], 'sre');
    const key = createPrivateKey(j.read(`${WORK_DIR}/private.key`));
    assert.is(createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(), host.pubKey);
    // Wire order of SPEC §8.
    assert.equal(j.api.ops(), [
      'getRegistration', 'patchHost', 'createHost',
      'patchHost', 'patchHost', 'patchHost', 'patchHost',
      'patchHost', 'getRegistration', 'patchHost',
    ]);
    assert.is(j.api.requests[1]!.status, 404, 'probe for an existing host');
    assert.equal(j.api.requests[1]!.body, {});
    assert.equal(patches(j, host.name), [
      { phase: 'Registering' },
      { phase: 'Finalizing Registration' },
      { condition: { type: 'RegistrationReady', status: 'True', severity: 'Info' } },
      { condition: { type: 'InstallationReady', status: 'False', severity: 'Info', reason: 'WaitingForInstallation', message: 'Host is registered successfully. Waiting for installation.' } },
      { phase: 'Installing' },
      { installed: true, condition: { type: 'InstallationReady', status: 'True', severity: 'Info' } },
    ]);
    assert.is(host.phase, 'Installing');
    assert.is(conditionOf(host, 'RegistrationReady')?.status, 'True');
    // Every host-scoped request after the create was signed by the written key (the stand-in
    // verified them with jose against the stored public key).
    assert.ok(j.api.requests.every((req) => req.status >= 200 && req.status < 300 || req.seq === 2));
    // The config: the server's, with the rotated token, at both paths, 0640.
    assert.is.not(j.reg.token, j.imageToken);
    const config = expectedConfig(j.reg.uri, j.reg.token, '    postInstall:\n        reboot: true\n');
    assert.is(j.read(CONFIG_PATH), config);
    assert.is(j.read(`${WORK_DIR}/config.yaml`), config);
    assert.is(j.mode(CONFIG_PATH), 0o640);
    assert.is(j.mode(`${WORK_DIR}/config.yaml`), 0o640);
    assert.is(j.mode(`${WORK_DIR}/private.key`), 0o600);
    assert.is(j.mode(WORK_DIR), 0o700);
    // Later requests use the rotated token.
    const lastGet = j.api.requests.filter((req) => req.op === 'getRegistration').at(-1)!;
    assert.is(lastGet.headers['registration-authorization'], `Bearer ${j.reg.token}`);
    // Dummy plugin files, byte for byte.
    assert.is(j.read(`${WORK_DIR}/cloud-init.yaml`), CLOUD_INIT_YAML);
    assert.is(j.read(`${WORK_DIR}/install.yaml`), INSTALL_YAML);
    // With --root the agent writes DIR/etc/hostname itself and runs no hostnamectl (that would
    // rename the running system); the post-install reboot goes through the shim.
    assert.equal(r.calls, [{ command: 'reboot', args: ['-f'] }]);
    assert.is(j.read('/etc/hostname'), `${host.name}\n`);
  } finally {
    await j.close();
  }
});

test('2. register twice with useExisting: the second run finds the host, no duplicate', async () => {
  const j = await journey({ agent: { hostname: { useExisting: true, prefix: 'm-' } } });
  try {
    mkdirSync(j.path('/etc'), { recursive: true });
    writeFileSync(j.path('/etc/hostname'), 'node-7\n');
    const first = await j.run(['register']);
    assert.is(first.code, 0, first.stderr);
    assert.is(onlyHost(j).name, 'm-node-7');
    j.api.clearRequests();
    const second = await j.run(['register']);
    assert.is(second.code, 0, second.stderr);
    assert.is(j.api.hosts(j.reg).length, 1, 'no duplicate host');
    assert.equal(j.api.ops().slice(0, 2), ['getRegistration', 'patchHost']);
    assert.is(j.api.requests[1]!.status, 200, 'the probe found the host');
    assert.not.ok(j.api.ops().includes('createHost'));
    assert.match(second.stderr, /found existing host 'm-node-7'/);
  } finally {
    await j.close();
  }
});

test('3. run applies the bootstrap (cloud-config and ignition), reboots, then reports bootstrapped', async () => {
  for (const [format, target] of [['cloud-config', CLOUD_CONFIG_TARGET], ['ignition', IGNITION_TARGET]] as const) {
    const { j, name } = await registeredJourney();
    try {
      const config = format === 'ignition' ? '{"ignition":{"version":"3.3.0"}}' : '#cloud-config\nruncmd:\n  - [ sh, -c, "echo ok > /run/cluster-api/bootstrap-success.complete" ]\n';
      j.api.setBootstrap(j.reg, name, { format, config });
      const first = await j.run(['run']);
      assert.is(first.code, 0, first.stderr);
      assert.is(j.read(target), config, 'written verbatim');
      assert.is(j.mode(target), 0o600, 'a bootstrap carries the join token');
      assert.is(j.mode(dirname(target)), 0o755);
      assert.equal(first.calls, [{ command: 'reboot', args: ['-f'] }]);
      const waiting = conditionOf(j.api.host(j.reg, name)!, 'BootstrapReady')!;
      assert.equal([waiting.status, waiting.reason, waiting.message], ['False', 'WaitingForBootstrap', 'Waiting for bootstrap to be executed']);
      // After the reboot the bootstrap created its sentinel.
      mkdirSync(j.path(dirname(SENTINEL)), { recursive: true });
      writeFileSync(j.path(SENTINEL), '');
      const second = j.start(['run']);
      await j.api.waitFor(() => j.api.host(j.reg, name)?.labels[LABELS.bootstrapped] === 'true', 10_000);
      second.child.kill('SIGTERM');
      const stopped = await second.result;
      assert.is(stopped.code, 143, stopped.stderr);
      assert.equal(stopped.calls, [], 'no reboot');
      assert.is(conditionOf(j.api.host(j.reg, name)!, 'BootstrapReady')?.status, 'True');
    } finally {
      await j.close();
    }
  }
});

test('3b. bootstrap already applied / unknown format → BootstrapFailed', async () => {
  const { j, name } = await registeredJourney();
  try {
    j.api.setBootstrap(j.reg, name, { format: 'cloud-config', config: 'new' });
    mkdirSync(j.path(dirname(CLOUD_CONFIG_TARGET)), { recursive: true });
    writeFileSync(j.path(CLOUD_CONFIG_TARGET), 'old');
    const agent = j.start(['run']);
    await j.api.waitFor(() => conditionOf(j.api.host(j.reg, name)!, 'BootstrapReady'), 10_000);
    agent.child.kill('SIGTERM');
    const r = await agent.result;
    assert.is(r.code, 143);
    const c = conditionOf(j.api.host(j.reg, name)!, 'BootstrapReady')!;
    assert.equal([c.status, c.severity, c.reason], ['False', 'Error', 'BootstrapFailed']);
    assert.match(c.message ?? "", /bootstrap already applied/);
    assert.is(j.read(CLOUD_CONFIG_TARGET), 'old', 'not overwritten');
    assert.equal(r.calls, []);

    j.api.setBootstrap(j.reg, name, { format: 'butane', config: 'x' });
    const again = j.start(['run']);
    await j.api.waitFor(() => /unsupported bootstrap format/.test((conditionOf(j.api.host(j.reg, name)!, 'BootstrapReady')!).message ?? ''), 10_000);
    again.child.kill('SIGTERM');
    assert.is((await again.result).code, 143);
  } finally {
    await j.close();
  }
});

test('4. run reconciles the OS version: before bootstrap, and in-place updates after', async () => {
  const { j, name } = await registeredJourney();
  try {
    j.api.setOsVersionManagement(j.reg, name, { osImage: 'registry.example.com/os:v1.2', upgrade: { force: false } });
    const agent = j.start(['run']);
    await j.api.waitFor(() => conditionOf(j.api.host(j.reg, name)!, 'OSVersionReady'), 10_000);
    agent.child.kill('SIGTERM');
    assert.is((await agent.result).code, 143);
    assert.is(j.read(`${WORK_DIR}/os-version.yaml`), 'osImage: registry.example.com/os:v1.2\nupgrade:\n    force: false\n');
    const c = conditionOf(j.api.host(j.reg, name)!, 'OSVersionReady')!;
    assert.equal([c.status, c.severity], ['True', 'Info']);

    // Bootstrapped host with an in-place update pending.
    j.api.setBootstrap(j.reg, name, { config: 'x' });
    j.api.updateHost(j.reg, name, (h) => {
      h.labels[LABELS.bootstrapped] = 'true';
    });
    j.api.setOsVersionManagement(j.reg, name, { osImage: 'registry.example.com/os:v1.3' });
    j.api.setInPlaceUpdate(j.reg, name, 'pending');
    const update = j.start(['run']);
    await j.api.waitFor(() => j.api.host(j.reg, name)?.labels[LABELS.inPlaceUpdate] === 'done', 10_000);
    update.child.kill('SIGTERM');
    const r = await update.result;
    assert.is(r.code, 143);
    assert.is(j.read(`${WORK_DIR}/os-version.yaml`), 'osImage: registry.example.com/os:v1.3\n');
    assert.equal(r.calls, [], 'the dummy never reboots for an OS version');
  } finally {
    await j.close();
  }
});

test('5. host deleted → needs.reset → reset waits for the operator → reset, reboot, host gone', async () => {
  const { j, name } = await registeredJourney({ agent: { postReset: { reboot: true } } });
  try {
    j.api.deleteHost(j.reg, name);
    const run = await j.run(['run']);
    assert.is(run.code, 0, run.stderr);
    assert.is(j.read(`${WORK_DIR}/needs.reset`), '1\n');
    const waiting = conditionOf(j.api.host(j.reg, name)!, 'ResetReady')!;
    assert.equal([waiting.status, waiting.severity, waiting.reason, waiting.message], ['False', 'Info', 'WaitingForReset', 'Reset was triggered successfully. Waiting for host to reset.']);
    assert.is(j.api.host(j.reg, name)!.phase, 'Triggering Reset');

    // The operator has not prepared the host yet: reset fails and retries.
    const reset = j.start(['reset']);
    await j.api.waitFor(() => (conditionOf(j.api.host(j.reg, name)!, 'ResetReady')!).reason === 'ResetFailed', 10_000);
    assert.match((conditionOf(j.api.host(j.reg, name)!, 'ResetReady')!).message ?? "", /needs\.reset still exists/);
    // The operator's automation removes the sentinel; the next attempt succeeds.
    rmSync(j.path(`${WORK_DIR}/needs.reset`));
    const done = await reset.result;
    assert.is(done.code, 0, done.stderr);
    assert.is(j.read(`${WORK_DIR}/reset.yaml`), RESET_YAML);
    assert.is(j.api.host(j.reg, name), undefined, 'the server removed the host');
    const last = j.api.requests.filter((r) => r.op === 'patchHost').at(-1)!;
    assert.equal(last.body, { reset: true, condition: { type: 'ResetReady', status: 'True', severity: 'Info' } });
    assert.equal(done.calls, [{ command: 'reboot', args: ['-f'] }]);
    assert.ok(j.api.ops().filter((op) => op === 'deleteHost').length >= 2, 'DELETE repeated on every attempt');
  } finally {
    await j.close();
  }
});

test('over HTTPS: caCert from a file under --root, then the inline CA the server hands out', async () => {
  const j = await journey({ https: true });
  try {
    const r = await j.run(['register', '--install']);
    assert.is(r.code, 0, r.stderr);
    const name = onlyHost(j).name;
    assert.ok(j.reg.uri.startsWith('https://127.0.0.1:'));
    // The written config carries the server's inline CA as a literal block, and no http escape hatch.
    const ca = j.api.caCertPem!.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
    assert.is(
      j.read(CONFIG_PATH),
      `registration:\n    uri: ${j.reg.uri}\n    caCert: |\n${ca}\n    token: ${j.reg.token}\nagent:\n    workDir: ${WORK_DIR}\n    hostname:\n        prefix: m-\n    reconciliation: 100ms\n`,
    );
    // Later commands trust the server through that inline CA.
    rmSync(j.path('/etc/elemental/ca.pem'));
    j.api.deleteHost(j.reg, name);
    const run = await j.run(['run']);
    assert.is(run.code, 0, run.stderr);
    assert.is(j.read(`${WORK_DIR}/needs.reset`), '1\n');
  } finally {
    await j.close();
  }
});

test('over HTTPS without a CA: refused, with a line that says what to set', async () => {
  const j = await journey({ https: true, startingAgentYaml: '' });
  try {
    writeFileSync(j.path(CONFIG_PATH), `registration:\n  uri: ${j.reg.uri}\n  token: ${j.imageToken}\nagent:\n  reconciliation: 100ms\n`);
    const agent = j.start(['register']);
    // The TLS handshake fails, so nothing reaches the stand-in's request log: watch stderr.
    await stderrMatches(agent, /\(retrying\)/);
    agent.child.kill('SIGTERM');
    const r = await agent.result;
    assert.is(r.code, 143);
    assert.match(r.stderr, /registering: getting registration: .*(caCert|useSystemCertPool).*\(retrying\)/);
    assert.is(j.api.hosts(j.reg).length, 0);
  } finally {
    await j.close();
  }
});

test('6. a server that is down at start: register retries and succeeds when it comes up', async () => {
  const j = await journey();
  try {
    await j.api.down();
    const agent = j.start(['register']);
    // Up again only after a refused attempt (a fixed wait missed it when the runtime was slow to start).
    assert.ok(await stderrMatches(agent, /getting registration: .*ECONNREFUSED.*\(retrying\)/), 'a refused attempt, retried');
    assert.is(agent.child.exitCode, null, 'still retrying');
    await j.api.up();
    const r = await agent.result;
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /registering: getting registration: .*ECONNREFUSED.*\(retrying\)/);
    assert.is(j.api.hosts(j.reg).length, 1);
  } finally {
    await j.close();
  }
});

test('an external .mjs plugin is loaded and called', async () => {
  const j = await journey({ agent: { osPlugin: '/opt/plugins/recording-plugin.mjs' }, startingAgentYaml: '  osPlugin: /opt/plugins/recording-plugin.mjs\n' });
  try {
    mkdirSync(j.path('/opt/plugins'), { recursive: true });
    copyFileSync(join(process.cwd(), 'test/fixtures/plugins/recording-plugin.mjs'), j.path('/opt/plugins/recording-plugin.mjs'));
    // The agent refuses a plugin its group can write; a checkout's file may be 0664 (git archive).
    chmodSync(j.path('/opt/plugins'), 0o755);
    chmodSync(j.path('/opt/plugins/recording-plugin.mjs'), 0o644);
    const r = await j.run(['register', '--install']);
    assert.is(r.code, 0, r.stderr);
    const name = onlyHost(j).name;
    const calls = j.read(`${WORK_DIR}/plugin-calls.log`).trim().split('\n').map((l) => l.split(' ')[0]);
    assert.equal(calls, ['init', 'init', 'persistHostname', 'persistFile', 'persistFile', 'persistFile', 'applyCloudInit', 'install']);
    assert.match(j.read(`${WORK_DIR}/plugin-calls.log`), new RegExp(`persistHostname ${name}\\n`));
    assert.not.ok(j.exists(`${WORK_DIR}/install.yaml`), 'the dummy plugin was not used');
  } finally {
    await j.close();
  }
});

test('osPlugin elemental.so or anything unknown: exit 1 naming the supported values', async () => {
  const j = await journey({ startingAgentYaml: '  osPlugin: /usr/lib/elemental/plugins/elemental.so\n' });
  try {
    const r = await j.run(['register']);
    assert.is(r.code, 1);
    assert.match(r.stderr, /osPlugin "\/usr\/lib\/elemental\/plugins\/elemental\.so".*'dummy', a path ending in dummy\.so/);
    assert.is(withoutTimestamps(r.stderr).split('\n').filter((l) => l.startsWith('ERROR')).length, 1);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(j.api.requests, []);
  } finally {
    await j.close();
  }
});

test('register killed after the create POST, before finalize: the rerun adopts the host from the pending registration', async () => {
  const j = await journey();
  try {
    // The server creates the host but its answer never arrives; the agent is killed meanwhile.
    j.api.injectFault({ op: 'createHost', kind: 'hang', afterEffects: true });
    const first = j.start(['register', '--install']);
    await j.api.waitFor(() => j.api.hosts(j.reg).length === 1, 10_000);
    first.child.kill('SIGKILL');
    assert.is((await first.result).signal, 'SIGKILL');
    const name = onlyHost(j).name;
    const pendingPath = `${WORK_DIR}/pending-registration.json`;
    assert.is(j.mode(pendingPath), 0o600);
    const pending = JSON.parse(j.read(pendingPath)) as { name: string; privateKey: string };
    assert.is(pending.name, name);
    assert.is(createPublicKey(createPrivateKey(pending.privateKey)).export({ type: 'spki', format: 'pem' }).toString(), onlyHost(j).pubKey);
    assert.not.ok(j.exists(`${WORK_DIR}/private.key`), 'not registered yet for the example units');

    j.api.clearRequests();
    const again = await j.run(['register', '--install']);
    assert.is(again.code, 0, again.stderr);
    assert.is(j.api.hosts(j.reg).length, 1, 'no orphan');
    assert.match(again.stderr, new RegExp(`found existing host '${name}' for this host's key, skipping creation`));
    assert.equal(j.api.ops().slice(0, 2), ['getRegistration', 'patchHost']);
    assert.not.ok(j.api.ops().includes('createHost'));
    assert.is(j.read('/etc/hostname'), `${name}\n`);
    assert.is(createPublicKey(createPrivateKey(j.read(`${WORK_DIR}/private.key`))).export({ type: 'spki', format: 'pem' }).toString(), onlyHost(j).pubKey);
    assert.not.ok(j.exists(pendingPath), 'finalize removed the pending registration');
    assert.is(onlyHost(j).labels[LABELS.installed], 'true');
  } finally {
    await j.close();
  }
});

test('the written registration keeps the reference struct order: uri, caCert, tokenDuration, token', async () => {
  const j = await journey({ https: true, registration: { tokenDuration: 3600 } });
  try {
    const r = await j.run(['register']);
    assert.is(r.code, 0, r.stderr);
    const ca = j.api.caCertPem!.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
    assert.ok(
      j.read(CONFIG_PATH).startsWith(`registration:\n    uri: ${j.reg.uri}\n    caCert: |\n${ca}\n    tokenDuration: 1h0m0s\n    token: ${j.reg.token}\nagent:\n`),
      j.read(CONFIG_PATH),
    );
  } finally {
    await j.close();
  }
});

test.run();
