// The agent config file (SPEC §3): load, validate, default, and write.
// One shape serves the file on disk and the config the server hands out at registration:
// zero values mean "not set" (as in the reference's Go structs), defaults are applied on load.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { formatGoDuration, parseDurationText } from './duration';
import { editDistance } from './edit-distance';
import { AgentError, printable } from './errors';
import { log } from './log';
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

/** A period shorter than this is raised to it (SPEC §3): no typo may flood the API. */
export const MIN_RECONCILIATION_NS = 1_000_000_000n;
/**
 * Lowers that floor (a Go duration), for test suites and demos that reconcile every 100 ms
 * against their own stand-in server. Never needed on a real host.
 */
export const MIN_RECONCILIATION_ENV = 'ELEMENTAL_AGENT_MIN_RECONCILIATION';

function reconciliationFloor(env: NodeJS.ProcessEnv = process.env): bigint {
  const text = env[MIN_RECONCILIATION_ENV];
  if (text === undefined || text === '') return MIN_RECONCILIATION_NS;
  const ns = parseDurationText(text);
  if (ns === undefined || ns <= 0n) throw new AgentError(`${MIN_RECONCILIATION_ENV}='${truncate(text)}': invalid duration (use e.g. 100ms)`);
  return ns;
}

/** The known keys, as the reference's structs spell them; `null` marks a leaf. */
type Schema = { readonly [key: string]: Schema | null };
const POST_ACTION: Schema = { powerOff: null, reboot: null };
const SCHEMA: Schema = {
  registration: { uri: null, caCert: null, tokenDuration: null, token: null },
  agent: {
    workDir: null,
    hostname: { useExisting: null, prefix: null },
    noSmbios: null,
    debug: null,
    osPlugin: null,
    reconciliation: null,
    insecureAllowHttp: null,
    insecureSkipTlsVerify: null,
    useSystemCertPool: null,
    postInstall: POST_ACTION,
    postReset: POST_ACTION,
  },
};

/** Every known key as [parent path, key] ('' for the top level). */
const KNOWN_KEYS: [string, string][] = [];
(function collect(schema: Schema, parent: string) {
  for (const [key, child] of Object.entries(schema)) {
    KNOWN_KEYS.push([parent, key]);
    if (child) collect(child, dotted(parent, key));
  }
})(SCHEMA, '');

function dotted(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/**
 * The known key closest to an unknown one: a near spelling in the same section, or the same
 * name in another section (a key put under the wrong parent). Undefined when nothing is close.
 */
export function closestKnownKey(parent: string, key: string): string | undefined {
  const name = key.toLowerCase();
  const allowed = name.length <= 4 ? 1 : name.length <= 8 ? 2 : 3;
  let best: { path: string; score: number } | undefined;
  for (const [knownParent, known] of KNOWN_KEYS) {
    // Another section costs 2: `workDir` at the top level is agent.workDir.
    const score = editDistance(name, known.toLowerCase()) + (knownParent.toLowerCase() === parent.toLowerCase() ? 0 : 2);
    if (score <= allowed && (!best || score < best.score)) best = { path: dotted(knownParent, known), score };
  }
  return best?.path;
}

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

/**
 * One map of the config with its keys matched case-insensitively, as the reference's viper
 * (and Go's encoding/json, for the server's config) match them. Unknown keys and keys given
 * twice in different cases become warnings.
 */
class Section {
  readonly #entries = new Map<string, unknown>();

  constructor(raw: Raw, readonly path: string, schema: Schema, readonly warnings: string[]) {
    const known = new Map(Object.keys(schema).map((key) => [key.toLowerCase(), key]));
    const seen = new Map<string, string>();
    for (const key of Object.keys(raw)) {
      const lower = key.toLowerCase();
      const canonical = known.get(lower);
      if (canonical === undefined) {
        const suggestion = closestKnownKey(path, key);
        warnings.push(`${dotted(path, key)}: unknown key${suggestion ? ` (did you mean ${suggestion}?)` : ''}`);
        continue;
      }
      const earlier = seen.get(lower);
      if (earlier !== undefined) warnings.push(`${dotted(path, key)}: the same key as ${dotted(path, earlier)} (keys are case-insensitive); the last one is used`);
      seen.set(lower, key);
      this.#entries.set(canonical, raw[key]);
    }
  }

  /** The value of a known key (by its canonical name). */
  value(key: string): unknown {
    return this.#entries.get(key);
  }

  where(key: string): string {
    return dotted(this.path, key);
  }

  section(key: string): Section {
    const value = this.value(key);
    const schema = SCHEMA_AT.get(this.where(key)) ?? {};
    if (value === undefined || value === null) return new Section({}, this.where(key), schema, this.warnings);
    if (!isMap(value)) throw new FieldError(`${this.where(key)}: expected a map, got ${describe(value)}`);
    return new Section(value, this.where(key), schema, this.warnings);
  }

  str(key: string): string {
    const value = this.value(key);
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw new FieldError(`${this.where(key)}: expected a string, got ${describe(value)}`);
    return value;
  }

  bool(key: string): boolean {
    const value = this.value(key);
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') throw new FieldError(`${this.where(key)}: expected true or false, got ${describe(value)}`);
    return value;
  }

  duration(key: string): bigint {
    const value = this.value(key);
    if (value === undefined || value === null) return 0n;
    const path = this.where(key);
    const hint = 'use a Go duration such as 10s, 1m30s, 500ms, or integer nanoseconds';
    let ns: bigint | undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value)) ns = BigInt(value);
    else if (typeof value === 'bigint') ns = value;
    else if (typeof value === 'string') ns = parseDurationText(value);
    if (ns === undefined) throw new FieldError(`${path}: invalid duration ${describe(value)} (${hint})`);
    if (ns < 0n) throw new FieldError(`${path}: negative duration ${describe(value)} (${hint})`);
    return ns;
  }

  postAction(key: string): PostAction {
    const s = this.section(key);
    return { powerOff: s.bool('powerOff'), reboot: s.bool('reboot') };
  }
}

/** The schema of each section, by its dotted path. */
const SCHEMA_AT = new Map<string, Schema>();
(function collect(schema: Schema, path: string) {
  SCHEMA_AT.set(path, schema);
  for (const [key, child] of Object.entries(schema)) if (child) collect(child, dotted(path, key));
})(SCHEMA, '');

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

/** A config and what was worth a warning in it (unknown keys, a raised reconciliation). */
export interface ParsedConfig {
  config: AgentConfig;
  /** One line each, without the file's name. */
  warnings: string[];
}

/** Builds a config from parsed, untrusted data. Throws FieldError naming the key. */
function fromRaw(raw: unknown, requireUri: boolean): ParsedConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isMap(raw)) throw new FieldError(`expected a map with 'registration' and 'agent' sections, got ${describe(raw)}`);
  const warnings: string[] = [];
  const top = new Section(raw, '', SCHEMA, warnings);
  const reg = top.section('registration');
  const agent = top.section('agent');
  const hostname = agent.section('hostname');
  const config: AgentConfig = {
    registration: {
      uri: reg.str('uri'),
      caCert: reg.str('caCert'),
      token: reg.str('token'),
      tokenDuration: reg.duration('tokenDuration'),
    },
    agent: {
      workDir: agent.str('workDir'),
      hostname: { useExisting: hostname.bool('useExisting'), prefix: hostname.str('prefix') },
      noSmbios: agent.bool('noSmbios'),
      debug: agent.bool('debug'),
      osPlugin: agent.str('osPlugin'),
      reconciliation: agent.duration('reconciliation'),
      insecureAllowHttp: agent.bool('insecureAllowHttp'),
      insecureSkipTlsVerify: agent.bool('insecureSkipTlsVerify'),
      useSystemCertPool: agent.bool('useSystemCertPool'),
      postInstall: agent.postAction('postInstall'),
      postReset: agent.postAction('postReset'),
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
  // 0 is "not set" (the 10 s default); anything else under 1 s is a slip (10 = 10 ns).
  const period = config.agent.reconciliation;
  const floor = reconciliationFloor();
  if (period > 0n && period < floor) {
    const raw = agent.value('reconciliation');
    const integer = typeof raw !== 'string' || /^\d+$/.test(raw);
    const min = formatGoDuration(floor);
    warnings.push(`agent.reconciliation: ${formatGoDuration(period)} is under ${min}, raised to ${min}${integer ? ' (an integer is nanoseconds: write 10s for ten seconds)' : ''}`);
    config.agent.reconciliation = floor;
  }
  return { config, warnings };
}

/**
 * Parses config file text without logging. `displayPath` is the path as the operator gave it,
 * used in errors and warnings. Returns the config with defaults applied, and the warnings.
 */
export async function parseConfig(text: string, displayPath: string): Promise<ParsedConfig> {
  const raw = await parseYaml(text, displayPath);
  try {
    const parsed = fromRaw(raw, true);
    return { config: withDefaults(parsed.config), warnings: parsed.warnings.map((w) => `config file '${displayPath}': ${w}`) };
  } catch (err) {
    if (err instanceof FieldError) throw new AgentError(`config file '${displayPath}': ${err.message}`);
    throw new AgentError(`config file '${displayPath}': ${(err as Error).message}`);
  }
}

/**
 * How the config is read: as Go's yaml.v3 reads the reference agent's config. YAML 1.2 core
 * schema whatever `%YAML` says (yaml.v3 ignores the directive: `yes` is a string, `0777` the
 * integer 777), `<<` merge keys, integers exact (durations in ns), a key given twice is the last
 * one. resolveKnownTags off: the YAML 1.1 tags (!!binary, !!set, !!omap, !!pairs, !!timestamp)
 * stay unresolved, and an unresolved tag is refused below rather than read as its raw text.
 */
const YAML_OPTIONS = { schema: 'core', merge: true, resolveKnownTags: false, intAsBigInt: true, uniqueKeys: false, prettyErrors: false } as const;
/** Anchors and aliases are fine; a "billion laughs" is not. */
const MAX_ALIAS_COUNT = 100;

/** The data of a YAML config text; an AgentError (one line, with line and column) if it is not a config's YAML. */
export async function parseYaml(text: string, displayPath: string): Promise<unknown> {
  const { LineCounter, isAlias, isCollection, parseDocument, visit } = await import('yaml');
  const invalid = (offset: number, message: string) => {
    const { line, col } = lineCounter.linePos(offset);
    return new AgentError(`config file '${displayPath}': invalid YAML at line ${line}, column ${col}: ${message.split('\n')[0]}`);
  };
  const lineCounter = new LineCounter();
  try {
    const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter });
    const problem = doc.errors[0] ?? doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
    if (problem) throw invalid(problem.pos[0], problem.message);
    // A JS object has no collection keys: the library would write "[a, b]" as the key's text.
    visit(doc, {
      Pair(_, pair) {
        const key = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
        if (isCollection(key)) throw invalid((pair.key as { range?: [number] }).range?.[0] ?? 0, 'a mapping key must be a scalar, not a collection');
      },
    });
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof AgentError) throw err;
    // The library recurses per level: tens of thousands of nested `[` end its stack.
    if (err instanceof RangeError) throw new AgentError(`config file '${displayPath}': nested too deeply to be a config`);
    throw new AgentError(`config file '${displayPath}': ${(err as Error).message}`);
  }
}

function logWarnings(parsed: ParsedConfig): AgentConfig {
  for (const warning of parsed.warnings) log.warn(warning);
  return parsed.config;
}

/** Parses config file text (see parseConfig); logs its warnings, one WARN line each. */
export async function parseConfigText(text: string, displayPath: string): Promise<AgentConfig> {
  return logWarnings(await parseConfig(text, displayPath));
}

/** Reads and parses the config file at `path` (already resolved under --root), without logging. */
export async function readConfig(path: string, displayPath: string): Promise<ParsedConfig> {
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
  return parseConfig(text, displayPath);
}

/** Reads and parses the config file at `path`; logs its warnings, one WARN line each. */
export async function loadConfigFile(path: string, displayPath: string): Promise<AgentConfig> {
  return logWarnings(await readConfig(path, displayPath));
}

const FROM_SERVER = 'registration config from the server';

/** The config the server hands out at registration (not merged with the local file), and its warnings. */
export function parseServerConfig(registration: ApiRegistrationConfig | undefined, agent: ApiAgentConfig | undefined): ParsedConfig {
  try {
    const parsed = fromRaw({ registration: registration ?? {}, agent: agent ?? {} }, true);
    return { config: parsed.config, warnings: parsed.warnings.map((w) => `${FROM_SERVER}: ${w}`) };
  } catch (err) {
    if (err instanceof FieldError) throw new AgentError(`${FROM_SERVER}: ${err.message}`);
    throw err;
  }
}

/** The config the server hands out at registration; logs its warnings, one WARN line each. */
export function configFromApi(registration: ApiRegistrationConfig | undefined, agent: ApiAgentConfig | undefined): AgentConfig {
  return logWarnings(parseServerConfig(registration, agent));
}

/** The trust settings a host registered with that it keeps (SPEC §6), by their config keys. */
export const TRUST_KEYS = ['registration.caCert', 'agent.useSystemCertPool', 'agent.insecureSkipTlsVerify'] as const;

/**
 * Trust survives registration (SPEC §6): the reference server leaves `caCert` empty unless its
 * default CA is configured. When the server's config sets none of the three trust settings,
 * the local ones are kept in it. Returns the config to use and the keys that were kept (none
 * when the server set one, or when the host had none either).
 */
export function keepTrust(server: AgentConfig, local: AgentConfig): { config: AgentConfig; kept: string[] } {
  const serverSetsTrust = server.registration.caCert !== '' || server.agent.useSystemCertPool || server.agent.insecureSkipTlsVerify;
  if (serverSetsTrust) return { config: server, kept: [] };
  const config: AgentConfig = {
    registration: { ...server.registration, caCert: local.registration.caCert },
    agent: { ...server.agent, useSystemCertPool: local.agent.useSystemCertPool, insecureSkipTlsVerify: local.agent.insecureSkipTlsVerify },
  };
  const kept: string[] = [];
  if (config.registration.caCert) kept.push('registration.caCert');
  if (config.agent.useSystemCertPool) kept.push('agent.useSystemCertPool');
  if (config.agent.insecureSkipTlsVerify) kept.push('agent.insecureSkipTlsVerify');
  return { config, kept };
}

// ---------------------------------------------------------------------------------------
// Writing

function postActionFields(action: PostAction): Record<string, boolean> | undefined {
  const out: Record<string, boolean> = {};
  if (action.powerOff) out.powerOff = true;
  if (action.reboot) out.reboot = true;
  return Object.keys(out).length ? out : undefined;
}

/** The string fields of a config, by their dotted keys: what may need quoting by hand. */
const STRING_FIELDS = {
  'registration.uri': (c: AgentConfig) => c.registration.uri,
  'registration.caCert': (c: AgentConfig) => c.registration.caCert,
  'registration.token': (c: AgentConfig) => c.registration.token,
  'agent.workDir': (c: AgentConfig) => c.agent.workDir,
  'agent.hostname.prefix': (c: AgentConfig) => c.agent.hostname.prefix,
  'agent.osPlugin': (c: AgentConfig) => c.agent.osPlugin,
} as const;
type StringField = keyof typeof STRING_FIELDS;

/**
 * A YAML double-quoted scalar that any YAML parser reads back as exactly `text`: quotes,
 * backslashes, C0/C1 controls, DEL, the Unicode line and paragraph separators, BOM and lone
 * surrogates are escaped; everything else is written as is.
 */
export function yamlDoubleQuoted(text: string): string {
  const escaped = text.replace(/[\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]|\p{Cs}/gu, (ch) => {
    if (ch === '\\' || ch === '"') return `\\${ch}`;
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

/**
 * The YAML bytes of a config: SPEC §3 field order, zero fields omitted, durations as Go strings.
 * The string fields named in `quoted` are written double-quoted (see renderConfigChecked).
 */
export function renderConfig(config: AgentConfig, quoted: ReadonlySet<StringField> = new Set()): string {
  // A quoted field is rendered as a placeholder (a plain scalar that cannot occur elsewhere),
  // then the placeholder is replaced by the quoted text: the layout around it stays the emitter's.
  const nonce = randomBytes(8).toString('hex');
  const replacements = new Map<string, string>();
  const value = (field: StringField): string => {
    const text = STRING_FIELDS[field](config);
    if (!quoted.has(field)) return text;
    const placeholder = `q${nonce}${replacements.size}`;
    replacements.set(placeholder, yamlDoubleQuoted(text));
    return placeholder;
  };
  const r = config.registration;
  const a = config.agent;
  const registration: Record<string, unknown> = {};
  if (r.uri) registration.uri = value('registration.uri');
  if (r.caCert) registration.caCert = value('registration.caCert');
  // The reference's struct order (api/v1beta1 Registration): tokenDuration before token.
  if (r.tokenDuration) registration.tokenDuration = formatGoDuration(r.tokenDuration);
  if (r.token) registration.token = value('registration.token');
  const agent: Record<string, unknown> = {};
  if (a.workDir) agent.workDir = value('agent.workDir');
  if (a.hostname.useExisting || a.hostname.prefix) {
    const hostname: Record<string, unknown> = {};
    if (a.hostname.useExisting) hostname.useExisting = true;
    if (a.hostname.prefix) hostname.prefix = value('agent.hostname.prefix');
    agent.hostname = hostname;
  }
  if (a.noSmbios) agent.noSmbios = true;
  if (a.debug) agent.debug = true;
  if (a.osPlugin) agent.osPlugin = value('agent.osPlugin');
  if (a.reconciliation) agent.reconciliation = formatGoDuration(a.reconciliation);
  if (a.insecureAllowHttp) agent.insecureAllowHttp = true;
  if (a.insecureSkipTlsVerify) agent.insecureSkipTlsVerify = true;
  if (a.useSystemCertPool) agent.useSystemCertPool = true;
  const postInstall = postActionFields(a.postInstall);
  if (postInstall) agent.postInstall = postInstall;
  const postReset = postActionFields(a.postReset);
  if (postReset) agent.postReset = postReset;
  // Go's omitempty on the two struct sections never drops them: both always appear.
  let text = toYaml({ registration, agent }, { sortKeys: false });
  for (const [placeholder, scalar] of replacements) text = text.replace(placeholder, () => scalar);
  return text;
}

/** Every field of a config as [dotted key, comparable text]. */
function flatten(config: AgentConfig): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string) => {
    if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) walk(child, dotted(path, key));
    } else out.set(path, `${typeof value}:${String(value)}`);
  };
  walk(config, '');
  return out;
}

/** The keys whose values differ between two configs (defaults applied to both). */
function differingKeys(meant: AgentConfig, read: AgentConfig): string[] {
  const a = flatten(withDefaults(meant));
  const b = flatten(read);
  return [...a.keys()].filter((key) => a.get(key) !== b.get(key));
}

/** The value at a dotted key of parsed YAML data (undefined when absent). */
function at(data: unknown, key: string): unknown {
  let value = data;
  for (const part of key.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Raw)[part];
  }
  return value;
}

/**
 * The config's bytes, checked before they are written (SPEC §11): the text is parsed back as
 * the next start will parse it and compared with what was meant. A string the emitter writes
 * plain (or in a block) that reads back as something else (a server prefix `1e400` read as
 * Infinity; U+2028 read as a line break) is written double-quoted instead; everything that
 * round-trips keeps the yaml.v3 layout byte for byte. Throws when even that does not help.
 */
export async function renderConfigChecked(config: AgentConfig): Promise<string> {
  const fields = Object.keys(STRING_FIELDS) as StringField[];
  const plain = renderConfig(config);
  let failing: StringField[];
  try {
    const data = await parseYaml(plain, 'rendered config');
    failing = fields.filter((field) => (at(data, field) ?? '') !== STRING_FIELDS[field](config));
  } catch {
    failing = fields;
  }
  const text = failing.length ? renderConfig(config, new Set(failing)) : plain;
  if (failing.length) log.debug(`config: ${failing.join(', ')} written double-quoted (they do not read back as written plain)`);
  // The whole config as the next start reads it: every field, not only the strings.
  let why: string;
  try {
    const different = differingKeys(config, (await parseConfig(text, 'rendered config')).config);
    if (different.length === 0) return text;
    why = `${different.join(', ')} would read back differently`;
  } catch (err) {
    why = (err as Error).message;
  }
  throw new AgentError(`the agent config does not read back as written: ${why}`);
}

/** Writes the config atomically with mode 0640, creating the directory (0755) if needed. */
export async function writeConfigFile(path: string, config: AgentConfig): Promise<void> {
  const text = await renderConfigChecked(config);
  ensureDir(dirname(path), 0o755);
  writeFileAtomic(path, text, CONFIG_FILE_MODE);
}
