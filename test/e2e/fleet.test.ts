// A small fleet (10 real agents, the driver of `npm run bench -- fleet`) against one stand-in:
// a boot storm registers every host once, and every agent comes back after an outage. Counts
// only: timing is the bench's business.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Fleet, type OutageMode, firstReconcileAfter, registrationCounts, startFleet, waitUntil } from '../support/fleet';

const N = 10;
const PERIOD_MS = 500;

async function outageAndBack(fleet: Fleet, mode: OutageMode): Promise<void> {
  await fleet.outage(mode);
  await new Promise((r) => setTimeout(r, 3 * PERIOD_MS));
  const recovered = Date.now();
  await fleet.recover();
  // Bounded: the back-off's cap is 8 periods; 30 s is far beyond it.
  const back = await waitUntil(() => firstReconcileAfter(fleet, recovered).every(Boolean), 30_000);
  assert.ok(back, `after '${mode}': ${firstReconcileAfter(fleet, recovered).filter(Boolean).length} of ${N} agents back`);
}

test(`${N} agents: boot storm without duplicates or orphans, all back after refused connections and 503s`, async () => {
  const fleet = await startFleet({ n: N, periodMs: PERIOD_MS, timeoutMs: 50_000 });
  try {
    fleet.startAll(['register', '--install']);
    const results = await fleet.waitAll();
    assert.equal(results.map((r) => r.code), new Array(N).fill(0), results.find((r) => r.code !== 0)?.stderr);
    assert.equal(registrationCounts(fleet), { hosts: N, duplicates: 0, orphans: 0, registered: N });
    fleet.startAll(['run']);
    assert.ok(await waitUntil(() => firstReconcileAfter(fleet, 0).every(Boolean), 20_000), 'every agent reconciles');
    await outageAndBack(fleet, 'refuse');
    await outageAndBack(fleet, '503');
    assert.ok(fleet.members.every((m) => !m.result), 'no agent exited during the outages');
  } finally {
    await fleet.close();
  }
});

test.run();
