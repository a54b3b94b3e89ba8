// Port of the reference's internal/agent/phase/install_test.go: the install phase with a fake
// client and a fake plugin, the same calls in the same order and the same condition bodies.
// Where we differ, on purpose: the plugin gets `{}` for the absent cloudConfig (the reference
// passes `null`, SPEC §13), and our install() runs the postInstall action itself (the
// reference's handler returns and cmd/agent/install.go powers off), so the script ends with it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { install } from '../../src/phases/install';
import { apiFailure, hostResponseFixture, withPhaseHarness, registrationFixture } from '../support/phase-context';

const HOST = 'test-host';
/** Go's json.Marshal(RegistrationFixture.Config.Elemental.Install): keys in byte order. */
const WANT_INSTALL =
  '{"configDir":"test config dir","configUrls":["test config url 1","test config url 2"],"debug":true,"device":"test device",' +
  '"disableBootEntry":true,"ejectCd":true,"firmware":"test firmware","iso":"test iso","noFormat":true,"poweroff":true,' +
  '"reboot":true,"systemUri":"test system uri","tty":"test tty"}';
const WANT_CLOUD_INIT = '{}';

const failed = (reason: string, message: string) => ({
  condition: { type: 'InstallationReady', status: 'False', severity: 'Error', reason, message },
});
const installedPatch = { installed: true, condition: { type: 'InstallationReady', status: 'True', severity: 'Info' } };

test('install handler: should apply cloud init, install, and mark the host as installed', async () => {
  await withPhaseHarness([
    // Expect phase to be updated
    { call: 'client.patchHost', args: [HOST, { phase: 'Installing' }] },
    // Make the first get registration call fail. Expect to recover by calling again
    { call: 'client.getRegistration', throws: apiFailure('getting registration', 'get registration test error') },
    { call: 'client.patchHost', args: [HOST, failed('InstallationFailed', 'getting remote Registration: get registration test error')] },
    { call: 'client.getRegistration', returns: registrationFixture() },
    // Make the cloud init apply fail. Expect to recover by getting registration and applying cloud init again
    { call: 'plugin.applyCloudInit', args: [WANT_CLOUD_INIT], throws: new Error('cloud init test failed') },
    { call: 'client.patchHost', args: [HOST, failed('CloudConfigInstallationFailed', 'installing cloud config: cloud init test failed')] },
    { call: 'client.getRegistration', returns: registrationFixture() },
    { call: 'plugin.applyCloudInit', args: [WANT_CLOUD_INIT] },
    // Make the install fail. Expect to recover by getting registration and installing again
    { call: 'plugin.install', args: [WANT_INSTALL], throws: new Error('install test fail') },
    { call: 'client.patchHost', args: [HOST, failed('InstallationFailed', 'installing host: install test fail')] },
    { call: 'client.getRegistration', returns: registrationFixture() },
    { call: 'plugin.install', args: [WANT_INSTALL] },
    // Make the patch host fail. Expect to recover by patching it again
    { call: 'client.patchHost', args: [HOST, installedPatch], throws: apiFailure('patching host', 'patch host test fail') },
    { call: 'client.patchHost', args: [HOST, failed('InstallationFailed', 'patching host with installation successful: patch host test fail')] },
    { call: 'client.patchHost', args: [HOST, installedPatch], returns: hostResponseFixture() },
    // Ours: the postInstall action (powerOff wins over reboot in the fixture).
    { call: 'plugin.powerOff' },
  ], async (h) => {
    await h.run(install);
    assert.is(h.waits(), 4, 'one reconciliation wait after each of the four failures');
    assert.equal(
      h.calls.filter((c) => c === 'wait' || c === 'client.getRegistration'),
      ['client.getRegistration', 'wait', 'client.getRegistration', 'wait', 'client.getRegistration', 'wait', 'client.getRegistration', 'wait'],
      'each wait comes right after a failure is reported',
    );
  });
});

test('install (ours): the condition body on the wire is the reference\'s, without its null lastTransitionTime', async () => {
  // JSON.stringify is what the client sends; the reference sends the same fields plus
  // "lastTransitionTime":null (Go's zero metav1.Time), which the server overwrites anyway.
  assert.is(
    JSON.stringify(failed('InstallationFailed', 'installing host: install test fail')),
    '{"condition":{"type":"InstallationReady","status":"False","severity":"Error","reason":"InstallationFailed","message":"installing host: install test fail"}}',
  );
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, { phase: 'Installing' }] },
    { call: 'client.getRegistration', returns: registrationFixture() },
    { call: 'plugin.applyCloudInit', args: [WANT_CLOUD_INIT] },
    { call: 'plugin.install', args: [WANT_INSTALL] },
    { call: 'client.patchHost', args: [HOST, installedPatch] },
    { call: 'plugin.powerOff' },
  ], async (h) => {
    await h.run(install);
    assert.is(h.waits(), 0);
  });
});

test.run();
