// Tests of the Elemental API stand-in itself (test/support/elemental-api.ts): raw HTTP requests,
// host JWTs made with jose (not the agent's code), one assertion group per rule.
import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT, decodeJwt, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import { LABELS, startElementalApi, type ElementalApi, type RegistrationHandle } from '../support/elemental-api';
import { testPki } from '../support/certs';
import type { ApiHostResponse, ApiRegistrationResponse } from '../../src/api/types';

// ---------------------------------------------------------------------------------------------
// Raw HTTP client

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

interface ReqOpts {
  method?: string;
  headers?: Record<string, string>;
  body?: string | object;
  ca?: string;
  timeoutMs?: number;
  agent?: http.Agent | false;
}

function request(url: string, opts: ReqOpts = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      { method: opts.method ?? 'GET', headers, agent: opts.agent ?? false, ...(opts.ca ? { ca: opts.ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () => {
          if (!res.complete) reject(new Error('response incomplete'));
          else resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.setTimeout(opts.timeoutMs ?? 3000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, Error);
    assert.match((err as Error).message, re);
    return err as Error;
  }
  assert.unreachable(`expected rejection matching ${re}`);
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------
// Host identities made with jose

interface HostKey {
  privateKey: CryptoKey;
  pubKey: string;
}

async function newHostKey(): Promise<HostKey> {
  const { publicKey, privateKey } = await generateKeyPair('Ed25519', { extractable: true });
  return { privateKey, pubKey: `${await exportSPKI(publicKey)}\n` };
}

interface JwtOpts {
  sub: string;
  aud: string;
  iat?: number;
  nbf?: number;
  exp?: number;
  alg?: string;
}

async function hostJwt(key: HostKey, o: JwtOpts): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: o.alg ?? 'EdDSA', typ: 'JWT' })
    .setIssuer('elemental-agent/test')
    .setSubject(o.sub)
    .setAudience([o.aud])
    .setIssuedAt(o.iat ?? now)
    .setNotBefore(o.nbf ?? now - 2)
    .setExpirationTime(o.exp ?? now + 60)
    .sign(key.privateKey);
}

async function bearer(key: HostKey, reg: RegistrationHandle, name: string): Promise<string> {
  return `Bearer ${await hostJwt(key, { sub: name, aud: reg.uri })}`;
}

function hmacJwt(claims: object): string {
  // alg HS256 signed with the literal string "secret": must be refused whatever the key.
  const h = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const s = createHmac('sha256', 'secret').update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${s}`;
}

function noneJwt(claims: object): string {
  const h = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${h}.${p}.`;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Ctx {
  api: ElementalApi;
  reg: RegistrationHandle;
}

async function setup(opts: Parameters<ElementalApi['addRegistration']>[0] = {}, https_ = false): Promise<Ctx> {
  const api = await startElementalApi({ https: https_ });
  const reg = api.addRegistration(opts);
  return { api, reg };
}

function regAuth(reg: RegistrationHandle, token = reg.token): Record<string, string> {
  return { 'Registration-Authorization': `Bearer ${token}` };
}

async function createHost(ctx: Ctx, name: string, extra: object = {}): Promise<HostKey> {
  const key = await newHostKey();
  const res = await request(`${ctx.reg.uri}/hosts`, {
    method: 'POST',
    headers: { ...regAuth(ctx.reg), Authorization: await bearer(key, ctx.reg, name), 'content-type': 'application/json' },
    body: { name, pubKey: key.pubKey, ...extra },
  });
  assert.is(res.status, 201, res.text);
  return key;
}

async function patch(ctx: Ctx, key: HostKey, name: string, body: string | object): Promise<Res> {
  return request(`${ctx.reg.uri}/hosts/${name}`, {
    method: 'PATCH',
    headers: { Authorization: await bearer(key, ctx.reg, name), 'content-type': 'application/json' },
    body,
  });
}

function json<T>(res: Res): T {
  return JSON.parse(res.text) as T;
}

const now = (): number => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// Routes

test('routes: anything else is 404, unknown registration is 404 before auth', async () => {
  const ctx = await setup();
  try {
    const base = ctx.api.url;
    const uri = ctx.reg.uri;
    const h = regAuth(ctx.reg);
    const cases: Array<[string, string]> = [
      ['GET', `${base}/`],
      ['GET', `${base}/elemental/v1/namespaces/default/registrations`],
      ['GET', `${uri}/`],
      ['POST', uri],
      ['DELETE', uri],
      ['GET', `${uri}/hosts`],
      ['GET', `${uri}/hosts/x`],
      ['PUT', `${uri}/hosts/x`],
      ['POST', `${uri}/hosts/x`],
      ['GET', `${uri}/hosts/x/other`],
      ['PATCH', `${uri}/hosts/x/bootstrap`],
    ];
    for (const [method, url] of cases) {
      const res = await request(url, { method, headers: h });
      assert.is(res.status, 404, `${method} ${url}`);
      assert.ok(res.text.length < 200);
    }
    const other = `${base}/elemental/v1/namespaces/default/registrations/nope`;
    assert.is((await request(other)).status, 404);
    assert.is((await request(`${other}/hosts`, { method: 'POST', body: '{' })).status, 404);
    assert.is((await request(`${base}/elemental/v1/namespaces/other/registrations/reg`, { headers: h })).status, 404);
    assert.is((await request(uri, { headers: h })).status, 200);
    assert.is((await request(`${uri}?x=1`, { headers: h })).status, 200, 'query string ignored');
    ctx.api.removeRegistration(ctx.reg);
    assert.is((await request(uri, { headers: h })).status, 404);
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Registration token

test('registration token: claims (iss, sub = aud[0] = uri, iat, nbf, no exp when duration 0)', async () => {
  const ctx = await setup();
  try {
    assert.match(ctx.reg.uri, /^http:\/\/127\.0\.0\.1:\d+\/elemental\/v1\/namespaces\/default\/registrations\/reg$/);
    assert.ok(ctx.reg.uri.startsWith(ctx.api.url));
    const c = decodeJwt(ctx.reg.token);
    assert.is(c.iss, 'ElementalRegistrationReconciler');
    assert.is(c.sub, ctx.reg.uri);
    assert.equal(c.aud, [ctx.reg.uri]);
    assert.type(c.iat, 'number');
    assert.type(c.nbf, 'number');
    assert.ok(Math.abs((c.iat ?? 0) - now()) <= 2);
    assert.is(c.exp, undefined);
    const header = JSON.parse(Buffer.from(ctx.reg.token.split('.')[0] ?? '', 'base64url').toString()) as { alg: string };
    assert.is(header.alg, 'EdDSA');

    const reg2 = ctx.api.addRegistration({ namespace: 'ns2', name: 'r2', tokenDuration: 3600 });
    const c2 = decodeJwt(reg2.token);
    assert.is(c2.exp, (c2.iat ?? 0) + 3600);
    const body = json<ApiRegistrationResponse>(await request(reg2.uri, { headers: regAuth(reg2) }));
    assert.is(body.config?.elemental?.registration?.tokenDuration, 3600 * 1e9);
    assert.throws(() => ctx.api.addRegistration({}), /already exists/);
  } finally {
    await ctx.api.close();
  }
});

test('registration token: 401 when missing, not Bearer or signed with another algorithm; 403 when invalid; 200 when valid', async () => {
  const ctx = await setup();
  try {
    const { reg, api } = ctx;
    const other = api.addRegistration({ name: 'other' });
    const get = (v?: string): Promise<Res> => request(reg.uri, v === undefined ? {} : { headers: { 'Registration-Authorization': v } });
    const t = now();
    const good = { iss: 'ElementalRegistrationReconciler', sub: reg.uri, aud: [reg.uri], iat: t, nbf: t };

    assert.is((await get()).status, 401, 'missing');
    assert.is((await get(`Basic ${reg.token}`)).status, 401, 'not Bearer');
    assert.is((await get(`bearer ${reg.token}`)).status, 401, 'Bearer is case-sensitive');
    assert.is((await get(reg.token)).status, 401, 'bare token');
    // Authorization (the host header) does not count for the registration.
    assert.is((await request(reg.uri, { headers: { Authorization: `Bearer ${reg.token}` } })).status, 401);

    // Another algorithm golang-jwt knows: the reference's key function refuses it with ErrUnauthorized (SPEC §14).
    const hs256 = await get(`Bearer ${hmacJwt(good)}`);
    assert.is(hs256.status, 401, 'HS256');
    assert.is(hs256.text, "Unauthorized: JWT is using unsupported 'HS256' signing algorithm");
    assert.is((await get(`Bearer ${noneJwt(good)}`)).status, 401, 'alg none');
    assert.is((await get(`Bearer ${reg.signToken(good, { alg: 'ES256', typ: 'JWT' })}`)).status, 401, 'alg ES256 header, EdDSA signature');
    assert.is((await get(`Bearer ${reg.signToken(good, { alg: 'RS256' })}`)).status, 401, 'alg RS256, no typ');

    assert.is((await get('Bearer garbage')).status, 403, 'not a JWT');
    assert.is((await get(`Bearer ${reg.signToken(good, { alg: 'XS256', typ: 'JWT' })}`)).status, 403, 'an alg golang-jwt does not know: a parse error');
    assert.is((await get(`Bearer ${reg.signToken(good, { typ: 'JWT' })}`)).status, 403, 'no alg');
    const [hsHeader, , hsSig] = hmacJwt(good).split('.');
    assert.is((await get(`Bearer ${hsHeader}.bm90IGpzb24.${hsSig}`)).status, 403, 'HS256 header, claims not JSON: malformed before the key function');
    assert.is((await get(`Bearer ${other.signToken(good)}`)).status, 403, 'signed by another key');
    assert.is((await get(`Bearer ${other.token}`)).status, 403, 'another registration token');
    // Stricter than the reference, which never checks sub and aud (see the stand-in's header comment).
    assert.is((await get(`Bearer ${reg.signToken({ ...good, sub: 'x' })}`)).status, 403, 'wrong sub');
    assert.is((await get(`Bearer ${reg.signToken({ ...good, aud: ['x'] })}`)).status, 403, 'wrong aud');
    assert.is((await get(`Bearer ${reg.signToken({ ...good, aud: ['x', reg.uri] })}`)).status, 403, 'uri not aud[0]');
    assert.is((await get(`Bearer ${reg.signToken({ ...good, exp: t - 10 })}`)).status, 403, 'expired');
    assert.is((await get(`Bearer ${reg.signToken({ ...good, nbf: t + 600 })}`)).status, 403, 'not yet valid');
    const sig = reg.token.split('.');
    assert.is((await get(`Bearer ${sig[0]}.${sig[1]}.${'A'.repeat(86)}`)).status, 403, 'bad signature');

    assert.is((await get(`Bearer ${reg.token}`)).status, 200);
    assert.is((await get(`Bearer ${reg.signToken(good)}`)).status, 200, 'any token signed by the key with the right claims');
    assert.is((await get(`Bearer ${reg.signToken({ ...good, exp: t + 60 })}`)).status, 200);

    const expiredReg = api.addRegistration({ name: 'expired', tokenDuration: -5 });
    assert.is((await request(expiredReg.uri, { headers: regAuth(expiredReg) })).status, 403, 'negative duration → expired token');
  } finally {
    await ctx.api.close();
  }
});

test('registration token: rotation gives a different token, old stays valid until revoked', async () => {
  const ctx = await setup({ tokenDuration: 600 });
  try {
    const { reg } = ctx;
    const first = reg.token;
    const second = reg.rotateToken();
    assert.is.not(second, first);
    assert.is(reg.token, second);
    assert.equal(reg.tokens, [first, second]);
    const body = json<ApiRegistrationResponse>(await request(reg.uri, { headers: regAuth(reg, first) }));
    assert.is(body.config?.elemental?.registration?.token, second, 'GET returns the current, rotated token');
    assert.is((await request(reg.uri, { headers: regAuth(reg, second) })).status, 200);
    reg.revokeToken(first);
    assert.is((await request(reg.uri, { headers: regAuth(reg, first) })).status, 403);
    const third = reg.rotateToken({ revokePrevious: true });
    assert.ok(new Set([first, second, third]).size === 3);
    assert.is((await request(reg.uri, { headers: regAuth(reg, second) })).status, 403);
    assert.is((await request(reg.uri, { headers: regAuth(reg, third) })).status, 200);
    const c = decodeJwt(third);
    assert.ok((c.exp ?? 0) > now(), 'rotated token not expired');
  } finally {
    await ctx.api.close();
  }
});

test('registration content: defaults and configured sections', async () => {
  const ctx = await setup({
    hostLabels: { l: '1' },
    hostAnnotations: { a: '2' },
    agent: { workDir: '/w', osPlugin: 'dummy', reconciliation: 1e9, insecureAllowHttp: true },
    install: { device: '/dev/sda' },
    reset: { resetOem: true },
    cloudConfig: { users: [{ name: 'root' }] },
  });
  try {
    const { reg, api } = ctx;
    const res = await request(reg.uri, { headers: regAuth(reg) });
    assert.is(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(json(res), {
      hostLabels: { l: '1' },
      hostAnnotations: { a: '2' },
      config: {
        elemental: {
          registration: { uri: reg.uri, token: reg.token },
          agent: { workDir: '/w', osPlugin: 'dummy', reconciliation: 1e9, insecureAllowHttp: true },
          install: { device: '/dev/sda' },
          reset: { resetOem: true },
        },
        cloudConfig: { users: [{ name: 'root' }] },
      },
    });
    // Minimal registration: only the registration section.
    const bare = api.addRegistration({ name: 'bare' });
    assert.equal(json(await request(bare.uri, { headers: regAuth(bare) })), {
      config: { elemental: { registration: { uri: bare.uri, token: bare.token } } },
    });
    // Overrides and live mutation.
    bare.registration = { caCert: 'PEM', token: undefined };
    bare.agent = { debug: true };
    assert.equal(json(await request(bare.uri, { headers: regAuth(bare) })), {
      config: { elemental: { registration: { uri: bare.uri, caCert: 'PEM' }, agent: { debug: true } } },
    });
    assert.equal(bare.response(), json(await request(bare.uri, { headers: regAuth(bare) })));
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// POST host

test('POST host: order of checks 404, registration 401/403, 400, host 401/403, 409, 201', async () => {
  const ctx = await setup();
  try {
    const { reg, api } = ctx;
    const key = await newHostKey();
    const other = await newHostKey();
    const url = `${reg.uri}/hosts`;
    const body = { name: 'h1', pubKey: key.pubKey, labels: { x: 'y' }, annotations: { note: 'n' } };
    const auth = await bearer(key, reg, 'h1');
    const post = (headers: Record<string, string>, b: string | object = body): Promise<Res> =>
      request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b });

    assert.is((await post({ Authorization: auth })).status, 401, 'no Registration-Authorization');
    assert.is((await post({ ...regAuth(reg, 'nope'), Authorization: auth })).status, 403, 'bad registration token');
    assert.is((await post({ ...regAuth(reg), Authorization: auth }, '{"name":')).status, 400, 'bad JSON');
    assert.is((await post({ ...regAuth(reg), Authorization: auth }, '[]')).status, 400, 'not an object');
    assert.is((await post({ ...regAuth(reg), Authorization: auth }, { pubKey: key.pubKey })).status, 400, 'no name');
    assert.is((await post({ ...regAuth(reg), Authorization: auth }, { ...body, labels: { x: 1 } })).status, 400, 'labels not strings');
    assert.is((await post(regAuth(reg))).status, 401, 'no Authorization');
    assert.is((await post({ ...regAuth(reg), Authorization: `Token ${auth.slice(7)}` })).status, 401, 'Authorization not Bearer');
    assert.is((await post({ ...regAuth(reg), Authorization: `Bearer ${hmacJwt({ sub: 'h1', aud: [reg.uri] })}` })).status, 401, 'host token HS256');
    assert.is((await post({ ...regAuth(reg), Authorization: `Bearer ${noneJwt({ sub: 'h1', aud: [reg.uri] })}` }, { name: 'h1' })).status, 401, 'alg none: refused before the (absent) pubKey is read');
    const goodReg = { iss: 'ElementalRegistrationReconciler', sub: reg.uri, aud: [reg.uri], iat: now(), nbf: now() };
    assert.is((await post({ ...regAuth(reg, hmacJwt(goodReg)), Authorization: auth })).status, 401, 'registration token HS256');
    assert.is((await post({ ...regAuth(reg), Authorization: await bearer(key, reg, 'h2') })).status, 403, 'sub is another name');
    assert.is((await post({ ...regAuth(reg), Authorization: `Bearer ${await hostJwt(key, { sub: 'h1', aud: 'http://elsewhere' })}` })).status, 403, 'wrong aud');
    assert.is((await post({ ...regAuth(reg), Authorization: await bearer(other, reg, 'h1') })).status, 403, 'signed by a key other than pubKey');
    assert.is((await post({ ...regAuth(reg), Authorization: auth }, { ...body, pubKey: 'not a key' })).status, 403, 'bad pubKey');
    assert.is((await post({ ...regAuth(reg), Authorization: auth }, { name: 'h1' })).status, 403, 'no pubKey');
    assert.is(api.host(reg, 'h1'), undefined, 'nothing stored so far');

    const res = await post({ ...regAuth(reg), Authorization: auth });
    assert.is(res.status, 201, res.text);
    assert.is(res.headers.location, '/elemental/v1/namespaces/default/registrations/reg/hosts/h1');
    const h = api.host(reg, 'h1');
    assert.ok(h);
    assert.equal(h?.labels, { x: 'y' });
    assert.equal(h?.annotations, { note: 'n' });
    assert.is(h?.pubKey, key.pubKey);
    assert.is(h?.markedForDeletion, false);
    assert.is(h?.registrationUri, reg.uri);

    assert.is((await post({ ...regAuth(reg), Authorization: auth })).status, 409, 'existing name');
    // Names Kubernetes refuses: the reference answers 500.
    const bad = await post({ ...regAuth(reg), Authorization: await bearer(key, reg, 'Upper_Case') }, { ...body, name: 'Upper_Case' });
    assert.is(bad.status, 500);
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Host auth on PATCH / DELETE / bootstrap

test('host requests: unknown host 404 before auth; 401 (missing, not Bearer, another algorithm) / 403 / 200', async () => {
  const ctx = await setup();
  try {
    const { reg } = ctx;
    const key = await createHost(ctx, 'h1');
    const key2 = await createHost(ctx, 'h2');
    for (const [method, suffix] of [['PATCH', ''], ['DELETE', ''], ['GET', '/bootstrap']] as const) {
      assert.is((await request(`${reg.uri}/hosts/ghost${suffix}`, { method, body: '{}' })).status, 404, `${method} unknown host`);
      assert.is((await request(`${ctx.api.url}/elemental/v1/namespaces/default/registrations/nope/hosts/h1${suffix}`, { method })).status, 404);
      const url = `${reg.uri}/hosts/h1${suffix}`;
      const t = now();
      const send = (auth?: string): Promise<Res> => request(url, { method, body: '{}', headers: auth === undefined ? {} : { Authorization: auth } });
      assert.is((await send()).status, 401, `${method} missing`);
      assert.is((await send(`Basic abc`)).status, 401, `${method} not Bearer`);
      assert.is((await send(`Bearer ${hmacJwt({ sub: 'h1', aud: [reg.uri] })}`)).status, 401, `${method} HS256`);
      assert.is((await send(`Bearer ${noneJwt({ sub: 'h1', aud: [reg.uri] })}`)).status, 401, `${method} alg none`);
      assert.is((await send(`Bearer ${reg.token}`)).status, 403, `${method} registration token`);
      assert.is((await send(await bearer(key2, reg, 'h1'))).status, 403, `${method} other host's key`);
      // Stricter than the reference, which never checks sub and aud.
      assert.is((await send(await bearer(key, reg, 'h2'))).status, 403, `${method} wrong sub`);
      assert.is((await send(`Bearer ${await hostJwt(key, { sub: 'h1', aud: `${reg.uri}/x` })}`)).status, 403, `${method} wrong aud`);
      assert.is((await send(`Bearer ${await hostJwt(key, { sub: 'h1', aud: reg.uri, exp: t - 5 })}`)).status, 403, `${method} expired`);
      assert.is((await send(`Bearer ${await hostJwt(key, { sub: 'h1', aud: reg.uri, nbf: t + 300 })}`)).status, 403, `${method} nbf`);
    }
    // Valid: PATCH 200, bootstrap 404 (no secret yet, after auth), DELETE 202.
    assert.is((await patch(ctx, key, 'h1', {})).status, 200);
    assert.is((await request(`${reg.uri}/hosts/h1/bootstrap`, { headers: { Authorization: await bearer(key, reg, 'h1') } })).status, 404);
    assert.is((await request(`${reg.uri}/hosts/h1`, { method: 'DELETE', headers: { Authorization: await bearer(key, reg, 'h1') } })).status, 202);
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// PATCH

test('PATCH: merges labels/annotations, flag labels, phase, inPlaceUpdate, response shape', async () => {
  const ctx = await setup();
  try {
    const { api, reg } = ctx;
    const key = await createHost(ctx, 'h1', { labels: { keep: 'me' }, annotations: { a: '1' } });
    let res = await patch(ctx, key, 'h1', {});
    assert.is(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(json(res), { name: 'h1', labels: { keep: 'me' }, annotations: { a: '1' } }, 'false booleans omitted');

    res = await patch(ctx, key, 'h1', { labels: { new: 'l' }, annotations: { b: '2' }, installed: true, phase: 'Installing', inPlaceUpdate: 'done' });
    assert.is(res.status, 200);
    const body = json<ApiHostResponse>(res);
    assert.equal(body.labels, { keep: 'me', new: 'l', [LABELS.installed]: 'true', [LABELS.inPlaceUpdate]: 'done' });
    assert.equal(body.annotations, { a: '1', b: '2' });
    assert.is(body.installed, true);
    assert.is(body.inPlaceUpgrade, 'done');
    assert.is(body.bootstrapped, undefined);
    assert.is(body.needsReset, undefined);
    assert.is(body.bootstrapReady, undefined);
    assert.is(api.host(reg, 'h1')?.phase, 'Installing');

    // reset: true sets the reset label (host not deleted: it stays).
    res = await patch(ctx, key, 'h1', { reset: true });
    assert.is(json<ApiHostResponse>(res).labels?.[LABELS.reset], 'true');
    assert.ok(api.host(reg, 'h1'));
    // As the reference: any non-null flag sets "true" (the agent only ever sends true).
    await patch(ctx, key, 'h1', { installed: false });
    assert.is(api.host(reg, 'h1')?.labels[LABELS.installed], 'true');
    // null fields are ignored; a null body is an empty patch.
    assert.is((await patch(ctx, key, 'h1', { installed: null, phase: null, condition: null })).status, 200);
    assert.is((await patch(ctx, key, 'h1', 'null')).status, 200);

    // Bad bodies.
    for (const b of ['', '{', '[]', '"x"', { labels: { a: 1 } }, { installed: 'yes' }, { phase: 3 }, { condition: { status: 'True' } }, { condition: { type: 'X', status: 'maybe' } }, { condition: { type: 'X', status: 'True', severity: 'Fatal' } }]) {
      assert.is((await patch(ctx, key, 'h1', b)).status, 400, JSON.stringify(b));
    }
    assert.is(api.host(reg, 'h1')?.phase, 'Installing', 'bad bodies changed nothing');

    // setInPlaceUpdate / setOsVersionManagement reflected in the response.
    api.setInPlaceUpdate(reg, 'h1');
    api.setOsVersionManagement(reg, 'h1', { osImage: 'img:v2' });
    const r2 = json<ApiHostResponse>(await patch(ctx, key, 'h1', {}));
    assert.is(r2.inPlaceUpgrade, 'pending');
    assert.equal(r2.osVersionManagement, { osImage: 'img:v2' });
    api.setInPlaceUpdate(reg, 'h1', null);
    api.setOsVersionManagement(reg, 'h1', undefined);
    const r3 = json<ApiHostResponse>(await patch(ctx, key, 'h1', {}));
    assert.is(r3.inPlaceUpgrade, undefined);
    assert.is(r3.osVersionManagement, undefined);
  } finally {
    await ctx.api.close();
  }
});

test('PATCH: condition replaces the one of the same type; server sets lastTransitionTime', async () => {
  const ctx = await setup();
  try {
    const { api, reg } = ctx;
    const key = await createHost(ctx, 'h1');
    await patch(ctx, key, 'h1', { condition: { type: 'RegistrationReady', status: 'True', severity: 'Info' } });
    await patch(ctx, key, 'h1', { condition: { type: 'InstallationReady', status: 'False', severity: 'Info', reason: 'WaitingForInstallation', message: 'm', lastTransitionTime: '2000-01-01T00:00:00Z' } });
    let h = api.host(reg, 'h1');
    assert.is(h?.conditions.length, 2);
    const inst = h?.conditions.find((c) => c.type === 'InstallationReady');
    assert.is(inst?.reason, 'WaitingForInstallation');
    assert.match(inst?.lastTransitionTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.is.not(inst?.lastTransitionTime, '2000-01-01T00:00:00Z', 'client value ignored');

    // Same state keeps the transition time; a change moves it.
    api.updateHost(reg, 'h1', (x) => {
      for (const c of x.conditions) c.lastTransitionTime = '2001-01-01T00:00:00Z';
    });
    await patch(ctx, key, 'h1', { condition: { type: 'RegistrationReady', status: 'True', severity: 'Info' } });
    await patch(ctx, key, 'h1', { condition: { type: 'InstallationReady', status: 'True', severity: 'Info' } });
    h = api.host(reg, 'h1');
    assert.is(h?.conditions.length, 2);
    assert.is(h?.conditions.find((c) => c.type === 'RegistrationReady')?.lastTransitionTime, '2001-01-01T00:00:00Z');
    const inst2 = h?.conditions.find((c) => c.type === 'InstallationReady');
    assert.is(inst2?.status, 'True');
    assert.is(inst2?.reason, undefined, 'replaced, not merged');
    assert.is.not(inst2?.lastTransitionTime, '2001-01-01T00:00:00Z');
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Bootstrap

test('bootstrap: 404 until associated, default format cloud-config, bootstrapped needs a secret', async () => {
  const ctx = await setup();
  try {
    const { api, reg } = ctx;
    const key = await createHost(ctx, 'h1');
    const get = async (): Promise<Res> => request(`${reg.uri}/hosts/h1/bootstrap`, { headers: { Authorization: await bearer(key, reg, 'h1') } });
    assert.is((await get()).status, 404);
    const bad = await patch(ctx, key, 'h1', { bootstrapped: true });
    assert.is(bad.status, 400, 'bootstrapped without secret');
    assert.is(api.host(reg, 'h1')?.labels[LABELS.bootstrapped], undefined);

    api.setBootstrap(reg, 'h1', { config: '#cloud-config\nruncmd: []\n' });
    const res = await get();
    assert.is(res.status, 200);
    assert.equal(json(res), { format: 'cloud-config', config: '#cloud-config\nruncmd: []\n' });
    const r = json<ApiHostResponse>(await patch(ctx, key, 'h1', { bootstrapped: true, condition: { type: 'BootstrapReady', status: 'True', severity: 'Info' } }));
    assert.is(r.bootstrapReady, true);
    assert.is(r.bootstrapped, true);

    api.setBootstrap(reg, 'h1', { format: 'ignition', config: '{"ignition":{}}' });
    assert.equal(json(await get()), { format: 'ignition', config: '{"ignition":{}}' });
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// DELETE → needsReset → gone after reset

test('DELETE: 202 (twice), needsReset, disappears after PATCH reset: true', async () => {
  const ctx = await setup();
  try {
    const { api, reg } = ctx;
    const key = await createHost(ctx, 'h1');
    const del = async (): Promise<Res> => request(`${reg.uri}/hosts/h1`, { method: 'DELETE', headers: { Authorization: await bearer(key, reg, 'h1') } });
    let res = await del();
    assert.is(res.status, 202);
    assert.is(res.text, '');
    assert.is((await del()).status, 202, 'already marked');
    assert.is(api.host(reg, 'h1')?.markedForDeletion, true);
    const p = json<ApiHostResponse>(await patch(ctx, key, 'h1', { phase: 'Resetting' }));
    assert.is(p.needsReset, true);
    assert.ok(api.host(reg, 'h1'), 'still there until reset');

    res = await patch(ctx, key, 'h1', { reset: true, condition: { type: 'ResetReady', status: 'True', severity: 'Info' } });
    assert.is(res.status, 200, 'the reset PATCH itself succeeds');
    assert.is(json<ApiHostResponse>(res).labels?.[LABELS.reset], 'true');
    assert.is(api.host(reg, 'h1'), undefined, 'gone');
    assert.is((await patch(ctx, key, 'h1', {})).status, 404);
    assert.is((await del()).status, 404);

    // Operator-side deletion; a host already reset disappears on delete.
    const key2 = await createHost(ctx, 'h2');
    api.deleteHost(reg, 'h2');
    assert.is(json<ApiHostResponse>(await patch(ctx, key2, 'h2', {})).needsReset, true);
    await createHost(ctx, 'h3');
    api.updateHost(reg, 'h3', (h) => {
      h.labels[LABELS.reset] = 'true';
    });
    api.deleteHost(reg, 'h3');
    assert.is(api.host(reg, 'h3'), undefined);
    // addHost: pre-existing host usable with its key.
    const key4 = await newHostKey();
    api.addHost(reg, { name: 'h4', pubKey: key4.pubKey, labels: { pre: 'x' } });
    assert.equal(json<ApiHostResponse>(await patch(ctx, key4, 'h4', {})).labels, { pre: 'x' });
    assert.equal(api.hosts(reg).map((h) => h.name).sort(), ['h2', 'h4']);
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Request log

test('request log: order, lower-case headers, parsed body, status, ops()', async () => {
  const ctx = await setup();
  try {
    const { api, reg } = ctx;
    await request(reg.uri, { headers: { ...regAuth(reg), 'X-Custom': 'V' } });
    const key = await createHost(ctx, 'h1');
    await patch(ctx, key, 'h1', { phase: 'Running' });
    await request(`${reg.uri}/nope`);
    assert.equal(api.ops(), ['getRegistration', 'createHost', 'patchHost', 'unknown']);
    const [g, c, p, u] = api.requests;
    assert.is(g?.headers['x-custom'], 'V');
    assert.ok(g?.headers['registration-authorization']?.startsWith('Bearer '));
    assert.is(g?.status, 200);
    assert.is(g?.seq, 1);
    assert.is(c?.method, 'POST');
    assert.is(c?.status, 201);
    assert.is(c?.hostName, 'h1');
    assert.is((c?.body as { name: string }).name, 'h1');
    assert.equal(p?.body, { phase: 'Running' });
    assert.is(p?.hostName, 'h1');
    assert.is(p?.path, '/elemental/v1/namespaces/default/registrations/reg/hosts/h1');
    assert.ok((p?.time ?? 0) >= (g?.time ?? Infinity));
    assert.is(u?.status, 404);
    assert.equal(api.ops((r) => r.method === 'PATCH'), ['patchHost']);
    const found = await api.waitForRequest((r) => r.op === 'patchHost');
    assert.is(found, p);
    await rejects(api.waitForRequest((r) => r.op === 'deleteHost', 100), /timed out/);
    api.clearRequests();
    assert.is(api.requests.length, 0);
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Faults

test('faults: status (times, matching, consumed in order), afterEffects', async () => {
  const ctx = await setup();
  try {
    const { api, reg } = ctx;
    const get = (): Promise<Res> => request(reg.uri, { headers: regAuth(reg) });
    api.injectFault({ kind: 'status', status: 500, op: 'getRegistration', times: 2 });
    api.injectFault({ kind: 'status', status: 429, method: 'get', pathPattern: /registrations\/reg$/, headers: { 'retry-after': '1' } });
    assert.is(api.faults.length, 2);
    // A request the faults do not match is untouched.
    assert.is((await request(`${reg.uri}/hosts/x`, { method: 'PATCH', body: '{}' })).status, 404);
    assert.is((await get()).status, 500);
    assert.is((await get()).status, 500);
    const r429 = await get();
    assert.is(r429.status, 429);
    assert.is(r429.headers['retry-after'], '1');
    assert.is(api.faults.length, 0, 'consumed');
    assert.is((await get()).status, 200);
    assert.equal(api.requests.map((r) => r.fault ?? '-'), ['-', 'status', 'status', 'status', '-']);

    // pathPattern as a substring; 502 without afterEffects: no host created.
    const key = await newHostKey();
    const post = async (): Promise<Res> =>
      request(`${reg.uri}/hosts`, { method: 'POST', headers: { ...regAuth(reg), Authorization: await bearer(key, reg, 'h1') }, body: { name: 'h1', pubKey: key.pubKey } });
    api.injectFault({ kind: 'status', status: 502, pathPattern: '/hosts' });
    assert.is((await post()).status, 502);
    assert.is(api.host(reg, 'h1'), undefined);
    // afterEffects: the host is created, the client sees 500, a retry gets 409.
    api.injectFault({ kind: 'status', status: 500, op: 'createHost', afterEffects: true });
    assert.is((await post()).status, 500);
    assert.ok(api.host(reg, 'h1'));
    assert.is((await post()).status, 409);
    // Permanent fault until cleared.
    api.injectFault({ kind: 'status', status: 503, times: Infinity });
    for (let i = 0; i < 3; i++) assert.is((await get()).status, 503);
    api.clearFaults();
    assert.is((await get()).status, 200);
  } finally {
    await ctx.api.close();
  }
});

test('faults: delay, hang, drop, reset, garbage, wrongShape', async () => {
  const ctx = await setup();
  try {
    const { api, reg } = ctx;
    const get = (timeoutMs = 3000): Promise<Res> => request(reg.uri, { headers: regAuth(reg), timeoutMs });

    api.injectFault({ kind: 'delay', ms: 150 });
    let t0 = Date.now();
    assert.is((await get()).status, 200, 'delay then normal');
    assert.ok(Date.now() - t0 >= 140);

    const hang = api.injectFault({ kind: 'hang' });
    t0 = Date.now();
    await rejects(get(250), /client timeout/);
    assert.ok(Date.now() - t0 < 2000);
    assert.is(hang.hits, 1);
    assert.is(api.requests.at(-1)?.status, 0);

    api.injectFault({ kind: 'hang', ms: 100 });
    await rejects(get(3000), /socket hang up|ECONNRESET|aborted/);

    api.injectFault({ kind: 'drop' });
    await rejects(get(), /aborted|incomplete|ECONNRESET|terminated/);
    assert.is(api.requests.at(-1)?.status, 200);

    api.injectFault({ kind: 'reset' });
    await rejects(get(), /socket hang up|ECONNRESET/);

    api.injectFault({ kind: 'garbage' });
    let res = await get();
    assert.is(res.status, 200);
    assert.throws(() => JSON.parse(res.text));

    api.injectFault({ kind: 'wrongShape' });
    res = await get();
    assert.is(res.status, 200);
    assert.ok(Array.isArray(JSON.parse(res.text)));
    api.injectFault({ kind: 'wrongShape', body: 'a string' });
    assert.is(JSON.parse((await get()).text), 'a string');

    assert.is(api.faults.length, 0);
    assert.is((await get()).status, 200, 'all consumed');
    assert.equal(api.requests.map((r) => r.fault ?? '-'), ['delay', 'hang', 'hang', 'drop', 'reset', 'garbage', 'wrongShape', 'wrongShape', '-']);
  } finally {
    await ctx.api.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Lifecycle

test('close does not hang on keep-alive sockets or hung requests', async () => {
  const api = await startElementalApi();
  const reg = api.addRegistration();
  const agent = new http.Agent({ keepAlive: true });
  try {
    assert.is((await request(reg.uri, { headers: regAuth(reg), agent })).status, 200);
    api.injectFault({ kind: 'hang' });
    const hung = request(reg.uri, { headers: regAuth(reg), timeoutMs: 10_000 }).catch((e: unknown) => e);
    await api.waitForRequest((r) => r.fault === 'hang', 2000);
    const t0 = Date.now();
    await api.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
    assert.instance(await hung, Error);
    await api.close(); // idempotent
  } finally {
    agent.destroy();
  }
});

test('down/up: connections refused while down, same port after up', async () => {
  const api = await startElementalApi();
  try {
    const reg = api.addRegistration();
    const port = api.port;
    await api.down();
    assert.is(api.isUp, false);
    await rejects(request(reg.uri, { headers: regAuth(reg) }), /ECONNREFUSED/);
    await api.up();
    assert.is(api.port, port);
    assert.is(api.isUp, true);
    assert.is((await request(reg.uri, { headers: regAuth(reg) })).status, 200);
  } finally {
    await api.close();
  }
});

test('HTTPS: served with the test PKI; caCert in the registration; other CA refused', async () => {
  const pki = testPki();
  const ctx = await setup({}, true);
  try {
    const { api, reg } = ctx;
    assert.ok(api.url.startsWith('https://127.0.0.1:'));
    assert.is(api.caCertPem, pki.caCertPem);
    const res = await request(reg.uri, { headers: regAuth(reg), ca: pki.caCertPem });
    assert.is(res.status, 200);
    const body = json<ApiRegistrationResponse>(res);
    assert.is(body.config?.elemental?.registration?.caCert, pki.caCertPem);
    assert.is(body.config?.elemental?.registration?.uri, reg.uri);
    await rejects(request(reg.uri, { headers: regAuth(reg), ca: pki.otherCaCertPem }), /certificate|self.signed|verify/i);
    const local = api.addRegistration({ name: 'local', baseUrl: `https://localhost:${api.port}` });
    assert.ok(local.uri.startsWith('https://localhost:'));
    assert.is((await request(local.uri, { headers: regAuth(local), ca: pki.caCertPem })).status, 200);
  } finally {
    await ctx.api.close();
  }
});

test.run();
