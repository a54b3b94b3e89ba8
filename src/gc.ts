// A full garbage collection on demand, for the places that need it (big response bodies, see
// transport.ts). Node offers no API for it: the V8 flag --expose-gc, set at run time, makes
// `gc` visible in contexts created afterwards, and a throwaway vm context hands it over.
// When that is not possible, collectGarbage() does nothing: memory is then just higher.
// node:v8 and node:vm are loaded on first use: most runs never collect, and every module
// loaded before the first request delays it.

type Gc = () => void;

let gc: Promise<Gc | undefined> | undefined;

async function exposeGc(): Promise<Gc | undefined> {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as Gc;
  try {
    const [{ setFlagsFromString }, { runInNewContext }] = await Promise.all([import('node:v8'), import('node:vm')]);
    setFlagsFromString('--expose-gc');
    const exposed: unknown = runInNewContext('gc');
    return typeof exposed === 'function' ? (exposed as Gc) : undefined;
  } catch {
    return undefined;
  }
}

/** Makes collections possible ahead of time, so that the first one allocates nothing else. */
export function prepareGarbageCollection(): Promise<Gc | undefined> {
  gc ??= exposeGc();
  return gc;
}

/** Runs a full collection (after the current microtasks the first time). Never rejects. */
export function collectGarbage(): Promise<void> {
  return prepareGarbageCollection().then((collect) => collect?.());
}

// ---------------------------------------------------------------------------------------------
// Giving memory back while idle. V8 sizes its heap for the busiest moment it has seen and,
// measured here, keeps that size through any amount of idle time: a young generation grown by
// a burst of requests (or by a day of 10 s reconciles), and old-space pages full of dead
// objects, stay resident until the next full collection, which a quiet agent may not reach
// for days. A full collection in the middle of a long wait, once the allocation rate of the
// last seconds is low, lets V8 shrink both (measured: heap 39 → 5 MB, RSS 81 → 47 MB).

/** How far the heap may grow above what was live after the last collection before a trim. */
export const IDLE_TRIM_GROWTH_BYTES = 8 * 1024 * 1024;
/** A trim runs this long into a wait: V8 shrinks its young generation only when the
 *  allocation rate it measures (over about 5 s) is low. Shorter waits never trim. */
export const IDLE_TRIM_DELAY_MS = 5_500;
/** Delay of the one follow-up collection a trim may need (see IdleTrim.trimIfGrown). */
export const IDLE_TRIM_FOLLOW_UP_MS = 2_000;
/** At most one trim per interval, whatever the heap does (a trim costs a few ms of CPU). */
export const IDLE_TRIM_MIN_INTERVAL_MS = 60_000;

export interface HeapSize {
  heapTotal: number;
  heapUsed: number;
}

export interface IdleTrimDeps {
  heap(): HeapSize;
  collect(): Promise<void>;
  /** Readies `collect` when a trim gets scheduled (loading modules allocates; V8 would count
   *  that allocation when it decides whether it may shrink the heap). */
  prepare(): void;
  now(): number;
  setTimer(fn: () => void, ms: number): { unref?(): unknown };
  clearTimer(timer: unknown): void;
  /** Told what a trim did (the agent logs it at debug level). */
  onTrim?(before: HeapSize, after: HeapSize, ms: number): void;
}

const systemDeps: IdleTrimDeps = {
  heap: () => process.memoryUsage(),
  collect: collectGarbage,
  prepare: () => void prepareGarbageCollection(),
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export class IdleTrim {
  readonly #deps: IdleTrimDeps;
  /** heapUsed right after the last trim: what was live then. */
  #liveAfterTrim: number | undefined;
  #lastTrimAt = -Infinity;
  #running = false;
  /** True from the start of a wait of trimming length to its end. */
  #inWait = false;
  /** The trim (or its follow-up) scheduled in the current wait. */
  #timer: unknown;

  constructor(deps: Partial<IdleTrimDeps> = {}) {
    this.#deps = { ...systemDeps, ...deps };
  }

  /** Called as a wait of `waitMs` starts; returns the function to call when it ends. */
  duringWait(waitMs: number): () => void {
    if (waitMs < IDLE_TRIM_DELAY_MS + 500) return () => {};
    this.#deps.prepare();
    this.#inWait = true;
    this.#schedule(() => void this.trimIfGrown(), IDLE_TRIM_DELAY_MS);
    return () => {
      this.#inWait = false;
      this.#deps.clearTimer(this.#timer);
      this.#timer = undefined;
    };
  }

  #schedule(fn: () => void, ms: number): void {
    const timer = this.#deps.setTimer(fn, ms);
    timer.unref?.(); // a pending trim never keeps the process alive on its own
    this.#timer = timer;
  }

  /**
   * Runs a full collection if the heap grew enough since the last trim; true if it ran. When
   * the young generation stays big after it (V8 still saw the allocation of the step that
   * ended the last collection), one more collection follows IDLE_TRIM_FOLLOW_UP_MS later in
   * the same wait: by then the rate V8 measures is low.
   */
  async trimIfGrown(): Promise<boolean> {
    const { heap, now } = this.#deps;
    if (this.#running || now() - this.#lastTrimAt < IDLE_TRIM_MIN_INTERVAL_MS) return false;
    const before = heap();
    // Before the first trim, heapUsed (live objects plus not yet collected garbage) stands in
    // for the live size: it can only make the agent trim later, never more often.
    const live = this.#liveAfterTrim ?? before.heapUsed;
    if (before.heapTotal - live < IDLE_TRIM_GROWTH_BYTES) return false;
    const after = await this.#collect(before);
    this.#lastTrimAt = now();
    if (after.heapTotal - after.heapUsed >= IDLE_TRIM_GROWTH_BYTES && this.#inWait) {
      this.#schedule(() => void (this.#running || this.#collect(after)), IDLE_TRIM_FOLLOW_UP_MS);
    }
    return true;
  }

  /** One full collection, reported through onTrim; what is live after it is the new base. */
  async #collect(before: HeapSize): Promise<HeapSize> {
    const started = this.#deps.now();
    this.#running = true;
    try {
      await this.#deps.collect();
    } finally {
      this.#running = false;
    }
    const after = this.#deps.heap();
    this.#liveAfterTrim = after.heapUsed;
    this.#deps.onTrim?.(before, after, this.#deps.now() - started);
    return after;
  }
}
