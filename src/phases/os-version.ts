// OS version reconcile (SPEC §8 run step 3).
import type { AgentContext } from '../agent';
import type { ApiHostResponse } from '../api/types';
import { errorMessage } from '../errors';
import { log } from '../log';
import { StopRequested } from '../signals';
import { ConditionType, Message, Phase, Reason, condition, failed, ready } from './conditions';
import { conditionMessage, patch, pluginJson, reportCondition, reportPhase, step } from './common';

export type OsVersionOutcome = 'reconciled' | 'reboot' | 'failed';

export const IN_PLACE_UPDATE_PENDING = 'pending';
export const IN_PLACE_UPDATE_DONE = 'done';

export async function reconcileOsVersion(ctx: AgentContext, host: ApiHostResponse): Promise<OsVersionOutcome> {
  const inPlaceUpdate = host.inPlaceUpgrade === IN_PLACE_UPDATE_PENDING;
  let rebootNeeded: boolean;
  try {
    rebootNeeded = await step('reconciling osVersion', () => ctx.plugin.reconcileOSVersion(pluginJson(host.osVersionManagement)));
  } catch (err) {
    if (err instanceof StopRequested) throw err;
    log.error(`${errorMessage(err)} (retrying)`);
    await reportCondition(ctx, failed(ConditionType.osVersionReady, Reason.osVersionReconciliationFailed, conditionMessage(err)));
    return 'failed';
  }
  if (rebootNeeded) {
    await reportPhase(ctx, Phase.reconcilingOSVersion);
    await reportCondition(
      ctx,
      condition(ConditionType.osVersionReady, false, 'Info', Reason.waitingForPostReconcileReboot, Message.waitingForPostReconcileReboot),
    );
    log.info('OS version reconciled; rebooting to apply it');
    await ctx.plugin.reboot();
    return 'reboot';
  }
  try {
    await step('updating OSVersionReady=true condition', () =>
      step('reporting condition', () => patch(ctx, { condition: ready(ConditionType.osVersionReady) })),
    );
    if (inPlaceUpdate) await step('updating InPlaceUpgrade done label', () => patch(ctx, { inPlaceUpdate: IN_PLACE_UPDATE_DONE }));
  } catch (err) {
    if (err instanceof StopRequested) throw err;
    log.error(`${errorMessage(err)} (retrying)`);
    return 'failed';
  }
  // Routine while not bootstrapped (every period): only an in-place update is news.
  if (inPlaceUpdate) log.info('in-place update done');
  else log.debug('OS version reconciled');
  return 'reconciled';
}
