// A fleet: N real agent processes (the built bundle, each with its own --root, started through
// the spawn helper: shims first on PATH, unshare --uts) against ONE stand-in Elemental API on
// 127.0.0.1. Shared by `npm run bench -- fleet` and test/e2e/fleet.test.ts. Everything it starts,
// close() stops: the agents (SIGTERM, then SIGKILL after a bound), the stand-in, the roots.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ElementalApi, type RecordedRequest, type RegistrationHandle, type StoredHost, startElementalApi } from './elemental-api';
import { CLOUD_CONFIG, CONFIG_PATH, INSTALL_CONFIG, WORK_DIR } from './lifecycle';
import { type AgentResult, type RunningAgent, startAgent, tempRoot } from './spawn-agent';

export interface FleetOptions {
  n: number;
  /** The reconciliation period, in ms, of the starting config and of the registration's. */
  periodMs: number;
  /** Kill bound of every agent process (SIGKILL after it). */
  timeoutMs: number;
}

export interface FleetMember {
  index: number;
  root: string;
  /** The name the agent registered as (from its log), once known. */
  name?: string;
  /** When its latest process was started (Date.now()). */
  startedAt: number;
  running?: RunningAgent;
  result?: AgentResult;
}

export interface Fleet {
  api: ElementalApi;
  reg: RegistrationHandle;
  members: FleetMember[];
  /** Starts `args` on every member (within about a second), without waiting. */
  startAll(args: string[]): void;
  /** Waits for every member's current process to end (bounded by the kill timeout). */
  waitAll(): Promise<AgentResult[]>;
  /** SIGTERM to every running member, then waits for them. */
  stopAll(): Promise<void>;
  /** Summed and per-agent RSS (KiB) of the running members, from /proc. */
  rssKib(): number[];
  /** Outage modes: 'refuse' closes the listener (connections refused), '503' answers 503 to all. */
  outage(mode: OutageMode): Promise<void>;
  recover(): Promise<void>;
  close(): Promise<void>;
}

export type OutageMode = 'refuse' | '503';

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const api = await startElementalApi();
  const period = `${options.periodMs}ms`;
  const reg = api.addRegistration({
    cloudConfig: CLOUD_CONFIG,
    install: INSTALL_CONFIG,
    agent: { workDir: WORK_DIR, hostname: { prefix: 'm-' }, reconciliation: options.periodMs * 1e6, insecureAllowHttp: true },
  });
  const members: FleetMember[] = [];
  for (let index = 0; index < options.n; index++) {
    const root = tempRoot('elemental-fleet-');
    const config = join(root, CONFIG_PATH);
    mkdirSync(dirname(config), { recursive: true });
    writeFileSync(config, `registration:\n  uri: ${reg.uri}\n  token: ${reg.token}\nagent:\n  reconciliation: ${period}\n  insecureAllowHttp: true\n`);
    members.push({ index, root, startedAt: 0 });
  }
  const live = () => members.filter((m) => m.running && !m.result);
  const fleet: Fleet = {
    api,
    reg,
    members,
    startAll(args) {
      for (const m of members) {
        m.result = undefined;
        m.startedAt = Date.now();
        const running = startAgent(['--config', CONFIG_PATH, ...args], { root: m.root, timeoutMs: options.timeoutMs });
        m.running = running;
        running.result.then((r) => {
          m.result = r;
          m.name ??= /registered as '([^']+)'/.exec(r.stderr)?.[1];
        }, () => undefined);
      }
    },
    async waitAll() {
      return Promise.all(members.map((m) => m.running!.result));
    },
    async stopAll() {
      for (const m of live()) m.running!.child.kill('SIGTERM');
      await Promise.allSettled(members.map((m) => m.running?.result));
    },
    rssKib() {
      return live().flatMap((m) => {
        try {
          const status = readFileSync(`/proc/${m.running!.child.pid}/status`, 'utf8');
          return [Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0)];
        } catch {
          return [];
        }
      });
    },
    async outage(mode) {
      if (mode === 'refuse') await api.down();
      else api.injectFault({ kind: 'status', status: 503, body: 'Service Unavailable', times: Infinity });
    },
    async recover() {
      api.clearFaults();
      await api.up();
    },
    async close() {
      await fleet.stopAll();
      await api.close();
      for (const m of members) rmSync(m.root, { recursive: true, force: true });
    },
  };
  return fleet;
}

// ---------------------------------------------------------------------------------------------
// What the stand-in saw

export interface RegistrationCounts {
  hosts: number;
  /** Public keys that own more than one host: one agent registered twice. */
  duplicates: number;
  /** Hosts on the server that no agent says it registered as. */
  orphans: number;
  /** Agents that exited 0 and named the host they registered as. */
  registered: number;
}

export function registrationCounts(fleet: Fleet): RegistrationCounts {
  const hosts: StoredHost[] = fleet.api.hosts(fleet.reg);
  const perKey = new Map<string, number>();
  for (const h of hosts) perKey.set(h.pubKey, (perKey.get(h.pubKey) ?? 0) + 1);
  const names = new Set(fleet.members.map((m) => m.name).filter(Boolean));
  return {
    hosts: hosts.length,
    duplicates: [...perKey.values()].filter((c) => c > 1).length,
    orphans: hosts.filter((h) => !names.has(h.name)).length,
    registered: fleet.members.filter((m) => m.result?.code === 0 && m.name).length,
  };
}

/** ms from each member's start to the server's acceptance of its InstallationReady True. */
export function timesToInstalled(fleet: Fleet): number[] {
  const done = new Map<string, number>();
  for (const r of fleet.api.requests) {
    const c = (r.body as { condition?: { type?: string; status?: string } } | undefined)?.condition;
    if (r.op === 'patchHost' && r.status === 200 && c?.type === 'InstallationReady' && c.status === 'True' && r.hostName) done.set(r.hostName, r.time);
  }
  return fleet.members.flatMap((m) => (m.name && done.has(m.name) ? [done.get(m.name)! - m.startedAt] : []));
}

/** Requests that arrived in [from, to). */
export function requestsBetween(api: ElementalApi, from: number, to: number): RecordedRequest[] {
  return api.requests.filter((r) => r.time >= from && r.time < to);
}

/** The most requests in any window of `windowMs` (sliding). */
export function peakInWindow(requests: readonly RecordedRequest[], windowMs = 1000): number {
  const times = requests.map((r) => r.time).sort((a, b) => a - b);
  let peak = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

/** Per member (by index): when its first successful `Running` PATCH at or after `since` arrived. */
export function firstReconcileAfter(fleet: Fleet, since: number): (number | undefined)[] {
  const first = new Map<string, number>();
  for (const r of fleet.api.requests) {
    if (r.time < since || r.op !== 'patchHost' || r.status !== 200 || !r.hostName || first.has(r.hostName)) continue;
    if ((r.body as { phase?: string } | undefined)?.phase === 'Running') first.set(r.hostName, r.time);
  }
  return fleet.members.map((m) => (m.name ? first.get(m.name) : undefined));
}

/** Waits until `check()` holds, polling every 100 ms, at most `ms`; returns whether it held. */
export async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}
