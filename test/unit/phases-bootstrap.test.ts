// Port of the reference's internal/agent/phase/bootstrap_test.go with a fake client and a fake
// plugin: the same calls in the same order and the same condition bodies. The sentinel file
// lives under a temporary --root. Where we differ, on purpose: bootstrap() reboots itself after
// the WaitingForBootstrap condition (the reference returns PostAction{Reboot: true} and run
// reboots), so that script ends with the reboot; and the outcome is a word, not a PostAction.
// The last cases are ours: the prefixes the reference tests do not reach.
import { mkdirSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BOOTSTRAP_SENTINEL, bootstrap } from '../../src/phases/bootstrap';
import { type Expectation, apiFailure, apiStatus, hostResponseFixture, withPhaseHarness } from '../support/phase-context';

const HOST = 'test-host';
const bootstrapResponse = () => ({ format: 'foo', config: Buffer.from('bar') });
const phase = { phase: 'Bootstrapping' };
const bootstrapFailed = (message: string) => ({
  condition: { type: 'BootstrapReady', status: 'False', severity: 'Error', reason: 'BootstrapFailed', message },
});
const bootstrappedPatch = { bootstrapped: true, condition: { type: 'BootstrapReady', status: 'True', severity: 'Info' } };

test('bootstrap handler: should bootstrap when bootstrap sentinel file missing', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.getBootstrap', args: [HOST], returns: bootstrapResponse() },
    { call: 'plugin.bootstrap', args: ['foo', Buffer.from('bar')] },
    {
      call: 'client.patchHost',
      args: [
        HOST,
        { condition: { type: 'BootstrapReady', status: 'False', severity: 'Info', reason: 'WaitingForBootstrap', message: 'Waiting for bootstrap to be executed' } },
      ],
    },
    // System must reboot to apply bootstrap config
    { call: 'plugin.reboot' },
  ], async (h) => {
    assert.is(await h.run(bootstrap), 'reboot');
  });
});

test('bootstrap handler: should patch the host as bootstrapped when sentinel file is present', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.patchHost', args: [HOST, bootstrappedPatch], returns: hostResponseFixture() },
  ], async (h) => {
    // Mark the system as bootstrapped. This path is part of the CAPI contract.
    mkdirSync(h.path('/run/cluster-api'), { recursive: true });
    writeFileSync(h.path(BOOTSTRAP_SENTINEL), 'anything');
    assert.is(await h.run(bootstrap), 'bootstrapped');
  });
});

test('bootstrap handler: should fail on bootstrap error', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.getBootstrap', args: [HOST], returns: bootstrapResponse() },
    { call: 'plugin.bootstrap', args: ['foo', Buffer.from('bar')], throws: new Error('test bootstrap error') },
    { call: 'client.patchHost', args: [HOST, bootstrapFailed('applying bootstrap config: test bootstrap error')] },
  ], async (h) => {
    assert.is(await h.run(bootstrap), 'failed');
  });
});

test('bootstrap (ours): a failed GET bootstrap, or an answer without a config, is "fetching bootstrap config: …"', async () => {
  const notFound = apiStatus('getting bootstrap', 404);
  const cases: Array<[string, Expectation, string]> = [
    ['404', { call: 'client.getBootstrap', args: [HOST], throws: notFound }, `fetching bootstrap config: ${notFound.message}`],
    ['no config', { call: 'client.getBootstrap', args: [HOST], returns: { format: 'cloud-config' } }, 'fetching bootstrap config: the bootstrap answer has no config'],
  ];
  for (const [label, get, message] of cases) {
    await withPhaseHarness([{ call: 'client.patchHost', args: [HOST, phase] }, get, { call: 'client.patchHost', args: [HOST, bootstrapFailed(message)] }], async (h) => {
      assert.is(await h.run(bootstrap), 'failed', label);
    });
  }
});

test('bootstrap (ours): a failed bootstrapped PATCH carries both of the reference\'s prefixes', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.patchHost', args: [HOST, bootstrappedPatch], throws: apiFailure('patching host', 'patch host test fail') },
    {
      call: 'client.patchHost',
      args: [HOST, bootstrapFailed('updating bootstrapped status: patching bootstrapped status: patch host test fail')],
    },
  ], async (h) => {
    mkdirSync(h.path('/run/cluster-api'), { recursive: true });
    writeFileSync(h.path(BOOTSTRAP_SENTINEL), '');
    assert.is(await h.run(bootstrap), 'failed');
  });
});

test.run();
