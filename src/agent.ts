// Start-up shared by register, install, run and reset (SPEC §8): read config → create work
// dir (0700) → load and init the plugin → load or create the identity → build the client →
// current hostname. `reinit` repeats the config-dependent part after registration.
import { join } from 'node:path';
import { type GlobalOptions, startLine } from './options';
import { type AgentConfig, loadConfigFile } from './config';
import { durationToMs, parseDurationText } from './duration';
import { AgentError } from './errors';
import { HostRoot, ensureDir } from './fs';
import { type Host, SystemHost } from './host';
import { log, registerSecret, setDebug } from './log';
import { Identity, PENDING_REGISTRATION_FILE, loadPendingRegistration } from './identity';
import { ElementalClient } from './api/client';
import { loadPlugin } from './plugins';
import type { OsPlugin } from './plugins/types';
import { sleep, stopSignal } from './signals';
import { type HostFacts, readFacts } from './facts';

export const PRIVATE_KEY_FILE = 'private.key';
export const WORK_DIR_MODE = 0o700;

export interface AgentContext {
  options: GlobalOptions;
  root: HostRoot;
  /** The effective config (defaults applied). */
  config: AgentConfig;
  host: Host;
  plugin: OsPlugin;
  identity: Identity;
  /** True when the identity was loaded from <workDir>/private.key (this host registered before). */
  identityFromDisk: boolean;
  /** The name of a registration that was not finalized (<workDir>/pending-registration.json). */
  pendingName?: string | undefined;
  client: ElementalClient;
  /** The current hostname of this host (the registered name after registration). */
  hostname: string;
  signal: AbortSignal;
  /** Reads this machine's facts (SPEC §17), for templated labels and host names. */
  readFacts(): HostFacts;
  /**
   * Waits one reconciliation period (with jitter), longer after `failures` failures in a row
   * (see retryWaitMs); throws StopRequested on SIGTERM/SIGINT.
   */
  wait(failures?: number): Promise<void>;
}

/** Up to 10% random extra wait, so a fleet that lost the API does not come back in lockstep. */
export const JITTER_FRACTION = 0.1;
/** The longest wait of a failure streak: 8 periods, but never more than a period + 5 min. */
export const BACKOFF_CAP_PERIODS = 8;
export const BACKOFF_CAP_EXTRA_MS = 5 * 60_000;

export function reconciliationWaitMs(config: AgentConfig, random: () => number = Math.random, failures = 0): number {
  return retryWaitMs(durationToMs(config.agent.reconciliation), failures, random);
}

/**
 * The wait before the next try. Never shorter than the period: no setting or outage makes an
 * agent ask more often. Routine and after a first failure: the period + up to 10%. From the
 * second failure in a row: full jitter between the period and a ceiling that doubles with each
 * failure (2, 4, 8 periods), capped; an outage that failed a whole fleet at once spreads it
 * over the ceiling instead of bringing it back in lockstep.
 */
export function retryWaitMs(periodMs: number, failures: number, random: () => number = Math.random): number {
  if (failures < 2) return Math.round(periodMs + periodMs * JITTER_FRACTION * random());
  const cap = Math.min(BACKOFF_CAP_PERIODS * periodMs, periodMs + BACKOFF_CAP_EXTRA_MS);
  const ceiling = Math.min(periodMs * 2 ** Math.min(failures - 1, 30), cap);
  return Math.round(periodMs + (ceiling - periodMs) * random());
}

export interface StartOptions {
  host?: Host;
  env?: NodeJS.ProcessEnv;
  /**
   * install, run and reset: refuse at once on a host that never registered (no private.key and
   * no pending registration), before anything is written or sent.
   */
  requireRegistered?: boolean;
  /** The facts of another machine (tests); default: this one's. */
  readFacts?: () => HostFacts;
}

/** The host path of a file of the work dir, as the host names it. */
export function workPath(config: AgentConfig, name: string): string {
  return join(config.agent.workDir, name);
}

export function notRegisteredMessage(config: AgentConfig): string {
  return `this host is not registered (no ${workPath(config, PRIVATE_KEY_FILE)}): run 'elemental-agent register' first`;
}

export async function startAgent(options: GlobalOptions, start: StartOptions = {}): Promise<AgentContext> {
  const root = new HostRoot(options.root);
  const config = await loadConfigFile(root.resolve(options.config), options.config);
  setDebug(options.debug || config.agent.debug);
  registerSecret(config.registration.token);
  log.info(startLine(options, config));
  log.debug(`config loaded from ${options.config}`);
  const host = start.host ?? new SystemHost(root);
  const ctx = {
    options,
    root,
    host,
    signal: stopSignal,
    readFacts: start.readFacts ?? (() => readFacts()),
  } as AgentContext;
  // What can be checked without writing comes first: the plugin choice, the identity, the
  // client's settings (scheme, caCert); then whether this host registered at all.
  ctx.plugin = await loadPlugin(config.agent.osPlugin, root);
  const stored = Identity.load(root.resolve(workPath(config, PRIVATE_KEY_FILE)));
  const pending = loadPendingRegistration(root.resolve(workPath(config, PENDING_REGISTRATION_FILE)));
  ctx.identityFromDisk = stored !== undefined;
  // A pending registration of another key than private.key's (an operator replaced the key)
  // names a host this identity cannot sign for.
  const usable = pending && (!stored || pending.identity.publicKeyPem() === stored.publicKeyPem()) ? pending : undefined;
  ctx.pendingName = usable?.name;
  ctx.identity = stored ?? usable?.identity ?? Identity.generate();
  ctx.config = config;
  ctx.client = buildClient(ctx, start.env);
  if (start.requireRegistered && !stored) {
    if (pending) {
      throw new AgentError(
        `the registration of this host as '${pending.name}' did not finish (no ${workPath(config, PRIVATE_KEY_FILE)}, but ${workPath(config, PENDING_REGISTRATION_FILE)}): run 'elemental-agent register' to complete it`,
      );
    }
    throw new AgentError(notRegisteredMessage(config));
  }
  await applyConfig(ctx, config, ctx.plugin);
  ctx.hostname = await ctx.plugin.getHostname();
  log.debug(`current hostname: ${ctx.hostname}`);
  return ctx;
}

async function applyConfig(ctx: AgentContext, config: AgentConfig, plugin?: OsPlugin): Promise<void> {
  ctx.config = config;
  registerSecret(config.registration.token);
  ctx.wait = (failures = 0) => sleep(reconciliationWaitMs(ctx.config, Math.random, failures), ctx.signal);
  ensureDir(ctx.root.resolve(config.agent.workDir), WORK_DIR_MODE);
  ctx.plugin = plugin ?? (await loadPlugin(config.agent.osPlugin, ctx.root));
  await ctx.plugin.init({
    workDir: config.agent.workDir,
    configPath: ctx.options.config,
    debug: ctx.options.debug || config.agent.debug,
    root: ctx.root,
    host: ctx.host,
  });
}

/** Environment variable overriding the per-request timeout (a Go duration; default 30s). */
export const REQUEST_TIMEOUT_ENV = 'ELEMENTAL_AGENT_REQUEST_TIMEOUT';

function requestTimeoutMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[REQUEST_TIMEOUT_ENV];
  if (!text) return undefined;
  const ns = parseDurationText(text);
  if (ns === undefined || ns <= 0n) {
    throw new AgentError(`${REQUEST_TIMEOUT_ENV}='${text.slice(0, 40)}': invalid duration (use e.g. 5s or 1m)`);
  }
  return Math.max(1, durationToMs(ns));
}

/**
 * The API client a config describes. Constructing it checks the scheme, the trust settings
 * (an unparsable caCert is fatal), the proxy environment and the request timeout, and sends
 * nothing.
 */
export function buildClient(ctx: Pick<AgentContext, 'config' | 'identity' | 'root' | 'signal'>, env?: NodeJS.ProcessEnv): ElementalClient {
  const { registration, agent } = ctx.config;
  return new ElementalClient({
    uri: registration.uri,
    registrationToken: registration.token,
    caCert: registration.caCert || undefined,
    useSystemCertPool: agent.useSystemCertPool,
    insecureSkipTlsVerify: agent.insecureSkipTlsVerify,
    insecureAllowHttp: agent.insecureAllowHttp,
    identity: ctx.identity,
    root: ctx.root,
    timeoutMs: requestTimeoutMs(env),
    env,
    signal: ctx.signal,
  });
}

/** After registration: plugin and client follow the config the server handed out (SPEC §13). */
export async function reinitAgent(ctx: AgentContext, config: AgentConfig, env?: NodeJS.ProcessEnv): Promise<void> {
  setDebug(ctx.options.debug || config.agent.debug);
  await applyConfig(ctx, config);
  ctx.client = buildClient(ctx, env);
}
