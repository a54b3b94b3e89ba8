// run (SPEC §8): the reconcile loop against the remote ElementalHost.
import type { AgentContext } from '../agent';
import { formatGoDuration } from '../duration';
import { errorMessage } from '../errors';
import { log } from '../log';
import { StopRequested, checkStop } from '../signals';
import { bootstrap } from './bootstrap';
import { Phase } from './conditions';
import { patch } from './common';
import { IN_PLACE_UPDATE_PENDING, reconcileOsVersion } from './os-version';
import { triggerReset } from './reset';

export type RunOutcome = 'reset-triggered' | 'rebooting';

/** Loops until a reset is triggered or a reboot is started; otherwise until SIGTERM/SIGINT. */
export async function run(ctx: AgentContext, options: { maxIterations?: number } = {}): Promise<RunOutcome | undefined> {
  log.info(`reconciling host '${ctx.hostname}' every ${formatGoDuration(ctx.config.agent.reconciliation)}`);
  for (let i = 0; options.maxIterations === undefined || i < options.maxIterations; i++) {
    if (i > 0) await ctx.wait();
    checkStop(ctx.signal);
    let host;
    try {
      host = await patch(ctx, { phase: Phase.running });
    } catch (err) {
      if (err instanceof StopRequested) throw err;
      log.error(`reconciling: ${errorMessage(err)} (retrying)`);
      continue;
    }
    // Reset is checked before anything else.
    if (host.needsReset) {
      if (await triggerReset(ctx)) return 'reset-triggered';
      continue;
    }
    if (!host.bootstrapped || host.inPlaceUpgrade === IN_PLACE_UPDATE_PENDING) {
      const outcome = await reconcileOsVersion(ctx, host);
      if (outcome === 'reboot') return 'rebooting';
      if (outcome === 'failed') continue;
    }
    if (host.bootstrapReady && !host.bootstrapped) {
      const outcome = await bootstrap(ctx);
      if (outcome === 'reboot') return 'rebooting';
    }
  }
  return undefined;
}
