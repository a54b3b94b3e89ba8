// An AgentContext for unit tests of the phases, with a fake API client and a fake OS plugin
// that follow one script of expected calls, in order (as gomock.InOrder does in the
// reference's phase tests). Each fake answers as the real one does: patchHost gives a host,
// deleteHost and createHost nothing, getBootstrap a Buffer config, reconcileOSVersion a boolean,
// and failures are the errors the real ones throw (ApiError from the client).
//
// A call the script does not expect stops the phase with ScriptMismatch (a StopRequested, so no
// retry loop swallows it); run() turns it back into the assertion failure. Waits are counted
// and bounded, so a phase that loops where it should not ends the test instead of hanging it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { AgentContext } from '../../src/agent';
import { ApiError, type ApiOperation, type BootstrapConfig, type ElementalClient, unexpectedStatus } from '../../src/api/client';
import type { ApiHostResponse, ApiRegistrationResponse } from '../../src/api/types';
import type { AgentConfig } from '../../src/config';
import { HostRoot } from '../../src/fs';
import type { Host } from '../../src/host';
import { Identity } from '../../src/identity';
import { setLogSink } from '../../src/log';
import type { OsPlugin } from '../../src/plugins/types';
import { StopRequested } from '../../src/signals';

/** The client calls the phases make (ElementalClient's public surface). */
type ApiClient = Pick<ElementalClient, 'uri' | 'getRegistration' | 'createHost' | 'patchHost' | 'deleteHost' | 'getBootstrap'>;

type ClientMethod = Exclude<keyof ApiClient, 'uri'>;
type PluginMethod = Exclude<keyof OsPlugin, 'init' | 'getHostname'>;

export interface Expectation {
  /** `client.<method>` or `plugin.<method>`. */
  call: `client.${ClientMethod}` | `plugin.${PluginMethod}`;
  /** Compared deep-equal with the actual arguments (Buffers as their bytes). */
  args?: unknown[];
  /** The answer; for patchHost the default is the host fixture, for reconcileOSVersion required. */
  returns?: unknown;
  /** Thrown instead of answering. */
  throws?: Error;
}

/** Ends the phase under test when a call does not match the script. */
export class ScriptMismatch extends StopRequested {
  constructor(readonly problem: string) {
    super();
    this.message = problem;
  }
}

// ---- Fixtures (the reference's internal/agent/phase/common_test.go) ------------------------

export const CONFIG_PATH_FIXTURE = '/etc/just/for/test/config.yaml';

export function configFixture(): AgentConfig {
  return {
    registration: {
      uri: 'https://test.test/elemental/v1/namespaces/test/registrations/test',
      caCert: 'just a CA cert',
      token: 'just a test token',
      tokenDuration: 0n,
    },
    agent: {
      workDir: '/test/var/lib/elemental/agent',
      hostname: { useExisting: true, prefix: 'test-' },
      debug: true,
      noSmbios: true,
      osPlugin: '/a/mocked/plugin.so',
      reconciliation: 1_000n, // time.Microsecond
      insecureAllowHttp: false,
      insecureSkipTlsVerify: false,
      useSystemCertPool: false,
      postInstall: { powerOff: true, reboot: true }, // powerOff wins
      postReset: { powerOff: false, reboot: true },
    },
  };
}

export function hostResponseFixture(): ApiHostResponse {
  return { name: 'test-host', annotations: { 'test-annotation': 'test' }, labels: { 'test-label': 'test' } };
}

/** An ApiError as the client throws it for a failed call (the message is the test's own). */
export function apiFailure(operation: ApiOperation, message: string): ApiError {
  return new ApiError(operation, message, { kind: 'network' });
}

/** The ApiError the client throws for an unexpected HTTP status. */
export const apiStatus = unexpectedStatus;

// ---- The context ---------------------------------------------------------------------------

export interface PhaseHarness {
  ctx: AgentContext;
  /** Every call made, in order, as `client.x` / `plugin.x` / `wait`. */
  calls: string[];
  /** Log lines written while run() ran. */
  logs: string[];
  /** ctx.wait() calls so far (one per retry). */
  waits(): number;
  /** Host path → path under the temporary root. */
  path(hostPath: string): string;
  /** Runs the phase, then checks that the script was followed to its end. */
  run<T>(phase: (ctx: AgentContext) => Promise<T>): Promise<T>;
  cleanup(): void;
}

const MAX_WAITS = 50;

export function phaseHarness(script: Expectation[], o: { config?: AgentConfig; hostname?: string } = {}): PhaseHarness {
  const dir = mkdtempSync(join(tmpdir(), 'elemental-phase-'));
  const expected = [...script];
  const calls: string[] = [];
  const logs: string[] = [];
  let waits = 0;
  let mismatch: ScriptMismatch | undefined;

  const fail = (problem: string): never => {
    mismatch ??= new ScriptMismatch(problem);
    throw mismatch;
  };

  const answer = async (call: Expectation['call'], args: unknown[]): Promise<unknown> => {
    if (mismatch) throw mismatch;
    calls.push(call);
    const next = expected.shift();
    if (!next) return fail(`unexpected call #${calls.length} ${call}: the script has ended`);
    if (next.call !== call) return fail(`call #${calls.length}: expected ${next.call}, got ${call}`);
    if (next.args !== undefined) {
      const got = args.map(comparable);
      const want = next.args.map(comparable);
      try {
        assert.equal(got, want);
      } catch {
        return fail(`call #${calls.length} ${call}: arguments differ\n  want: ${JSON.stringify(want)}\n  got:  ${JSON.stringify(got)}`);
      }
    }
    if (next.throws) throw next.throws;
    return next.returns;
  };

  const client: ApiClient = {
    uri: configFixture().registration.uri,
    getRegistration: async () => required(await answer('client.getRegistration', []), 'client.getRegistration', fail) as ApiRegistrationResponse,
    createHost: async (req) => void (await answer('client.createHost', [req])),
    patchHost: async (name, patch) => ((await answer('client.patchHost', [name, patch])) as ApiHostResponse | undefined) ?? hostResponseFixture(),
    deleteHost: async (name) => void (await answer('client.deleteHost', [name])),
    getBootstrap: async (name) => required(await answer('client.getBootstrap', [name]), 'client.getBootstrap', fail) as BootstrapConfig,
  };

  const plugin: OsPlugin = {
    init: () => fail('plugin.init: the phases never init the plugin'),
    getHostname: () => fail('plugin.getHostname: the phases use ctx.hostname'),
    persistHostname: async (name) => void (await answer('plugin.persistHostname', [name])),
    persistFile: async (content, path, mode) => void (await answer('plugin.persistFile', [content, path, mode])),
    applyCloudInit: async (json) => void (await answer('plugin.applyCloudInit', [json])),
    install: async (json) => void (await answer('plugin.install', [json])),
    bootstrap: async (format, config) => void (await answer('plugin.bootstrap', [format, config])),
    reconcileOSVersion: async (json) => {
      const reboot = await answer('plugin.reconcileOSVersion', [json]);
      return typeof reboot === 'boolean' ? reboot : fail('plugin.reconcileOSVersion: the script must say whether to reboot');
    },
    triggerReset: async () => void (await answer('plugin.triggerReset', [])),
    reset: async (json) => void (await answer('plugin.reset', [json])),
    powerOff: async () => void (await answer('plugin.powerOff', [])),
    reboot: async () => void (await answer('plugin.reboot', [])),
  };

  // The phases reach the host only through the plugin.
  const host: Host = {
    currentHostname: () => fail('host.currentHostname called by a phase'),
    setHostname: async () => fail('host.setHostname called by a phase'),
    reboot: async () => fail('host.reboot called by a phase'),
    powerOff: async () => fail('host.powerOff called by a phase'),
  };

  const ctx: AgentContext = {
    options: { config: CONFIG_PATH_FIXTURE, debug: false, root: dir },
    root: new HostRoot(dir),
    config: o.config ?? configFixture(),
    host,
    plugin,
    identity: Identity.generate(),
    identityFromDisk: true,
    // A structural fake: ElementalClient's private fields are not part of what phases use.
    client: client as ElementalClient,
    readFacts: () => ({ dmi: {}, cpu: {}, memory: {}, nics: [], disks: [] }),
    hostname: o.hostname ?? hostResponseFixture().name!,
    signal: new AbortController().signal,
    wait: async () => {
      if (mismatch) throw mismatch;
      waits++;
      calls.push('wait');
      if (waits > MAX_WAITS) fail(`more than ${MAX_WAITS} waits: the phase loops`);
    },
  };

  return {
    ctx,
    calls,
    logs,
    waits: () => waits,
    path: (hostPath) => ctx.root.resolve(hostPath),
    async run(phase) {
      const restore = setLogSink((line) => logs.push(line));
      let result: Awaited<ReturnType<typeof phase>>;
      try {
        result = await phase(ctx);
      } catch (err) {
        if (err instanceof ScriptMismatch) assert.unreachable(err.problem);
        throw err;
      } finally {
        restore();
      }
      if (mismatch) assert.unreachable(mismatch.problem);
      assert.equal(
        expected.map((e) => e.call),
        [],
        'calls the script expects but the phase did not make',
      );
      return result;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function required(value: unknown, call: string, fail: (problem: string) => never): unknown {
  return value === undefined ? fail(`${call}: the script must give its answer`) : value;
}

function comparable(value: unknown): unknown {
  return Buffer.isBuffer(value) ? { buffer: value.toString('utf8') } : value;
}

/** The reference's RegistrationFixture: no cloudConfig; install and reset in its source order. */
export function registrationFixture(): ApiRegistrationResponse {
  const config = configFixture();
  return {
    hostLabels: { 'test-label': 'test' },
    hostAnnotations: { 'test-annotation': 'test' },
    config: {
      elemental: {
        registration: { uri: config.registration.uri, caCert: config.registration.caCert, token: config.registration.token },
        agent: {
          workDir: config.agent.workDir,
          hostname: config.agent.hostname,
          debug: true,
          noSmbios: true,
          osPlugin: config.agent.osPlugin,
          reconciliation: 1_000,
          postInstall: { powerOff: true, reboot: true },
          postReset: { powerOff: false, reboot: true },
        },
        install: {
          firmware: 'test firmware',
          device: 'test device',
          noFormat: true,
          configUrls: ['test config url 1', 'test config url 2'],
          iso: 'test iso',
          systemUri: 'test system uri',
          debug: true,
          tty: 'test tty',
          ejectCd: true,
          disableBootEntry: true,
          configDir: 'test config dir',
          // Not used, should be ignored.
          poweroff: true,
          reboot: true,
        },
        reset: {
          enabled: true,
          resetPersistent: true,
          resetOem: true,
          configUrls: ['test config url 1', 'test config url 2'],
          systemUri: 'test system uri',
          debug: true,
          // Not used, should be ignored.
          poweroff: true,
          reboot: true,
        },
      },
    },
  };
}

/** phaseHarness for the length of `body`, cleaned up afterwards, also when it fails. */
export async function withPhaseHarness<T>(
  script: Expectation[],
  body: (h: PhaseHarness) => Promise<T>,
  o: Parameters<typeof phaseHarness>[1] = {},
): Promise<T> {
  const h = phaseHarness(script, o);
  try {
    return await body(h);
  } finally {
    h.cleanup();
  }
}
