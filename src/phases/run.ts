// run (SPEC §8): the reconcile loop against the remote ElementalHost.
import { join } from 'node:path';
import { type AgentContext, PRIVATE_KEY_FILE, workPath } from '../agent';
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
import { HOST_TEMPLATES_FILE, type HostTemplates, TemplateExpander, changedValues, saveHostTemplates, loadHostTemplates } from '../host-templates';
import type { ApiHostPatchRequest } from '../api/types';
import { quote } from '../errors';

export type RunOutcome = 'reset-triggered' | 'rebooting';

/** Loops until a reset is triggered or a reboot is started; otherwise until SIGTERM/SIGINT. */
export async function run(ctx: AgentContext, options: { maxIterations?: number } = {}): Promise<RunOutcome | undefined> {
  log.info(`reconciling host '${ctx.hostname}' every ${formatGoDuration(ctx.config.agent.reconciliation)}`);
  let notFoundExplained = false;
  const templates = new KeptTemplates(ctx);
  // Reconciles that could not reach the server, in a row: they lengthen the wait (back-off).
  let failures = 0;
  for (let i = 0; options.maxIterations === undefined || i < options.maxIterations; i++) {
    if (i > 0) await ctx.wait(failures);
    checkStop(ctx.signal);
    let host;
    try {
      const changes = templates.changes();
      host = await patch(ctx, { phase: Phase.running, ...changes });
      templates.sent(changes);
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

/**
 * The templated labels and annotations this host registered with (SPEC §17), recomputed before
 * each reconcile PATCH: changed values ride along in it, unchanged ones add nothing.
 */
class KeptTemplates {
  private readonly path: string;
  private readonly templates: HostTemplates | undefined;

  constructor(private readonly ctx: AgentContext) {
    const displayPath = workPath(ctx.config, HOST_TEMPLATES_FILE);
    this.path = ctx.root.resolve(displayPath);
    this.templates = loadHostTemplates(this.path, displayPath);
  }

  changes(): Pick<ApiHostPatchRequest, 'labels' | 'annotations'> {
    if (!this.templates) return {};
    try {
      return changedValues(this.templates, new TemplateExpander(this.ctx.readFacts(), this.ctx.config.agent.noSmbios));
    } catch (err) {
      log.warn(`keeping host labels current: ${errorMessage(err)}`);
      return {};
    }
  }

  /** After the PATCH carried `changes`: what the server has now. */
  sent(changes: Pick<ApiHostPatchRequest, 'labels' | 'annotations'>): void {
    if (!this.templates || (!changes.labels && !changes.annotations)) return;
    for (const field of ['labels', 'annotations'] as const) {
      for (const [key, value] of Object.entries(changes[field] ?? {})) {
        log.info(`host ${field.slice(0, -1)} ${quote(key, 63)} updated (its facts changed)`);
        log.debug(`host ${field.slice(0, -1)} ${quote(key, 63)} = ${quote(value, 300)}`);
        this.templates.sent[field][key] = value;
      }
    }
    try {
      saveHostTemplates(this.path, this.templates);
    } catch (err) {
      log.warn(`saving ${workPath(this.ctx.config, HOST_TEMPLATES_FILE)}: ${errorMessage(err)} (the values are sent again next time)`);
    }
  }
}

/** What a 404 on a registered host's PATCH means, and what to do about it. */
function notFoundHint(ctx: AgentContext): string {
  const key = join(ctx.config.agent.workDir, PRIVATE_KEY_FILE);
  return (
    `the server does not know host '${ctx.hostname}' (404): the host was deleted on the server, or this host's name or key ` +
    `do not match the registered host (hostname changed? ${key} from another host?); to register it anew, remove ${key} and run 'elemental-agent register'`
  );
}
