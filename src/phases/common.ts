// What every phase does the same way: report phases and conditions, best effort or retried,
// and retry loops that wait one reconciliation period and stop promptly on SIGTERM/SIGINT.
import type { AgentContext } from '../agent';
import type { ApiCondition, ApiHostPatchRequest, ApiHostResponse } from '../api/types';
import { AgentError, LocalDetailError, errorMessage } from '../errors';
import { log } from '../log';
import { StopRequested, checkStop } from '../signals';

/** An error that no retry can fix: it stops the loop and the command exits with its code. */
export class FatalError extends AgentError {}

/**
 * A failed step of a phase, worded as the reference agent words it: "<step>: <cause>", e.g.
 * "installing host: …". Condition messages carry it, and operators alert on it (SPEC §8).
 */
export class StepError extends AgentError {
  constructor(stepName: string, cause: unknown) {
    super(`${stepName}: ${errorMessage(cause)}`, { cause });
    this.name = 'StepError';
  }
}

/** `err` as a failure of `stepName`; SIGTERM/SIGINT and fatal errors pass through unchanged. */
export function stepFailure(stepName: string, err: unknown): unknown {
  return err instanceof StopRequested || err instanceof FatalError ? err : new StepError(stepName, err);
}

/** Runs one step of a phase; a failure is rethrown as a StepError named after the step. */
export async function step<T>(stepName: string, action: () => T | Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw stepFailure(stepName, err);
  }
}

// Condition messages are shown in kubectl; keep them readable.
const MAX_CONDITION_MESSAGE = 1000;

export function conditionMessage(err: unknown): string {
  const message = err instanceof LocalDetailError ? err.forServer : errorMessage(err);
  return message.length > MAX_CONDITION_MESSAGE ? `${message.slice(0, MAX_CONDITION_MESSAGE - 3)}...` : message;
}

/** PATCH the host this agent is; throws on failure. */
export function patch(ctx: AgentContext, request: ApiHostPatchRequest): Promise<ApiHostResponse> {
  checkStop(ctx.signal);
  return ctx.client.patchHost(ctx.hostname, request);
}

/** PATCH, logging a failure and going on (SPEC "best effort"). */
export async function patchBestEffort(ctx: AgentContext, request: ApiHostPatchRequest, what: string): Promise<void> {
  try {
    await patch(ctx, request);
  } catch (err) {
    if (err instanceof StopRequested) throw err;
    log.warn(`reporting ${what}: ${errorMessage(err)}`);
  }
}

export function reportPhase(ctx: AgentContext, phase: string): Promise<void> {
  log.info(`phase: ${phase}`);
  return patchBestEffort(ctx, { phase }, `phase '${phase}'`);
}

export function reportCondition(ctx: AgentContext, condition: ApiCondition): Promise<void> {
  return patchBestEffort(ctx, { condition }, `condition ${condition.type}=${condition.status}${condition.reason ? ` (${condition.reason})` : ''}`);
}

/**
 * Runs `attempt` until it succeeds: after each failure logs one line, calls `onFailure`
 * (e.g. to report a condition, best effort) and waits one reconciliation period (longer, with
 * full jitter, from the second failure in a row: retryWaitMs). StopRequested and FatalError end
 * the loop.
 */
export async function retry<T>(
  ctx: AgentContext,
  what: string,
  attempt: () => Promise<T>,
  onFailure?: (err: unknown) => Promise<void>,
): Promise<T> {
  for (let failures = 1; ; failures++) {
    checkStop(ctx.signal);
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof StopRequested || err instanceof FatalError) throw err;
      log.error(`${what}: ${errorMessage(err)} (retrying)`);
      if (onFailure) await onFailure(err);
      await ctx.wait(failures);
    }
  }
}

/** The post action of install/reset: powerOff wins over reboot (SPEC §8). */
export async function postAction(ctx: AgentContext, action: { powerOff: boolean; reboot: boolean }, after: string): Promise<void> {
  if (action.powerOff) {
    log.info(`powering off after ${after}`);
    await ctx.plugin.powerOff();
  } else if (action.reboot) {
    log.info(`rebooting after ${after}`);
    await ctx.plugin.reboot();
  }
}

/** Go's string order (UTF-8 bytes, i.e. code points); JS compares UTF-16 units, which differ above U+D7FF. */
function goStringCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (astral code points) sort after U+E000-U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Keys JS objects always list first, in numeric order, whatever the insertion order. */
const ARRAY_INDEX = /^(0|[1-9]\d{0,9})$/;
const GO_ESCAPED = /[<>&\u2028\u2029]/;
const GO_ESCAPED_ALL = new RegExp(GO_ESCAPED.source, 'g');

/**
 * The JSON a plugin receives for a free-form object, with the bytes the reference passes (its
 * json.Marshal of a map[string]RawExtension): top-level keys in Go's order, compact, and `<`,
 * `>`, `&`, U+2028, U+2029 as \u escapes. Nested values keep the server's order. An absent
 * object is `{}` (the reference passes `null`, SPEC §13). Values are not copied: megabytes of
 * osVersionManagement become one string, as with a plain JSON.stringify.
 */
export function pluginJson(value: unknown): string {
  if (value === undefined || value === null) return '{}';
  let json: string;
  const record = value as Record<string, unknown>;
  const keys = typeof value === 'object' && !Array.isArray(value) ? Object.keys(record) : [];
  if (keys.every((key, i) => i === 0 || goStringCompare(keys[i - 1]!, key) < 0)) {
    json = JSON.stringify(value); // already in order (a Go server sends them so)
  } else {
    const sorted = [...keys].sort(goStringCompare);
    if (sorted.some((key) => ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1)) {
      // An object would list these first: write the members one by one.
      json = `{${sorted.map((key) => `${JSON.stringify(key)}:${JSON.stringify(record[key])}`).join(',')}}`;
    } else {
      const inOrder = Object.create(null) as Record<string, unknown>; // so that "__proto__" stays a key
      for (const key of sorted) inOrder[key] = record[key];
      json = JSON.stringify(inOrder);
    }
  }
  return GO_ESCAPED.test(json) ? json.replace(GO_ESCAPED_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}
