import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { durationToMs, formatGoDuration, parseGoDuration } from '../../src/duration';

const S = 1_000_000_000n;

test('parses Go duration strings', () => {
  assert.is(parseGoDuration('10s'), 10n * S);
  assert.is(parseGoDuration('1m30s'), 90n * S);
  assert.is(parseGoDuration('500ms'), 500_000_000n);
  assert.is(parseGoDuration('1h'), 3600n * S);
  assert.is(parseGoDuration('1.5s'), 1_500_000_000n);
  assert.is(parseGoDuration('2h45m0.5s'), (2n * 3600n + 45n * 60n) * S + 500_000_000n);
  assert.is(parseGoDuration('100ns'), 100n);
  assert.is(parseGoDuration('3us'), 3000n);
  assert.is(parseGoDuration('3µs'), 3000n);
  assert.is(parseGoDuration('0'), 0n);
  assert.is(parseGoDuration('-1s'), -S);
  assert.is(parseGoDuration('.5s'), 500_000_000n);
});

test('rejects what Go rejects', () => {
  for (const bad of ['', 'banana', '10', '1x', 's', '1.s.', '10 s', '1m30', '.s', '-', '9999999999999h']) {
    assert.is(parseGoDuration(bad), undefined, bad);
  }
});

test('formats like Duration.String()', () => {
  const cases: [bigint, string][] = [
    [0n, '0s'],
    [10n * S, '10s'],
    [60n * S, '1m0s'],
    [90n * S, '1m30s'],
    [3600n * S, '1h0m0s'],
    [1_500_000_000n, '1.5s'],
    [500_000_000n, '500ms'],
    [1_500_000n, '1.5ms'],
    [1000n, '1µs'],
    [100n, '100ns'],
    [-S, '-1s'],
    [(1n << 63n) - 1n, '2562047h47m16.854775807s'],
  ];
  for (const [ns, text] of cases) assert.is(formatGoDuration(ns), text);
});

test('round-trips through format and parse', () => {
  for (const text of ['10s', '1m30s', '500ms', '1h0m0s', '1.25s', '7h3m2.000000001s']) {
    const ns = parseGoDuration(text)!;
    assert.is(parseGoDuration(formatGoDuration(ns)), ns, text);
  }
});

test('converts to timer milliseconds', () => {
  assert.is(durationToMs(10n * S), 10_000);
  assert.is(durationToMs(1_000_000n), 1);
  assert.is(durationToMs((1n << 62n)), 2_147_483_647);
});

test.run();
