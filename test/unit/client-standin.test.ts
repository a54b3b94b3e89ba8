// The API client against the Elemental API stand-in (the server the e2e journeys trust): each
// call's success, and the server's 401 / 403 / 404 / 409 / 500, a timeout and garbage JSON.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiError, ElementalClient } from '../../src/api/client';
import { Identity } from '../../src/identity';
import { type ElementalApi, type RegistrationHandle, startElementalApi } from '../support/elemental-api';

let api: ElementalApi;
let reg: RegistrationHandle;

test.before(async () => {
  api = await startElementalApi();
});
test.after(async () => {
  await api.close();
});
test.before.each(() => {
  api.clearFaults();
  api.clearRequests();
});

let counter = 0;
function client(o: { token?: string; identity?: Identity; timeoutMs?: number } = {}) {
  reg ??= api.addRegistration({ hostLabels: { a: 'b' }, install: { x: 1 } });
  return new ElementalClient({
    uri: reg.uri,
    registrationToken: 'token' in o ? o.token : reg.token,
    insecureAllowHttp: true,
    identity: o.identity ?? Identity.generate(),
    timeoutMs: o.timeoutMs ?? 2000,
    env: {},
  });
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, ApiError);
    return err as ApiError;
  }
  throw new Error('expected a failure');
}

test('every call succeeds against the stand-in, each host call with its own signed token', async () => {
  const c = client();
  const registration = await c.getRegistration();
  assert.equal(registration.hostLabels, { a: 'b' });
  assert.equal(registration.config?.elemental?.install, { x: 1 });
  const name = `h-${++counter}`;
  await c.createHost({ name, labels: { l: 'v' } });
  const host = await c.patchHost(name, { phase: 'Running' });
  assert.is(host.name, name);
  api.setBootstrap(reg, name, { config: '#cloud-config\n' });
  assert.equal(await c.getBootstrap(name), { format: 'cloud-config', config: Buffer.from('#cloud-config\n') });
  await c.deleteHost(name);
  assert.is((await c.patchHost(name, {})).needsReset, true);
  // Ed25519 is deterministic: within one second the same claims sign to the same bytes, so
  // "fresh" shows as a token on every host call, each verified by the stand-in (all 2xx).
  const hostCalls = api.requests.filter((r) => r.op !== 'getRegistration');
  assert.ok(hostCalls.every((r) => /^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/.test(r.headers.authorization ?? '') && r.status < 300));
  const claims = JSON.parse(Buffer.from(hostCalls[0]!.headers.authorization!.split('.')[1]!, 'base64url').toString()) as { sub: string; aud: string[] };
  assert.equal([claims.sub, claims.aud], [name, [reg.uri]]);
  assert.ok(api.requests.every((r) => r.headers['user-agent']?.startsWith('elemental-agent/')));
});

test("401 and 403 from the registration token: '<operation> returned code 'N': unexpected return code'", async () => {
  const missing = await failure(client({ token: '' }).getRegistration());
  assert.is(missing.message, "getting registration returned code '401': unexpected return code");
  assert.is(missing.statusCode, 401);
  const rotated = client().getRegistration();
  await rotated;
  const old = reg.token;
  reg.rotateToken({ revokePrevious: true });
  const revoked = await failure(client({ token: old }).getRegistration());
  assert.is(revoked.message, "getting registration returned code '403': unexpected return code");
  const create = await failure(client({ token: old }).createHost({ name: `h-${++counter}` }));
  assert.is(create.message, "creating new host returned code '403': unexpected return code");
});

test('403 with another key, 404 for an unknown host, 409 for a taken name', async () => {
  const owner = client();
  const name = `h-${++counter}`;
  await owner.createHost({ name });
  const stranger = client();
  assert.is((await failure(stranger.patchHost(name, {}))).message, "patching host returned code '403': unexpected return code");
  assert.is((await failure(stranger.deleteHost(name))).message, "deleting host returned code '403': unexpected return code");
  assert.is((await failure(owner.patchHost('nobody', {}))).statusCode, 404);
  assert.is((await failure(owner.getBootstrap(name))).message, "getting bootstrap returned code '404': unexpected return code");
  assert.is((await failure(stranger.createHost({ name }))).message, "creating new host returned code '409': unexpected return code");
});

test('500, a hang past the timeout, garbage and wrong-shape JSON: one clear error each', async () => {
  const c = client({ timeoutMs: 300 });
  api.injectFault({ op: 'getRegistration', kind: 'status', status: 500, body: 'internal error' });
  assert.is((await failure(c.getRegistration())).message, "getting registration returned code '500': unexpected return code");
  api.injectFault({ op: 'getRegistration', kind: 'hang', ms: 2000 });
  const started = Date.now();
  const hung = await failure(c.getRegistration());
  assert.match(hung.message, /^getting registration: request timed out after 300 ms$/);
  assert.ok(Date.now() - started < 1500, 'the timeout, not the server, ended it');
  api.injectFault({ op: 'getRegistration', kind: 'garbage' });
  assert.match((await failure(c.getRegistration())).message, /^getting registration: invalid JSON in response/);
  const name = `h-${++counter}`;
  await c.createHost({ name });
  api.injectFault({ op: 'patchHost', kind: 'wrongShape' });
  assert.match((await failure(c.patchHost(name, {}))).message, /^patching host: .*expected a JSON object/);
  api.injectFault({ op: 'patchHost', kind: 'drop' });
  assert.match((await failure(c.patchHost(name, {}))).message, /^patching host: /);
  assert.ok(await c.patchHost(name, {}), 'the next call is fine');
});

test.run();
