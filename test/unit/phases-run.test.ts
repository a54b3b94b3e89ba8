// The run loop with a fake client and plugin (test/support/phase-context.ts): what a 404 on a
// registered host's PATCH means is said once per run of 404s, not on every retry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../src/phases/run';
import { apiStatus, hostResponseFixture, withPhaseHarness } from '../support/phase-context';

const HOST = 'test-host';
const running = { phase: 'Running' };
const notFound = () => apiStatus('patching host', 404);
const bootstrapped = () => ({ ...hostResponseFixture(), bootstrapped: true });

test('run: a 404 on PATCH is explained once (deleted on the server, or name/key mismatch), every retry still logged', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, running], throws: notFound() },
    { call: 'client.patchHost', args: [HOST, running], throws: notFound() },
    { call: 'client.patchHost', args: [HOST, running], throws: notFound() },
    // The host is back (e.g. a name mismatch fixed by the operator): nothing to do this round.
    { call: 'client.patchHost', args: [HOST, running], returns: bootstrapped() },
    // A new run of 404s is explained again.
    { call: 'client.patchHost', args: [HOST, running], throws: notFound() },
    { call: 'client.patchHost', args: [HOST, running], throws: notFound() },
  ], async (h) => {
    assert.is(await h.run((ctx) => run(ctx, { maxIterations: 6 })), undefined);
    const retries = h.logs.filter((l) => l.startsWith('ERROR'));
    assert.is(retries.length, 5);
    for (const line of retries) assert.is(line, "ERROR reconciling: patching host returned code '404': unexpected return code (retrying)\n");
    const hint =
      "WARN  the server does not know host 'test-host' (404): the host was deleted on the server, or this host's name or key do not match " +
      'the registered host (hostname changed? /test/var/lib/elemental/agent/private.key from another host?); to register it anew, ' +
      "remove /test/var/lib/elemental/agent/private.key and run 'elemental-agent register'\n";
    assert.equal(h.logs.filter((l) => l.startsWith('WARN')), [hint, hint]);
    const order = h.logs.filter((l) => /^(ERROR|WARN)/.test(l)).map((l) => l.slice(0, 5).trim());
    assert.equal(order, ['ERROR', 'WARN', 'ERROR', 'ERROR', 'ERROR', 'WARN', 'ERROR'], 'the hint follows the first 404 of each run of them');
    assert.is(h.waits(), 5);
  });
});

test('run: other failures (403, 500) get no 404 explanation', async () => {
  await withPhaseHarness([
    { call: 'client.patchHost', args: [HOST, running], throws: apiStatus('patching host', 403) },
    { call: 'client.patchHost', args: [HOST, running], throws: apiStatus('patching host', 500) },
  ], async (h) => {
    await h.run((ctx) => run(ctx, { maxIterations: 2 }));
    assert.equal(h.logs.filter((l) => l.startsWith('WARN')), []);
    assert.is(h.logs.filter((l) => l.startsWith('ERROR')).length, 2);
  });
});

test.run();
