// In-process stand-in for the Elemental API server (SPEC §14), for the tests and the demo.
//
// It follows the reference server's rules: routes under a registration URI, registration tokens
// (EdDSA JWTs signed by a per-registration Ed25519 key) on GET registration and POST host, host
// JWTs verified with `jose` against the host's stored public key, 404 before auth, label effects of
// PATCH, delete → needs-reset → gone after reset, bootstrap secrets. On top of that it records every
// request, injects faults (status, delay, hang, drop, reset, garbage, wrong shape) and can stop and
// resume listening on the same port.
//
// Auth answers as the reference's internal/api/auth.go does: 401 for a missing or non-`Bearer `
// header and for a token whose header names another algorithm golang-jwt knows (HS256, RS256,
// ES256, `none`, …); 403 for anything else that fails (not a JWT, an algorithm golang-jwt does not
// know, bad signature, expired, not yet valid). Where it is stricter than the reference: the
// reference decodes `sub` and `aud` but never checks them; here a registration token must have
// `sub` = `aud[0]` = the registration URI, and a host token `sub` = the host name and `aud`
// containing the registration URI, or the answer is 403. The agent always sends those claims, so
// a test that passes here passes against the reference; a token the reference would take with
// another `sub`/`aud` is refused here.
//
// Everything is bounded: waits have timeouts, hung requests end after a cap, close() destroys
// open (keep-alive or hung) sockets and clears every timer.
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import './webcrypto';
import { importSPKI, jwtVerify } from 'jose';
import type {
  ApiAgentConfig,
  ApiBootstrapResponse,
  ApiCondition,
  ApiHostResponse,
  ApiRegistrationConfig,
  ApiRegistrationResponse,
  JsonObject,
  StringMap,
} from '../../src/api/types';
import { testPki } from './certs';

// ---------------------------------------------------------------------------------------------
// Constants

export const API_PREFIX = '/elemental/v1';
export const REGISTRATION_TOKEN_ISSUER = 'ElementalRegistrationReconciler';

const LABEL_PREFIX = 'elementalhost.infrastructure.cluster.x-k8s.io/';
export const LABELS = {
  installed: `${LABEL_PREFIX}installed`,
  bootstrapped: `${LABEL_PREFIX}bootstrapped`,
  reset: `${LABEL_PREFIX}reset`,
  needsReset: `${LABEL_PREFIX}needs-reset`,
  inPlaceUpdate: `${LABEL_PREFIX}in-place-update`,
} as const;

const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_HANG_MS = 60_000;
const DEFAULT_WAIT_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Public types

/** Which API call a request is (by method and path); `unknown` for anything the server 404s. */
export type ApiOp = 'getRegistration' | 'createHost' | 'patchHost' | 'deleteHost' | 'getBootstrap' | 'unknown';

export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  /** Date.now() at arrival. */
  time: number;
  method: string;
  /** Path without the query string, as sent (not decoded). */
  path: string;
  /** Path and query as sent. */
  url: string;
  op: ApiOp;
  namespace?: string;
  registration?: string;
  /** Host name from the path (PATCH/DELETE/bootstrap) or from the body (POST). */
  hostName?: string;
  /** Header names lower-case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  rawBody: string;
  /** The body parsed as JSON; undefined when empty or not JSON. */
  body: unknown;
  /** Status sent; 0 while pending or when no response was sent (hang, reset). */
  status: number;
  /** The fault applied to this request, if any. */
  fault?: FaultKind;
  /** Text of an error response (4xx/5xx from the handler), for debugging. */
  errorText?: string;
  /** Bytes of the response body sent (0 until answered). */
  responseBytes: number;
}

export interface StoredCondition extends ApiCondition {
  lastTransitionTime: string;
}

/** Snapshot of a stored host (a copy: mutate through the server's methods). */
export interface StoredHost {
  namespace: string;
  name: string;
  /** URI of the registration the host was created through. */
  registrationUri: string;
  labels: StringMap;
  annotations: StringMap;
  pubKey: string;
  conditions: StoredCondition[];
  phase?: string;
  markedForDeletion: boolean;
  bootstrap?: { format?: string; config: string };
  osVersionManagement?: JsonObject;
  createdAt: number;
  updatedAt: number;
}

export interface RegistrationOptions {
  namespace?: string;
  name?: string;
  /** Seconds; 0 (default) = tokens without `exp`. Negative issues already-expired tokens. */
  tokenDuration?: number;
  hostLabels?: StringMap;
  hostAnnotations?: StringMap;
  agent?: ApiAgentConfig;
  install?: JsonObject;
  reset?: JsonObject;
  cloudConfig?: JsonObject;
  /**
   * Merged over the defaults of `config.elemental.registration` ({uri, token: current token,
   * caCert when HTTPS, tokenDuration when ≠ 0}) at response time. A key set to `undefined`
   * removes it from the response.
   */
  registration?: Partial<ApiRegistrationConfig>;
  /** Base of the registration URI instead of `api.url` (e.g. `https://localhost:PORT`). */
  baseUrl?: string;
}

export interface HostSeed {
  name: string;
  /** SPKI PEM of the host's Ed25519 key. */
  pubKey: string;
  labels?: StringMap;
  annotations?: StringMap;
}

export type FaultKind = 'status' | 'delay' | 'hang' | 'drop' | 'reset' | 'garbage' | 'wrongShape';

export interface FaultMatch {
  /** HTTP method, case-insensitive. */
  method?: string;
  /** RegExp tested against the path, or a string the path must contain. */
  pathPattern?: RegExp | string;
  op?: ApiOp;
  /** How many matching requests it applies to; default 1. `Infinity` for a permanent fault. */
  times?: number;
  /**
   * Run the real handler first (its effects on the store happen), then answer with the fault
   * instead of the real response. Default false: the fault replaces the handler entirely.
   * Ignored for `delay`.
   */
  afterEffects?: boolean;
}

export type FaultSpec = FaultMatch &
  (
    | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
    /** Wait `ms`, then handle the request normally. */
    | { kind: 'delay'; ms: number }
    /** Read the request and never answer; the socket is destroyed after `ms` (default 60 s) or on close/down. */
    | { kind: 'hang'; ms?: number }
    /** 200 with a Content-Length larger than what is sent, then destroy the socket mid-body. */
    | { kind: 'drop' }
    /** Destroy the socket without sending anything. */
    | { kind: 'reset' }
    /** 200, Content-Type application/json, body not JSON. */
    | { kind: 'garbage'; body?: string }
    /** 200, valid JSON of the wrong shape (default an array of strings). */
    | { kind: 'wrongShape'; body?: unknown }
  );

/** An injected fault; `remaining` counts down as matching requests consume it. */
export type Fault = FaultSpec & { readonly id: number; remaining: number; hits: number };

export interface RegistrationHandle {
  readonly namespace: string;
  readonly name: string;
  /** Full registration URI, e.g. `http://127.0.0.1:PORT/elemental/v1/namespaces/default/registrations/reg`. */
  readonly uri: string;
  /** The current registration token (what GET registration returns). */
  readonly token: string;
  /** Every token issued so far, oldest first. */
  readonly tokens: readonly string[];
  /** Seconds, used for tokens issued from now on. */
  tokenDuration: number;
  hostLabels?: StringMap;
  hostAnnotations?: StringMap;
  agent?: ApiAgentConfig;
  install?: JsonObject;
  reset?: JsonObject;
  cloudConfig?: JsonObject;
  registration?: Partial<ApiRegistrationConfig>;
  /** Issue a new current token; the previous ones stay valid unless `revokePrevious`. */
  rotateToken(opts?: { revokePrevious?: boolean }): string;
  /** Make a token invalid (403) from now on. */
  revokeToken(token: string): void;
  /** Sign arbitrary claims (and header) with the registration's key, to craft invalid tokens. */
  signToken(claims: Record<string, unknown>, header?: Record<string, unknown>): string;
  /** The RegistrationResponse that GET registration would return now. */
  response(): ApiRegistrationResponse;
}

export type RegRef = string | { readonly uri: string };

export interface StartOptions {
  /** Serve HTTPS with the server certificate of `testPki()` (127.0.0.1 / localhost). */
  https?: boolean;
  /** Serve HTTPS with this certificate instead (e.g. one for the name a VM guest uses). */
  tls?: { certPem: string; keyPem: string; caCertPem: string };
}

export interface ElementalApi {
  /** e.g. `http://127.0.0.1:34567` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly https: boolean;
  /** PEM of the CA that signed the server certificate (HTTPS only). */
  readonly caCertPem: string | undefined;
  /** Live log of every request, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Pending (not yet fully consumed) faults, in the order they are matched. */
  readonly faults: readonly Fault[];
  readonly isUp: boolean;
  /** TCP connections open now, and the most open at once since the start or resetPeak(). */
  readonly connections: number;
  readonly peakConnections: number;
  resetPeak(): void;

  addRegistration(opts?: RegistrationOptions): RegistrationHandle;
  registration(ref: RegRef): RegistrationHandle | undefined;
  removeRegistration(ref: RegRef): void;

  /** Snapshot of a host, or undefined if there is none. */
  host(reg: RegRef, name: string): StoredHost | undefined;
  hosts(reg?: RegRef): StoredHost[];
  /** Create a host directly (as if POSTed), e.g. for an agent that is already registered. */
  addHost(reg: RegRef, seed: HostSeed): StoredHost;
  /** Mutate a stored host in place (escape hatch); returns the snapshot after. */
  updateHost(reg: RegRef, name: string, fn: (host: StoredHost) => void): StoredHost;
  /** Associate a bootstrap secret: bootstrapReady becomes true, GET bootstrap answers 200. */
  setBootstrap(reg: RegRef, name: string, bootstrap: { format?: string; config: string }): void;
  setOsVersionManagement(reg: RegRef, name: string, osv: JsonObject | undefined): void;
  /** Set the in-place-update label (default "pending"); null removes it. */
  setInPlaceUpdate(reg: RegRef, name: string, value?: string | null): void;
  /** Mark for deletion as the operator would (DELETE without auth). */
  deleteHost(reg: RegRef, name: string): void;

  injectFault(spec: FaultSpec): Fault;
  clearFaults(): void;
  clearRequests(): void;
  /** The `op` of every request so far, in order (for asserting the order of calls). */
  ops(filter?: (r: RecordedRequest) => boolean): ApiOp[];
  /** Resolve with the first answered request matching `pred` (past or future); reject after the timeout. */
  waitForRequest(pred: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Re-evaluate `check` after every answered request and every 20 ms until truthy; reject after the timeout. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;

  /** Stop listening (connections refused) and destroy open sockets. Same port on up(). */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Helpers

// Node 20 deadlocks when a KeyObject made by generateKeyPairSync is exported as JWK (jose does
// so in jwtVerify) while a GC collects the generating job, whose destructor takes the key's
// mutex again (a full `npm test` hung in the crash test that way). A key made from a random
// seed (PKCS#8 DER of Ed25519: a fixed 16-byte prefix and the 32-byte seed) has no such job.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function ed25519PrivateKey(): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, randomBytes(32)]), format: 'der', type: 'pkcs8' });
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function textReply(status: number, text: string): Reply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text };
}

function jsonReply(status: number, value: unknown): Reply {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

function emptyReply(status: number, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: '' };
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function rfc3339(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringMap(v: unknown): v is StringMap {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}

function nonEmpty(m: Record<string, unknown> | undefined): boolean {
  return m !== undefined && Object.keys(m).length > 0;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** DNS-1123 subdomain, what Kubernetes accepts as an object name. */
function isK8sName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

interface Route {
  op: ApiOp;
  namespace?: string;
  registration?: string;
  host?: string;
}

function parseRoute(method: string, path: string): Route {
  const unknown: Route = { op: 'unknown' };
  const prefix = `${API_PREFIX}/namespaces/`;
  if (!path.startsWith(prefix)) return unknown;
  let segs: string[];
  try {
    segs = path.slice(prefix.length).split('/').map((s) => decodeURIComponent(s));
  } catch {
    return unknown;
  }
  if (segs.some((s) => s === '')) return unknown;
  const [namespace, registrationsWord, registration, ...rest] = segs;
  if (namespace === undefined || registrationsWord !== 'registrations' || registration === undefined) return unknown;
  const base = { namespace, registration };
  if (rest.length === 0) return method === 'GET' ? { op: 'getRegistration', ...base } : unknown;
  if (rest[0] !== 'hosts') return unknown;
  if (rest.length === 1) return method === 'POST' ? { op: 'createHost', ...base } : unknown;
  const host = rest[1];
  if (rest.length === 2) {
    if (method === 'PATCH') return { op: 'patchHost', ...base, host };
    if (method === 'DELETE') return { op: 'deleteHost', ...base, host };
    return unknown;
  }
  if (rest.length === 3 && rest[2] === 'bootstrap' && method === 'GET') return { op: 'getBootstrap', ...base, host };
  return unknown;
}

// ---------------------------------------------------------------------------------------------
// Registrations

class Registration implements RegistrationHandle {
  readonly namespace: string;
  readonly name: string;
  readonly uri: string;
  tokenDuration: number;
  hostLabels?: StringMap;
  hostAnnotations?: StringMap;
  agent?: ApiAgentConfig;
  install?: JsonObject;
  reset?: JsonObject;
  cloudConfig?: JsonObject;
  registration?: Partial<ApiRegistrationConfig>;

  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly revoked = new Set<string>();
  private readonly issued: string[] = [];
  private readonly issuedIats = new Set<number>();

  constructor(opts: RegistrationOptions, baseUrl: string, private readonly caCertPem: string | undefined) {
    this.namespace = opts.namespace ?? 'default';
    this.name = opts.name ?? 'reg';
    const base = (opts.baseUrl ?? baseUrl).replace(/\/+$/, '');
    this.uri = `${base}${API_PREFIX}/namespaces/${encodeURIComponent(this.namespace)}/registrations/${encodeURIComponent(this.name)}`;
    this.tokenDuration = opts.tokenDuration ?? 0;
    this.hostLabels = opts.hostLabels;
    this.hostAnnotations = opts.hostAnnotations;
    this.agent = opts.agent;
    this.install = opts.install;
    this.reset = opts.reset;
    this.cloudConfig = opts.cloudConfig;
    this.registration = opts.registration;
    this.privateKey = ed25519PrivateKey();
    this.publicKey = createPublicKey(this.privateKey);
    this.issueToken();
  }

  get token(): string {
    const t = this.issued[this.issued.length - 1];
    if (t === undefined) throw new Error('registration has no token');
    return t;
  }

  get tokens(): readonly string[] {
    return [...this.issued];
  }

  signToken(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'EdDSA', typ: 'JWT' }): string {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = cryptoSign(null, Buffer.from(input, 'utf8'), this.privateKey).toString('base64url');
    return `${input}.${sig}`;
  }

  private issueToken(): string {
    // Ed25519 is deterministic: two tokens with the same claims are the same string. Tokens issued
    // within the same second are made distinct by backdating iat/nbf (and exp) by whole seconds.
    let iat = nowSeconds();
    for (let i = 0; i < 10_000 && this.issuedIats.has(iat); i++) iat -= 1;
    this.issuedIats.add(iat);
    const claims: Record<string, unknown> = {
      iss: REGISTRATION_TOKEN_ISSUER,
      sub: this.uri,
      aud: [this.uri],
      iat,
      nbf: iat,
    };
    const d = this.tokenDuration;
    if (d !== 0) claims.exp = iat + Math.sign(d) * Math.ceil(Math.abs(d));
    const token = this.signToken(claims);
    this.issued.push(token);
    return token;
  }

  rotateToken(opts: { revokePrevious?: boolean } = {}): string {
    const previous = [...this.issued];
    const token = this.issueToken();
    if (opts.revokePrevious) for (const t of previous) this.revoked.add(t);
    return token;
  }

  revokeToken(token: string): void {
    this.revoked.add(token);
  }

  response(): ApiRegistrationResponse {
    const registration: ApiRegistrationConfig = { uri: this.uri };
    if (this.caCertPem !== undefined) registration.caCert = this.caCertPem;
    registration.token = this.token;
    if (this.tokenDuration !== 0) registration.tokenDuration = Math.round(this.tokenDuration * 1e9);
    Object.assign(registration, this.registration ?? {});
    const elemental: NonNullable<NonNullable<ApiRegistrationResponse['config']>['elemental']> = { registration };
    if (this.agent !== undefined) elemental.agent = this.agent;
    if (this.install !== undefined) elemental.install = this.install;
    if (this.reset !== undefined) elemental.reset = this.reset;
    const out: ApiRegistrationResponse = {};
    if (nonEmpty(this.hostLabels)) out.hostLabels = this.hostLabels;
    if (nonEmpty(this.hostAnnotations)) out.hostAnnotations = this.hostAnnotations;
    out.config = { elemental };
    if (this.cloudConfig !== undefined) out.config.cloudConfig = this.cloudConfig;
    // Deep copy through JSON, exactly what goes on the wire.
    return JSON.parse(JSON.stringify(out)) as ApiRegistrationResponse;
  }
}

// ---------------------------------------------------------------------------------------------
// Server

type AuthResult = Reply | undefined;

class ElementalApiServer implements ElementalApi {
  readonly https: boolean;
  readonly caCertPem: string | undefined;
  port = 0;
  isUp = false;
  peakConnections = 0;

  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly cancellers = new Set<() => void>();
  private readonly registrations = new Map<string, Registration>(); // key: ns/name
  private readonly store = new Map<string, Map<string, StoredHost>>(); // namespace → name → host
  private readonly log: RecordedRequest[] = [];
  private readonly pending: Fault[] = [];
  private readonly listeners = new Set<() => void>();
  private nextFaultId = 1;
  private closed = false;

  constructor(opts: StartOptions) {
    this.https = opts.https === true || opts.tls !== undefined;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.onRequest(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`Internal Server Error: ${errText(err)}`);
        }
      });
    };
    if (opts.tls) {
      this.caCertPem = opts.tls.caCertPem;
      this.server = https.createServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, handler);
    } else if (this.https) {
      const pki = testPki();
      this.caCertPem = pki.caCertPem;
      this.server = https.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, handler);
    } else {
      this.caCertPem = undefined;
      this.server = http.createServer(handler);
    }
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      this.peakConnections = Math.max(this.peakConnections, this.sockets.size);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
    this.server.on('tlsClientError', () => undefined);
  }

  get url(): string {
    return `${this.https ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.sockets.size;
  }

  resetPeak(): void {
    this.peakConnections = this.sockets.size;
  }

  get requests(): readonly RecordedRequest[] {
    return this.log;
  }

  get faults(): readonly Fault[] {
    return this.pending;
  }

  // ----- lifecycle

  async listen(port: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error): void => reject(err);
          this.server.once('error', onError);
          this.server.listen(port, '127.0.0.1', () => {
            this.server.off('error', onError);
            resolve();
          });
        });
        break;
      } catch (err) {
        // Re-listening on a fixed port can race with another process; retry a bounded number of times.
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0 || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.port = (this.server.address() as AddressInfo).port;
    this.isUp = true;
  }

  private destroySockets(): void {
    for (const c of this.cancellers) c();
    this.cancellers.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async down(): Promise<void> {
    if (!this.isUp) return;
    this.isUp = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.destroySockets();
    await closed;
  }

  async up(): Promise<void> {
    if (this.closed) throw new Error('elemental-api: up() after close()');
    if (this.isUp) return;
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.down();
    this.destroySockets();
    this.listeners.clear();
  }

  // ----- waiting helpers (bounded)

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = (): void => {
        clearTimeout(t);
        this.timers.delete(t);
        this.cancellers.delete(cancel);
        resolve(false);
      };
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.cancellers.delete(cancel);
        resolve(true);
      }, ms);
      this.timers.add(t);
      this.cancellers.add(cancel);
    });
  }

  waitFor<T>(check: () => T | undefined | null | false, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timeout);
        clearInterval(poll);
        this.listeners.delete(evaluate);
        fn();
      };
      const evaluate = (): void => {
        let v: T | undefined | null | false;
        try {
          v = check();
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        if (v) {
          const value = v;
          finish(() => resolve(value));
        }
      };
      const timeout = setTimeout(() => finish(() => reject(new Error(`elemental-api: waitFor timed out after ${timeoutMs} ms`))), timeoutMs);
      const poll = setInterval(evaluate, 20);
      this.listeners.add(evaluate);
      evaluate();
    });
  }

  waitForRequest(pred: (r: RecordedRequest) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<RecordedRequest> {
    return this.waitFor(() => this.log.find((r) => (r.status !== 0 || r.fault === 'hang' || r.fault === 'reset') && pred(r)), timeoutMs)
      .catch((err: unknown) => {
        const seen = this.log.map((r) => `${r.method} ${r.path} ${r.status}`).join('\n  ');
        throw new Error(`${errText(err)}; requests so far:\n  ${seen || '(none)'}`);
      });
  }

  ops(filter?: (r: RecordedRequest) => boolean): ApiOp[] {
    return this.log.filter((r) => (filter ? filter(r) : true)).map((r) => r.op);
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  // ----- registrations & hosts (test-facing)

  addRegistration(opts: RegistrationOptions = {}): RegistrationHandle {
    const reg = new Registration(opts, this.url, this.caCertPem);
    const key = `${reg.namespace}/${reg.name}`;
    if (this.registrations.has(key)) throw new Error(`elemental-api: registration ${key} already exists`);
    this.registrations.set(key, reg);
    return reg;
  }

  private findReg(ref: RegRef): Registration | undefined {
    const uri = typeof ref === 'string' ? ref : ref.uri;
    for (const r of this.registrations.values()) if (r.uri === uri) return r;
    return undefined;
  }

  private mustReg(ref: RegRef): Registration {
    const r = this.findReg(ref);
    if (!r) throw new Error(`elemental-api: no registration ${typeof ref === 'string' ? ref : ref.uri}`);
    return r;
  }

  registration(ref: RegRef): RegistrationHandle | undefined {
    return this.findReg(ref);
  }

  removeRegistration(ref: RegRef): void {
    const r = this.mustReg(ref);
    this.registrations.delete(`${r.namespace}/${r.name}`);
  }

  private nsHosts(namespace: string): Map<string, StoredHost> {
    let m = this.store.get(namespace);
    if (!m) {
      m = new Map();
      this.store.set(namespace, m);
    }
    return m;
  }

  private liveHost(ref: RegRef, name: string): StoredHost {
    const h = this.nsHosts(this.mustReg(ref).namespace).get(name);
    if (!h) throw new Error(`elemental-api: no host ${name}`);
    return h;
  }

  host(ref: RegRef, name: string): StoredHost | undefined {
    const h = this.nsHosts(this.mustReg(ref).namespace).get(name);
    return h ? structuredClone(h) : undefined;
  }

  hosts(ref?: RegRef): StoredHost[] {
    const all = [...this.store.values()].flatMap((m) => [...m.values()]);
    const uri = ref === undefined ? undefined : this.mustReg(ref).uri;
    return all.filter((h) => uri === undefined || h.registrationUri === uri).map((h) => structuredClone(h));
  }

  private createHost(reg: Registration, seed: HostSeed): StoredHost {
    const now = Date.now();
    const h: StoredHost = {
      namespace: reg.namespace,
      name: seed.name,
      registrationUri: reg.uri,
      labels: { ...(seed.labels ?? {}) },
      annotations: { ...(seed.annotations ?? {}) },
      pubKey: seed.pubKey,
      conditions: [],
      markedForDeletion: false,
      createdAt: now,
      updatedAt: now,
    };
    this.nsHosts(reg.namespace).set(seed.name, h);
    return h;
  }

  addHost(ref: RegRef, seed: HostSeed): StoredHost {
    const reg = this.mustReg(ref);
    if (this.nsHosts(reg.namespace).has(seed.name)) throw new Error(`elemental-api: host ${seed.name} already exists`);
    return structuredClone(this.createHost(reg, seed));
  }

  updateHost(ref: RegRef, name: string, fn: (host: StoredHost) => void): StoredHost {
    const h = this.liveHost(ref, name);
    fn(h);
    h.updatedAt = Date.now();
    this.reap(h);
    this.notify();
    return structuredClone(h);
  }

  setBootstrap(ref: RegRef, name: string, bootstrap: { format?: string; config: string }): void {
    this.updateHost(ref, name, (h) => {
      h.bootstrap = { ...bootstrap };
    });
  }

  setOsVersionManagement(ref: RegRef, name: string, osv: JsonObject | undefined): void {
    this.updateHost(ref, name, (h) => {
      if (osv === undefined) delete h.osVersionManagement;
      else h.osVersionManagement = structuredClone(osv);
    });
  }

  setInPlaceUpdate(ref: RegRef, name: string, value: string | null = 'pending'): void {
    this.updateHost(ref, name, (h) => {
      if (value === null) delete h.labels[LABELS.inPlaceUpdate];
      else h.labels[LABELS.inPlaceUpdate] = value;
    });
  }

  deleteHost(ref: RegRef, name: string): void {
    const h = this.liveHost(ref, name);
    this.markForDeletion(h);
    this.notify();
  }

  private markForDeletion(h: StoredHost): void {
    if (!h.markedForDeletion) {
      h.markedForDeletion = true;
      // The operator's host controller reacts to the deletion timestamp by asking for a reset.
      h.labels[LABELS.needsReset] = 'true';
      h.updatedAt = Date.now();
    }
    this.reap(h);
  }

  /** A host marked for deletion disappears once its reset label is "true" (finalizer removed). */
  private reap(h: StoredHost): void {
    if (h.markedForDeletion && h.labels[LABELS.reset] === 'true') {
      const m = this.store.get(h.namespace);
      if (m?.get(h.name) === h) m.delete(h.name);
    }
  }

  // ----- faults

  injectFault(spec: FaultSpec): Fault {
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new Error('elemental-api: fault times must be > 0');
    const fault = { ...spec, id: this.nextFaultId++, remaining: times, hits: 0 } as Fault;
    this.pending.push(fault);
    return fault;
  }

  clearFaults(): void {
    this.pending.length = 0;
  }

  private takeFault(rec: RecordedRequest): Fault | undefined {
    const i = this.pending.findIndex((f) => {
      if (f.method !== undefined && f.method.toUpperCase() !== rec.method) return false;
      if (f.op !== undefined && f.op !== rec.op) return false;
      if (f.pathPattern !== undefined) {
        if (typeof f.pathPattern === 'string' ? !rec.path.includes(f.pathPattern) : !f.pathPattern.test(rec.path)) return false;
      }
      return true;
    });
    if (i < 0) return undefined;
    const fault = this.pending[i] as Fault;
    fault.remaining -= 1;
    fault.hits += 1;
    if (fault.remaining <= 0) this.pending.splice(i, 1);
    return fault;
  }

  // ----- request handling

  private readBody(req: http.IncomingMessage): Promise<{ text: string; tooLarge: boolean }> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      const done = (): void => resolve({ text: Buffer.concat(chunks).toString('utf8'), tooLarge });
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) tooLarge = true;
        else chunks.push(c);
      });
      req.on('end', done);
      req.on('error', done);
      req.on('close', done);
    });
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    const route = parseRoute(method, path);
    const rec: RecordedRequest = {
      seq: 0,
      time: Date.now(),
      method,
      path,
      url,
      op: route.op,
      headers,
      rawBody: '',
      body: undefined,
      status: 0,
      responseBytes: 0,
    };
    if (route.namespace !== undefined) rec.namespace = route.namespace;
    if (route.registration !== undefined) rec.registration = route.registration;
    if (route.host !== undefined) rec.hostName = route.host;
    this.log.push(rec);
    rec.seq = this.log.length;

    const { text, tooLarge } = await this.readBody(req);
    rec.rawBody = text;
    if (text.length > 0) {
      try {
        rec.body = JSON.parse(text);
      } catch {
        rec.body = undefined;
      }
    }
    if (route.op === 'createHost' && isObject(rec.body) && typeof rec.body.name === 'string') rec.hostName = rec.body.name;

    const fault = this.takeFault(rec);
    if (fault) rec.fault = fault.kind;

    if (fault?.kind === 'delay') {
      if (!(await this.sleep(fault.ms))) return;
    } else if (fault && !fault.afterEffects) {
      this.applyFault(fault, rec, res);
      return;
    }

    const reply = tooLarge ? textReply(413, 'Request body too large') : await this.handle(route, rec);
    if (this.closed || res.destroyed) return;
    if (fault && fault.kind !== 'delay') {
      this.applyFault(fault, rec, res);
      return;
    }
    this.send(res, rec, reply);
  }

  private send(res: http.ServerResponse, rec: RecordedRequest, reply: Reply): void {
    rec.status = reply.status;
    rec.responseBytes = Buffer.byteLength(reply.body);
    if (reply.status >= 400) rec.errorText = reply.body;
    if (!res.destroyed) {
      res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)) });
      res.end(reply.body);
    }
    this.notify();
  }

  private applyFault(fault: Fault, rec: RecordedRequest, res: http.ServerResponse): void {
    switch (fault.kind) {
      case 'status':
        this.send(res, rec, {
          status: fault.status,
          headers: { 'content-type': 'text/plain; charset=utf-8', ...(fault.headers ?? {}) },
          body: fault.body ?? `Injected fault: ${fault.status}`,
        });
        return;
      case 'garbage':
        this.send(res, rec, { status: 200, headers: { 'content-type': 'application/json' }, body: fault.body ?? '{"name": "half-a-json' });
        return;
      case 'wrongShape':
        this.send(res, rec, jsonReply(200, fault.body === undefined ? ['not', 'an', 'object'] : fault.body));
        return;
      case 'drop': {
        rec.status = 200;
        const socket = res.socket;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
        res.write('{"name": "dropp', () => {
          socket?.destroy();
        });
        this.notify();
        return;
      }
      case 'reset':
        res.socket?.destroy();
        this.notify();
        return;
      case 'hang': {
        const socket = res.socket;
        const ms = fault.ms ?? DEFAULT_HANG_MS;
        void this.sleep(ms).then(() => socket?.destroy());
        this.notify();
        return;
      }
      case 'delay':
        return; // handled by the caller
    }
  }

  private async handle(route: Route, rec: RecordedRequest): Promise<Reply> {
    if (route.op === 'unknown' || route.namespace === undefined || route.registration === undefined) {
      return textReply(404, '404 page not found');
    }
    const reg = this.registrations.get(`${route.namespace}/${route.registration}`);
    if (!reg) return textReply(404, `ElementalRegistration '${route.registration}' not found`);

    switch (route.op) {
      case 'getRegistration': {
        const denied = await this.checkRegistrationToken(rec, reg);
        if (denied) return denied;
        return jsonReply(200, reg.response());
      }
      case 'createHost':
        return this.handleCreate(rec, reg);
      default:
        break;
    }

    const hostName = route.host ?? '';
    const host = this.nsHosts(reg.namespace).get(hostName);
    if (!host) return textReply(404, `ElementalHost '${hostName}' not found`);
    const denied = await this.checkHostToken(rec, hostName, host.pubKey, reg);
    if (denied) return denied;

    switch (route.op) {
      case 'patchHost':
        return this.handlePatch(rec, host);
      case 'deleteHost':
        this.markForDeletion(host);
        return emptyReply(202);
      case 'getBootstrap': {
        if (!host.bootstrap) return textReply(404, 'There is no associated bootstrap secret yet');
        const out: ApiBootstrapResponse = { format: host.bootstrap.format || 'cloud-config', config: host.bootstrap.config };
        return jsonReply(200, out);
      }
      default:
        return textReply(404, '404 page not found');
    }
  }

  private async handleCreate(rec: RecordedRequest, reg: Registration): Promise<Reply> {
    const denied = await this.checkRegistrationToken(rec, reg);
    if (denied) return denied;
    let body: unknown;
    try {
      body = JSON.parse(rec.rawBody);
    } catch (err) {
      return textReply(400, `Could not decode request body: ${errText(err)}`);
    }
    if (!isObject(body)) return textReply(400, 'Could not decode request body: not a JSON object');
    const { name, pubKey, labels, annotations } = body;
    if (typeof name !== 'string' || name === '') return textReply(400, 'Could not decode request body: missing name');
    if (pubKey !== undefined && pubKey !== null && typeof pubKey !== 'string') return textReply(400, 'Could not decode request body: pubKey is not a string');
    if (labels !== undefined && labels !== null && !isStringMap(labels)) return textReply(400, 'Could not decode request body: labels is not a map of strings');
    if (annotations !== undefined && annotations !== null && !isStringMap(annotations)) return textReply(400, 'Could not decode request body: annotations is not a map of strings');

    const hostDenied = await this.checkHostToken(rec, name, typeof pubKey === 'string' ? pubKey : '', reg);
    if (hostDenied) return hostDenied;

    const hosts = this.nsHosts(reg.namespace);
    if (hosts.has(name)) return textReply(409, `Host '${name}' in namespace '${reg.namespace}' already exists`);
    // Kubernetes would refuse the object: the reference answers 500.
    if (!isK8sName(name)) return textReply(500, `Could not create Elemental Host '${name}'`);
    this.createHost(reg, {
      name,
      pubKey: pubKey as string,
      ...(isStringMap(labels) ? { labels } : {}),
      ...(isStringMap(annotations) ? { annotations } : {}),
    });
    const location = `${API_PREFIX}/namespaces/${encodeURIComponent(reg.namespace)}/registrations/${encodeURIComponent(reg.name)}/hosts/${encodeURIComponent(name)}`;
    return emptyReply(201, { location });
  }

  private handlePatch(rec: RecordedRequest, host: StoredHost): Reply {
    let body: unknown;
    try {
      body = JSON.parse(rec.rawBody);
    } catch (err) {
      return textReply(400, `Could not decode request: ${errText(err)}`);
    }
    if (body === null) body = {};
    if (!isObject(body)) return textReply(400, 'Could not decode request: not a JSON object');
    const p = body;
    const bad = (field: string): Reply => textReply(400, `Could not decode request: bad '${field}'`);
    for (const f of ['labels', 'annotations'] as const) if (p[f] != null && !isStringMap(p[f])) return bad(f);
    for (const f of ['bootstrapped', 'installed', 'reset'] as const) if (p[f] != null && typeof p[f] !== 'boolean') return bad(f);
    for (const f of ['inPlaceUpdate', 'phase'] as const) if (p[f] != null && typeof p[f] !== 'string') return bad(f);
    let condition: ApiCondition | undefined;
    if (p.condition != null) {
      const c = p.condition;
      if (!isObject(c)) return bad('condition');
      if (typeof c.type !== 'string' || c.type === '') return bad('condition.type');
      if (c.status !== 'True' && c.status !== 'False' && c.status !== 'Unknown') return bad('condition.status');
      if (c.severity != null && !['', 'Info', 'Warning', 'Error'].includes(c.severity as string)) return bad('condition.severity');
      for (const f of ['reason', 'message'] as const) if (c[f] != null && typeof c[f] !== 'string') return bad(`condition.${f}`);
      condition = { type: c.type, status: c.status };
      if (typeof c.severity === 'string' && c.severity !== '') condition.severity = c.severity as ApiCondition['severity'];
      if (typeof c.reason === 'string' && c.reason !== '') condition.reason = c.reason;
      if (typeof c.message === 'string' && c.message !== '') condition.message = c.message;
    }
    // Validation as the reference: bootstrapped needs an associated bootstrap secret.
    if (p.bootstrapped === true && !host.bootstrap) {
      return textReply(400, "Can't mark the Host as bootstrapped if no bootstrap secret has been associated yet.");
    }

    if (isStringMap(p.annotations)) Object.assign(host.annotations, p.annotations);
    if (isStringMap(p.labels)) Object.assign(host.labels, p.labels);
    // As the reference: any non-null value of these flags sets the label to "true".
    if (p.installed != null) host.labels[LABELS.installed] = 'true';
    if (p.bootstrapped != null) host.labels[LABELS.bootstrapped] = 'true';
    if (p.reset != null) host.labels[LABELS.reset] = 'true';
    if (typeof p.inPlaceUpdate === 'string') host.labels[LABELS.inPlaceUpdate] = p.inPlaceUpdate;
    if (typeof p.phase === 'string') host.phase = p.phase;
    if (condition) setCondition(host, condition);
    host.updatedAt = Date.now();

    const reply = jsonReply(200, hostResponse(host));
    this.reap(host);
    return reply;
  }

  // ----- auth

  private bearer(rec: RecordedRequest, header: string, display: string): { token: string } | Reply {
    const value = rec.headers[header];
    if (value === undefined || value === '') return textReply(401, `Unauthorized: missing '${display}' header`);
    if (!value.startsWith('Bearer ')) return textReply(401, `Unauthorized: not a 'Bearer' token`);
    return { token: value.slice('Bearer '.length) };
  }

  private async checkRegistrationToken(rec: RecordedRequest, reg: Registration): Promise<AuthResult> {
    const b = this.bearer(rec, 'registration-authorization', 'Registration-Authorization');
    if (!('token' in b)) return b;
    if (reg.revoked.has(b.token)) return textReply(403, 'Forbidden: registration token revoked');
    const alg = otherKnownAlgorithm(b.token);
    if (alg !== undefined) return textReply(401, `Unauthorized: JWT is using unsupported '${alg}' signing algorithm`);
    try {
      // sub and aud are checked here, not by the reference (see the header comment).
      const { payload } = await jwtVerify(b.token, reg.publicKey, {
        algorithms: ['EdDSA'],
        subject: reg.uri,
        audience: reg.uri,
      });
      const aud0 = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
      if (aud0 !== reg.uri) return textReply(403, 'Forbidden: registration token audience mismatch');
    } catch (err) {
      return textReply(403, `Forbidden: validating registration token: ${errText(err)}`);
    }
    return undefined;
  }

  private async checkHostToken(rec: RecordedRequest, hostName: string, pubKey: string, reg: Registration): Promise<AuthResult> {
    const b = this.bearer(rec, 'authorization', 'Authorization');
    if (!('token' in b)) return b;
    // As the reference's key function: the algorithm is looked at before the host's key.
    const alg = otherKnownAlgorithm(b.token);
    if (alg !== undefined) return textReply(401, `Unauthorized: JWT is using unsupported '${alg}' signing algorithm`);
    let key: Awaited<ReturnType<typeof importSPKI>>;
    try {
      key = await importSPKI(pubKey, 'EdDSA');
    } catch (err) {
      return textReply(403, `Forbidden: parsing host public key: ${errText(err)}`);
    }
    try {
      // sub and aud are checked here, not by the reference (see the header comment).
      await jwtVerify(b.token, key, { algorithms: ['EdDSA'], subject: hostName, audience: reg.uri });
    } catch (err) {
      return textReply(403, `Forbidden: validating JWT token: ${errText(err)}`);
    }
    return undefined;
  }
}

/** The signing methods golang-jwt v5 registers: the only `alg` values its parser gets past. */
const GO_JWT_ALGORITHMS = new Set(['EdDSA', 'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'none']);

/**
 * The `alg` of a token the reference answers 401: well-formed (three segments, header and
 * claims JSON objects) and signed with a method golang-jwt knows other than EdDSA. Its key
 * function refuses that method (ErrUnauthorized); a token it cannot even parse, or whose alg it
 * does not know, fails before the key function and is a 403.
 */
function otherKnownAlgorithm(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const segment = (s: string): unknown => {
    try {
      return JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
  };
  const header = segment(parts[0]!);
  const claims = segment(parts[1]!);
  if (!isObject(header) || !isObject(claims)) return undefined;
  const alg = header.alg;
  return typeof alg === 'string' && alg !== 'EdDSA' && GO_JWT_ALGORITHMS.has(alg) ? alg : undefined;
}

/** cluster-api conditions.Set: replace the condition of the same type; the transition time moves only when the state changes. */
function setCondition(host: StoredHost, c: ApiCondition): void {
  const i = host.conditions.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? host.conditions[i] : undefined;
  const same =
    prev !== undefined &&
    prev.status === c.status &&
    (prev.severity ?? '') === (c.severity ?? '') &&
    (prev.reason ?? '') === (c.reason ?? '') &&
    (prev.message ?? '') === (c.message ?? '');
  const stored: StoredCondition = { ...c, lastTransitionTime: same && prev ? prev.lastTransitionTime : rfc3339() };
  if (i >= 0) host.conditions[i] = stored;
  else host.conditions.push(stored);
}

/** HostResponse as the reference marshals it (Go omitempty: false/empty fields are absent). */
export function hostResponse(h: StoredHost): ApiHostResponse {
  const out: ApiHostResponse = { name: h.name };
  if (nonEmpty(h.annotations)) out.annotations = { ...h.annotations };
  if (nonEmpty(h.labels)) out.labels = { ...h.labels };
  if (h.bootstrap) out.bootstrapReady = true;
  if (h.labels[LABELS.bootstrapped] === 'true') out.bootstrapped = true;
  if (h.labels[LABELS.installed] === 'true') out.installed = true;
  if (h.labels[LABELS.needsReset] === 'true') out.needsReset = true;
  const ipu = h.labels[LABELS.inPlaceUpdate];
  if (ipu !== undefined && ipu !== '') out.inPlaceUpgrade = ipu;
  if (nonEmpty(h.osVersionManagement)) out.osVersionManagement = structuredClone(h.osVersionManagement);
  return out;
}

/** Start a stand-in Elemental API on 127.0.0.1, port 0. */
export async function startElementalApi(opts: StartOptions = {}): Promise<ElementalApi> {
  const api = new ElementalApiServer(opts);
  await api.listen(0);
  return api;
}
