// `npm run demo`: the seed's whole host lifecycle, driven step by step against the BUILT agent
// (dist/elemental-agent.js) and a stand-in Elemental API on 127.0.0.1, in a temporary host root.
//
// It uses exactly what the end-to-end tests use (test/support): the stand-in server, the journey
// set-up and the one spawn helper, so reboot/poweroff/hostnamectl are recording shims (nothing is
// ever performed), `--root` is always a temp dir, and the agent runs in its own UTS namespace where
// the machine allows it. Every step is checked; every wait is bounded. Exit 0 only when all
// steps happened as expected.
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { LABELS, type StoredHost } from '../test/support/elemental-api';
import { CLOUD_INIT_YAML, CONFIG_PATH, INSTALL_YAML, RESET_YAML, WORK_DIR, type Journey, journey } from '../test/support/lifecycle';
import type { AgentResult, RunningAgent, ShimCall } from '../test/support/spawn-agent';

const SENTINEL = '/run/cluster-api/bootstrap-success.complete';
const BOOTSTRAP_TARGET = '/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg';
const BOOTSTRAP_CONFIG = `#cloud-config\nruncmd:\n  - [ sh, -c, "mkdir -p ${dirname(SENTINEL)} && touch ${SENTINEL}" ]\n`;
const OS_VERSION = { osImage: 'registry.example.com/elemental/os:v1.2.0', upgrade: { force: false } };
const OS_VERSION_YAML = 'osImage: registry.example.com/elemental/os:v1.2.0\nupgrade:\n    force: false\n';

/** Bounds: one agent run, one wait for the server to see something, one step, the whole demo. */
const AGENT_TIMEOUT_MS = 15_000;
const WAIT_MS = 10_000;
const STOP_MS = 5_000;
const STEP_TIMEOUT_MS = 25_000;
const DEMO_DEADLINE_MS = 55_000;

const LABEL_PREFIX = LABELS.installed.slice(0, LABELS.installed.lastIndexOf('/') + 1);

class DemoFailure extends Error {}

// ---------------------------------------------------------------------------------------------
// Output helpers

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mode = (m: number): string => `0${(m & 0o7777).toString(8)}`;

/** Tokens, JWTs and PEM bodies shortened: `eyJhbGciOi…(812 chars)`. */
function redact(text: string): string {
  const short = (s: string): string => `${s.slice(0, 10)}…(${s.length} chars)`;
  return text
    .replace(/(-----BEGIN ([A-Z0-9 ]+)-----\r?\n)([\s\S]*?)(\r?\n-----END \2-----)/g, (_m, begin: string, _l, body: string, end: string) => `${begin}${short(body.replace(/\s+/g, ''))}${end}`)
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, short);
}

function describeCalls(calls: ShimCall[]): string {
  if (calls.length === 0) return 'none';
  return `${calls.map((c) => [c.command, ...c.args].join(' ')).join('; ')}  (recorded by the shims, nothing performed)`;
}

function describeHost(host: StoredHost): string[] {
  const labels = Object.entries(host.labels).map(([k, v]) => `${k.startsWith(LABEL_PREFIX) ? k.slice(LABEL_PREFIX.length) : k}=${v}`);
  const conditions = host.conditions.map((c) => `${c.type}=${c.status}${c.status === 'True' ? '' : `(${c.reason ?? ''})`}`);
  return [
    `host ${host.name}: phase ${host.phase ?? '-'}; labels ${labels.join(', ') || '-'}`,
    `conditions ${conditions.join(', ') || '-'}`,
  ];
}

/** Consecutive identical ops collapsed: `patchHost×4`. */
function describeOps(ops: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < ops.length; ) {
    let n = 1;
    while (ops[i + n] === ops[i]) n++;
    out.push(n > 1 ? `${ops[i]}×${n}` : `${ops[i]}`);
    i += n;
  }
  return out.join(' → ') || 'none';
}

// ---------------------------------------------------------------------------------------------
// Files under the root

interface FileState {
  mode: number;
  content: string;
}

function snapshot(root: string): Map<string, FileState> {
  const out = new Map<string, FileState>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isDirectory()) walk(path, `${rel}/${name}`);
      else out.set(`${rel}/${name}`, { mode: st.mode & 0o7777, content: st.isFile() ? readFileSync(path, 'utf8') : '' });
    }
  };
  walk(root, '');
  return out;
}

function describeFileChanges(before: Map<string, FileState>, after: Map<string, FileState>): string[] {
  const lines: string[] = [];
  for (const [path, s] of after) {
    const old = before.get(path);
    if (!old) lines.push(`+ ${path} (${mode(s.mode)}, ${Buffer.byteLength(s.content)} B)`);
    else if (old.content !== s.content || old.mode !== s.mode) lines.push(`~ ${path} (${mode(s.mode)}, ${Buffer.byteLength(s.content)} B)`);
  }
  for (const path of before.keys()) if (!after.has(path)) lines.push(`- ${path}`);
  return lines;
}

function tree(root: string, notes: Record<string, string>): string[] {
  const lines = [`${root}/  (${mode(lstatSync(root).mode)})`];
  const walk = (dir: string, rel: string, prefix: string): void => {
    const names = readdirSync(dir).sort();
    names.forEach((name, i) => {
      const last = i === names.length - 1;
      const path = join(dir, name);
      const st = lstatSync(path);
      const branch = `${prefix}${last ? '└── ' : '├── '}`;
      const inner = `${prefix}${last ? '    ' : '│   '}`;
      if (st.isDirectory()) {
        lines.push(`${branch}${name}/  (${mode(st.mode)})`);
        walk(path, `${rel}/${name}`, inner);
        return;
      }
      const note = notes[`${rel}/${name}`];
      lines.push(`${branch}${name}  (${mode(st.mode)}, ${st.size} B)${note ? `  ${note}` : ''}`);
      const content = st.isFile() ? redact(readFileSync(path, 'utf8')) : '';
      const body = content === '' ? ['(empty)'] : content.replace(/\n$/, '').split('\n');
      const shown = body.length > 24 ? [...body.slice(0, 24), `… (${body.length - 24} more lines)`] : body;
      for (const l of shown) lines.push(`${inner}  │ ${l}`);
    });
  };
  walk(root, '', '');
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Steps

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DemoFailure(`${what}: no result after ${secs(ms)}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class Step {
  readonly checks: string[] = [];
  /** The last agent run of the step, for the failure report. */
  lastResult: AgentResult | undefined;

  constructor(readonly title: string) {}

  line(text: string): void {
    say(`    ${text}`);
  }

  check(ok: unknown, label: string, detail?: string): void {
    if (!ok) throw new DemoFailure(detail ? `${label} (${detail})` : label);
    this.checks.push(label);
  }
}

class Demo {
  private readonly running = new Set<RunningAgent>();
  /** Everything any agent printed, to check that no secret was logged. */
  private readonly outputs: string[] = [];
  private files = new Map<string, FileState>();
  private seenRequests = 0;
  current: Step | undefined;
  steps = 0;

  constructor(readonly j: Journey) {
    this.files = snapshot(j.root);
  }

  async step(title: string, body: (s: Step) => Promise<void>): Promise<void> {
    say();
    say(`==> ${title}`);
    const s = new Step(title);
    this.current = s;
    const started = Date.now();
    await withTimeout(body(s), STEP_TIMEOUT_MS, `step "${title}"`);
    this.steps += 1;
    s.line(`ok in ${secs(Date.now() - started)}: ${s.checks.join('; ')}`);
  }

  /** Runs the agent to completion and reports exit, API calls, files and shim calls. */
  async run(s: Step, args: string[]): Promise<AgentResult> {
    s.line(`$ elemental-agent … ${args.join(' ')}`);
    const started = Date.now();
    const r = await this.j.run(args, { timeoutMs: AGENT_TIMEOUT_MS });
    return this.report(s, r, started);
  }

  /** Starts the agent (the run loop), waits until `until` holds on the server, then stops it with SIGTERM. */
  async runUntil(s: Step, args: string[], what: string, until: () => unknown): Promise<AgentResult> {
    s.line(`$ elemental-agent … ${args.join(' ')}   (until ${what})`);
    const started = Date.now();
    const agent = this.j.start(args, { timeoutMs: AGENT_TIMEOUT_MS });
    this.running.add(agent);
    try {
      const exited = agent.result.then((r) => {
        s.lastResult = r;
        throw new DemoFailure(`the agent exited (${r.code ?? r.signal}) before ${what}`);
      });
      exited.catch(() => undefined);
      await Promise.race([
        this.j.api.waitFor(() => until(), WAIT_MS).catch(() => {
          throw new DemoFailure(`timed out after ${secs(WAIT_MS)} waiting for ${what}`);
        }),
        exited,
      ]);
      s.line(`server: ${what} after ${secs(Date.now() - started)}; sending SIGTERM`);
      agent.child.kill('SIGTERM');
      const r = await withTimeout(agent.result, STOP_MS, 'stopping the agent with SIGTERM');
      this.running.delete(agent);
      return this.report(s, r, started);
    } catch (err) {
      // Never leave a run loop behind: kill it and wait (bounded) until it is gone.
      if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
      const r = await withTimeout(agent.result, STOP_MS, 'killing the agent').catch(() => undefined);
      if (r) {
        s.lastResult = r;
        this.running.delete(agent);
      }
      throw err;
    }
  }

  private report(s: Step, r: AgentResult, started: number): AgentResult {
    s.lastResult = r;
    this.outputs.push(r.stdout, r.stderr);
    s.line(`exit ${r.code ?? r.signal} after ${secs(Date.now() - started)}${r.isolatedUts ? ' (own UTS namespace)' : ''}`);
    const ops = this.j.api.requests.slice(this.seenRequests).map((q) => q.op);
    this.seenRequests = this.j.api.requests.length;
    s.line(`api: ${describeOps(ops)}`);
    s.line(`shims: ${describeCalls(r.calls)}`);
    this.files = this.showFiles(s);
    return r;
  }

  /** A file under the root as of the last snapshot. */
  file(hostPath: string): FileState | undefined {
    return this.files.get(hostPath);
  }

  showFiles(s: Step): Map<string, FileState> {
    const after = snapshot(this.j.root);
    const changes = describeFileChanges(this.files, after);
    s.line(`files: ${changes.length === 0 ? 'no change' : changes[0]}`);
    for (const c of changes.slice(1)) s.line(`       ${c}`);
    this.files = after;
    return after;
  }

  host(s: Step, name: string): StoredHost | undefined {
    const host = this.j.api.host(this.j.reg, name);
    if (host) for (const l of describeHost(host)) s.line(l);
    else s.line(`host ${name}: not on the server`);
    return host;
  }

  /** Agent output never holds a registration token, a JWT or the private key (SPEC §12). */
  leakedSecrets(): string[] {
    const text = this.outputs.join('\n');
    const leaks: string[] = [];
    for (const t of [this.j.imageToken, ...this.j.reg.tokens]) if (text.includes(t)) leaks.push(`registration token ${t.slice(0, 10)}…`);
    if (/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./.test(text)) leaks.push('a JWT');
    if (text.includes('PRIVATE KEY')) leaks.push('a private key');
    return leaks;
  }

  killAll(): void {
    for (const a of this.running) if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
  }
}

const condition = (host: StoredHost | undefined, type: string) => host?.conditions.find((c) => c.type === type);

// ---------------------------------------------------------------------------------------------

export async function main(argv: string[] = []): Promise<number> {
  const keep = argv.includes('--keep');
  const demoStarted = Date.now();
  const machineHostname = hostname();
  let demoRef: Demo | undefined;
  const deadline = setTimeout(() => {
    say(`\n!! demo FAILED at step "${demoRef?.current?.title ?? 'set-up'}": the demo did not finish within ${secs(DEMO_DEADLINE_MS)}`);
    demoRef?.killAll();
    process.exit(1);
  }, DEMO_DEADLINE_MS);
  deadline.unref();

  say('elemental-agent demo: the Dummy OS plugin lifecycle against a stand-in Elemental API');
  // A templated label and annotation (SPEC §17): they expand to this machine's facts at registration.
  const j = await journey({
    agent: { postInstall: { reboot: true }, postReset: { reboot: true } },
    registration: {
      hostLabels: { site: 'lab-1', rack: 'r42', threads: '${System Data/CPU/Total Threads}' },
      hostAnnotations: { 'example.com/owner': 'sre', 'example.com/memory': '${System Data/Memory/Total Usable Bytes}' },
    },
  });
  const demo = new Demo(j);
  demoRef = demo;
  let name = '';
  const path = (hostPath: string): string => j.path(hostPath);
  try {
    say(`    stand-in API ${j.api.url} (plain http), registration ${j.reg.namespace}/${j.reg.name}`);
    say(`    temporary root ${j.root}`);
    say(`    every run: elemental-agent --root <root> … --config ${CONFIG_PATH} <command>, through test/support's spawn helper`);
    say(`    starting config ${CONFIG_PATH}: registration uri + an image-time token (the server has rotated it since)`);

    await demo.step('version', async (s) => {
      const r = await demo.run(s, ['version']);
      s.line(r.stdout.trim());
      s.check(r.code === 0, 'exit 0', r.stderr.trim());
      s.check(/^elemental-agent \S+ \(commit \S+, \S+\)$/.test(r.stdout.trim()), 'version line');
    });

    await demo.step('facts', async (s) => {
      const r = await demo.run(s, ['facts']);
      s.check(r.code === 0, 'exit 0', r.stderr.trim());
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('${System Data/CPU') || l.startsWith('${System Data/Memory'));
      for (const l of lines) s.line(l);
      s.check(lines.length > 0, "this machine's CPU and memory variables");
    });

    await demo.step('register --install', async (s) => {
      const r = await demo.run(s, ['register', '--install']);
      s.check(r.code === 0, 'exit 0', `exit ${r.code}: ${r.stderr.trim().split('\n').at(-1)}`);
      const hosts = j.api.hosts(j.reg);
      s.check(hosts.length === 1, 'one host registered', `${hosts.length} hosts`);
      name = hosts[0]!.name;
      const host = demo.host(s, name);
      s.check(/^m-[0-9a-f-]{36}$/.test(name), 'name m-<uuid>', name);
      s.check(host?.labels[LABELS.installed] === 'true', 'installed label');
      s.check(host?.labels.threads === String(cpus().length), `templated label threads=${cpus().length}`, host?.labels.threads);
      s.check(/^\d+$/.test(host?.annotations['example.com/memory'] ?? ''), 'templated annotation memory', host?.annotations['example.com/memory']);
      s.check(condition(host, 'RegistrationReady')?.status === 'True', 'RegistrationReady=True');
      s.check(condition(host, 'InstallationReady')?.status === 'True', 'InstallationReady=True');
      const config = demo.file(CONFIG_PATH);
      s.check(config?.content.includes(`token: ${j.reg.token}`) && config.mode === 0o640, 'config 0640 with the rotated token');
      s.check(j.read(`${WORK_DIR}/config.yaml`) === config?.content, 'work-dir config.yaml');
      s.check(j.mode(`${WORK_DIR}/private.key`) === 0o600, 'private.key 0600');
      s.check(j.read(`${WORK_DIR}/cloud-init.yaml`) === CLOUD_INIT_YAML, 'cloud-init.yaml');
      s.check(j.read(`${WORK_DIR}/install.yaml`) === INSTALL_YAML, 'install.yaml');
      // With --root the agent writes <root>/etc/hostname itself; hostnamectl would rename the
      // machine running the demo, so it is never run for another root.
      s.check(j.read('/etc/hostname') === `${name}\n`, '/etc/hostname (written by the agent, no hostnamectl under --root)');
      s.check(
        JSON.stringify(r.calls) === JSON.stringify([{ command: 'reboot', args: ['-f'] }]),
        'post-install reboot -f (shim)',
        describeCalls(r.calls),
      );
    });

    await demo.step('run: reconcile the OS version (server sets osVersionManagement)', async (s) => {
      j.api.setOsVersionManagement(j.reg, name, OS_VERSION);
      s.line(`server: osVersionManagement = ${JSON.stringify(OS_VERSION)}`);
      const r = await demo.runUntil(s, ['run'], 'OSVersionReady=True', () => condition(j.api.host(j.reg, name), 'OSVersionReady')?.status === 'True');
      demo.host(s, name);
      s.check(r.code === 143, 'exit 143 on SIGTERM', `exit ${r.code ?? r.signal}`);
      s.check(j.read(`${WORK_DIR}/os-version.yaml`) === OS_VERSION_YAML, 'os-version.yaml');
      s.check(r.calls.length === 0, 'no reboot', describeCalls(r.calls));
    });

    await demo.step('server: a bootstrap secret is associated with the host', async (s) => {
      j.api.setBootstrap(j.reg, name, { format: 'cloud-config', config: BOOTSTRAP_CONFIG });
      s.line(`bootstrap cloud-config (${BOOTSTRAP_CONFIG.length} B): ${JSON.stringify(BOOTSTRAP_CONFIG.trim().split('\n').at(-1))}`);
      s.check(j.api.host(j.reg, name)?.bootstrap !== undefined, 'bootstrapReady');
    });

    await demo.step('run: apply the bootstrap, then reboot', async (s) => {
      const r = await demo.run(s, ['run']);
      const host = demo.host(s, name);
      s.check(r.code === 0, 'exit 0', `exit ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').at(-1)}`);
      s.check(j.read(BOOTSTRAP_TARGET) === BOOTSTRAP_CONFIG && j.mode(BOOTSTRAP_TARGET) === 0o600, `${BOOTSTRAP_TARGET} verbatim, 0600 (it holds the join token)`);
      const c = condition(host, 'BootstrapReady');
      s.check(c?.status === 'False' && c.reason === 'WaitingForBootstrap', 'BootstrapReady=False(WaitingForBootstrap)');
      s.check(JSON.stringify(r.calls) === JSON.stringify([{ command: 'reboot', args: ['-f'] }]), 'reboot -f (shim)', describeCalls(r.calls));
    });

    await demo.step('the host "reboots": cloud-init runs the bootstrap, which creates the success sentinel', async (s) => {
      mkdirSync(path(dirname(SENTINEL)), { recursive: true });
      writeFileSync(path(SENTINEL), '');
      s.line(`created ${SENTINEL} under the root (what the bootstrap's runcmd does)`);
      demo.showFiles(s);
      s.check(j.exists(SENTINEL), 'sentinel exists');
    });

    await demo.step('run: report the host bootstrapped', async (s) => {
      const r = await demo.runUntil(s, ['run'], 'the bootstrapped label and phase Running', () => {
        const h = j.api.host(j.reg, name);
        return h?.labels[LABELS.bootstrapped] === 'true' && h.phase === 'Running';
      });
      const host = demo.host(s, name);
      s.check(r.code === 143, 'exit 143 on SIGTERM', `exit ${r.code ?? r.signal}`);
      s.check(host?.labels[LABELS.bootstrapped] === 'true', 'bootstrapped label');
      s.check(host?.phase === 'Running', 'phase Running');
      s.check(condition(host, 'BootstrapReady')?.status === 'True', 'BootstrapReady=True');
      s.check(r.calls.length === 0, 'no reboot', describeCalls(r.calls));
    });

    await demo.step('server: the host is deleted (the operator scales the cluster down)', async (s) => {
      j.api.deleteHost(j.reg, name);
      const host = demo.host(s, name);
      s.check(host?.labels[LABELS.needsReset] === 'true', 'needs-reset label');
    });

    await demo.step('run: trigger the reset', async (s) => {
      const r = await demo.run(s, ['run']);
      const host = demo.host(s, name);
      s.check(r.code === 0, 'exit 0', `exit ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').at(-1)}`);
      s.check(j.read(`${WORK_DIR}/needs.reset`) === '1\n', 'needs.reset = "1"');
      const c = condition(host, 'ResetReady');
      s.check(c?.status === 'False' && c.reason === 'WaitingForReset', 'ResetReady=False(WaitingForReset)');
      s.check(host?.phase === 'Triggering Reset', 'phase Triggering Reset');
      s.check(r.calls.length === 0, 'no reboot', describeCalls(r.calls));
    });

    await demo.step('operator: the host is prepared for reset, needs.reset removed', async (s) => {
      rmSync(path(`${WORK_DIR}/needs.reset`));
      demo.showFiles(s);
      s.check(!j.exists(`${WORK_DIR}/needs.reset`), 'needs.reset removed');
    });

    await demo.step('reset', async (s) => {
      const r = await demo.run(s, ['reset']);
      demo.host(s, name);
      s.check(r.code === 0, 'exit 0', `exit ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').at(-1)}`);
      s.check(j.read(`${WORK_DIR}/reset.yaml`) === RESET_YAML, 'reset.yaml');
      s.check(j.api.host(j.reg, name) === undefined, 'host gone from the server');
      s.check(JSON.stringify(r.calls) === JSON.stringify([{ command: 'reboot', args: ['-f'] }]), 'post-reset reboot -f (shim)', describeCalls(r.calls));
    });

    await demo.step('this machine and the logs', async (s) => {
      s.check(hostname() === machineHostname, `hostname unchanged (${machineHostname})`);
      const leaks = demo.leakedSecrets();
      s.check(leaks.length === 0, 'no token, JWT or private key in any agent output', leaks.join(', '));
    });

    say();
    say(`==> files under the root (tokens, JWTs and PEM bodies shortened)`);
    for (const l of tree(j.root, { [SENTINEL]: '← created by the demo (the bootstrap), not the agent' })) say(`    ${l}`);
    say();
    say(`demo OK: ${demo.steps} steps, each checked, in ${secs(Date.now() - demoStarted)}${keep ? `; root kept at ${j.root}` : ''}`);
    return 0;
  } catch (err) {
    const step = demo.current;
    say();
    say(`!! demo FAILED at step "${step?.title ?? 'set-up'}": ${err instanceof Error ? err.message : String(err)}`);
    if (!(err instanceof DemoFailure) && err instanceof Error && err.stack) say(err.stack);
    const r = step?.lastResult;
    if (r) {
      say(`   last agent run: exit ${r.code ?? r.signal}; its log (last lines):`);
      for (const l of redact(r.stderr).trimEnd().split('\n').slice(-15)) say(`   | ${l}`);
    }
    return 1;
  } finally {
    demo.killAll();
    clearTimeout(deadline);
    await j.close();
    if (!keep) rmSync(j.root, { recursive: true, force: true });
  }
}
