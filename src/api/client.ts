// Client of the Elemental API (SPEC §7): five calls relative to the registration URI. Knows
// nothing about agent phases. Errors are ApiError with the reference agent's wording:
// "<operation> returned code '<N>': unexpected return code" for an unexpected status (operators
// alert on that line, SPEC §8), "<operation>: <cause>" otherwise.
import { AgentError, errorMessage, printable, quote } from '../errors';
import { HostRoot } from '../fs';
import type { Identity } from '../identity';
import { log, registerSecret } from '../log';
import { StopRequested } from '../signals';
import { userAgent } from '../version';
import { proxyFor, type Proxy } from './proxy';
import { TlsTrust } from './tls';
import { type ResponseLimit, Transport, TransportError, type TransportErrorKind } from './transport';
import type {
  ApiBootstrapResponse,
  ApiHostCreateRequest,
  ApiHostPatchRequest,
  ApiHostResponse,
  ApiRegistrationResponse,
} from './types';

export const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * Caps on an answer's body, per endpoint, for what it carries (SPEC §11). Registration and host
 * answers are config, labels and free-form objects: 8 MiB, the size of the largest file the
 * agent generates from them, and room for the 5 MB osVersionManagement the bench reconciles
 * (a 60 MB host answer took the agent to 1.2 GB of RSS). A bootstrap can hold a whole control
 * plane's files.
 */
export const REGISTRATION_AND_HOST_LIMIT: ResponseLimit = { bytes: 8 * 1024 * 1024, for: 'registration and host answers' };
export const BOOTSTRAP_LIMIT: ResponseLimit = { bytes: 64 * 1024 * 1024, for: 'bootstrap answers' };
export const DEFAULT_MAX_RESPONSE_BYTES = BOOTSTRAP_LIMIT.bytes;

/** The bootstrap answer as the client hands it over: the config as bytes. */
export interface BootstrapConfig {
  format?: string;
  config?: Buffer;
}

/** The reference client's ErrUnexpectedCode text, after every unexpected status. */
export const UNEXPECTED_RETURN_CODE = 'unexpected return code';

export type ApiOperation = 'getting registration' | 'creating new host' | 'patching host' | 'deleting host' | 'getting bootstrap';

/**
 * Why a call failed: `status` (unexpected HTTP status, see statusCode), a transport failure
 * (`timeout`, `network`, `tls`, `proxy`, `too-large`), `response` (invalid JSON or wrong
 * shape) or `request` (an argument the API cannot take, e.g. an empty host name).
 */
export type ApiErrorKind = 'status' | 'response' | 'request' | TransportErrorKind;

/** A failed API call; the message is one operator-facing line. */
export class ApiError extends AgentError {
  readonly operation: ApiOperation;
  readonly statusCode: number | undefined;
  readonly kind: ApiErrorKind;
  constructor(operation: ApiOperation, message: string, o: { kind: ApiErrorKind; statusCode?: number; cause?: unknown }) {
    super(message, o.cause === undefined ? {} : { cause: o.cause });
    this.name = 'ApiError';
    this.operation = operation;
    this.statusCode = o.statusCode;
    this.kind = o.kind;
  }
}

export interface ApiClientOptions {
  /** The registration URI; every other endpoint is relative to it. */
  uri: string;
  registrationToken?: string | undefined;
  /** Inline PEM or a host path (resolved under `root`) of the CA certificate(s). */
  caCert?: string | undefined;
  useSystemCertPool?: boolean | undefined;
  insecureSkipTlsVerify?: boolean | undefined;
  insecureAllowHttp?: boolean | undefined;
  /** Deadline of each request, connect to last body byte. Default 30 s. */
  timeoutMs?: number | undefined;
  /** A lower cap on every response body than the endpoint's own (REGISTRATION_AND_HOST_LIMIT, BOOTSTRAP_LIMIT). */
  maxResponseBytes?: number | undefined;
  identity: Identity;
  root?: HostRoot | undefined;
  /** Proxy and SSL_CERT_* variables come from here. Default process.env. */
  env?: NodeJS.ProcessEnv | undefined;
  /** When aborted, in-flight requests end at once with StopRequested (SIGTERM/SIGINT). */
  signal?: AbortSignal | undefined;
}

export type CreateHostRequest = Omit<ApiHostCreateRequest, 'pubKey'> & { pubKey?: string };

export class ElementalClient {
  readonly uri: string;
  readonly #base: URL;
  readonly #token: string | undefined;
  readonly #identity: Identity;
  readonly #transport: Transport;
  readonly #proxy: Proxy | undefined;
  readonly #maxResponseBytes: number;

  constructor(o: ApiClientOptions) {
    if (!o.uri) throw new AgentError('registration uri is not set: set registration.uri');
    let base: URL;
    try {
      base = new URL(o.uri);
    } catch {
      throw new AgentError(`registration uri '${printable(o.uri, 200)}' is not a valid URL`);
    }
    if (base.protocol === 'http:') {
      if (!o.insecureAllowHttp) {
        throw new AgentError(
          `registration uri '${printable(o.uri, 200)}': invalid scheme, use 'https' instead (or set agent.insecureAllowHttp to allow 'http')`,
        );
      }
    } else if (base.protocol !== 'https:') {
      throw new AgentError(`registration uri '${printable(o.uri, 200)}': invalid scheme, use 'https' instead`);
    }
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new AgentError(`invalid API request timeout ${timeoutMs} ms`);
    const maxResponseBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const env = o.env ?? process.env;
    registerSecret(o.registrationToken);
    this.uri = o.uri;
    this.#base = base;
    this.#token = o.registrationToken || undefined;
    this.#identity = o.identity;
    this.#maxResponseBytes = maxResponseBytes;
    const tls = new TlsTrust({
      caCert: o.caCert,
      useSystemCertPool: o.useSystemCertPool,
      insecureSkipTlsVerify: o.insecureSkipTlsVerify,
      root: o.root ?? new HostRoot('/'),
      env,
    });
    this.#proxy = proxyFor(base, env);
    if (this.#proxy) log.debug(`using proxy ${this.#proxy.display} for ${base.protocol}//${base.host}`);
    this.#transport = new Transport({
      tls,
      proxy: this.#proxy,
      timeoutMs: Math.min(timeoutMs, 2_147_483_647),
      maxResponseBytes,
      signal: o.signal,
    });
  }

  /** GET {uri} → 200 RegistrationResponse. */
  async getRegistration(): Promise<ApiRegistrationResponse> {
    const op: ApiOperation = 'getting registration';
    const body = await this.#call(op, 'GET', '', 200, { registration: true });
    return parseJson(op, body.toString('utf8'), registrationShape) as ApiRegistrationResponse;
  }

  /** POST {uri}/hosts → 201. `pubKey` defaults to this client's identity. */
  async createHost(req: CreateHostRequest): Promise<void> {
    const op: ApiOperation = 'creating new host';
    checkName(op, req.name);
    const payload: ApiHostCreateRequest = {
      name: req.name,
      ...(req.annotations !== undefined ? { annotations: req.annotations } : {}),
      ...(req.labels !== undefined ? { labels: req.labels } : {}),
      pubKey: req.pubKey ?? this.#identity.publicKeyPem(),
    };
    await this.#call(op, 'POST', '/hosts', 201, { registration: true, host: req.name, json: payload });
  }

  /** PATCH {uri}/hosts/{name} → 200 HostResponse. */
  async patchHost(name: string, patch: ApiHostPatchRequest): Promise<ApiHostResponse> {
    const op: ApiOperation = 'patching host';
    checkName(op, name);
    const body = await this.#call(op, 'PATCH', `/hosts/${encodeURIComponent(name)}`, 200, { host: name, json: patch });
    return parseJson(op, body.toString('utf8'), hostShape) as ApiHostResponse;
  }

  /** DELETE {uri}/hosts/{name} → 202. */
  async deleteHost(name: string): Promise<void> {
    const op: ApiOperation = 'deleting host';
    checkName(op, name);
    await this.#call(op, 'DELETE', `/hosts/${encodeURIComponent(name)}`, 202, { host: name });
  }

  /** GET {uri}/hosts/{name}/bootstrap → 200 {format, config}. The config comes back as its UTF-8 bytes: it is file content. */
  async getBootstrap(name: string): Promise<BootstrapConfig> {
    const op: ApiOperation = 'getting bootstrap';
    checkName(op, name);
    // No reference to the body is kept: a big answer is then held as bytes, text and value in turn.
    const text = (await this.#call(op, 'GET', `/hosts/${encodeURIComponent(name)}/bootstrap`, 200, { host: name, limit: BOOTSTRAP_LIMIT })).toString('utf8');
    const { format, config } = parseJson(op, text, bootstrapShape) as ApiBootstrapResponse;
    return { format, config: config === undefined ? undefined : Buffer.from(config) };
  }

  async #call(
    op: ApiOperation,
    method: string,
    suffix: string,
    expect: number,
    o: { registration?: boolean; host?: string; json?: unknown; limit?: ResponseLimit },
  ): Promise<Buffer> {
    const url = new URL(this.#base.href);
    if (suffix) url.pathname = `${url.pathname.replace(/\/+$/, '')}${suffix}`;
    url.hash = '';
    const headers: Record<string, string> = { 'User-Agent': userAgent };
    if (o.host !== undefined) {
      const jwt = this.#identity.signHostToken({ issuer: userAgent, subject: o.host, audience: this.uri });
      headers.Authorization = `Bearer ${jwt}`;
    }
    if (o.registration && this.#token) headers['Registration-Authorization'] = `Bearer ${this.#token}`;
    let body: Buffer | undefined;
    if (o.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = Buffer.from(JSON.stringify(o.json), 'utf8');
    }
    const started = Date.now();
    let res;
    try {
      const endpointLimit = o.limit ?? REGISTRATION_AND_HOST_LIMIT;
      const limit = { ...endpointLimit, bytes: Math.min(endpointLimit.bytes, this.#maxResponseBytes) };
      res = await this.#transport.request({ method, url, headers, body, expectStatus: expect, limit });
    } catch (err) {
      if (err instanceof StopRequested) throw err;
      log.debug(`${method} ${url.pathname} failed after ${Date.now() - started} ms: ${errorMessage(err)}`);
      if (err instanceof TransportError) throw new ApiError(op, `${op}: ${err.message}`, { kind: err.kind });
      throw new ApiError(op, `${op}: ${errorMessage(err)}`, { kind: 'network', cause: err });
    }
    log.debug(`${method} ${url.pathname} -> ${res.status} in ${Date.now() - started} ms`);
    if (res.status !== expect) {
      const text = res.body.subarray(0, 4 * 200).toString('utf8').replace(/\s+/g, ' ').trim();
      if (text) log.debug(`${op}: response body: ${quote(text, 200)}`);
      throw unexpectedStatus(op, res.status);
    }
    return res.body;
  }
}

/** The error of a call answered with another status than the expected one. */
export function unexpectedStatus(op: ApiOperation, status: number): ApiError {
  return new ApiError(op, `${op} returned code '${status}': ${UNEXPECTED_RETURN_CODE}`, { kind: 'status', statusCode: status });
}

function checkName(op: ApiOperation, name: string): void {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..') {
    throw new ApiError(op, `${op}: invalid host name ${quote(String(name), 60)}`, { kind: 'request' });
  }
}

// ---- Response validation: minimal, strict for the fields the agent uses. -------------------

class ShapeError extends Error {}

type Check = (value: unknown, path: string) => unknown;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const expect = (what: string, test: (v: unknown) => boolean): Check => (v, path) => {
  if (!test(v)) throw new ShapeError(`${path} must be ${what}, got ${typeName(v)}`);
  return v;
};

const str = expect('a string', (v) => typeof v === 'string');
const bool = expect('a boolean', (v) => typeof v === 'boolean');
const int = expect('an integer', (v) => typeof v === 'number' && Number.isInteger(v));
const freeObject = expect('an object', isObject);
const stringMap: Check = (v, path) => {
  if (!isObject(v)) throw new ShapeError(`${path} must be a map of strings, got ${typeName(v)}`);
  for (const [k, item] of Object.entries(v)) {
    if (typeof item !== 'string') throw new ShapeError(`${path}.${printable(k, 60)} must be a string, got ${typeName(item)}`);
  }
  return v;
};

/** An object whose known fields are checked; null fields count as absent (as in Go); others pass. */
function shape(fields: Record<string, Check>): Check {
  return (v, path) => {
    if (!isObject(v)) throw new ShapeError(`${path ? `${path} must be an object` : 'expected a JSON object'}, got ${typeName(v)}`);
    const out: Record<string, unknown> = { ...v };
    for (const [key, check] of Object.entries(fields)) {
      const item = out[key];
      if (item === null || item === undefined) {
        delete out[key];
        continue;
      }
      out[key] = check(item, path ? `${path}.${key}` : key);
    }
    return out;
  };
}

const powerShape = shape({ powerOff: bool, reboot: bool });

const registrationShape = shape({
  hostLabels: stringMap,
  hostAnnotations: stringMap,
  config: shape({
    elemental: shape({
      registration: shape({ uri: str, caCert: str, token: str, tokenDuration: int }),
      agent: shape({
        workDir: str,
        hostname: shape({ useExisting: bool, prefix: str }),
        noSmbios: bool,
        debug: bool,
        osPlugin: str,
        reconciliation: int,
        insecureAllowHttp: bool,
        insecureSkipTlsVerify: bool,
        useSystemCertPool: bool,
        postInstall: powerShape,
        postReset: powerShape,
      }),
      install: freeObject,
      reset: freeObject,
    }),
    cloudConfig: freeObject,
  }),
});

const hostShape = shape({
  name: str,
  annotations: stringMap,
  labels: stringMap,
  bootstrapReady: bool,
  bootstrapped: bool,
  installed: bool,
  needsReset: bool,
  inPlaceUpgrade: str,
  osVersionManagement: freeObject,
});

const bootstrapShape = shape({ format: str, config: str });

function parseJson(op: ApiOperation, text: string, check: Check): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = printable(errorMessage(err).replace(/\s+/g, ' '), 120);
    throw new ApiError(op, `${op}: invalid JSON in response: ${reason}`, { kind: 'response' });
  }
  return checkShape(op, value, check);
}

function checkShape(op: ApiOperation, value: unknown, check: Check): unknown {
  try {
    return check(value, '');
  } catch (err) {
    if (err instanceof ShapeError) throw new ApiError(op, `${op}: unexpected response: ${err.message}`, { kind: 'response' });
    throw err;
  }
}
