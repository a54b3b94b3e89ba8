// run (SPEC §8): the reconcile loop against the remote ElementalHost.
import { join } from 'node:path';
import { type AgentContext, PRIVATE_KEY_FILE } from '../agent';
import { ApiError } from '../api/client';
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
  let notFoundExplained = false;
  // Reconciles that could not reach the server, in a row: they lengthen the wait (back-off).
  let failures = 0;
  for (let i = 0; options.maxIterations === undefined || i < options.maxIterations; i++) {
    if (i > 0) await ctx.wait(failures);
    checkStop(ctx.signal);
    let host;
    try {
      host = await patch(ctx, { phase: Phase.running });
    } catch (err) {
      if (err instanceof StopRequested) throw err;
      failures++;
      log.error(`reconciling: ${errorMessage(err)} (retrying)`);
      // Said once per run of 404s: the retries repeat the line above, not the explanation.
      if (err instanceof ApiError && err.statusCode === 404 && !notFoundExplained) {
        notFoundExplained = true;
        log.warn(notFoundHint(ctx));
      }
      continue;
    }
    notFoundExplained = false;
    failures = 0;
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

/** What a 404 on a registered host's PATCH means, and what to do about it. */
function notFoundHint(ctx: AgentContext): string {
  const key = join(ctx.config.agent.workDir, PRIVATE_KEY_FILE);
  return (
    `the server does not know host '${ctx.hostname}' (404): the host was deleted on the server, or this host's name or key ` +
    `do not match the registered host (hostname changed? ${key} from another host?); to register it anew, remove ${key} and run 'elemental-agent register'`
  );
}
