// Shared set-up of the end-to-end journeys: a stand-in Elemental API with one registration,
// a temporary host root holding the agent's starting config, and the agent run through the
// one spawn helper.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ApiAgentConfig, JsonObject } from '../../src/api/types';
import { readIfExists } from '../../src/fs';
import { type ElementalApi, type RegistrationHandle, type RegistrationOptions, startElementalApi } from './elemental-api';
import { type AgentOptions, type AgentResult, type RunningAgent, runAgent, startAgent, tempRoot } from './spawn-agent';

export const CONFIG_PATH = '/etc/elemental/agent/config.yaml';
export const WORK_DIR = '/var/lib/elemental/agent';
/** Where an HTTPS journey's starting config finds the CA (a host path, under --root). */
export const CA_PATH = '/etc/elemental/ca.pem';
/** 100 ms as the server sends it: integer nanoseconds. */
export const FAST_RECONCILIATION_NS = 100_000_000;

export const CLOUD_CONFIG: JsonObject = { users: [{ name: 'root', passwd: 'root' }], runcmd: ['echo hello'] };
export const CLOUD_INIT_YAML = '#cloud-config\nruncmd:\n    - echo hello\nusers:\n    - name: root\n      passwd: root\n';
export const INSTALL_CONFIG: JsonObject = { foo: { bar: { foobar: 'barfoo' } }, device: '/dev/sda' };
export const INSTALL_YAML = 'device: /dev/sda\nfoo:\n    bar:\n        foobar: barfoo\n';
export const RESET_CONFIG: JsonObject = { foo: { bar: { foobar: 'barfoo' } } };
export const RESET_YAML = 'foo:\n    bar:\n        foobar: barfoo\n';

export interface Journey {
  api: ElementalApi;
  reg: RegistrationHandle;
  root: string;
  /** The token written into the starting config (the server has rotated it since). */
  imageToken: string;
  /** Path on this machine of a host path under the root. */
  path(hostPath: string): string;
  read(hostPath: string): string;
  exists(hostPath: string): boolean;
  mode(hostPath: string): number;
  run(args: string[], options?: JourneyRunOptions): Promise<AgentResult>;
  start(args: string[], options?: JourneyRunOptions): RunningAgent;
  /** Stops the stand-in and removes the host root. */
  close(): Promise<void>;
}

/** Spawn options, plus `debug: false` to run without --debug (the bench: production-like). */
export type JourneyRunOptions = Partial<AgentOptions> & { debug?: boolean };

export interface JourneyOptions {
  agent?: ApiAgentConfig;
  registration?: RegistrationOptions;
  /** Extra lines under `agent:` in the starting config. */
  startingAgentYaml?: string;
  /** Serve HTTPS (test CA): the starting config trusts it through `caCert: /etc/elemental/ca.pem`
   * under the root, and the server hands out the CA inline (no insecureAllowHttp anywhere). */
  https?: boolean;
}

export async function journey(options: JourneyOptions = {}): Promise<Journey> {
  const https = options.https === true;
  const api = await startElementalApi({ https });
  const agent: ApiAgentConfig = {
    workDir: WORK_DIR,
    hostname: { prefix: 'm-' },
    reconciliation: FAST_RECONCILIATION_NS,
    ...(https ? {} : { insecureAllowHttp: true }),
    ...options.agent,
  };
  const reg = api.addRegistration({
    hostLabels: { 'site': 'lab-1', 'rack': 'r42' },
    hostAnnotations: { 'example.com/owner': 'sre' },
    cloudConfig: CLOUD_CONFIG,
    install: INSTALL_CONFIG,
    reset: RESET_CONFIG,
    ...options.registration,
    agent,
  });
  // The image was built with an older token; the server has rotated it since.
  const imageToken = reg.token;
  reg.rotateToken();
  const root = tempRoot();
  const path = (hostPath: string) => join(root, hostPath);
  mkdirSync(dirname(path(CONFIG_PATH)), { recursive: true });
  if (https) writeFileSync(path(CA_PATH), api.caCertPem!);
  // HTTPS trusts the test CA from a file; plain HTTP has to be allowed explicitly.
  const trust = https ? `  caCert: ${CA_PATH}\n` : '';
  const allowHttp = https ? '' : '  insecureAllowHttp: true\n';
  writeFileSync(
    path(CONFIG_PATH),
    `registration:\n  uri: ${reg.uri}\n  token: ${imageToken}\n${trust}agent:\n  reconciliation: 100ms\n${allowHttp}${options.startingAgentYaml ?? ''}`,
  );
  const base: AgentOptions = { root, timeoutMs: 30_000 };
  // Every journey runs with --debug, and its output is checked for secrets (SPEC §12).
  const checked = (result: AgentResult): AgentResult => {
    assertNoSecrets(`${result.stdout}\n${result.stderr}`, reg.tokens, readIfExists(path(`${WORK_DIR}/private.key`)) ?? '');
    return result;
  };
  return {
    api,
    reg,
    root,
    imageToken,
    path,
    read: (hostPath) => readFileSync(path(hostPath), 'utf8'),
    exists: (hostPath) => existsSync(path(hostPath)),
    mode: (hostPath) => statSync(path(hostPath)).mode & 0o777,
    run: async (args, o) => checked(await runAgent([...debugFlag(o), '--config', CONFIG_PATH, ...args], { ...base, ...o })),
    start: (args, o) => {
      const running = startAgent([...debugFlag(o), '--config', CONFIG_PATH, ...args], { ...base, ...o });
      return { child: running.child, result: running.result.then(checked) };
    },
    close: async () => {
      await api.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function debugFlag(options: JourneyRunOptions | undefined): string[] {
  return options?.debug === false ? [] : ['--debug'];
}

/** A journey whose host has already run `register --install` (throws if that failed). */
export async function registeredJourney(options: JourneyOptions = {}, run: JourneyRunOptions = {}): Promise<{ j: Journey; name: string }> {
  const j = await journey(options);
  const r = await j.run(['register', '--install'], run);
  if (r.code !== 0) {
    await j.close();
    throw new Error(`register --install exited ${r.code}:\n${r.stderr}`);
  }
  return { j, name: onlyHost(j).name };
}

/** The single host the journey registered. */
export function onlyHost(j: Journey) {
  const hosts = j.api.hosts(j.reg);
  if (hosts.length !== 1) throw new Error(`expected one host, found ${hosts.length}`);
  return hosts[0]!;
}

/** The PATCH bodies the server received, in order, for a host. */
export function patches(j: Journey, name: string): Record<string, unknown>[] {
  return j.api.requests
    .filter((r) => r.op === 'patchHost' && r.hostName === name && r.status === 200)
    .map((r) => r.body as Record<string, unknown>);
}

/** Throws if a registration token, a JWT, or any PEM body appears in agent output. */
export function assertNoSecrets(output: string, tokens: readonly string[], privateKeyPem = ''): void {
  for (const token of tokens) {
    if (output.includes(token)) throw new Error('a registration token appeared in the agent output');
  }
  const jwt = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./.exec(output);
  if (jwt) throw new Error(`a JWT appeared in the agent output: ${jwt[0].slice(0, 20)}…`);
  const pem = /-----BEGIN [A-Z ]+-----\s*[A-Za-z0-9+/=]{16,}/.exec(output);
  if (pem) throw new Error(`a PEM body appeared in the agent output: ${pem[0].slice(0, 40)}…`);
  for (const line of privateKeyPem.split('\n')) {
    if (line.length >= 16 && !line.startsWith('-----') && output.includes(line)) throw new Error('private key material appeared in the agent output');
  }
}
