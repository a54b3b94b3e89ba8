// Port of the reference's internal/agent/phase/reset_test.go: trigger reset and reset with a
// fake client and a fake plugin, the same calls in the same order and the same condition
// bodies. Where we differ, on purpose: triggerReset() resolves false instead of returning the
// error (run logs it and waits), and reset() runs the postReset action itself (the reference's
// handler returns and cmd/agent/reset.go reboots), so the script ends with it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reset, triggerReset } from '../../src/phases/reset';
import { apiFailure, hostResponseFixture, withPhaseHarness, registrationFixture } from '../support/phase-context';

const HOST = 'test-host';
/** Go's json.Marshal(RegistrationFixture.Config.Elemental.Reset): keys in byte order. */
const WANT_RESET =
  '{"configUrls":["test config url 1","test config url 2"],"debug":true,"enabled":true,"poweroff":true,"reboot":true,' +
  '"resetOem":true,"resetPersistent":true,"systemUri":"test system uri"}';

const resetFailed = (message: string) => ({
  condition: { type: 'ResetReady', status: 'False', severity: 'Error', reason: 'ResetFailed', message },
});
const resetPatch = { reset: true, condition: { type: 'ResetReady', status: 'True', severity: 'Info' } };

test('reset handler, triggering reset: should trigger reset', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, { phase: 'Triggering Reset' }] },
    { call: 'plugin.triggerReset' },
    {
      call: 'client.patchHost',
      args: [
        HOST,
        {
          condition: {
            type: 'ResetReady',
            status: 'False',
            severity: 'Info',
            reason: 'WaitingForReset',
            message: 'Reset was triggered successfully. Waiting for host to reset.',
          },
        },
      ],
    },
  ], async (h) => {
    assert.is(await h.run(triggerReset), true);
  });
});

test('reset handler, triggering reset: should fail on trigger reset error', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, { phase: 'Triggering Reset' }] },
    { call: 'plugin.triggerReset', throws: new Error('test trigger reset error') },
    { call: 'client.patchHost', args: [HOST, resetFailed('triggering reset: test trigger reset error')] },
  ], async (h) => {
    assert.is(await h.run(triggerReset), false, 'the failure reaches the caller (run waits and tries again)');
    assert.equal(
      h.logs.filter((l) => l.startsWith('ERROR')),
      ['ERROR triggering reset: test trigger reset error (retrying)\n'],
    );
  });
});

test('reset handler, resetting: should delete host, reset, and patch the host as reset', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, { phase: 'Resetting' }] },
    { call: 'client.deleteHost', args: [HOST], throws: apiFailure('deleting host', 'delete host test error') },
    { call: 'client.patchHost', args: [HOST, resetFailed('marking host for deletion: delete host test error')] },
    { call: 'client.deleteHost', args: [HOST] },
    // Make the first registration call fail. Expect to recover by calling again
    { call: 'client.getRegistration', throws: apiFailure('getting registration', 'get registration test error') },
    { call: 'client.patchHost', args: [HOST, resetFailed('getting remote Registration: get registration test error')] },
    { call: 'client.deleteHost', args: [HOST] }, // Always called
    { call: 'client.getRegistration', returns: registrationFixture() },
    // Make the reset call fail. Expect to recover by getting registration and resetting again
    { call: 'plugin.reset', args: [WANT_RESET], throws: new Error('reset test error') },
    { call: 'client.patchHost', args: [HOST, resetFailed('resetting host: reset test error')] },
    { call: 'client.deleteHost', args: [HOST] },
    { call: 'client.getRegistration', returns: registrationFixture() },
    { call: 'plugin.reset', args: [WANT_RESET] },
    // Make the patch host fail. Expect to recover by patching it again
    { call: 'client.patchHost', args: [HOST, resetPatch], throws: apiFailure('patching host', 'patch host test fail') },
    { call: 'client.patchHost', args: [HOST, resetFailed('patching host with reset successful: patch host test fail')] },
    { call: 'client.deleteHost', args: [HOST] },
    { call: 'client.patchHost', args: [HOST, resetPatch], returns: hostResponseFixture() },
    // Ours: the postReset action of the fixture.
    { call: 'plugin.reboot' },
  ], async (h) => {
    await h.run(reset);
    assert.is(h.waits(), 4, 'one reconciliation wait after each of the four failures');
  });
});

test.run();
