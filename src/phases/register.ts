// register (SPEC §8): registration loop, switch to the server's config, finalize, report.
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { type AgentContext, PRIVATE_KEY_FILE, reinitAgent } from '../agent';
import { ApiError } from '../api/client';
import type { ApiRegistrationResponse } from '../api/types';
import { CONFIG_FILE_MODE, TRUST_KEYS, configFromApi, keepTrust, renderConfig, withDefaults } from '../config';
import { errorMessage } from '../errors';
import { validateHostname } from '../host';
import { log } from '../log';
import { StopRequested } from '../signals';
import { ConditionType, Message, Phase, Reason, condition, failed, ready } from './conditions';
import { FatalError, conditionMessage, patch, reportCondition, reportPhase, retry } from './common';
import { install } from './install';

export const CONFIG_FILE_IN_WORK_DIR = 'config.yaml';
const PRIVATE_KEY_MODE = 0o600;

/**
 * prefix + current hostname, or prefix + a random UUID v4. A current hostname that already
 * carries the prefix (this host registered before) is used as is, so that registering again
 * finds the same host instead of creating "prefix-prefix-name".
 */
export function pickHostname(settings: { useExisting?: boolean; prefix?: string } | undefined, current: string): string {
  const prefix = settings?.prefix ?? '';
  if (!settings?.useExisting) return `${prefix}${randomUUID()}`;
  return prefix && current.startsWith(prefix) ? current : `${prefix}${current}`;
}

interface Registered {
  name: string;
  registration: ApiRegistrationResponse;
}

/**
 * PATCH {} as this host: true when the server knows `name` with our key, false when it does
 * not know it (404, or 403 when `forbiddenMeansAbsent`: the name belongs to another key).
 * Anything else (5xx, timeouts, garbage) is an error and the registration loop retries.
 */
async function probe(ctx: AgentContext, name: string, forbiddenMeansAbsent = false): Promise<boolean> {
  try {
    await ctx.client.patchHost(name, {});
    return true;
  } catch (err) {
    if (err instanceof ApiError && (err.statusCode === 404 || (forbiddenMeansAbsent && err.statusCode === 403))) return false;
    throw err;
  }
}

function isValidHostname(name: string): boolean {
  try {
    validateHostname(name);
    return true;
  } catch {
    return false;
  }
}

/** Step 1: GET registration → pick a name → PATCH {} probe → POST create. Retried forever. */
async function registrationLoop(ctx: AgentContext): Promise<Registered> {
  const pubKey = ctx.identity.publicKeyPem();
  // With a key on disk this host may have registered before (a register interrupted after
  // finalize began): it first looks for itself under its current name, so that running
  // register again does not leave the first host behind as an orphan.
  let ownName = ctx.identityFromDisk && isValidHostname(ctx.hostname) ? ctx.hostname : undefined;
  // A random name is kept across retries, so that a create whose answer was lost is found by
  // the next probe instead of leaving an orphan host behind.
  let randomName: string | undefined;
  return retry(ctx, 'registering', async () => {
    const registration = await ctx.client.getRegistration();
    if (ownName) {
      if (await probe(ctx, ownName, true)) {
        log.info(`found existing host '${ownName}' for this host's key, skipping creation`);
        return { name: ownName, registration };
      }
      ownName = undefined;
    }
    const settings = registration.config?.elemental?.agent?.hostname;
    const name = settings?.useExisting ? pickHostname(settings, ctx.hostname) : (randomName ??= pickHostname(settings, ctx.hostname));
    validateHostname(name);
    log.debug(`selected hostname ${name}`);
    if (await probe(ctx, name)) {
      log.info(`found existing host '${name}', skipping creation`);
      return { name, registration };
    }
    await ctx.client.createHost({
      name,
      annotations: registration.hostAnnotations,
      labels: registration.hostLabels,
      pubKey,
    });
    return { name, registration };
  });
}

export async function register(ctx: AgentContext, options: { install: boolean }): Promise<void> {
  const { name, registration } = await registrationLoop(ctx);
  ctx.hostname = name;
  log.info(`registered as '${name}'`);

  // Step 2: from here on the agent is what the server says it is.
  const elemental = registration.config?.elemental;
  let serverConfig;
  try {
    const trust = keepTrust(configFromApi(elemental?.registration, elemental?.agent), ctx.config);
    serverConfig = trust.config;
    if (trust.kept.length) {
      log.info(`the registration's config sets no TLS trust (${TRUST_KEYS.join(', ')}): keeping this host's ${trust.kept.join(', ')}`);
    }
    await reinitAgent(ctx, withDefaults(serverConfig));
  } catch (err) {
    await reportCondition(ctx, failed(ConditionType.registrationReady, Reason.registrationFailed, conditionMessage(err)));
    throw new FatalError(`finalizing registration: ${errorMessage(err)}`);
  }

  // Step 3: phases, best effort.
  await reportPhase(ctx, Phase.registering);
  await reportPhase(ctx, Phase.finalizingRegistration);

  // Step 4: finalize.
  try {
    await ctx.plugin.persistHostname(name);
    const configText = renderConfig(serverConfig);
    const workDir = ctx.config.agent.workDir;
    const configPaths = [ctx.options.config, join(workDir, CONFIG_FILE_IN_WORK_DIR)];
    const written = new Set<string>();
    for (const path of configPaths) {
      const target = ctx.root.resolve(path);
      if (written.has(resolve(target))) continue;
      written.add(resolve(target));
      await ctx.plugin.persistFile(configText, path, CONFIG_FILE_MODE);
      log.info(`wrote agent config ${path}`);
    }
    await ctx.plugin.persistFile(ctx.identity.privateKeyPem(), join(workDir, PRIVATE_KEY_FILE), PRIVATE_KEY_MODE);
    log.info(`wrote host identity ${join(workDir, PRIVATE_KEY_FILE)}`);
  } catch (err) {
    if (err instanceof StopRequested) throw err;
    await reportCondition(ctx, failed(ConditionType.registrationReady, Reason.registrationFailed, conditionMessage(err)));
    throw new FatalError(`finalizing registration: ${errorMessage(err)}`);
  }

  // Step 5: must reach the server. Step 6: best effort.
  await retry(ctx, 'reporting registration', () => patch(ctx, { condition: ready(ConditionType.registrationReady) }));
  await reportCondition(
    ctx,
    condition(ConditionType.installationReady, false, 'Info', Reason.waitingForInstallation, Message.waitingForInstallation),
  );
  log.info('registration complete');

  if (options.install) await install(ctx);
}
