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
import { apiFailure, hostResponseFixture, phaseHarness } from '../support/phase-context';

const HOST = 'test-host';
const bootstrapResponse = () => ({ format: 'foo', config: Buffer.from('bar') });
const phase = { phase: 'Bootstrapping' };
const bootstrapFailed = (message: string) => ({
  condition: { type: 'BootstrapReady', status: 'False', severity: 'Error', reason: 'BootstrapFailed', message },
});
const bootstrappedPatch = { bootstrapped: true, condition: { type: 'BootstrapReady', status: 'True', severity: 'Info' } };

test('bootstrap handler: should bootstrap when bootstrap sentinel file missing', async () => {
  const h = phaseHarness([
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
  ]);
  try {
    assert.is(await h.run(bootstrap), 'reboot');
  } finally {
    h.cleanup();
  }
});

test('bootstrap handler: should patch the host as bootstrapped when sentinel file is present', async () => {
  const h = phaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.patchHost', args: [HOST, bootstrappedPatch], returns: hostResponseFixture() },
  ]);
  try {
    // Mark the system as bootstrapped. This path is part of the CAPI contract.
    mkdirSync(h.path('/run/cluster-api'), { recursive: true });
    writeFileSync(h.path(BOOTSTRAP_SENTINEL), 'anything');
    assert.is(await h.run(bootstrap), 'bootstrapped');
  } finally {
    h.cleanup();
  }
});

test('bootstrap handler: should fail on bootstrap error', async () => {
  const h = phaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.getBootstrap', args: [HOST], returns: bootstrapResponse() },
    { call: 'plugin.bootstrap', args: ['foo', Buffer.from('bar')], throws: new Error('test bootstrap error') },
    { call: 'client.patchHost', args: [HOST, bootstrapFailed('applying bootstrap config: test bootstrap error')] },
  ]);
  try {
    assert.is(await h.run(bootstrap), 'failed');
  } finally {
    h.cleanup();
  }
});

test('bootstrap (ours): a failed GET bootstrap is "fetching bootstrap config: …"', async () => {
  const h = phaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.getBootstrap', args: [HOST], throws: apiFailure('getting bootstrap', "getting bootstrap returned code '404': unexpected return code") },
    { call: 'client.patchHost', args: [HOST, bootstrapFailed("fetching bootstrap config: getting bootstrap returned code '404': unexpected return code")] },
  ]);
  try {
    assert.is(await h.run(bootstrap), 'failed');
  } finally {
    h.cleanup();
  }
});

test('bootstrap (ours): an answer without a config is refused under "fetching bootstrap config: "', async () => {
  const h = phaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.getBootstrap', args: [HOST], returns: { format: 'cloud-config' } },
    { call: 'client.patchHost', args: [HOST, bootstrapFailed('fetching bootstrap config: the bootstrap answer has no config')] },
  ]);
  try {
    assert.is(await h.run(bootstrap), 'failed');
  } finally {
    h.cleanup();
  }
});

test('bootstrap (ours): a failed bootstrapped PATCH carries both of the reference\'s prefixes', async () => {
  const h = phaseHarness([
    { call: 'client.patchHost', args: [HOST, phase] },
    { call: 'client.patchHost', args: [HOST, bootstrappedPatch], throws: apiFailure('patching host', 'patch host test fail') },
    {
      call: 'client.patchHost',
      args: [HOST, bootstrapFailed('updating bootstrapped status: patching bootstrapped status: patch host test fail')],
    },
  ]);
  try {
    mkdirSync(h.path('/run/cluster-api'), { recursive: true });
    writeFileSync(h.path(BOOTSTRAP_SENTINEL), '');
    assert.is(await h.run(bootstrap), 'failed');
  } finally {
    h.cleanup();
  }
});

test.run();
