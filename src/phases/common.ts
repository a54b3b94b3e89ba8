// What every phase does the same way: report phases and conditions, best effort or retried,
// and retry loops that wait one reconciliation period and stop promptly on SIGTERM/SIGINT.
import type { AgentContext } from '../agent';
import type { ApiCondition, ApiHostPatchRequest, ApiHostResponse } from '../api/types';
import { AgentError, errorMessage } from '../errors';
import { log } from '../log';
import { StopRequested, checkStop } from '../signals';

/** An error that no retry can fix: it stops the loop and the command exits with its code. */
export class FatalError extends AgentError {}

// Condition messages are shown in kubectl; keep them readable.
const MAX_CONDITION_MESSAGE = 1000;

export function conditionMessage(err: unknown): string {
  const message = errorMessage(err);
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
 * (e.g. to report a condition, best effort) and waits one reconciliation period.
 * StopRequested and FatalError end the loop.
 */
export async function retry<T>(
  ctx: AgentContext,
  what: string,
  attempt: () => Promise<T>,
  onFailure?: (err: unknown) => Promise<void>,
): Promise<T> {
  for (;;) {
    checkStop(ctx.signal);
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof StopRequested || err instanceof FatalError) throw err;
      log.error(`${what}: ${errorMessage(err)} (retrying)`);
      if (onFailure) await onFailure(err);
      await ctx.wait();
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

/** The JSON a plugin receives for a free-form object; an absent object is `{}`. */
export function pluginJson(value: unknown): string {
  return JSON.stringify(value ?? {});
}
