// Port of the reference's internal/agent/phase/upgrade_test.go (the OS version handler) with a
// fake client and a fake plugin: the same calls in the same order and the same condition
// bodies. Where we differ, on purpose: reconcileOsVersion() reboots itself after the
// WaitingForPostReconcileReboot condition (the reference returns PostAction{Reboot: true} and
// run reboots), so that script ends with the reboot. The last cases are ours.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiHostResponse } from '../../src/api/types';
import { reconcileOsVersion } from '../../src/phases/os-version';
import { apiFailure, hostResponseFixture, withPhaseHarness } from '../support/phase-context';

const HOST = 'test-host';
/** Go's json.Marshal(OSVersionManagementFixture) ({"foo": "bar", "bar": "foo"}): keys in byte order. */
const WANT_OS_VERSION = '{"bar":"foo","foo":"bar"}';
const readyPatch = { condition: { type: 'OSVersionReady', status: 'True', severity: 'Info' } };

function host(inPlaceUpdate: boolean): ApiHostResponse {
  return { ...hostResponseFixture(), osVersionManagement: { foo: 'bar', bar: 'foo' }, ...(inPlaceUpdate ? { inPlaceUpgrade: 'pending' } : {}) };
}

test('upgrade handler: should reconcile os version and reboot', async () => {
  await withPhaseHarness([
    // Expect plugin to reconcile OS Version and ask for machine reboot
    { call: 'plugin.reconcileOSVersion', args: [WANT_OS_VERSION], returns: true },
    // Expect phase update
    { call: 'client.patchHost', args: [HOST, { phase: 'Reconciling OS Version' }] },
    // Expect condition update
    {
      call: 'client.patchHost',
      args: [
        HOST,
        {
          condition: {
            type: 'OSVersionReady',
            status: 'False',
            severity: 'Info',
            reason: 'WaitingForPostReconcileReboot',
            message: 'Waiting for Host to reboot after OS Version has been reconciled.',
          },
        },
      ],
    },
    // Machine should reboot, not shut down
    { call: 'plugin.reboot' },
  ], async (h) => {
    assert.is(await h.run((ctx) => reconcileOsVersion(ctx, host(false))), 'reboot');
  });
});

test('upgrade handler: should mark os version as successfully reconciled', async () => {
  await withPhaseHarness([
    { call: 'plugin.reconcileOSVersion', args: [WANT_OS_VERSION], returns: false },
    { call: 'client.patchHost', args: [HOST, readyPatch] },
  ], async (h) => {
    assert.is(await h.run((ctx) => reconcileOsVersion(ctx, host(false))), 'reconciled', 'no reboot, no power off');
  });
});

test('upgrade handler: should mark in place update as done', async () => {
  await withPhaseHarness([
    { call: 'plugin.reconcileOSVersion', args: [WANT_OS_VERSION], returns: false },
    { call: 'client.patchHost', args: [HOST, readyPatch] },
    // Expect InPlaceUpdateDone update
    { call: 'client.patchHost', args: [HOST, { inPlaceUpdate: 'done' }] },
  ], async (h) => {
    assert.is(await h.run((ctx) => reconcileOsVersion(ctx, host(true))), 'reconciled', 'no reboot, no power off');
  });
});

test('upgrade (ours): a plugin failure is OSVersionReconciliationFailed "reconciling osVersion: …"', async () => {
  await withPhaseHarness([
    { call: 'plugin.reconcileOSVersion', args: [WANT_OS_VERSION], throws: new Error('disk full') },
    {
      call: 'client.patchHost',
      args: [
        HOST,
        { condition: { type: 'OSVersionReady', status: 'False', severity: 'Error', reason: 'OSVersionReconciliationFailed', message: 'reconciling osVersion: disk full' } },
      ],
    },
  ], async (h) => {
    assert.is(await h.run((ctx) => reconcileOsVersion(ctx, host(false))), 'failed');
  });
});

test('upgrade (ours): a failed OSVersionReady=True PATCH is retried in the reference\'s words, with no condition', async () => {
  await withPhaseHarness([
    { call: 'plugin.reconcileOSVersion', args: [WANT_OS_VERSION], returns: false },
    { call: 'client.patchHost', args: [HOST, readyPatch], throws: apiFailure('patching host', 'patch host test fail') },
  ], async (h) => {
    assert.is(await h.run((ctx) => reconcileOsVersion(ctx, host(false))), 'failed');
    assert.equal(h.logs.filter((l) => l.startsWith('ERROR')), [
      'ERROR updating OSVersionReady=true condition: reporting condition: patch host test fail (retrying)\n',
    ]);
  });
});

test('upgrade (ours): a failed in-place-done PATCH is retried in the reference\'s words', async () => {
  await withPhaseHarness([
    { call: 'plugin.reconcileOSVersion', args: [WANT_OS_VERSION], returns: false },
    { call: 'client.patchHost', args: [HOST, readyPatch] },
    { call: 'client.patchHost', args: [HOST, { inPlaceUpdate: 'done' }], throws: apiFailure('patching host', 'patch host test fail') },
  ], async (h) => {
    assert.is(await h.run((ctx) => reconcileOsVersion(ctx, host(true))), 'failed');
    assert.equal(h.logs.filter((l) => l.startsWith('ERROR')), ['ERROR updating InPlaceUpgrade done label: patch host test fail (retrying)\n']);
  });
});

test.run();
