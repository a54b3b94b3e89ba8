// Bootstrap (SPEC §8 run step 4): apply the CAPI bootstrap config and reboot, or, once the
// bootstrap's sentinel file exists, report the host bootstrapped.
import type { AgentContext } from '../agent';
import { AgentError, errorMessage, quote } from '../errors';
import { fileExists } from '../fs';
import { log } from '../log';
import { StopRequested } from '../signals';
import { ConditionType, Message, Phase, Reason, condition, failed, ready } from './conditions';
import { conditionMessage, patch, reportCondition, reportPhase, step } from './common';

/** Created by the bootstrap config on success (CAPI bootstrap contract). */
export const BOOTSTRAP_SENTINEL = '/run/cluster-api/bootstrap-success.complete';

export type BootstrapOutcome = 'bootstrapped' | 'reboot' | 'failed';

export async function bootstrap(ctx: AgentContext): Promise<BootstrapOutcome> {
  await reportPhase(ctx, Phase.bootstrapping);
  try {
    if (fileExists(ctx.root.resolve(BOOTSTRAP_SENTINEL))) {
      log.info(`found ${BOOTSTRAP_SENTINEL}: the host is bootstrapped`);
      // Both prefixes, as in the reference's condition message.
      await step('updating bootstrapped status', () =>
        step('patching bootstrapped status', () => patch(ctx, { bootstrapped: true, condition: ready(ConditionType.bootstrapReady) })),
      );
      return 'bootstrapped';
    }
    const { format, config } = await step('fetching bootstrap config', async () => {
      const answer = await ctx.client.getBootstrap(ctx.hostname);
      // An answer without a config would write an empty bootstrap file and reboot into a host
      // that can never bootstrap ("bootstrap already applied" ever after).
      if (answer.config === undefined || answer.config.length === 0) throw new AgentError('the bootstrap answer has no config');
      return { format: answer.format ?? '', config: answer.config };
    });
    log.info(`applying the ${format ? quote(format, 60) : 'unspecified'} bootstrap config`);
    await step('applying bootstrap config', () => ctx.plugin.bootstrap(format, config));
    await reportCondition(
      ctx,
      condition(ConditionType.bootstrapReady, false, 'Info', Reason.waitingForBootstrap, Message.waitingForBootstrap),
    );
    log.info('rebooting to execute the bootstrap config');
    await ctx.plugin.reboot();
    return 'reboot';
  } catch (err) {
    if (err instanceof StopRequested) throw err;
    log.error(`bootstrapping: ${errorMessage(err)} (retrying)`);
    await reportCondition(ctx, failed(ConditionType.bootstrapReady, Reason.bootstrapFailed, conditionMessage(err)));
    return 'failed';
  }
}
