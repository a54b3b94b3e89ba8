// register (SPEC §8): registration loop, switch to the server's config, finalize, report.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type AgentContext, PRIVATE_KEY_FILE, reinitAgent, workPath } from '../agent';
import { ApiError } from '../api/client';
import type { ApiRegistrationResponse } from '../api/types';
import { type AgentConfig, CONFIG_FILE_MODE, TRUST_KEYS, configFromApi, keepTrust, renderConfigChecked, withDefaults } from '../config';
import { AgentError, errorMessage } from '../errors';
import { PENDING_REGISTRATION_FILE, removePendingRegistration, savePendingRegistration } from '../identity';
import { validateHostname } from '../host';
import { log } from '../log';
import { StopRequested } from '../signals';
import { ConditionType, Message, Phase, Reason, condition, failed, ready } from './conditions';
import { FatalError, conditionMessage, patch, reportCondition, reportPhase, retry } from './common';
import { install } from './install';
import { HOST_TEMPLATES_FILE, type HostTemplates, TemplateExpander, isTemplate, saveHostTemplates, templatedOnly } from '../host-templates';
import type { StringMap } from '../api/types';

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
  /** The labels and annotations the POST carried; none when the host existed already. */
  sent: HostTemplates['sent'];
}

interface Expanded {
  prefix: string | undefined;
  labels: StringMap | undefined;
  annotations: StringMap | undefined;
}

/**
 * The registration's templated values for this machine (SPEC §17). An unknown variable is a
 * mistake in the ElementalRegistration that no retry fixes: it ends the command.
 */
function expandRegistration(ctx: AgentContext, registration: ApiRegistrationResponse): Expanded {
  const agent = registration.config?.elemental?.agent;
  const prefix = agent?.hostname?.prefix;
  const templated = [prefix ?? '', ...Object.values(registration.hostLabels ?? {}), ...Object.values(registration.hostAnnotations ?? {})];
  if (!templated.some(isTemplate)) return { prefix, labels: registration.hostLabels, annotations: registration.hostAnnotations };
  const expander = new TemplateExpander(ctx.readFacts(), agent?.noSmbios ?? ctx.config.agent.noSmbios);
  try {
    return {
      prefix: prefix === undefined ? undefined : expander.expand(prefix, 'hostname', 'agent.hostname.prefix').value,
      labels: expander.expandMap(registration.hostLabels, 'label'),
      annotations: expander.expandMap(registration.hostAnnotations, 'annotation'),
    };
  } catch (err) {
    throw new FatalError(`the registration's templates: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * PATCH {} as this host: 'found' when the server knows `name` with our key, 'absent' when it does
 * not know it (404), 'taken' when `forbiddenMeansTaken` and the name belongs to another key (403).
 * Anything else (5xx, timeouts, garbage) is an error and the registration loop retries.
 */
async function probe(ctx: AgentContext, name: string, forbiddenMeansTaken = false): Promise<'found' | 'absent' | 'taken'> {
  try {
    await ctx.client.patchHost(name, {});
    return 'found';
  } catch (err) {
    if (err instanceof ApiError && err.statusCode === 404) return 'absent';
    if (err instanceof ApiError && forbiddenMeansTaken && err.statusCode === 403) return 'taken';
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

/** Where the pending registration of this config's work dir is, on this machine. */
function pendingPath(ctx: AgentContext): string {
  return ctx.root.resolve(workPath(ctx.config, PENDING_REGISTRATION_FILE));
}

/** Step 1: GET registration → pick a name → PATCH {} probe → POST create. Retried forever. */
async function registrationLoop(ctx: AgentContext): Promise<Registered> {
  const pubKey = ctx.identity.publicKeyPem();
  // Names this host may already have on the server, looked for first: a registration that
  // was not finalized (killed between the POST and finalize, SPEC §4), then, with a key on
  // disk, the current name (a register interrupted after finalize began). Adopting them is
  // what keeps a rerun from leaving the first host behind as an orphan.
  const own = [ctx.pendingName, ctx.identityFromDisk ? ctx.hostname : undefined].filter(
    (name, i, all): name is string => name !== undefined && isValidHostname(name) && all.indexOf(name) === i,
  );
  // A random name is kept across retries, so that a create whose answer was lost is found by
  // the next probe instead of leaving an orphan host behind.
  let randomName: string | undefined;
  return retry(ctx, 'registering', async () => {
    const registration = await ctx.client.getRegistration();
    const expanded = expandRegistration(ctx, registration);
    const none = { labels: {}, annotations: {} };
    while (own.length > 0) {
      const candidate = own[0]!;
      const found = await probe(ctx, candidate, true);
      if (found === 'found') {
        log.info(`found existing host '${candidate}' for this host's key, skipping creation`);
        return { name: candidate, registration, sent: none };
      }
      own.shift();
      // A pending name the server does not know yet: the POST never arrived; create it.
      if (found === 'absent' && candidate === ctx.pendingName) randomName ??= candidate;
    }
    const hostnameSettings = registration.config?.elemental?.agent?.hostname;
    const settings = hostnameSettings && { ...hostnameSettings, prefix: expanded.prefix };
    const name = settings?.useExisting ? pickHostname(settings, ctx.hostname) : (randomName ??= pickHostname(settings, ctx.hostname));
    validateHostname(name);
    log.debug(`selected hostname ${name}`);
    if ((await probe(ctx, name)) === 'found') {
      log.info(`found existing host '${name}', skipping creation`);
      return { name, registration, sent: none };
    }
    // Persisted before the POST: if the agent dies before finalize, the next register adopts
    // the host this POST creates.
    if (ctx.pendingName !== name) {
      savePendingRegistration(pendingPath(ctx), { name, identity: ctx.identity });
      ctx.pendingName = name;
      log.debug(`pending registration as '${name}' saved`);
    }
    await ctx.client.createHost({
      name,
      annotations: expanded.annotations,
      labels: expanded.labels,
      pubKey,
    });
    return { name, registration, sent: { labels: expanded.labels ?? {}, annotations: expanded.annotations ?? {} } };
  });
}

/** An error of one finalize step, with the reference's prefix (SPEC §8). */
async function step(prefix: string, action: () => unknown): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof StopRequested) throw err;
    throw new AgentError(`${prefix}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Phase `Finalizing Registration` (best effort), then step 4: the plugin sets the hostname; the
 * config goes to the --config path and to <workDir>/config.yaml; the identity to
 * <workDir>/private.key. On failure: RegistrationReady False/Error/RegistrationFailed with the
 * failed step's prefix (best effort), and a FatalError (exit 1).
 */
export async function finalizeRegistration(ctx: AgentContext, name: string, config: AgentConfig): Promise<void> {
  await reportPhase(ctx, Phase.finalizingRegistration);
  try {
    await step(`persisting hostname '${name}'`, () => ctx.plugin.persistHostname(name));
    const workDir = ctx.config.agent.workDir;
    const configPaths = [ctx.options.config, join(workDir, CONFIG_FILE_IN_WORK_DIR)];
    const written = new Set<string>();
    let configText: string | undefined;
    for (const path of configPaths) {
      const target = ctx.root.resolve(path);
      if (written.has(resolve(target))) continue;
      written.add(resolve(target));
      await step(`persisting agent config file '${path}'`, async () => {
        configText ??= await renderConfigChecked(config);
        return ctx.plugin.persistFile(configText, path, CONFIG_FILE_MODE);
      });
      log.info(`wrote agent config ${path}`);
    }
    const keyPath = join(workDir, PRIVATE_KEY_FILE);
    await step(`persisting private key file '${keyPath}'`, () => ctx.plugin.persistFile(ctx.identity.privateKeyPem(), keyPath, PRIVATE_KEY_MODE));
    log.info(`wrote host identity ${keyPath}`);
  } catch (err) {
    if (err instanceof StopRequested) throw err;
    await reportCondition(ctx, failed(ConditionType.registrationReady, Reason.registrationFailed, conditionMessage(err)));
    throw new FatalError(`finalizing registration: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * <workDir>/host-templates.json: the templated labels and annotations and what was sent for
 * them, for `run` to keep current (SPEC §17). A registration without templates removes it.
 */
function keepTemplates(ctx: AgentContext, registration: ApiRegistrationResponse, sent: HostTemplates['sent']): void {
  const labels = templatedOnly(registration.hostLabels);
  const annotations = templatedOnly(registration.hostAnnotations);
  const path = ctx.root.resolve(workPath(ctx.config, HOST_TEMPLATES_FILE));
  if (Object.keys(labels).length + Object.keys(annotations).length === 0) {
    rmSync(path, { force: true });
    return;
  }
  const pick = (values: StringMap, keys: StringMap) => Object.fromEntries(Object.keys(keys).filter((k) => k in values).map((k) => [k, values[k]!]));
  saveHostTemplates(path, { labels, annotations, sent: { labels: pick(sent.labels, labels), annotations: pick(sent.annotations, annotations) } });
  log.debug(`templated labels and annotations kept in ${workPath(ctx.config, HOST_TEMPLATES_FILE)}`);
}

export async function register(ctx: AgentContext, options: { install: boolean }): Promise<void> {
  const { name, registration, sent } = await registrationLoop(ctx);
  ctx.hostname = name;
  log.info(`registered as '${name}'`);
  const localPending = pendingPath(ctx);

  // Step 2: from here on the agent is what the server says it is.
  const elemental = registration.config?.elemental;
  let serverConfig: AgentConfig;
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
  // The server's config may move the work dir: the pending registration moves along before
  // the config that names the new work dir is written, so a rerun still finds it.
  const pendingPaths = [...new Set([localPending, pendingPath(ctx)])];
  if (ctx.pendingName && pendingPaths.length > 1) savePendingRegistration(pendingPaths[1]!, { name: ctx.pendingName, identity: ctx.identity });

  // Steps 3 and 4: phases (best effort) and finalize; then private.key says "registered" and
  // the pending registration has served.
  await reportPhase(ctx, Phase.registering);
  await finalizeRegistration(ctx, name, serverConfig);
  for (const path of pendingPaths) removePendingRegistration(path);
  ctx.pendingName = undefined;
  keepTemplates(ctx, registration, sent);

  // Step 5: must reach the server. Step 6: best effort.
  await retry(ctx, 'reporting registration', () => patch(ctx, { condition: ready(ConditionType.registrationReady) }));
  await reportCondition(
    ctx,
    condition(ConditionType.installationReady, false, 'Info', Reason.waitingForInstallation, Message.waitingForInstallation),
  );
  log.info('registration complete');

  if (options.install) await install(ctx);
}
