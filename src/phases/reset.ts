// Reset (SPEC §8): the trigger (from run) and the reset command itself.
import type { AgentContext } from '../agent';
import { ApiError } from '../api/client';
import { errorMessage } from '../errors';
import { log } from '../log';
import { StopRequested } from '../signals';
import { ConditionType, Message, Phase, Reason, condition, failed, ready } from './conditions';
import { conditionMessage, patch, pluginJson, postAction, reportCondition, reportPhase, retry, step, stepFailure } from './common';

/** run step 2. Resolves true when the reset was triggered (run then exits 0). */
export async function triggerReset(ctx: AgentContext): Promise<boolean> {
  await reportPhase(ctx, Phase.triggeringReset);
  try {
    await step('triggering reset', () => ctx.plugin.triggerReset());
  } catch (err) {
    if (err instanceof StopRequested) throw err;
    log.error(`${errorMessage(err)} (retrying)`);
    await reportCondition(ctx, failed(ConditionType.resetReady, Reason.resetFailed, conditionMessage(err)));
    return false;
  }
  await reportCondition(ctx, condition(ConditionType.resetReady, false, 'Info', Reason.waitingForReset, Message.waitingForReset));
  log.info('reset triggered; waiting for the host to be prepared and `reset` to be run');
  return true;
}

export async function reset(ctx: AgentContext): Promise<void> {
  await reportPhase(ctx, Phase.resetting);
  let pluginReset = false;
  let finalPatchSent = false;
  await retry(
    ctx,
    'resetting',
    async () => {
      try {
        await ctx.client.deleteHost(ctx.hostname);
      } catch (err) {
        // The server removes a host once it is reset. A 404 means our final PATCH landed (its
        // answer lost, or an earlier reset run was stopped after it): nothing is left to do on
        // the server, and looping on 404 forever would help nobody.
        if (err instanceof ApiError && err.statusCode === 404) {
          log.warn(
            finalPatchSent
              ? 'the host is already gone from the server: reset complete'
              : `host '${ctx.hostname}' is not registered on the server (already reset, or never registered): nothing left to reset there`,
          );
          return;
        }
        throw stepFailure('marking host for deletion', err);
      }
      if (!pluginReset) {
        const registration = await step('getting remote Registration', () => ctx.client.getRegistration());
        await step('resetting host', () => ctx.plugin.reset(pluginJson(registration.config?.elemental?.reset)));
        pluginReset = true;
      }
      finalPatchSent = true;
      await step('patching host with reset successful', () => patch(ctx, { reset: true, condition: ready(ConditionType.resetReady) }));
    },
    (err) => reportCondition(ctx, failed(ConditionType.resetReady, Reason.resetFailed, conditionMessage(err))),
  );
  log.info('reset complete');
  await postAction(ctx, ctx.config.agent.postReset, 'reset');
}
