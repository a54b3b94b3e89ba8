// The agent config file (SPEC §3): load, validate, default, and write.
// One shape serves the file on disk and the config the server hands out at registration:
// zero values mean "not set" (as in the reference's Go structs), defaults are applied on load.
import { readFileSync } from 'node:fs';
import { formatGoDuration, parseDurationText } from './duration';
import { AgentError, printable } from './errors';
import { writeFileAtomic, ensureDir } from './fs';
import { toYaml } from './yaml';
import { dirname } from 'node:path';
import type { ApiAgentConfig, ApiRegistrationConfig } from './api/types';

export const DEFAULT_WORK_DIR = '/var/lib/elemental/agent';
export const DEFAULT_RECONCILIATION_NS = 10_000_000_000n;
export const DEFAULT_OS_PLUGIN = 'dummy';
export const CONFIG_FILE_MODE = 0o640;

export interface PostAction {
  powerOff: boolean;
  reboot: boolean;
}

export interface RegistrationSection {
  uri: string;
  caCert: string;
  token: string;
  /** Nanoseconds; informational on the agent side. */
  tokenDuration: bigint;
}

export interface AgentSection {
  workDir: string;
  hostname: { useExisting: boolean; prefix: string };
  noSmbios: boolean;
  debug: boolean;
  osPlugin: string;
  /** Nanoseconds. */
  reconciliation: bigint;
  insecureAllowHttp: boolean;
  insecureSkipTlsVerify: boolean;
  useSystemCertPool: boolean;
  postInstall: PostAction;
  postReset: PostAction;
}

export interface AgentConfig {
  registration: RegistrationSection;
  agent: AgentSection;
}

/** A config with every field at its zero value. */
export function emptyConfig(): AgentConfig {
  return {
    registration: { uri: '', caCert: '', token: '', tokenDuration: 0n },
    agent: {
      workDir: '',
      hostname: { useExisting: false, prefix: '' },
      noSmbios: false,
      debug: false,
      osPlugin: '',
      reconciliation: 0n,
      insecureAllowHttp: false,
      insecureSkipTlsVerify: false,
      useSystemCertPool: false,
      postInstall: { powerOff: false, reboot: false },
      postReset: { powerOff: false, reboot: false },
    },
  };
}

/** Fills the defaults of unset fields (a copy; the input is not changed). */
export function withDefaults(config: AgentConfig): AgentConfig {
  return {
    registration: { ...config.registration },
    agent: {
      ...config.agent,
      workDir: config.agent.workDir || DEFAULT_WORK_DIR,
      osPlugin: config.agent.osPlugin || DEFAULT_OS_PLUGIN,
      reconciliation: config.agent.reconciliation > 0n ? config.agent.reconciliation : DEFAULT_RECONCILIATION_NS,
    },
  };
}

// ---------------------------------------------------------------------------------------
// Validation of untrusted data (the file, or the server's JSON)

class FieldError extends Error {}

type Raw = Record<string, unknown>;

function isMap(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (isMap(value)) return 'a map';
  if (typeof value === 'string') return `'${truncate(value)}'`;
  return `${typeof value === 'bigint' ? 'number' : typeof value} ${String(value)}`;
}

/** For messages: cut, and control characters escaped (the server's values pass here too). */
function truncate(text: string): string {
  return text.length > 60 ? printable(text, 57) : printable(text);
}

function section(raw: Raw, key: string, path: string): Raw {
  const value = raw[key];
  if (value === undefined || value === null) return {};
  if (!isMap(value)) throw new FieldError(`${path}: expected a map, got ${describe(value)}`);
  return value;
}

function str(raw: Raw, key: string, path: string): string {
  const value = raw[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new FieldError(`${path}: expected a string, got ${describe(value)}`);
  return value;
}

function bool(raw: Raw, key: string, path: string): boolean {
  const value = raw[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new FieldError(`${path}: expected true or false, got ${describe(value)}`);
  return value;
}

function duration(raw: Raw, key: string, path: string): bigint {
  const value = raw[key];
  if (value === undefined || value === null) return 0n;
  const hint = 'use a Go duration such as 10s, 1m30s, 500ms, or integer nanoseconds';
  let ns: bigint | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) ns = BigInt(value);
  else if (typeof value === 'bigint') ns = value;
  else if (typeof value === 'string') ns = parseDurationText(value);
  if (ns === undefined) throw new FieldError(`${path}: invalid duration ${describe(value)} (${hint})`);
  if (ns < 0n) throw new FieldError(`${path}: negative duration ${describe(value)} (${hint})`);
  return ns;
}

function postAction(raw: Raw, key: string, path: string): PostAction {
  const s = section(raw, key, path);
  return { powerOff: bool(s, 'powerOff', `${path}.powerOff`), reboot: bool(s, 'reboot', `${path}.reboot`) };
}

/** Checks a registration URI: a URL with http or https scheme. */
export function checkRegistrationUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new FieldError(`registration.uri: '${truncate(uri)}' is not a valid URL (expected https://host[:port]/elemental/v1/namespaces/<ns>/registrations/<name>)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new FieldError(`registration.uri: unknown scheme '${url.protocol.replace(/:$/, '')}': invalid scheme, use 'https' instead`);
  }
}

/** Builds a config from parsed, untrusted data. Throws FieldError naming the key. */
function fromRaw(raw: unknown, requireUri: boolean): AgentConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isMap(raw)) throw new FieldError(`expected a map with 'registration' and 'agent' sections, got ${describe(raw)}`);
  const reg = section(raw, 'registration', 'registration');
  const agent = section(raw, 'agent', 'agent');
  const hostname = section(agent, 'hostname', 'agent.hostname');
  const config: AgentConfig = {
    registration: {
      uri: str(reg, 'uri', 'registration.uri'),
      caCert: str(reg, 'caCert', 'registration.caCert'),
      token: str(reg, 'token', 'registration.token'),
      tokenDuration: duration(reg, 'tokenDuration', 'registration.tokenDuration'),
    },
    agent: {
      workDir: str(agent, 'workDir', 'agent.workDir'),
      hostname: {
        useExisting: bool(hostname, 'useExisting', 'agent.hostname.useExisting'),
        prefix: str(hostname, 'prefix', 'agent.hostname.prefix'),
      },
      noSmbios: bool(agent, 'noSmbios', 'agent.noSmbios'),
      debug: bool(agent, 'debug', 'agent.debug'),
      osPlugin: str(agent, 'osPlugin', 'agent.osPlugin'),
      reconciliation: duration(agent, 'reconciliation', 'agent.reconciliation'),
      insecureAllowHttp: bool(agent, 'insecureAllowHttp', 'agent.insecureAllowHttp'),
      insecureSkipTlsVerify: bool(agent, 'insecureSkipTlsVerify', 'agent.insecureSkipTlsVerify'),
      useSystemCertPool: bool(agent, 'useSystemCertPool', 'agent.useSystemCertPool'),
      postInstall: postAction(agent, 'postInstall', 'agent.postInstall'),
      postReset: postAction(agent, 'postReset', 'agent.postReset'),
    },
  };
  if (config.registration.uri === '') {
    if (requireUri) throw new FieldError('registration.uri: missing (the URI of the ElementalRegistration is required)');
  } else {
    checkRegistrationUri(config.registration.uri);
  }
  if (config.agent.workDir !== '' && !config.agent.workDir.startsWith('/')) {
    throw new FieldError(`agent.workDir: '${truncate(config.agent.workDir)}' must be an absolute path`);
  }
  return config;
}

/**
 * Parses config file text. `displayPath` is the path as the operator gave it, used in errors.
 * Returns the config with defaults applied.
 */
export async function parseConfigText(text: string, displayPath: string): Promise<AgentConfig> {
  const { parseDocument } = await import('./yaml-parse');
  // YAML 1.1 merge keys and anchors are fine; integers stay exact (durations in ns).
  const doc = parseDocument(text, { intAsBigInt: true, prettyErrors: true, uniqueKeys: false });
  // An unknown tag (including the YAML 1.1 ones the bundle leaves out, !!binary, !!set…) would
  // otherwise be a warning and the raw text taken as the value: for a config, refuse it.
  const problem = doc.errors[0] ?? doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (problem) {
    const where = problem.linePos?.[0] ? ` at line ${problem.linePos[0].line}, column ${problem.linePos[0].col}` : '';
    const what = problem.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'syntax error';
    throw new AgentError(`config file '${displayPath}': invalid YAML${where}: ${what}`);
  }
  try {
    return withDefaults(fromRaw(doc.toJS({ maxAliasCount: 100 }), true));
  } catch (err) {
    if (err instanceof FieldError) throw new AgentError(`config file '${displayPath}': ${err.message}`);
    throw new AgentError(`config file '${displayPath}': ${(err as Error).message}`);
  }
}

/** Reads and parses the config file at `path` (already resolved under --root). */
export async function loadConfigFile(path: string, displayPath: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found (pass --config PATH or create it)'
        : code === 'EISDIR'
          ? 'is a directory, expected a YAML file'
          : code === 'EACCES'
            ? 'permission denied'
            : `cannot read: ${code ?? (err as Error).message}`;
    throw new AgentError(`config file '${displayPath}': ${reason}`);
  }
  return parseConfigText(text, displayPath);
}

/** The config the server hands out at registration (not merged with the local file). */
export function configFromApi(registration: ApiRegistrationConfig | undefined, agent: ApiAgentConfig | undefined): AgentConfig {
  try {
    return fromRaw({ registration: registration ?? {}, agent: agent ?? {} }, true);
  } catch (err) {
    if (err instanceof FieldError) throw new AgentError(`registration config from the server: ${err.message}`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Writing

function postActionFields(action: PostAction): Record<string, boolean> | undefined {
  const out: Record<string, boolean> = {};
  if (action.powerOff) out.powerOff = true;
  if (action.reboot) out.reboot = true;
  return Object.keys(out).length ? out : undefined;
}

/** The YAML bytes of a config: SPEC §3 field order, zero fields omitted, durations as Go strings. */
export function renderConfig(config: AgentConfig): string {
  const r = config.registration;
  const a = config.agent;
  const registration: Record<string, unknown> = {};
  if (r.uri) registration.uri = r.uri;
  if (r.caCert) registration.caCert = r.caCert;
  if (r.token) registration.token = r.token;
  if (r.tokenDuration) registration.tokenDuration = formatGoDuration(r.tokenDuration);
  const agent: Record<string, unknown> = {};
  if (a.workDir) agent.workDir = a.workDir;
  if (a.hostname.useExisting || a.hostname.prefix) {
    const hostname: Record<string, unknown> = {};
    if (a.hostname.useExisting) hostname.useExisting = true;
    if (a.hostname.prefix) hostname.prefix = a.hostname.prefix;
    agent.hostname = hostname;
  }
  if (a.noSmbios) agent.noSmbios = true;
  if (a.debug) agent.debug = true;
  if (a.osPlugin) agent.osPlugin = a.osPlugin;
  if (a.reconciliation) agent.reconciliation = formatGoDuration(a.reconciliation);
  if (a.insecureAllowHttp) agent.insecureAllowHttp = true;
  if (a.insecureSkipTlsVerify) agent.insecureSkipTlsVerify = true;
  if (a.useSystemCertPool) agent.useSystemCertPool = true;
  const postInstall = postActionFields(a.postInstall);
  if (postInstall) agent.postInstall = postInstall;
  const postReset = postActionFields(a.postReset);
  if (postReset) agent.postReset = postReset;
  // Go's omitempty on the two struct sections never drops them: both always appear.
  return toYaml({ registration, agent }, { sortKeys: false });
}

/** Writes the config atomically with mode 0640, creating the directory (0755) if needed. */
export function writeConfigFile(path: string, config: AgentConfig): void {
  ensureDir(dirname(path), 0o755);
  writeFileAtomic(path, renderConfig(config), CONFIG_FILE_MODE);
}
