// Finalize (SPEC §8 register step 4), ported from the reference's
// internal/agent/phase/register_test.go "finalizing registration": a fake client and plugin
// record every call, in order, with the exact condition bodies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentContext } from '../../src/agent';
import type { ApiHostPatchRequest } from '../../src/api/types';
import type { ElementalClient } from '../../src/api/client';
import { type AgentConfig, emptyConfig, renderConfig, withDefaults } from '../../src/config';
import { HostRoot } from '../../src/fs';
import { Identity } from '../../src/identity';
import { setLogSink } from '../../src/log';
import { finalizeRegistration } from '../../src/phases/register';
import { PLUGIN_OPERATIONS, type OsPlugin } from '../../src/plugins/types';

const NAME = 'test-host';
const CONFIG_PATH = '/etc/elemental/agent/config.yaml';
const WORK_DIR = '/var/lib/elemental/agent';

type Call = [string, ...unknown[]];

/** A context whose client and plugin only record their calls; `fail` makes one plugin call throw. */
function fakeContext(fail: (op: string, args: unknown[]) => Error | undefined = () => undefined) {
  const calls: Call[] = [];
  const plugin = Object.fromEntries(
    PLUGIN_OPERATIONS.map((op) => [
      op,
      async (...args: unknown[]) => {
        calls.push([`plugin.${op}`, ...args]);
        const err = fail(op, args);
        if (err) throw err;
      },
    ]),
  ) as unknown as OsPlugin;
  const client = {
    patchHost: async (name: string, request: ApiHostPatchRequest) => {
      calls.push(['client.patchHost', request, name]);
      return { name };
    },
  } as unknown as ElementalClient;
  const config: AgentConfig = withDefaults(emptyConfig());
  config.registration.uri = 'https://example.com/elemental/v1/namespaces/default/registrations/reg';
  config.agent.workDir = WORK_DIR;
  const identity = Identity.generate();
  const ctx = {
    options: { config: CONFIG_PATH, debug: false, root: '/' },
    root: new HostRoot('/'),
    config,
    plugin,
    client,
    identity,
    identityFromDisk: false,
    pendingName: NAME,
    hostname: NAME,
    signal: new AbortController().signal,
    wait: async () => undefined,
  } as unknown as AgentContext;
  return { ctx, calls, config, identity };
}

/** Runs `fn` with the agent's log lines captured. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const restore = setLogSink(() => undefined);
  try {
    return await fn();
  } finally {
    restore();
  }
}

test('should install hostname and config files to finalize registration (same order of calls)', async () => {
  const { ctx, calls, config, identity } = fakeContext();
  await quietly(() => finalizeRegistration(ctx, NAME, config));
  assert.equal(calls, [
    ['client.patchHost', { phase: 'Finalizing Registration' }, NAME],
    ['plugin.persistHostname', NAME],
    ['plugin.persistFile', renderConfig(config), CONFIG_PATH, 0o640],
    // The seed's copy in the work dir (the reference writes the config once).
    ['plugin.persistFile', renderConfig(config), `${WORK_DIR}/config.yaml`, 0o640],
    // 0600 where the reference passes 0640 (SPEC §13).
    ['plugin.persistFile', identity.privateKeyPem(), `${WORK_DIR}/private.key`, 0o600],
  ]);
});

test('should fail on finalizing registration error: persisting hostname, the condition body of the reference', async () => {
  const wantErr = new Error('test finalizing registration error');
  const { ctx, calls, config } = fakeContext((op) => (op === 'persistHostname' ? wantErr : undefined));
  const err = await quietly(() => finalizeRegistration(ctx, NAME, config)).then(
    (): Error => assert.unreachable('finalize succeeded') as never,
    (e: Error) => e,
  );
  assert.equal(calls, [
    ['client.patchHost', { phase: 'Finalizing Registration' }, NAME],
    ['plugin.persistHostname', NAME],
    [
      'client.patchHost',
      {
        condition: {
          type: 'RegistrationReady',
          status: 'False',
          severity: 'Error',
          reason: 'RegistrationFailed',
          message: `persisting hostname '${NAME}': ${wantErr.message}`,
        },
      },
      NAME,
    ],
  ]);
  assert.is(err.message, `finalizing registration: persisting hostname '${NAME}': ${wantErr.message}`);
  // errors.Is(err, wantErr) in the reference: the cause chain reaches it.
  assert.is((err.cause as Error).cause, wantErr);
});

test('finalize failures name the step: agent config file, private key file', async () => {
  for (const [path, prefix] of [
    [CONFIG_PATH, `persisting agent config file '${CONFIG_PATH}'`],
    [`${WORK_DIR}/config.yaml`, `persisting agent config file '${WORK_DIR}/config.yaml'`],
    [`${WORK_DIR}/private.key`, `persisting private key file '${WORK_DIR}/private.key'`],
  ] as const) {
    const { ctx, calls, config } = fakeContext((op, args) => (op === 'persistFile' && args[1] === path ? new Error('EROFS: read-only file system') : undefined));
    await quietly(() => finalizeRegistration(ctx, NAME, config)).then(
      () => assert.unreachable('finalize succeeded'),
      () => undefined,
    );
    const last = calls.at(-1)!;
    assert.equal(last, [
      'client.patchHost',
      { condition: { type: 'RegistrationReady', status: 'False', severity: 'Error', reason: 'RegistrationFailed', message: `${prefix}: EROFS: read-only file system` } },
      NAME,
    ]);
    const keyAttempted = calls.some((c) => c[0] === 'plugin.persistFile' && c[2] === `${WORK_DIR}/private.key`);
    assert.is(keyAttempted, path === `${WORK_DIR}/private.key`, `${path}: the key is written only after the configs`);
  }
});

test.run();
