// The retry back-off (src/agent.ts retryWaitMs) with an injected random source: its bounds,
// the spread of its jitter, and its cap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKOFF_CAP_EXTRA_MS, BACKOFF_CAP_PERIODS, retryWaitMs } from '../../src/agent';
import { prng } from '../support/prng';

const P = 2000;

test('routine and after one failure: the period plus 0–10 %', () => {
  for (const failures of [0, 1]) {
    assert.is(retryWaitMs(P, failures, () => 0), P);
    assert.is(retryWaitMs(P, failures, () => 0.999999), 2200);
  }
});

test('from the second failure in a row: full jitter between the period and a doubling ceiling', () => {
  const ceilings = [2, 4, 8].map((periods, i) => ({ failures: i + 2, ceiling: periods * P }));
  for (const { failures, ceiling } of ceilings) {
    assert.is(retryWaitMs(P, failures, () => 0), P, 'never shorter than the period');
    assert.is(retryWaitMs(P, failures, () => 0.999999), ceiling);
  }
});

test('the cap: 8 periods, at most a period + 5 min, whatever the streak', () => {
  for (const failures of [5, 10, 100, 10_000]) assert.is(retryWaitMs(P, failures, () => 0.999999), BACKOFF_CAP_PERIODS * P);
  const hour = 3_600_000;
  assert.is(retryWaitMs(hour, 50, () => 0.999999), hour + BACKOFF_CAP_EXTRA_MS);
  assert.is(retryWaitMs(hour, 50, () => 0), hour);
});

test('the jitter spreads a fleet over the whole range, evenly', () => {
  const random = prng(23);
  const samples = Array.from({ length: 10_000 }, () => retryWaitMs(P, 6, random));
  assert.ok(samples.every((ms) => ms >= P && ms <= 8 * P));
  // Ten equal bins between the period and the cap each hold about a tenth.
  const bins = new Array<number>(10).fill(0);
  for (const ms of samples) bins[Math.min(9, Math.floor(((ms - P) / (7 * P)) * 10))]!++;
  assert.ok(bins.every((c) => c > 800 && c < 1200), `bins ${bins.join(' ')}`);
});

test.run();
