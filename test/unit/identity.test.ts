import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, createPrivateKey, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { importSPKI, jwtVerify, decodeProtectedHeader } from 'jose';
import { Identity } from '../../src/identity';
import { AgentError } from '../../src/errors';
import '../support/webcrypto';


const dir = mkdtempSync(join(tmpdir(), 'elemental-identity-'));
const AUD = 'https://elemental.example:9090/elemental/v1/namespaces/default/registrations/test';
const ISS = 'elemental-agent/1.2.3';

function b64json(segment: string): unknown {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

function expectAgentError(fn: () => unknown, mustInclude: string[], secret?: string): AgentError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AgentError, `expected AgentError, got ${String(caught)}`);
  const err = caught as AgentError;
  assert.not.match(err.message, /\n/, 'one line');
  assert.not.match(err.message, /-----BEGIN|\bat \//, 'no key material, no stack');
  assert.is(err.cause, undefined, 'no cause (OpenSSL detail) attached');
  for (const s of mustInclude) assert.ok(err.message.includes(s), `message ${JSON.stringify(err.message)} lacks ${s}`);
  if (secret) assert.not.ok(err.message.includes(secret), 'key bytes in message');
  return err;
}

test('generated key: PKCS#8 and SPKI PEM with trailing newline, Ed25519', () => {
  const id = Identity.generate();
  const priv = id.privateKeyPem();
  const pub = id.publicKeyPem();
  assert.match(priv, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
  assert.match(pub, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
  assert.is(createPrivateKey(priv).asymmetricKeyType, 'ed25519');
  // Ed25519 SPKI is 44 bytes: one base64 line of 60 characters.
  assert.is(pub.split('\n').length, 4);
  assert.is.not(Identity.generate().publicKeyPem(), pub, 'a new key each time');
});

test('host token: header bytes, claims exactly, verified by jose', async () => {
  const id = Identity.generate();
  const now = 1_700_000_000;
  const token = id.signHostToken({ issuer: ISS, subject: 'host-1', audience: AUD, now });
  const [h, c, s] = token.split('.');
  assert.ok(h && c && s, 'three segments');
  assert.is(Buffer.from(h, 'base64url').toString('utf8'), '{"alg":"EdDSA","typ":"JWT"}');
  for (const seg of [h, c, s]) assert.match(seg, /^[A-Za-z0-9_-]+$/, 'base64url, no padding');
  assert.equal(b64json(c), { iss: ISS, sub: 'host-1', aud: [AUD], iat: now, nbf: now - 2, exp: now + 60 });
  assert.is(Buffer.from(s, 'base64url').length, 64);

  const key = await importSPKI(id.publicKeyPem(), 'EdDSA');
  const { payload, protectedHeader } = await jwtVerify(token, key, {
    issuer: ISS,
    subject: 'host-1',
    audience: AUD,
    algorithms: ['EdDSA'],
    currentDate: new Date((now + 1) * 1000),
  });
  assert.equal(protectedHeader, { alg: 'EdDSA', typ: 'JWT' });
  assert.equal(payload.aud, [AUD]);
  assert.equal(decodeProtectedHeader(token), { alg: 'EdDSA', typ: 'JWT' });

  // Expired one minute later, not yet valid 3 s before iat.
  let expired = false;
  try {
    await jwtVerify(token, key, { currentDate: new Date((now + 61) * 1000) });
  } catch {
    expired = true;
  }
  assert.ok(expired, 'exp = iat + 60');
  let early = false;
  try {
    await jwtVerify(token, key, { currentDate: new Date((now - 3) * 1000) });
  } catch {
    early = true;
  }
  assert.ok(early, 'nbf = iat - 2');
  // And accepted at nbf.
  await jwtVerify(token, key, { currentDate: new Date((now - 2) * 1000) });
});

test('host token without `now` uses the clock, integer seconds', async () => {
  const id = Identity.generate();
  const before = Math.floor(Date.now() / 1000);
  const token = id.signHostToken({ issuer: ISS, subject: 'h', audience: AUD });
  const after = Math.floor(Date.now() / 1000);
  const claims = b64json(token.split('.')[1] ?? '') as Record<string, number>;
  assert.ok(Number.isInteger(claims.iat) && claims.iat! >= before && claims.iat! <= after);
  assert.is(claims.exp, claims.iat! + 60);
  assert.is(claims.nbf, claims.iat! - 2);
  await jwtVerify(token, await importSPKI(id.publicKeyPem(), 'EdDSA'), { audience: AUD, subject: 'h' });
});

test('signature is a plain Ed25519 signature over header.claims', () => {
  const id = Identity.generate();
  const token = id.signHostToken({ issuer: ISS, subject: 'x', audience: AUD, now: 5 });
  const i = token.lastIndexOf('.');
  const ok = verify(null, Buffer.from(token.slice(0, i)), id.publicKeyPem(), Buffer.from(token.slice(i + 1), 'base64url'));
  assert.ok(ok);
});

test('load: missing file is undefined; an existing key round-trips', () => {
  assert.is(Identity.load(join(dir, 'nope', 'private.key')), undefined);
  const id = Identity.generate();
  const path = join(dir, 'private.key');
  writeFileSync(path, id.privateKeyPem(), { mode: 0o600 });
  const loaded = Identity.load(path);
  assert.ok(loaded);
  assert.is(loaded.publicKeyPem(), id.publicKeyPem());
  assert.is(loaded.privateKeyPem(), id.privateKeyPem());
});

test('load: a key generated by openssl-style tooling (Node) in PKCS#8 is accepted', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const path = join(dir, 'node.key');
  writeFileSync(path, pem);
  assert.ok(Identity.load(path));
});

test('load: garbage, truncated, empty, public-key and RSA files are one-line AgentErrors naming the file', () => {
  const good = Identity.generate().privateKeyPem();
  const body = good.split('\n')[1] ?? '';
  const cases: Array<[string, string, string[]]> = [
    ['garbage.key', 'this is not a key at all\n', ['not a PEM private key']],
    ['empty.key', '', ['not a PEM private key']],
    ['truncated.key', good.slice(0, 50), ['corrupt or truncated']],
    ['cut-body.key', `-----BEGIN PRIVATE KEY-----\n${body.slice(0, 20)}\n-----END PRIVATE KEY-----\n`, ['corrupt or truncated']],
    ['public.key', Identity.generate().publicKeyPem(), ['not a PEM private key']],
    [
      'rsa.key',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ['RSA', 'Ed25519'],
    ],
    [
      'rsa-pkcs1.key',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      ['RSA'],
    ],
    [
      'ec.key',
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ['EC'],
    ],
  ];
  for (const [name, content, words] of cases) {
    const path = join(dir, name);
    writeFileSync(path, content);
    const secret = content.split('\n')[1];
    expectAgentError(() => Identity.load(path), [path, 'remove it', ...words], secret && secret.length > 10 ? secret : undefined);
  }
});

test('load: a directory in place of the key is an AgentError, not a crash', () => {
  const path = join(dir, 'is-a-dir.key');
  mkdirSync(path);
  expectAgentError(() => Identity.load(path), [path]);
});

test('fromPem names its source', () => {
  expectAgentError(() => Identity.fromPem('nope', '/var/lib/elemental/agent/private.key'), ['/var/lib/elemental/agent/private.key']);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
