// The Elemental API client against small raw node:http/node:https servers on 127.0.0.1
// (not the project's API stand-in): wire format, errors, timeouts, caps, TLS trust, proxies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { importSPKI, jwtVerify } from 'jose';
import { ApiError, ElementalClient, type ApiClientOptions } from '../../src/api/client';
import { noProxyMatches, parseProxy, proxyFor } from '../../src/api/proxy';
import { AgentError } from '../../src/errors';
import { HostRoot } from '../../src/fs';
import { Identity } from '../../src/identity';
import { setDebug, setLogSink } from '../../src/log';
import { userAgent } from '../../src/version';
import { testPki } from '../support/certs';
import { type ConnectProxy, deadPort, startConnectProxy } from '../support/connect-proxy';
import { type Tinyproxy, type TinyproxyOptions, startTinyproxy, tinyproxyTest } from '../support/tinyproxy';
import '../support/webcrypto';


const pki = testPki();
const identity = Identity.generate();
const TOKEN = 'registration-token-0123456789abcdef';
const REG_PATH = '/elemental/v1/namespaces/default/registrations/my-registration';
const tmp = mkdtempSync(join(tmpdir(), 'elemental-client-'));
const emptyDir = join(tmp, 'empty');
mkdirSync(emptyDir);

// ---- servers ------------------------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  servername?: string | false | null | undefined;
}
type Route = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const closers: Array<() => Promise<void>> = [];

function trackServer(server: net.Server): void {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
}

function listen(server: net.Server): Promise<number> {
  trackServer(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

interface ApiServer {
  port: number;
  seen: Seen[];
  route: Route;
}

async function apiServer(kind: 'http' | 'https'): Promise<ApiServer> {
  const api: ApiServer = {
    port: 0,
    seen: [],
    route: (_req, res) => json(res, 200, {}),
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const socket = req.socket as tls.TLSSocket;
      api.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        ...(kind === 'https' ? { servername: socket.servername } : {}),
      });
      api.route(req, res, body);
    });
  };
  const server =
    kind === 'https' ? https.createServer({ key: pki.serverKeyPem, cert: pki.serverCertPem }, handler) : http.createServer(handler);
  api.port = await listen(server);
  return api;
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}


/** The shared CONNECT proxy (test/support/connect-proxy.ts), optionally served over TLS with the test certificate. */
async function connectProxy(upstream: () => number, o: { overTls?: boolean } = {}): Promise<ConnectProxy> {
  const proxy = await startConnectProxy(upstream, { tls: o.overTls ? { key: pki.serverKeyPem, cert: pki.serverCertPem } : undefined });
  closers.push(proxy.close);
  return proxy;
}

/** tinyproxy (test/support/tinyproxy.ts), stopped with the servers. */
async function realProxy(o: TinyproxyOptions): Promise<Tinyproxy> {
  const proxy = await startTinyproxy(o);
  closers.push(proxy.close);
  return proxy;
}

// ---- helpers ------------------------------------------------------------------------------

function client(uri: string, o: Partial<ApiClientOptions> = {}): ElementalClient {
  return new ElementalClient({ uri, registrationToken: TOKEN, identity, env: {}, timeoutMs: 5000, ...o });
}

/** Awaits a rejection within `ms`; fails the test if it resolves or takes longer. */
async function rejection(p: Promise<unknown>, ms = 5000): Promise<ApiError> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([p, limit]);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('still pending')) throw err;
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.ok(err instanceof AgentError, 'ApiError is an AgentError (one operator line)');
    assert.not.match(err.message, /\n/, 'one line');
    return err;
  } finally {
    clearTimeout(timer);
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}

async function within<T>(p: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function constructionError(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AgentError, `expected AgentError, got ${String(err)}`);
    assert.not.match(err.message, /\n/);
    return err;
  }
  assert.unreachable('expected the constructor to throw');
  throw new Error('unreachable');
}

async function verifyHostJwt(authorization: string | undefined, subject: string, audience: string): Promise<void> {
  assert.ok(authorization?.startsWith('Bearer '), `Authorization: ${authorization}`);
  const token = (authorization ?? '').slice('Bearer '.length);
  const { payload } = await jwtVerify(token, await importSPKI(identity.publicKeyPem(), 'EdDSA'), {
    issuer: userAgent,
    subject,
    audience,
    algorithms: ['EdDSA'],
  });
  assert.equal(payload.aud, [audience]);
}

// Debug logs of the whole file, checked at the end for secrets.
// (Installed in before(): uvu imports every test file before running any suite.)
const logs: string[] = [];
let restoreSink = () => {};

let httpsApi: ApiServer;
let httpApi: ApiServer;
let httpsUri: string;
let httpUri: string;

test.before(async () => {
  restoreSink = setLogSink((line) => logs.push(line));
  setDebug(true);
  httpsApi = await apiServer('https');
  httpApi = await apiServer('http');
  httpsUri = `https://127.0.0.1:${httpsApi.port}${REG_PATH}`;
  httpUri = `http://127.0.0.1:${httpApi.port}${REG_PATH}`;
});

test.before.each(() => {
  if (httpsApi) {
    httpsApi.seen.length = 0;
    httpsApi.route = (_req, res) => json(res, 200, {});
  }
  if (httpApi) {
    httpApi.seen.length = 0;
    httpApi.route = (_req, res) => json(res, 200, {});
  }
});

test.after(async () => {
  setDebug(false);
  restoreSink();
  await Promise.all(closers.map((c) => c()));
  rmSync(tmp, { recursive: true, force: true });
});

// ---- the five calls -----------------------------------------------------------------------

const registration = {
  hostLabels: { location: 'lab' },
  hostAnnotations: { 'elemental.cluster.x-k8s.io/x': 'y' },
  config: {
    elemental: {
      registration: { uri: 'https://x/y', caCert: 'pem', token: 'new-token', tokenDuration: 3_600_000_000_000 },
      agent: {
        workDir: '/var/lib/elemental/agent',
        hostname: { useExisting: true, prefix: 'm-' },
        debug: true,
        osPlugin: '/usr/lib/elemental/plugins/elemental.so',
        reconciliation: 10_000_000_000,
        insecureAllowHttp: false,
        postInstall: { reboot: true },
        postReset: { powerOff: false, reboot: true },
        unknownField: 'kept',
      },
      install: { device: '/dev/sda', nested: { a: [1, 2] } },
      reset: {},
    },
    cloudConfig: { users: [{ name: 'root' }] },
  },
};

test('getRegistration: GET {uri} with User-Agent and Registration-Authorization, 200 JSON', async () => {
  httpsApi.route = (_req, res) => json(res, 200, registration);
  const got = await within(client(httpsUri, { caCert: pki.caCertPem }).getRegistration());
  assert.equal(got, registration);
  const seen = httpsApi.seen[0];
  assert.ok(seen);
  assert.is(seen.method, 'GET');
  assert.is(seen.url, REG_PATH);
  assert.is(seen.headers['user-agent'], userAgent);
  assert.match(userAgent, /^elemental-agent\//);
  assert.is(seen.headers['registration-authorization'], `Bearer ${TOKEN}`);
  assert.is(seen.headers.authorization, undefined);
  assert.is(seen.headers.host, `127.0.0.1:${httpsApi.port}`);
  assert.is(seen.headers.connection, 'close', 'one connection per request');
  assert.is(seen.body, '');
});

test('createHost: POST {uri}/hosts, host JWT (sub = name, aud = [uri]) and registration token, JSON body', async () => {
  httpsApi.route = (_req, res) => json(res, 201, {});
  const c = client(httpsUri, { caCert: pki.caCertPem });
  await within(c.createHost({ name: 'm-host1', annotations: { a: 'b' }, labels: { l: 'v' }, pubKey: identity.publicKeyPem() }));
  const seen = httpsApi.seen[0];
  assert.ok(seen);
  assert.is(seen.method, 'POST');
  assert.is(seen.url, `${REG_PATH}/hosts`);
  assert.is(seen.headers['content-type'], 'application/json');
  assert.is(seen.headers['content-length'], String(Buffer.byteLength(seen.body)));
  assert.is(seen.headers['registration-authorization'], `Bearer ${TOKEN}`);
  assert.is(seen.headers['user-agent'], userAgent);
  await verifyHostJwt(seen.headers.authorization, 'm-host1', httpsUri);
  assert.is(seen.body, JSON.stringify({ name: 'm-host1', annotations: { a: 'b' }, labels: { l: 'v' }, pubKey: identity.publicKeyPem() }));

  // Optional fields omitted; pubKey defaults to the identity's.
  await within(c.createHost({ name: 'm-host2' }));
  assert.equal(JSON.parse(httpsApi.seen[1]?.body ?? ''), { name: 'm-host2', pubKey: identity.publicKeyPem() });
});

test('patchHost: PATCH {uri}/hosts/{name}, Authorization only, JSON body, 200 HostResponse', async () => {
  const host = {
    name: 'm-host1',
    labels: { a: 'b' },
    annotations: {},
    bootstrapReady: true,
    bootstrapped: false,
    installed: true,
    needsReset: false,
    inPlaceUpgrade: 'Pending',
    osVersionManagement: { osVersion: 'v1' },
  };
  httpsApi.route = (_req, res) => json(res, 200, host);
  const patch = { installed: true, condition: { type: 'Ready', status: 'True' as const, message: 'ok' }, phase: 'Running' };
  const got = await within(client(httpsUri, { caCert: pki.caCertPem }).patchHost('m-host1', patch));
  assert.equal(got, host);
  const seen = httpsApi.seen[0];
  assert.ok(seen);
  assert.is(seen.method, 'PATCH');
  assert.is(seen.url, `${REG_PATH}/hosts/m-host1`);
  assert.is(seen.headers['content-type'], 'application/json');
  assert.is(seen.headers['registration-authorization'], undefined);
  assert.equal(JSON.parse(seen.body), patch);
  await verifyHostJwt(seen.headers.authorization, 'm-host1', httpsUri);
});

test('deleteHost: DELETE {uri}/hosts/{name} → 202; getBootstrap: GET .../bootstrap → 200', async () => {
  httpsApi.route = (req, res) => {
    if (req.method === 'DELETE') {
      res.writeHead(202);
      res.end();
    } else json(res, 200, { format: 'cloud-config', config: '#cloud-config\nruncmd: []\n' });
  };
  const c = client(httpsUri, { caCert: pki.caCertPem });
  await within(c.deleteHost('m-host1'));
  const boot = await within(c.getBootstrap('m-host1'));
  assert.equal(boot, { format: 'cloud-config', config: Buffer.from('#cloud-config\nruncmd: []\n') });
  const [del, get] = httpsApi.seen;
  assert.ok(del && get);
  assert.is(del.method, 'DELETE');
  assert.is(del.url, `${REG_PATH}/hosts/m-host1`);
  assert.is(del.body, '');
  assert.is(del.headers['content-type'], undefined);
  await verifyHostJwt(del.headers.authorization, 'm-host1', httpsUri);
  assert.is(get.method, 'GET');
  assert.is(get.url, `${REG_PATH}/hosts/m-host1/bootstrap`);
  assert.is(get.headers['registration-authorization'], undefined);
  await verifyHostJwt(get.headers.authorization, 'm-host1', httpsUri);
});

test('host names are path-encoded; a trailing slash on the uri is not doubled; "." and ".." refused', async () => {
  httpsApi.route = (_req, res) => json(res, 200, {});
  const c = client(`${httpsUri}/`, { caCert: pki.caCertPem });
  await within(c.patchHost('a b/c?d#e%', {}));
  assert.is(httpsApi.seen[0]?.url, `${REG_PATH}/hosts/a%20b%2Fc%3Fd%23e%25`);
  await verifyHostJwt(httpsApi.seen[0]?.headers.authorization, 'a b/c?d#e%', `${httpsUri}/`);
  for (const bad of ['', '.', '..']) {
    const err = await rejection(c.patchHost(bad, {}));
    assert.is(err.kind, 'request');
  }
  assert.is(httpsApi.seen.length, 1);
});

// ---- errors -------------------------------------------------------------------------------

test("unexpected status: exactly \"<operation> returned code '<N>': unexpected return code\" (the reference client's words), body only in debug logs", async () => {
  const longBody = `server says no: ${'x'.repeat(500)}`;
  httpsApi.route = (_req, res) => {
    res.writeHead(418, { 'Content-Type': 'text/plain' });
    res.end(`  ${longBody}\n`);
  };
  const c = client(httpsUri, { caCert: pki.caCertPem });
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['getting registration', () => c.getRegistration()],
    ['creating new host', () => c.createHost({ name: 'h' })],
    ['patching host', () => c.patchHost('h', {})],
    ['deleting host', () => c.deleteHost('h')],
    ['getting bootstrap', () => c.getBootstrap('h')],
  ];
  const before = logs.length;
  for (const [operation, call] of calls) {
    const err = await rejection(call());
    assert.is(err.message, `${operation} returned code '418': unexpected return code`);
    assert.is(err.operation, operation);
    assert.is(err.statusCode, 418);
    assert.is(err.kind, 'status');
  }
  const bodyLines = logs.slice(before).filter((l) => l.includes('server says no'));
  assert.is(bodyLines.length, 5);
  for (const line of bodyLines) {
    // Quoted: "<body, cut>"... (the closing quote and the ellipsis are not the body's).
    const shown = line.slice(line.indexOf('server says no')).replace(/"(\.\.\.)?\n$/, '');
    assert.ok(shown.length <= 200, `at most 200 chars of body: ${shown.length}`);
    assert.match(line, /^DEBUG .*response body: "server says no/);
  }
});

test('expected statuses are exact: 200 for create or 204 for delete are errors too', async () => {
  const c = client(httpsUri, { caCert: pki.caCertPem });
  httpsApi.route = (_req, res) => json(res, 200, {});
  assert.is((await rejection(c.createHost({ name: 'h' }))).message, "creating new host returned code '200': unexpected return code");
  httpsApi.route = (_req, res) => {
    res.writeHead(204);
    res.end();
  };
  assert.is((await rejection(c.deleteHost('h'))).message, "deleting host returned code '204': unexpected return code");
  httpsApi.route = (_req, res) => json(res, 404, { error: 'not found' });
  const err = await rejection(c.patchHost('h', {}));
  assert.is(err.statusCode, 404);
  assert.is(err.message, "patching host returned code '404': unexpected return code");
});

test('an unexpected status with a huge body fails fast on the status, not on the body', async () => {
  const big = 'y'.repeat(8 * 1024 * 1024);
  httpsApi.route = (_req, res) => {
    res.writeHead(500, { 'Content-Length': big.length });
    res.end(big);
  };
  const err = await rejection(client(httpsUri, { caCert: pki.caCertPem, maxResponseBytes: 1024 }).getRegistration());
  assert.is(err.message, "getting registration returned code '500': unexpected return code");
});

test('connection refused: "<operation>: connect ECONNREFUSED ..."', async () => {
  const port = await deadPort();
  const err = await rejection(client(`https://127.0.0.1:${port}/r`, { caCert: pki.caCertPem }).getRegistration());
  assert.is(err.message, `getting registration: connect ECONNREFUSED 127.0.0.1:${port}`);
  assert.is(err.statusCode, undefined);
  assert.is(err.kind, 'network');
  const err2 = await rejection(client(`http://127.0.0.1:${port}/r`, { insecureAllowHttp: true }).deleteHost('h'));
  assert.is(err2.message, `deleting host: connect ECONNREFUSED 127.0.0.1:${port}`);
});

test('timeout: a server that never answers fails within the configured timeout', async () => {
  // Accepts TCP, never speaks: the TLS handshake hangs.
  const silent = net.createServer((s) => s.on('error', () => {}));
  const silentPort = await listen(silent);
  // Speaks HTTP headers, then stalls the body.
  const stalling = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('{"a":');
  });
  const stallingPort = await listen(stalling);
  // Never answers an HTTP request.
  const mute = http.createServer(() => {});
  const mutePort = await listen(mute);

  const cases: Array<[string, ElementalClient]> = [
    ['TLS handshake', client(`https://127.0.0.1:${silentPort}/r`, { caCert: pki.caCertPem, timeoutMs: 300 })],
    ['body', client(`http://127.0.0.1:${stallingPort}/r`, { insecureAllowHttp: true, timeoutMs: 300 })],
    ['response', client(`http://127.0.0.1:${mutePort}/r`, { insecureAllowHttp: true, timeoutMs: 300 })],
  ];
  for (const [what, c] of cases) {
    const started = Date.now();
    const err = await rejection(c.getRegistration(), 3000);
    const elapsed = Date.now() - started;
    assert.is(err.message, 'getting registration: request timed out after 300 ms', what);
    assert.is(err.kind, 'timeout');
    assert.ok(elapsed >= 250 && elapsed < 2000, `${what}: ${elapsed} ms`);
  }
});

test('server closing mid-body or without answering is a network error', async () => {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('{"a":', () => res.socket?.destroy());
  });
  const port = await listen(server);
  const err = await rejection(client(`http://127.0.0.1:${port}/r`, { insecureAllowHttp: true }).getRegistration());
  assert.is(err.message, 'getting registration: connection closed before the response was complete');
  assert.is(err.kind, 'network');
  const hangUp = net.createServer((s) => s.destroy());
  const hangUpPort = await listen(hangUp);
  const err2 = await rejection(client(`http://127.0.0.1:${hangUpPort}/r`, { insecureAllowHttp: true }).getRegistration());
  assert.is(err2.message, 'getting registration: the server closed the connection without answering (socket hang up)');
  const err3 = await rejection(client(`https://127.0.0.1:${hangUpPort}/r`, { caCert: pki.caCertPem }).getRegistration());
  assert.match(err3.message, /^getting registration: /);
});

test('invalid JSON: "<operation>: invalid JSON in response: ..."', async () => {
  const c = client(httpsUri, { caCert: pki.caCertPem });
  for (const body of ['<html>nope</html>', '{"a":', '']) {
    httpsApi.route = (_req, res) => json(res, 200, body);
    const err = await rejection(c.getRegistration());
    assert.match(err.message, /^getting registration: invalid JSON in response: /);
    assert.is(err.kind, 'response');
  }
  httpsApi.route = (_req, res) => json(res, 200, 'not json');
  assert.match((await rejection(c.patchHost('h', {}))).message, /^patching host: invalid JSON in response: /);
  assert.match((await rejection(c.getBootstrap('h'))).message, /^getting bootstrap: invalid JSON in response: /);
});

test('wrong-shape JSON is a clear error; null fields count as absent', async () => {
  const c = client(httpsUri, { caCert: pki.caCertPem });
  const cases: Array<[() => Promise<unknown>, unknown, string]> = [
    [() => c.getRegistration(), [], 'getting registration: unexpected response: expected a JSON object, got array'],
    [() => c.getRegistration(), 'a string', 'getting registration: unexpected response: expected a JSON object, got string'],
    [() => c.getRegistration(), 42, 'getting registration: unexpected response: expected a JSON object, got number'],
    [() => c.getRegistration(), null, 'getting registration: unexpected response: expected a JSON object, got null'],
    [() => c.getRegistration(), { hostLabels: { a: 1 } }, 'getting registration: unexpected response: hostLabels.a must be a string, got number'],
    [() => c.getRegistration(), { hostAnnotations: ['x'] }, 'getting registration: unexpected response: hostAnnotations must be a map of strings, got array'],
    [() => c.getRegistration(), { config: 'x' }, 'getting registration: unexpected response: config must be an object, got string'],
    [
      () => c.getRegistration(),
      { config: { elemental: { agent: { debug: 'true' } } } },
      'getting registration: unexpected response: config.elemental.agent.debug must be a boolean, got string',
    ],
    [
      () => c.getRegistration(),
      { config: { elemental: { agent: { reconciliation: '10s' } } } },
      'getting registration: unexpected response: config.elemental.agent.reconciliation must be an integer, got string',
    ],
    [
      () => c.getRegistration(),
      { config: { elemental: { registration: { tokenDuration: 1.5 } } } },
      'getting registration: unexpected response: config.elemental.registration.tokenDuration must be an integer, got number',
    ],
    [
      () => c.getRegistration(),
      { config: { elemental: { install: [] } } },
      'getting registration: unexpected response: config.elemental.install must be an object, got array',
    ],
    [
      () => c.getRegistration(),
      { config: { elemental: { agent: { hostname: { prefix: 7 } } } } },
      'getting registration: unexpected response: config.elemental.agent.hostname.prefix must be a string, got number',
    ],
    [() => c.getRegistration(), { config: { cloudConfig: 'users: []' } }, 'getting registration: unexpected response: config.cloudConfig must be an object, got string'],
    [() => c.patchHost('h', {}), { needsReset: 'yes' }, 'patching host: unexpected response: needsReset must be a boolean, got string'],
    [() => c.patchHost('h', {}), [], 'patching host: unexpected response: expected a JSON object, got array'],
    [() => c.patchHost('h', {}), { labels: { a: null } }, 'patching host: unexpected response: labels.a must be a string, got null'],
    [() => c.patchHost('h', {}), { osVersionManagement: 'v1' }, 'patching host: unexpected response: osVersionManagement must be an object, got string'],
    [() => c.patchHost('h', {}), { inPlaceUpgrade: true }, 'patching host: unexpected response: inPlaceUpgrade must be a string, got boolean'],
    [() => c.getBootstrap('h'), { config: 5 }, 'getting bootstrap: unexpected response: config must be a string, got number'],
    [() => c.getBootstrap('h'), 'cloud-config', 'getting bootstrap: unexpected response: expected a JSON object, got string'],
  ];
  for (const [call, body, message] of cases) {
    httpsApi.route = (_req, res) => json(res, 200, JSON.stringify(body));
    const err = await rejection(call());
    assert.is(err.message, message);
    assert.is(err.kind, 'response');
  }
  httpsApi.route = (_req, res) => json(res, 200, { needsReset: null, labels: null, name: 'h', extra: { any: 1 } });
  const host = await within(c.patchHost('h', {}));
  assert.equal(host, { name: 'h', extra: { any: 1 } });
  assert.is('needsReset' in host, false);
});

test('response bodies are capped (declared length and chunked)', async () => {
  const c = client(httpsUri, { caCert: pki.caCertPem, maxResponseBytes: 1024 });
  const big = JSON.stringify({ name: 'x'.repeat(4096) });
  httpsApi.route = (_req, res) => json(res, 200, big);
  let err = await rejection(c.patchHost('h', {}));
  assert.is(err.message, 'patching host: the answer is too large: more than the 1024 bytes limit for registration and host answers; reading stopped there');
  assert.is(err.kind, 'too-large');
  httpsApi.route = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    for (let i = 0; i < 8; i++) res.write(big.slice(i * 512, (i + 1) * 512));
    res.end(big.slice(8 * 512));
  };
  err = await rejection(c.patchHost('h', {}));
  assert.is(err.message, 'patching host: the answer is too large: more than the 1024 bytes limit for registration and host answers; reading stopped there');
  // Just under the cap is fine.
  httpsApi.route = (_req, res) => json(res, 200, { name: 'x'.repeat(1000) });
  assert.is((await within(c.patchHost('h', {}))).name?.length, 1000);
  // Without an override, a host answer's cap is 8 MiB (the bootstrap's 64 MiB: hardening.test.ts).
  httpsApi.route = (_req, res) => {
    res.writeHead(200, { 'Content-Length': String(9 * 1024 * 1024) });
    res.write('{');
  };
  err = await rejection(client(httpsUri, { caCert: pki.caCertPem }).patchHost('h', {}));
  assert.is(err.message, 'patching host: the answer is too large: more than the 8 MiB limit for registration and host answers; reading stopped there');
});

// ---- scheme -------------------------------------------------------------------------------

test("scheme: https only; http only with insecureAllowHttp; anything else refused at construction", async () => {
  let err = constructionError(() => client('ftp://x/y'));
  assert.is(err.message, "registration uri 'ftp://x/y': invalid scheme, use 'https' instead");
  err = constructionError(() => client(httpUri));
  assert.ok(err.message.startsWith(`registration uri '${httpUri}': invalid scheme, use 'https' instead`), err.message);
  assert.ok(err.message.includes('insecureAllowHttp'));
  err = constructionError(() => client('not a url'));
  assert.match(err.message, /registration uri 'not a url' is not a valid URL/);
  err = constructionError(() => client(''));
  assert.match(err.message, /registration uri is not set/);

  httpApi.route = (_req, res) => json(res, 200, registration);
  assert.equal(await within(client(httpUri, { insecureAllowHttp: true }).getRegistration()), registration);
  assert.is(httpApi.seen[0]?.headers['registration-authorization'], `Bearer ${TOKEN}`);
});

// ---- TLS trust ----------------------------------------------------------------------------

test('TLS: trusted via inline caCert, by IP and by name (SNI)', async () => {
  await within(client(httpsUri, { caCert: pki.caCertPem }).getRegistration());
  await within(client(`https://localhost:${httpsApi.port}${REG_PATH}`, { caCert: pki.caCertPem }).getRegistration());
  assert.is(httpsApi.seen[0]?.servername, false, 'no SNI for an IP');
  assert.is(httpsApi.seen[1]?.servername, 'localhost');
});

test('TLS: trusted via a caCert file path, resolved under the HostRoot', async () => {
  await within(client(httpsUri, { caCert: pki.caCertPath }).getRegistration());
  const rootDir = join(tmp, 'sysroot');
  mkdirSync(join(rootDir, 'etc/elemental'), { recursive: true });
  copyFileSync(pki.caCertPath, join(rootDir, 'etc/elemental/ca.crt'));
  await within(client(httpsUri, { caCert: '/etc/elemental/ca.crt', root: new HostRoot(rootDir) }).getRegistration());
  // The same host path without the root does not exist.
  const err = constructionError(() => client(httpsUri, { caCert: '/etc/elemental/ca.crt' }));
  assert.match(err.message, /registration\.caCert file "\/etc\/elemental\/ca\.crt" does not exist/);
});

test('TLS: useSystemCertPool reads SSL_CERT_FILE / SSL_CERT_DIR from the given env', async () => {
  await within(
    client(httpsUri, { useSystemCertPool: true, env: { SSL_CERT_FILE: pki.caCertPath, SSL_CERT_DIR: emptyDir } }).getRegistration(),
  );
  const certDir = join(tmp, 'certdir');
  mkdirSync(certDir);
  copyFileSync(pki.caCertPath, join(certDir, 'lab-ca.pem'));
  await within(
    client(httpsUri, { useSystemCertPool: true, env: { SSL_CERT_FILE: pki.otherCaCertPath, SSL_CERT_DIR: certDir } }).getRegistration(),
  );
  // Only the other CA in the "system" pool: rejected.
  const err = await rejection(
    client(httpsUri, { useSystemCertPool: true, env: { SSL_CERT_FILE: pki.otherCaCertPath, SSL_CERT_DIR: emptyDir } }).getRegistration(),
  );
  assert.is(err.kind, 'tls');
  assert.match(err.message, /^getting registration: TLS handshake with 127\.0\.0\.1:\d+ failed: /);
});

test('TLS: with no CA configured nothing is trusted (not even Node\'s bundled roots)', async () => {
  const err = await rejection(client(httpsUri).getRegistration());
  assert.is(err.kind, 'tls');
  assert.ok(err.message.includes('registration.caCert'), err.message);
  assert.ok(err.message.includes('agent.useSystemCertPool'), err.message);
  assert.is(httpsApi.seen.length, 0);
});

test('TLS: the wrong CA is rejected; a certificate for another name is rejected', async () => {
  let err = await rejection(client(httpsUri, { caCert: pki.otherCaCertPem }).getRegistration());
  assert.is(err.kind, 'tls');
  assert.match(err.message, /^getting registration: TLS handshake with 127\.0\.0\.1:\d+ failed: .*registration\.caCert/);
  // A name the certificate does not carry (reached through a proxy that maps it to the server).
  const proxy = await connectProxy(() => httpsApi.port);
  const env = { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` };
  err = await rejection(client(`https://wrong.example:${await deadPort()}/r`, { caCert: pki.caCertPem, env }).getRegistration());
  assert.is(err.kind, 'tls');
  assert.match(err.message, /^getting registration: TLS handshake with wrong\.example:\d+ failed: .*wrong\.example/);
  assert.is(proxy.seen.length, 1);
  assert.is(httpsApi.seen.length, 0);
});

test('TLS: insecureSkipTlsVerify accepts an untrusted server', async () => {
  await within(client(httpsUri, { insecureSkipTlsVerify: true }).getRegistration());
  await within(client(httpsUri, { insecureSkipTlsVerify: true, caCert: pki.otherCaCertPem }).getRegistration());
  assert.is(httpsApi.seen.length, 2);
});

test('TLS: an unparsable caCert is an AgentError at construction', () => {
  const broken = pki.caCertPem.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!notbase64!!!!!!!');
  const cases: Array<[string, RegExp]> = [
    ['hello world', /registration\.caCert "hello world" is neither a PEM certificate nor an absolute path/],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /certificate 1 of 1 is not a valid X\.509 certificate/],
    [broken, /not a valid X\.509 certificate/],
    ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /holds no PEM certificate/],
  ];
  for (const [caCert, pattern] of cases) {
    const err = constructionError(() => client(httpsUri, { caCert }));
    assert.match(err.message, pattern);
    assert.not.match(err.message, /MII/, 'no certificate body in the message');
  }
  const garbageFile = join(tmp, 'garbage.crt');
  writeFileSync(garbageFile, 'not a certificate\n');
  assert.match(constructionError(() => client(httpsUri, { caCert: garbageFile })).message, new RegExp(`file "${garbageFile}" holds no PEM certificate`));
  assert.match(constructionError(() => client(httpsUri, { caCert: tmp })).message, /is not a regular file \(a directory\)/);
});

// ---- proxies ------------------------------------------------------------------------------

tinyproxyTest(test, 'HTTPS_PROXY through tinyproxy: CONNECT tunnel, credentials accepted, TLS verified against the API name', async () => {
  const proxy = await realProxy({ connectPorts: [httpsApi.port], basicAuth: { user: 'agent', password: 'pass-word_1' } });
  const uri = `https://localhost:${httpsApi.port}${REG_PATH}`;
  httpsApi.route = (_req, res) => json(res, 200, registration);
  const env = { HTTPS_PROXY: `http://agent:pass%2Dword_1@127.0.0.1:${proxy.port}`, HTTP_PROXY: 'http://127.0.0.1:1' };
  const got = await within(client(uri, { caCert: pki.caCertPem, env }).getRegistration());
  assert.equal(got, registration);
  // tinyproxy checked the credentials itself (wrong ones get 401, see below); '%2D' is decoded
  // ('@' is no character tinyproxy's BasicAuth line takes: parseProxy's test covers it).
  assert.equal(proxy.requests(), [`CONNECT localhost:${httpsApi.port} HTTP/1.1`]);
  const seen = httpsApi.seen[0];
  assert.ok(seen);
  assert.is(seen.servername, 'localhost', 'SNI is the API name, not the proxy');
  assert.is(seen.headers.host, `localhost:${httpsApi.port}`);
  assert.is(seen.headers['proxy-authorization'], undefined, 'credentials never reach the API');
  assert.is(seen.url, REG_PATH);

  // Through the same tunnel, the wrong CA still fails: verification really happens.
  const err = await rejection(client(uri, { caCert: pki.otherCaCertPem, env }).getRegistration());
  assert.is(err.kind, 'tls');
  assert.is(proxy.requests().length, 2);
  // lower-case variable too.
  await within(client(uri, { caCert: pki.caCertPem, env: { https_proxy: `agent:pass%2Dword_1@127.0.0.1:${proxy.port}` } }).deleteHost('h').catch(() => {}));
  assert.is(proxy.requests().length, 3);
  assert.is(httpsApi.seen.length, 2, 'the registration, then the delete (the wrong-CA attempt never got past TLS)');
});

test('getBootstrap: a 6 MB config with escapes and non-ASCII arrives byte for byte, over HTTP and HTTPS', async () => {
  // Big enough for the in-place decoding and the collections while it arrives (4 MB and up).
  const config = `#cloud-config\n${'write_files: "é€😀\\t\\u0041"\n'.repeat(200_000)}`;
  for (const [api, uri, o] of [
    [httpApi, httpUri, { insecureAllowHttp: true }],
    [httpsApi, httpsUri, { caCert: pki.caCertPem }],
  ] as const) {
    api.route = (_req, res) => json(res, 200, { format: 'cloud-config', config });
    const got = await within(client(uri, o).getBootstrap('h'), 10_000);
    assert.ok(Buffer.byteLength(config) > 6_000_000);
    assert.ok(got.config?.equals(Buffer.from(config)), uri);
    assert.is(got.format, 'cloud-config');
  }
});

test('HTTPS_PROXY over TLS (https:// proxy) tunnels TLS in TLS', async () => {
  const proxy = await connectProxy(() => httpsApi.port, { overTls: true });
  const apiPort = await deadPort();
  const env = { HTTPS_PROXY: `https://localhost:${proxy.port}` };
  httpsApi.route = (_req, res) => json(res, 200, { format: 'f', config: 'c' });
  const got = await within(client(`https://localhost:${apiPort}${REG_PATH}`, { caCert: pki.caCertPem, env }).getBootstrap('h'));
  assert.equal(got, { format: 'f', config: Buffer.from('c') });
  assert.is(proxy.seen[0]?.line, `CONNECT localhost:${apiPort} HTTP/1.1`);
});

tinyproxyTest(test, "tinyproxy refusing CONNECT (no credentials: 407, wrong ones: 401, a port it does not allow: 403) is one proxy line without credentials", async () => {
  const proxy = await realProxy({ connectPorts: [httpsApi.port], basicAuth: { user: 'agent', password: 'secret-proxy-pass' } });
  const at = `proxy http://127.0.0.1:${proxy.port}: CONNECT 127.0.0.1:${httpsApi.port} returned code`;
  let err = await rejection(client(httpsUri, { caCert: pki.caCertPem, env: { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` } }).getRegistration());
  assert.is(
    err.message,
    `getting registration: ${at} '407' (Proxy Authentication Required): the proxy asks for a user and password: put them in the proxy URL (http://user:password@host:port, percent-encoded)`,
  );
  assert.is(err.kind, 'proxy');
  err = await rejection(client(httpsUri, { caCert: pki.caCertPem, env: { HTTPS_PROXY: `http://agent:wrong-secret@127.0.0.1:${proxy.port}` } }).getRegistration());
  assert.is(err.message, `getting registration: ${at} '401' (Unauthorized): the proxy did not accept the user and password in the proxy URL`);
  assert.is(err.kind, 'proxy');
  // A port outside its ConnectPort list: tinyproxy's own 403 (its HTML page is not read).
  const other = await apiServer('https');
  const env = { HTTPS_PROXY: `http://agent:secret-proxy-pass@127.0.0.1:${proxy.port}` };
  err = await rejection(client(`https://127.0.0.1:${other.port}${REG_PATH}`, { caCert: pki.caCertPem, env }).getRegistration());
  assert.is(err.message, `getting registration: proxy http://127.0.0.1:${proxy.port}: CONNECT 127.0.0.1:${other.port} returned code '403' (Access violation)`);
  assert.is(other.seen.length + httpsApi.seen.length, 0, 'nothing reached a server');
  assert.is(proxy.requests().length, 3);
  assert.not.match(proxy.log(), /secret-proxy-pass|wrong-secret/, 'tinyproxy logs no password either');
});

test('HTTPS_PROXY unreachable, or with an unsupported scheme, is a one-line proxy error without credentials', async () => {
  const dead = await deadPort();
  const err = await rejection(client(httpsUri, { caCert: pki.caCertPem, env: { HTTPS_PROXY: `http://agent:secret-proxy-pass@127.0.0.1:${dead}` } }).getRegistration());
  assert.is(err.message, `getting registration: proxy http://127.0.0.1:${dead}: connect ECONNREFUSED 127.0.0.1:${dead}`);
  assert.not.ok(err.message.includes('secret-proxy-pass'));
  const bad = constructionError(() => client(httpsUri, { env: { HTTPS_PROXY: 'socks5://u:secret-proxy-pass@127.0.0.1:1080' } }));
  assert.match(bad.message, /unsupported scheme 'socks5'/);
  assert.not.ok(bad.message.includes('secret-proxy-pass'));
});

test('HTTP_PROXY: plain http goes to the proxy in absolute form', async () => {
  const seen: Seen[] = [];
  const proxyServer = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' });
    json(res, 200, registration);
  });
  const proxyPort = await listen(proxyServer);
  // .invalid never resolves: only the proxy can answer.
  const uri = `http://elemental.invalid:8080${REG_PATH}`;
  const env = { HTTP_PROXY: `http://u:pw@127.0.0.1:${proxyPort}`, HTTPS_PROXY: 'http://127.0.0.1:1' };
  const got = await within(client(uri, { insecureAllowHttp: true, env }).getRegistration());
  assert.equal(got, registration);
  assert.is(seen[0]?.url, uri);
  assert.is(seen[0]?.headers.host, 'elemental.invalid:8080');
  assert.is(seen[0]?.headers['proxy-authorization'], `Basic ${Buffer.from('u:pw').toString('base64')}`);
  assert.is(seen[0]?.headers['registration-authorization'], `Bearer ${TOKEN}`);
});

tinyproxyTest(test, 'NO_PROXY: a listed host goes straight past tinyproxy', async () => {
  const proxy = await realProxy({ connectPorts: [httpsApi.port] });
  const uri = `https://localhost:${httpsApi.port}${REG_PATH}`;
  for (const noProxy of ['localhost', '.example.com, localhost', `localhost:${httpsApi.port}`, '*']) {
    await within(client(uri, { caCert: pki.caCertPem, env: { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: noProxy } }).getRegistration());
  }
  await within(client(httpsUri, { caCert: pki.caCertPem, env: { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, no_proxy: '127.0.0.0/8' } }).getRegistration());
  assert.equal(proxy.requests(), [], 'tinyproxy saw no request');
  assert.is(httpsApi.seen.length, 5);
  // A port that does not match: proxied.
  await within(client(uri, { caCert: pki.caCertPem, env: { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: 'localhost:1' } }).getRegistration());
  assert.equal(proxy.requests(), [`CONNECT localhost:${httpsApi.port} HTTP/1.1`]);
});

test('proxy selection rules (Go httpproxy semantics)', () => {
  const https = new URL('https://api.example.com/r');
  const http = new URL('http://api.example.com/r');
  assert.is(proxyFor(https, { HTTPS_PROXY: 'http://a:1', https_proxy: 'http://b:1' })?.hostname, 'a');
  assert.is(proxyFor(https, { https_proxy: 'http://b:1' })?.hostname, 'b');
  assert.is(proxyFor(https, { HTTP_PROXY: 'http://a:1' }), undefined, 'https does not use HTTP_PROXY');
  assert.is(proxyFor(http, { HTTP_PROXY: 'http://a:1' })?.hostname, 'a');
  assert.is(proxyFor(http, { HTTPS_PROXY: 'http://a:1' }), undefined);
  assert.is(proxyFor(https, { HTTPS_PROXY: 'http://a:1', NO_PROXY: 'example.com' }), undefined);
  assert.is(proxyFor(https, { HTTPS_PROXY: 'http://a:1', no_proxy: 'example.com' }), undefined);
  assert.is(proxyFor(https, { HTTPS_PROXY: '' }), undefined);

  const p = parseProxy('proxy.lan:3128');
  assert.equal({ ...p }, { protocol: 'http:', hostname: 'proxy.lan', port: 3128, display: 'http://proxy.lan:3128' });
  assert.is(parseProxy('http://proxy.lan').port, 80);
  assert.is(parseProxy('https://proxy.lan').port, 443);
  assert.is(parseProxy('http://[::1]:8080').hostname, '::1');
  const withAuth = parseProxy('http://us%3Aer:p%40ss@proxy.lan:3128');
  assert.is(withAuth.authorization, `Basic ${Buffer.from('us:er:p@ss').toString('base64')}`);
  assert.is(withAuth.display, 'http://proxy.lan:3128');

  const m = (list: string, host: string, port = '443') => noProxyMatches(list, host, port);
  assert.ok(m('*', 'anything'));
  assert.ok(m('example.com', 'example.com'));
  assert.ok(m('example.com', 'api.example.com'));
  assert.not.ok(m('example.com', 'notexample.com'));
  assert.ok(m('.example.com', 'api.example.com'));
  assert.not.ok(m('.example.com', 'example.com'), 'leading dot: subdomains only (Go)');
  assert.ok(m('*.example.com', 'api.example.com'));
  assert.ok(m('EXAMPLE.com', 'Api.Example.COM'));
  assert.ok(m('example.com:443', 'api.example.com'));
  assert.not.ok(m('example.com:8443', 'api.example.com'));
  assert.ok(m(' foo , example.com ', 'example.com'));
  assert.ok(m('10.0.0.1', '10.0.0.1'));
  assert.not.ok(m('10.0.0.1', '10.0.0.2'));
  assert.ok(m('10.0.0.1:443', '10.0.0.1'));
  assert.not.ok(m('10.0.0.1:80', '10.0.0.1'));
  assert.ok(m('10.0.0.0/8', '10.1.2.3'));
  assert.not.ok(m('10.0.0.0/8', '11.1.2.3'));
  assert.not.ok(m('10.0.0.0/8', 'ten.example.com'));
  assert.ok(m('::1', '::1'));
  assert.ok(m('[::1]:443', '[::1]'));
  assert.ok(m('fd00::/8', 'fd00::5'));
  assert.not.ok(m('', 'example.com'));
  assert.not.ok(m('localhost', '127.0.0.1'), 'names are not resolved');
});

// ---- logs ---------------------------------------------------------------------------------

test('debug logs: each request with method, path, status and duration; never tokens, JWTs or proxy credentials', async () => {
  httpsApi.route = (req, res) => (req.method === 'POST' ? json(res, 201, {}) : json(res, 200, {}));
  const c = client(httpsUri, { caCert: pki.caCertPem });
  await within(c.getRegistration());
  await within(c.createHost({ name: 'log-host' }));
  const text = logs.join('');
  assert.match(text, new RegExp(`DEBUG GET ${REG_PATH} -> 200 in \\d+ ms`));
  assert.match(text, new RegExp(`DEBUG POST ${REG_PATH}/hosts -> 201 in \\d+ ms`));
  // (Without tinyproxy only the double's tests used a proxy: any proxy line will do.)
  assert.match(text, /DEBUG using proxy https?:\/\/(127\.0\.0\.1|localhost):\d+ for https:\/\/\S+/);
  for (const forbidden of [TOKEN, 'eyJ', 'Bearer', 'secret-proxy-pass', 'wrong-secret', 'pass%2Dword_1', 'pass-word_1', 'agent:', '[REDACTED]', 'PRIVATE KEY']) {
    assert.not.ok(text.includes(forbidden), `logs contain ${forbidden}`);
  }
});

test.run();
