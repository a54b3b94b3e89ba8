// A server that answers each Elemental API route with whatever body a test sets (hostile,
// broken, huge), and a phase context around it: the real client over HTTP on 127.0.0.1, the
// real Dummy plugin in a temporary --root, a fake host that only records. Used by the
// hardening and fuzz tests, which need answers the stand-in (a correct server) never gives.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentContext } from '../../src/agent';
import { ElementalClient } from '../../src/api/client';
import { emptyConfig, withDefaults } from '../../src/config';
import { HostRoot } from '../../src/fs';
import type { Host } from '../../src/host';
import { Identity } from '../../src/identity';
import { DummyPlugin } from '../../src/plugins/dummy';
import { tempDir } from './temp';

export type Route = 'registration' | 'createHost' | 'patchHost' | 'deleteHost' | 'bootstrap';

export interface Answer {
  status?: number;
  /** The body as sent: a string or bytes. */
  body?: string | Buffer;
  /** Sent without Content-Length (chunked), as a streaming server would. */
  chunked?: boolean;
}

export const REGISTRATION_PATH = '/elemental/v1/namespaces/default/registrations/r';

const EXPECTED: Record<Route, number> = { registration: 200, createHost: 201, patchHost: 200, deleteHost: 202, bootstrap: 200 };

function routeOf(req: IncomingMessage): Route | undefined {
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (path === REGISTRATION_PATH && req.method === 'GET') return 'registration';
  if (path === `${REGISTRATION_PATH}/hosts` && req.method === 'POST') return 'createHost';
  if (/\/hosts\/[^/]+\/bootstrap$/.test(path) && req.method === 'GET') return 'bootstrap';
  if (/\/hosts\/[^/]+$/.test(path)) return req.method === 'PATCH' ? 'patchHost' : req.method === 'DELETE' ? 'deleteHost' : undefined;
  return undefined;
}

export interface ScriptedApi {
  uri: string;
  /** What a route answers from now on (default: the expected status, body `{}`). */
  answer(route: Route, answer: Answer | ((body: string) => Answer)): void;
  /** Bodies the agent sent, per route, in order. */
  received: Record<Route, string[]>;
  reset(): void;
  close(): Promise<void>;
}

export async function startScriptedApi(): Promise<ScriptedApi> {
  const answers = new Map<Route, Answer | ((body: string) => Answer)>();
  const received = (): Record<Route, string[]> => ({ registration: [], createHost: [], patchHost: [], deleteHost: [], bootstrap: [] });
  const api = { received: received() } as ScriptedApi;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const pieces: Buffer[] = [];
    req.on('data', (c: Buffer) => pieces.push(c));
    req.on('end', () => {
      const route = routeOf(req);
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      const sent = Buffer.concat(pieces).toString('utf8');
      api.received[route].push(sent);
      const set = answers.get(route);
      const a = (typeof set === 'function' ? set(sent) : set) ?? {};
      const body = typeof a.body === 'string' ? Buffer.from(a.body, 'utf8') : (a.body ?? Buffer.from('{}'));
      const status = a.status ?? EXPECTED[route];
      const headers: Record<string, string> = { 'Content-Type': 'application/json', Connection: 'close' };
      // 204 and 304 have no body: Node drops it, and a Content-Length would promise one.
      const bodyless = status === 204 || status === 304;
      if (!a.chunked && !bodyless) headers['Content-Length'] = String(body.length);
      res.writeHead(status, headers);
      // The client may stop reading at its cap: a reset socket is the expected end then.
      res.on('error', () => {});
      res.socket?.on('error', () => {});
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  api.uri = `http://127.0.0.1:${port}${REGISTRATION_PATH}`;
  api.answer = (route, answer) => void answers.set(route, answer);
  api.reset = () => {
    answers.clear();
    api.received = received();
  };
  api.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
  return api;
}

export const WORK_DIR = '/var/lib/elemental/agent';

export interface PhaseHarness {
  ctx: AgentContext;
  /** The temporary --root. */
  root: string;
  /** What the fake host was asked to do. */
  hostCalls: string[];
  cleanup(): void;
}

/** A context as startAgent builds it, against `api`, with the Dummy plugin under a temp root. */
export async function phaseHarness(api: ScriptedApi, o: { timeoutMs?: number; parent?: string } = {}): Promise<PhaseHarness> {
  // In TMPDIR through tempDir (removed at exit even if a test dies half way), or in `parent`.
  const root = o.parent ? mkdtempSync(join(o.parent, 'elemental-harden-')) : tempDir('elemental-harden-');
  const hostCalls: string[] = [];
  const host: Host = {
    currentHostname: () => 'current',
    setHostname: async (name) => void hostCalls.push(`hostname ${name}`),
    reboot: async () => void hostCalls.push('reboot'),
    powerOff: async () => void hostCalls.push('poweroff'),
  };
  const config = emptyConfig();
  config.registration.uri = api.uri;
  config.agent.insecureAllowHttp = true;
  config.agent.reconciliation = 1_000_000n; // 1 ms: retries come at once
  const hostRoot = new HostRoot(root);
  const plugin = new DummyPlugin();
  const effective = withDefaults(config);
  plugin.init({ workDir: effective.agent.workDir, configPath: '/etc/elemental/agent/config.yaml', debug: false, root: hostRoot, host });
  const identity = Identity.generate();
  const controller = new AbortController();
  const ctx: AgentContext = {
    options: { config: '/etc/elemental/agent/config.yaml', debug: false, root },
    root: hostRoot,
    config: effective,
    host,
    plugin,
    identity,
    identityFromDisk: false,
    client: new ElementalClient({ uri: api.uri, insecureAllowHttp: true, identity, root: hostRoot, env: {}, timeoutMs: o.timeoutMs ?? 5000 }),
    hostname: 'h1',
    readFacts: () => ({ dmi: {}, cpu: {}, memory: {}, nics: [], disks: [] }),
    signal: controller.signal,
    wait: async () => {},
  };
  return { ctx, root, hostCalls, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** The conditions the agent reported, in order, from the PATCH bodies it sent. */
export function reportedConditions(api: ScriptedApi): Array<{ type: string; status: string; reason?: string; message?: string }> {
  const out = [];
  for (const body of api.received.patchHost) {
    const parsed = JSON.parse(body) as { condition?: { type: string; status: string; reason?: string; message?: string } };
    if (parsed.condition) out.push(parsed.condition);
  }
  return out;
}
