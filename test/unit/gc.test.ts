// IdleTrim: when a wait gives memory back, with a fake clock, timers and heap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  IDLE_TRIM_DELAY_MS,
  IDLE_TRIM_FOLLOW_UP_MS,
  IDLE_TRIM_GROWTH_BYTES,
  IDLE_TRIM_MIN_INTERVAL_MS,
  type HeapSize,
  IdleTrim,
  collectGarbage,
} from '../../src/gc';

const MB = 1024 * 1024;

/** A heap that a collection shrinks to `afterCollect`, and timers run by hand. */
function fakeHost(heap: HeapSize, afterCollect: (h: HeapSize, n: number) => HeapSize) {
  const state = { now: 0, heap, collections: 0, prepared: 0, unrefs: 0 };
  const timers = new Map<number, { fn: () => void; at: number }>();
  let nextId = 1;
  const trims: [HeapSize, HeapSize][] = [];
  const trim = new IdleTrim({
    heap: () => ({ ...state.heap }),
    collect: async () => {
      state.collections++;
      state.heap = afterCollect(state.heap, state.collections);
    },
    prepare: () => void state.prepared++,
    now: () => state.now,
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { fn, at: state.now + ms });
      return { unref: () => void state.unrefs++, id } as { unref(): unknown };
    },
    clearTimer: (timer) => void timers.delete((timer as { id: number } | undefined)?.id ?? -1),
    onTrim: (before, after) => void trims.push([before, after]),
  });
  /** Moves the clock by `ms`, running (in order) the timers that come due. */
  const advance = async (ms: number) => {
    const end = state.now + ms;
    for (let guard = 0; guard < 100; guard++) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      state.now = due[1].at;
      due[1].fn();
      await new Promise((r) => setImmediate(r)); // let the async trim finish
    }
    state.now = end;
  };
  return { state, trim, timers, trims, advance };
}

const grown: HeapSize = { heapTotal: 30 * MB, heapUsed: 6 * MB };
const shrinkTo = (total: number, used: number) => (): HeapSize => ({ heapTotal: total * MB, heapUsed: used * MB });

test('a long wait trims a grown heap once, IDLE_TRIM_DELAY_MS into the wait', async () => {
  const f = fakeHost(grown, shrinkTo(6, 4));
  const end = f.trim.duringWait(10_000);
  assert.is(f.state.prepared, 1, 'gc readied as the wait starts');
  assert.is(f.state.unrefs, 1, 'the timer never keeps the process alive');
  await f.advance(IDLE_TRIM_DELAY_MS - 1);
  assert.is(f.state.collections, 0);
  await f.advance(1);
  assert.is(f.state.collections, 1);
  await f.advance(10_000);
  assert.is(f.state.collections, 1, 'no follow-up: the heap shrank');
  end();
  assert.equal(f.trims, [[grown, { heapTotal: 6 * MB, heapUsed: 4 * MB }]]);
});

test('short waits never trim, and never arm a timer', async () => {
  const f = fakeHost(grown, shrinkTo(6, 4));
  f.trim.duringWait(IDLE_TRIM_DELAY_MS + 499)();
  f.trim.duringWait(1);
  assert.is(f.timers.size, 0);
  assert.is(f.state.prepared, 0);
  await f.advance(60_000);
  assert.is(f.state.collections, 0);
});

test('a wait that ends early cancels its trim', async () => {
  const f = fakeHost(grown, shrinkTo(6, 4));
  const end = f.trim.duringWait(10_000);
  await f.advance(1000);
  end();
  assert.is(f.timers.size, 0);
  await f.advance(60_000);
  assert.is(f.state.collections, 0);
});

test('a heap that did not grow by IDLE_TRIM_GROWTH_BYTES is left alone', async () => {
  const f = fakeHost({ heapTotal: 10 * MB, heapUsed: 10 * MB - IDLE_TRIM_GROWTH_BYTES + 1 }, shrinkTo(6, 4));
  assert.is(await f.trim.trimIfGrown(), false);
  assert.is(f.state.collections, 0);
});

test('growth is measured from what was live after the last trim', async () => {
  const f = fakeHost(grown, shrinkTo(8, 3));
  assert.is(await f.trim.trimIfGrown(), true); // live is now 3 MB
  f.state.now += IDLE_TRIM_MIN_INTERVAL_MS;
  // 10 MB committed and 10 MB used: no slack, but 7 MB above what was live.
  f.state.heap = { heapTotal: 10 * MB, heapUsed: 10 * MB };
  assert.is(await f.trim.trimIfGrown(), false);
  f.state.heap = { heapTotal: 3 * MB + IDLE_TRIM_GROWTH_BYTES, heapUsed: 10 * MB };
  assert.is(await f.trim.trimIfGrown(), true);
  assert.is(f.state.collections, 2);
});

test('at most one trim per IDLE_TRIM_MIN_INTERVAL_MS, whatever the heap does', async () => {
  const f = fakeHost(grown, () => grown); // collections free nothing
  assert.is(await f.trim.trimIfGrown(), true);
  f.state.now += IDLE_TRIM_MIN_INTERVAL_MS - 1;
  assert.is(await f.trim.trimIfGrown(), false);
  f.state.now += 1;
  // live after the last trim is 6 MB, the heap 30 MB: grown enough, and the interval is over.
  assert.is(await f.trim.trimIfGrown(), true);
  assert.is(f.state.collections, 2);
});

test('a heap still big after the trim gets one follow-up collection in the same wait', async () => {
  // The first collection frees garbage but V8 keeps its young generation (30 → 28 MB); the
  // second one, IDLE_TRIM_FOLLOW_UP_MS later, shrinks it.
  const f = fakeHost(grown, (_h, n) => (n === 1 ? { heapTotal: 28 * MB, heapUsed: 4 * MB } : { heapTotal: 7 * MB, heapUsed: 4 * MB }));
  const end = f.trim.duringWait(10_000);
  await f.advance(IDLE_TRIM_DELAY_MS);
  assert.is(f.state.collections, 1);
  await f.advance(IDLE_TRIM_FOLLOW_UP_MS - 1);
  assert.is(f.state.collections, 1);
  await f.advance(1);
  assert.is(f.state.collections, 2);
  await f.advance(10_000);
  assert.is(f.state.collections, 2, 'one follow-up at most');
  end();
  assert.equal(f.trims.map(([, after]) => after.heapTotal / MB), [28, 7]);
});

test('the follow-up is cancelled when the wait ends first', async () => {
  const f = fakeHost(grown, shrinkTo(28, 4));
  const end = f.trim.duringWait(IDLE_TRIM_DELAY_MS + 1000);
  await f.advance(IDLE_TRIM_DELAY_MS);
  assert.is(f.state.collections, 1);
  end();
  await f.advance(10_000);
  assert.is(f.state.collections, 1);
});

test('collectGarbage works in this process (gc exposed at run time)', async () => {
  // Garbage that only a collection can free: a big array no longer referenced.
  let junk: number[][] | undefined = Array.from({ length: 2000 }, () => new Array(1000).fill(1));
  const before = process.memoryUsage().heapUsed;
  junk = undefined;
  await collectGarbage();
  assert.is(junk, undefined);
  assert.ok(process.memoryUsage().heapUsed < before - 8 * MB, 'the array (16 MB) was collected');
});

test.run();
